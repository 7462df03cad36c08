"""`plan_contacts`: the pure core of the contact plan (no I/O, no MLflow).

Steps: model and declared-theme interests -> candidates per product with every excluding rule
-> the customer's best eligible candidate -> a channel under capacities (with an optimality
bound) -> explanations of what is planned -> plan, suppression log, processor extracts, summary.

Tie-breaking is explicit everywhere: candidates by expected value, then family, source and
product id; channels by customer id order and channel name. Same inputs, same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from interestlab.planning.candidates import (
    expand_candidates,
    frame_of,
    interests_frame,
    model_interests,
)
from interestlab.planning.cap import PlanWindow, cap_state_text, plan_window
from interestlab.planning.eligibility import channel_exclusions, customer_eligibility
from interestlab.planning.explain import Explainer
from interestlab.planning.optimize import assign_channels
from interestlab.planning.outputs import channel_extracts, plan_summary
from interestlab.planning.params import PlanParams
from interestlab.planning.reasons import SUPPRESSION_REASONS, flag, labels_of
from interestlab.planning.themes import MODEL_SOURCE, THEME_SOURCE, theme_interests
from interestlab.policy import Policy

CONSENT_STRUCT = pl.Struct(
    {
        "purpose": pl.String(),
        "consented": pl.Boolean(),
        "recorded_at": pl.Datetime("us", "UTC"),
        "source": pl.String(),
    }
)
PLAN_COLUMNS = (
    "customer_id",
    "plan_month",
    "planned_week",
    "send_from",
    "send_until",
    "channel",
    "product_id",
    "family",
    "source",
    "model_name",
    "model_version",
    "alias",
    "theme_rule",
    "score",
    "propensity",
    "product_value",
    "channel_cost",
    "gross_value",
    "expected_value",
    "rank",
    "n_alternatives",
    "reasons",
    "consents_used",
    "commercial_in_month",
    "cap",
    "cap_state",
    "message_template",
    "policy_version",
    "plan_params_version",
)
SUPPRESSION_COLUMNS = (
    "customer_id",
    "family",
    "source",
    "product_id",
    "model_name",
    "model_version",
    "alias",
    "score",
    "gross_value",
    "reasons",
)


@dataclass(frozen=True)
class PlanResult:
    """Everything one plan produces (all frames sorted; `summary` holds no personal data).

    Attributes
    ----------
    plan : one row per planned contact (see `PLAN_COLUMNS`).
    suppression_log : one row per candidate not planned with all its `reasons`.
    channel_extracts : per planned channel, what its processor receives (R12).
    summary : counts by product, channel, source and reason; value; cap and channel use.
    optimality : `value`, `upper_bound`, `gap` (relative) and `bound_method`.
    window : the send window and counted month.
    """

    plan: pl.DataFrame
    suppression_log: pl.DataFrame
    channel_extracts: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    optimality: dict[str, Any]
    window: PlanWindow
    eligibility: pl.DataFrame = field(repr=False)


def _net_matrix(best: pl.DataFrame, *, params: PlanParams) -> np.ndarray:
    gross = best["expected_value"].to_numpy().astype(float)
    costs = np.array([params.channel_costs[c] for c in params.channels], dtype=float)
    allowed = (
        np.column_stack([best[f"channel_ok__{c}"].to_numpy().astype(bool) for c in params.channels])
        if params.channels
        else np.zeros((best.height, 0), dtype=bool)
    )
    return np.where(allowed, gross[:, None] - costs[None, :], -np.inf)


def _message_template(template: str) -> pl.Expr:
    """The template pattern as a polars expression over `product_id`, `channel`, `language`."""
    from string import Formatter

    parts: list[pl.Expr] = []
    for literal, name, _, _ in Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(pl.col(name).cast(pl.String()).fill_null("xx"))
    return pl.concat_str(parts) if parts else pl.lit("")


def plan_contacts(
    scores: pl.DataFrame,
    *,
    customers: pl.LazyFrame | pl.DataFrame,
    products: pl.LazyFrame | pl.DataFrame,
    holdings: pl.LazyFrame | pl.DataFrame,
    theme_links: pl.LazyFrame | pl.DataFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    communications: pl.LazyFrame | pl.DataFrame,
    activity: pl.LazyFrame | pl.DataFrame,
    as_of: datetime,
    policy: Policy,
    params: PlanParams,
    explain: Explainer | None = None,
) -> PlanResult:
    """Plan at most one commercial contact per customer for the month of `as_of`.

    Parameters
    ----------
    scores : `customer_id, family, score, model_name, model_version, alias` (one model per
        family; `candidate` aliases only with `params.allow_candidate`).
    customers, products, holdings, theme_links, consent_events, communications : contract
        tables (lazy or eager).
    activity : `customer_id, last_login_at` (UTC) for identification-required channels.
    as_of : the plan's as-of moment (time-zone aware; `policy.as_of_moment(date)`).
    policy, params : the rules and the commercial parameters.
    explain : callable giving `customer_id, family, reasons` for planned model contacts (see
        `explain.model_explainer`); None leaves model reasons empty.

    Returns
    -------
    PlanResult

    Examples
    --------
    >>> result = plan_contacts(scores, customers=..., as_of=t, policy=policy,
    ...                        params=load_plan_params())  # doctest: +SKIP
    >>> result.optimality["gap"] <= 0.01  # doctest: +SKIP
    True
    """
    params.check_against(policy)
    window = plan_window(as_of, policy=policy, params=params)
    model, meta = model_interests(frame_of(scores), params=params)
    themes = theme_interests(theme_links, as_of=as_of, policy=policy).collect(engine="in-memory")
    interests = interests_frame(model, themes)
    eligibility = customer_eligibility(
        interests.select("customer_id"),
        consent_events=consent_events,
        communications=communications,
        activity=activity,
        as_of=as_of,
        month=window.month,
        policy=policy,
        params=params,
    )
    candidates = expand_candidates(
        interests,
        products=products,
        holdings=holdings,
        eligibility=eligibility,
        on=as_of.astimezone(policy.zone).date(),
        policy=policy,
        params=params,
    )
    order = ["customer_id", "expected_value", "family", "source", "product_id"]
    descending = [False, True, False, False, False]
    candidates = candidates.sort(order, descending=descending, nulls_last=True).with_columns(
        pl.int_range(1, pl.len() + 1).over("customer_id").alias("rank"),
        pl.len().over("customer_id").alias("n_alternatives"),
    )
    pickable = candidates.filter(pl.col("preferred"))
    best = pickable.unique(subset="customer_id", keep="first", maintain_order=True)

    net = _net_matrix(best, params=params)
    capacities = np.array([params.channel_capacities[c] for c in params.channels], dtype=np.int64)
    assignment = assign_channels(
        net,
        capacities,
        gross=best["expected_value"].to_numpy().astype(float),
        costs=np.array([params.channel_costs[c] for c in params.channels], dtype=float),
        dual_iterations=params.dual_iterations,
    )
    chosen = assignment.channel
    best = best.with_columns(
        pl.Series(
            "channel",
            [params.channels[i] if i >= 0 else None for i in chosen.tolist()],
            dtype=pl.String(),
        ),
        pl.Series(
            "worth_a_channel", (net > 0).any(axis=1) if net.size else np.zeros(best.height, bool)
        ),
    )
    planned_keys = best.filter(pl.col("channel").is_not_null()).select(
        "customer_id", "family", "source", "product_id", "channel"
    )
    costs = pl.DataFrame(
        {
            "channel": list(params.channels),
            "channel_cost": [params.channel_costs[c] for c in params.channels],
        },
        schema={"channel": pl.String(), "channel_cost": pl.Float64()},
    )

    plan = _plan_frame(
        candidates,
        planned_keys,
        meta=meta,
        costs=costs,
        customers=frame_of(customers),
        window=window,
        policy=policy,
        params=params,
        explain=explain,
    )
    suppression = _suppression_log(
        candidates, best, planned_keys, meta=meta, policy=policy, params=params
    )
    optimality = {
        "value": round(assignment.value, 6),
        "upper_bound": round(assignment.upper_bound, 6),
        "gap": round(assignment.gap, 9),
        "bound_method": assignment.bound_method,
        "channel_prices": {
            c: round(float(p), 6) for c, p in zip(params.channels, assignment.prices, strict=True)
        },
    }
    extracts = channel_extracts(plan, channels=params.channels)
    summary = plan_summary(
        plan,
        suppression,
        eligibility=eligibility,
        candidates=candidates,
        optimality=optimality,
        window=window,
        policy=policy,
        params=params,
        meta=meta,
        reason_labels=SUPPRESSION_REASONS,
    )
    return PlanResult(
        plan=plan,
        suppression_log=suppression,
        channel_extracts=extracts,
        summary=summary,
        optimality=optimality,
        window=window,
        eligibility=eligibility,
    )


def _plan_frame(
    candidates: pl.DataFrame,
    planned_keys: pl.DataFrame,
    *,
    meta: pl.DataFrame,
    costs: pl.DataFrame,
    customers: pl.DataFrame,
    window: PlanWindow,
    policy: Policy,
    params: PlanParams,
    explain: Explainer | None,
) -> pl.DataFrame:
    keys = ["customer_id", "family", "source", "product_id"]
    planned = candidates.join(planned_keys, on=keys, how="inner").join(
        costs, on="channel", how="left"
    )
    model_rows = planned.filter(pl.col("source") == MODEL_SOURCE).select("customer_id", "family")
    if explain is not None and model_rows.height:
        explained = explain(model_rows).select(
            "customer_id", "family", pl.col("reasons").alias("model_reasons")
        )
    else:
        explained = model_rows.with_columns(
            pl.lit([], dtype=pl.List(pl.String())).alias("model_reasons")
        )
    web = pl.struct(
        pl.lit(policy.web_data_purpose).alias("purpose"),
        pl.col("web_consented").alias("consented"),
        pl.col("web_recorded_at").alias("recorded_at"),
        pl.col("web_source").alias("source"),
    )
    email = pl.when(pl.col("channel").is_in(list(policy.explicit_consent_channels))).then(
        pl.struct(
            pl.lit(policy.email_purpose).alias("purpose"),
            pl.col("email_consented").alias("consented"),
            pl.col("email_recorded_at").alias("recorded_at"),
            pl.col("email_source").alias("source"),
        )
    )
    meta_model = meta.with_columns(pl.lit(MODEL_SOURCE).alias("source"))
    language = customers.select("customer_id", "language")
    plan = (
        planned.join(meta_model, on=["family", "source"], how="left")
        .join(explained, on=["customer_id", "family"], how="left")
        .join(language, on="customer_id", how="left")
        .with_columns(
            pl.lit(window.month).alias("plan_month"),
            pl.lit(window.planned_week).alias("planned_week"),
            pl.lit(window.send_from).alias("send_from"),
            pl.lit(window.send_until).alias("send_until"),
            pl.when(pl.col("source") == THEME_SOURCE)
            .then(pl.concat_list(pl.col("theme_rule")))
            .otherwise(pl.col("model_reasons").fill_null(pl.lit([], dtype=pl.List(pl.String()))))
            .alias("reasons"),
            pl.concat_list(web.cast(CONSENT_STRUCT), email.cast(CONSENT_STRUCT))
            .list.drop_nulls()
            .alias("consents_used"),
            pl.lit(policy.monthly_commercial_cap).alias("cap"),
            cap_state_text(
                pl.col("commercial_in_month"), month=window.month, cap=policy.monthly_commercial_cap
            ).alias("cap_state"),
            _message_template(params.message_template).alias("message_template"),
            pl.lit(policy.version).alias("policy_version"),
            pl.lit(params.version).alias("plan_params_version"),
            pl.col("expected_value").alias("gross_value"),
            (pl.col("expected_value") - pl.col("channel_cost")).alias("expected_value"),
        )
    )
    return plan.select(PLAN_COLUMNS).sort("customer_id")


def _suppression_log(
    candidates: pl.DataFrame,
    best: pl.DataFrame,
    planned_keys: pl.DataFrame,
    *,
    meta: pl.DataFrame,
    policy: Policy,
    params: PlanParams,
) -> pl.DataFrame:
    keys = ["customer_id", "family", "source", "product_id"]
    outcome = best.select(
        "customer_id",
        pl.col("channel").is_not_null().alias("customer_planned"),
    )
    costs = [(c, params.channel_costs[c]) for c in params.channels]
    worth = (
        pl.any_horizontal(
            [pl.col(f"channel_ok__{c}") & (pl.col("expected_value") > cost) for c, cost in costs]
        )
        if costs
        else pl.lit(False)
    )
    exclusions = channel_exclusions(params.channels, policy)
    channel_limited = pl.col("eligible") & ~pl.col("customer_planned")
    extra = (
        flag(pl.col("eligible") & ~pl.col("preferred"), "other_product_preferred")
        | flag(pl.col("eligible") & pl.col("customer_planned"), "lower_value_than_chosen")
        | flag(channel_limited & worth, "channel_capacity")
        | flag(channel_limited & ~worth, "not_worth_contacting")
    )
    for condition, label in exclusions:
        extra = extra | flag(channel_limited & condition, label)
    meta_model = meta.with_columns(pl.lit(MODEL_SOURCE).alias("source"))
    log = (
        candidates.join(planned_keys.select(keys), on=keys, how="anti", nulls_equal=True)
        .join(outcome, on="customer_id", how="left")
        .with_columns(pl.col("customer_planned").fill_null(False))
        .with_columns((pl.col("reason_mask") | extra).alias("reason_mask"))
    )
    return (
        log.join(labels_of(log["reason_mask"]), on="reason_mask", how="left")
        .join(meta_model, on=["family", "source"], how="left")
        .with_columns(pl.col("expected_value").alias("gross_value"))
        .select(SUPPRESSION_COLUMNS)
        .sort("customer_id", "family", "source", "product_id", nulls_last=True)
    )

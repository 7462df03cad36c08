"""Candidates: model interests (R4) and declared-theme interests (R5), expanded to products.

A candidate is one (customer, family, source, product). Every rule that rules it out on its own
is recorded as a reason label, so the suppression log can list all of them, not only the first:
no web-data consent (R13), non-group product (R11), already held, cap reached (R6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

import numpy as np
import polars as pl

from interestlab.contract import FAMILIES
from interestlab.planning.params import PlanParams
from interestlab.planning.reasons import flag
from interestlab.planning.themes import MODEL_SOURCE, THEME_SOURCE
from interestlab.policy import Policy

SCORE_COLUMNS = ("customer_id", "family", "score", "model_name", "model_version", "alias")
MODEL_META = ("family", "model_name", "model_version", "alias")
CHAMPION = "champion"
CANDIDATE_ALIAS = "candidate"


class ScoringModel(Protocol):
    """What the planner needs of `interestlab.modeling.LoadedModel`."""

    family: str
    name: str
    version: str
    alias: str
    feature_names: list[str]

    def predict(self, features: pl.DataFrame) -> np.ndarray: ...

    def contributions(self, features: pl.DataFrame) -> np.ndarray: ...


def score_customers(models: Mapping[str, ScoringModel], features: pl.DataFrame) -> pl.DataFrame:
    """Score every feature row with each family's model.

    Returns `customer_id, family, score, model_name, model_version, alias` sorted by customer and
    family (the `scores` input of `plan_contacts`).
    """
    ordered = features.sort("customer_id")
    parts = []
    for family in sorted(models):
        model = models[family]
        missing = [f for f in model.feature_names if f not in ordered.columns]
        if missing:
            msg = (
                f"model `{model.name}` v{model.version} ({family}): feature table lacks columns"
                f" {missing[:5]}{' ...' if len(missing) > 5 else ''}"
            )
            raise ValueError(msg)
        score = np.asarray(model.predict(ordered.select(model.feature_names)), dtype=float)
        parts.append(
            ordered.select("customer_id").with_columns(
                pl.lit(family).alias("family"),
                pl.Series("score", score, dtype=pl.Float64),
                pl.lit(str(model.name)).alias("model_name"),
                pl.lit(str(model.version)).alias("model_version"),
                pl.lit(str(model.alias)).alias("alias"),
            )
        )
    if not parts:
        return empty_scores()
    return pl.concat(parts).sort("customer_id", "family")


def empty_scores() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "customer_id": pl.String(),
            "family": pl.String(),
            "score": pl.Float64(),
            "model_name": pl.String(),
            "model_version": pl.String(),
            "alias": pl.String(),
        }
    )


def model_interests(
    scores: pl.DataFrame, *, params: PlanParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate `scores`; return (interests `customer_id, family, score`, model meta by family).

    Raises `ValueError` naming the column and what was found for: a missing column, a score
    outside [0, 1] or null, an unknown family, a duplicated (customer, family), a family scored
    by more than one model, or a `candidate` alias without `allow_candidate`.
    """
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        msg = f"`scores`: missing columns {missing}; expected {list(SCORE_COLUMNS)}"
        raise ValueError(msg)
    scores = scores.select(
        pl.col("customer_id").cast(pl.String()),
        pl.col("family").cast(pl.String()),
        pl.col("score").cast(pl.Float64()),
        pl.col("model_name").cast(pl.String()),
        pl.col("model_version").cast(pl.String()),
        pl.col("alias").cast(pl.String()),
    )
    bad = scores.filter(pl.col("score").is_null() | ~pl.col("score").is_between(0.0, 1.0))
    if bad.height:
        msg = (
            f"`scores.score`: expected propensities in [0, 1], found {bad.height} rows outside"
            f" (e.g. {bad['score'][0]!r})"
        )
        raise ValueError(msg)
    unknown = sorted(set(scores["family"].unique().to_list()) - set(FAMILIES))
    if unknown:
        msg = f"`scores.family`: unknown families {unknown}; expected a subset of {list(FAMILIES)}"
        raise ValueError(msg)
    if scores.select(pl.struct("customer_id", "family").is_duplicated().any()).item():
        msg = "`scores`: expected one row per (customer_id, family), found duplicates"
        raise ValueError(msg)
    meta = scores.select(MODEL_META).unique().sort("family")
    if meta.select(pl.col("family").is_duplicated().any()).item():
        dup = meta.filter(pl.col("family").is_duplicated())["family"].unique().sort().to_list()
        msg = f"`scores`: expected one model per family, found several for {dup}"
        raise ValueError(msg)
    allowed = {CHAMPION, CANDIDATE_ALIAS} if params.allow_candidate else {CHAMPION}
    wrong = sorted(set(meta["alias"].to_list()) - allowed)
    if wrong:
        msg = (
            f"`scores.alias`: expected {sorted(allowed)}"
            f" (allow_candidate={params.allow_candidate}),"
            f" found {wrong}"
        )
        raise ValueError(msg)
    return scores.select("customer_id", "family", "score"), meta


def held_products(holdings: pl.LazyFrame | pl.DataFrame, *, on: date) -> pl.LazyFrame:
    """(customer_id, product_id) of accounts open on local date `on`."""
    return (
        holdings.lazy()
        .filter(
            (pl.col("opened_on") <= on)
            & (pl.col("closed_on").is_null() | (pl.col("closed_on") > on))
        )
        .select("customer_id", "product_id")
        .unique()
        .with_columns(pl.lit(True).alias("held"))
    )


def interests_frame(model: pl.DataFrame, themes: pl.DataFrame) -> pl.DataFrame:
    """Model and theme interests side by side, told apart by `source` (never blended)."""
    model_rows = model.select(
        "customer_id",
        "family",
        pl.lit(MODEL_SOURCE).alias("source"),
        "score",
        pl.lit(None, dtype=pl.List(pl.String())).alias("themes"),
        pl.lit(None, dtype=pl.String()).alias("theme_rule"),
    )
    theme_rows = themes.select(
        "customer_id",
        "family",
        pl.lit(THEME_SOURCE).alias("source"),
        pl.lit(None, dtype=pl.Float64()).alias("score"),
        pl.col("themes").cast(pl.List(pl.String())),
        pl.col("theme_rule").cast(pl.String()),
    )
    return pl.concat([model_rows, theme_rows]).sort("customer_id", "family", "source")


def expand_candidates(
    interests: pl.DataFrame,
    *,
    products: pl.LazyFrame | pl.DataFrame,
    holdings: pl.LazyFrame | pl.DataFrame,
    eligibility: pl.DataFrame,
    on: date,
    policy: Policy,
    params: PlanParams,
) -> pl.DataFrame:
    """One row per (customer, family, source, product) with its value and exclusion reasons.

    Adds `product_id, provider, product_value, propensity, expected_value, held, reason_mask`
    (bits of every rule that excludes the candidate on its own, see `reasons`), `eligible`
    and `preferred`
    (the first eligible product of its family and source, by product id), plus the customer's
    eligibility columns.
    """
    values = pl.DataFrame(
        {
            "family": list(params.product_values),
            "product_value": list(params.product_values.values()),
        }
    )
    catalogue = products.lazy().select("product_id", "family", "provider", "provider_in_group")
    in_group = pl.col("provider_in_group").fill_null(False) & pl.col("provider").is_in(
        list(policy.group_providers)
    )
    frame = (
        interests.lazy()
        .join(catalogue, on="family", how="left")
        .join(values.lazy(), on="family", how="left")
        .join(held_products(holdings, on=on), on=["customer_id", "product_id"], how="left")
        .join(eligibility.lazy(), on="customer_id", how="left")
        .with_columns(
            pl.col("held").fill_null(False),
            pl.col("web_consented").fill_null(False),
            pl.col("cap_reached").fill_null(False),
            pl.when(pl.col("source") == MODEL_SOURCE)
            .then(pl.col("score"))
            .otherwise(pl.lit(params.theme_propensity))
            .alias("propensity"),
        )
        .with_columns((pl.col("propensity") * pl.col("product_value")).alias("expected_value"))
        .with_columns(
            (
                flag(~pl.col("web_consented"), "no_web_data_consent")
                | flag(pl.col("product_id").is_null(), "no_product_in_family")
                | flag(pl.col("product_id").is_not_null() & ~in_group, "non_group_product")
                | flag(pl.col("held"), "already_held")
                | flag(pl.col("cap_reached"), "cap_reached")
            ).alias("reason_mask")
        )
        .with_columns((pl.col("reason_mask") == 0).alias("eligible"))
        .with_columns(
            (
                pl.col("eligible")
                & (
                    pl.col("product_id")
                    == pl.when(pl.col("eligible"))
                    .then(pl.col("product_id"))
                    .min()
                    .over("customer_id", "family", "source")
                )
            )
            .fill_null(False)
            .alias("preferred")
        )
    )
    return frame.collect(engine="in-memory").sort(
        "customer_id", "family", "source", "product_id", nulls_last=True
    )


def frame_of(value: Any) -> pl.DataFrame:
    """Collect a lazy frame (inputs may come lazy from `storage.scan_table`)."""
    return value.collect(engine="in-memory") if isinstance(value, pl.LazyFrame) else value

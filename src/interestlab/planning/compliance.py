"""Cap-compliance report over the communication log (+ a plan): R6 is a target, so breaches
are reported, never hidden.

A customer-month breaches when its counted communications (capped channel AND counted category,
bank-local month) exceed the policy cap. The report says by channel and category what those
customer-months hold (exempt traffic shown but never counted) and whether a plan contributed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from interestlab.planning.cap import is_counted, local_month
from interestlab.policy import Policy

LOG_ORIGIN = "log"
PLAN_ORIGIN = "plan"
PLAN_CATEGORY = "commercial"


@dataclass(frozen=True)
class CapReport:
    """Result of `cap_compliance`.

    Attributes
    ----------
    breaches : one row per customer-month above the cap: `customer_id, month, counted, cap,
        excess, from_plan, plan_contributed` (pseudonymous ids, for monitoring follow-up).
    by_channel_category : over breaching customer-months: `month, channel, category, counted,
        communications, customer_months`.
    summary : per month and in total: customer-months with counted contacts, breaches, breaches
        a plan contributed to (no ids).
    """

    breaches: pl.DataFrame
    by_channel_category: pl.DataFrame
    summary: dict[str, Any]


def cap_compliance(
    communications: pl.LazyFrame | pl.DataFrame,
    *,
    policy: Policy,
    plan: pl.DataFrame | None = None,
) -> CapReport:
    """Customer-months above the monthly cap in the log, optionally with a plan added.

    Plan rows count as commercial contacts in their `plan_month` on their `channel`.

    Examples
    --------
    >>> report = cap_compliance(comms, policy=policy, plan=result.plan)  # doctest: +SKIP
    >>> report.summary["total"]["breaches"]  # doctest: +SKIP
    0
    """
    log = (
        communications.lazy()
        .select(
            "customer_id",
            "channel",
            "category",
            local_month("sent_at", policy).alias("month"),
            pl.lit(LOG_ORIGIN).alias("origin"),
        )
        .collect(engine="in-memory")
    )
    parts = [log]
    if plan is not None:
        parts.append(
            plan.select(
                "customer_id",
                "channel",
                pl.lit(PLAN_CATEGORY).alias("category"),
                pl.col("plan_month").alias("month"),
                pl.lit(PLAN_ORIGIN).alias("origin"),
            )
        )
    rows = pl.concat(parts).with_columns(is_counted(policy).alias("counted"))
    cap = policy.monthly_commercial_cap
    per_month = rows.group_by("customer_id", "month").agg(
        pl.col("counted").sum().cast(pl.Int64).alias("counted"),
        (pl.col("counted") & (pl.col("origin") == PLAN_ORIGIN))
        .sum()
        .cast(pl.Int64)
        .alias("from_plan"),
    )
    breaches = (
        per_month.filter(pl.col("counted") > cap)
        .with_columns(
            pl.lit(cap).alias("cap"),
            (pl.col("counted") - cap).alias("excess"),
            (pl.col("from_plan") > 0).alias("plan_contributed"),
        )
        .select("customer_id", "month", "counted", "cap", "excess", "from_plan", "plan_contributed")
        .sort("month", "customer_id")
    )
    by_channel_category = (
        rows.join(breaches.select("customer_id", "month"), on=["customer_id", "month"], how="semi")
        .group_by("month", "channel", "category", "counted")
        .agg(
            pl.len().cast(pl.Int64).alias("communications"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("customer_months"),
        )
        .sort("month", "channel", "category")
    )
    monthly = (
        per_month.filter(pl.col("counted") > 0)
        .group_by("month")
        .agg(
            pl.len().alias("customer_months_with_counted"),
            (pl.col("counted") > cap).sum().alias("breaches"),
            ((pl.col("counted") > cap) & (pl.col("from_plan") > 0))
            .sum()
            .alias("breaches_with_plan"),
            pl.col("counted").sum().alias("counted_communications"),
        )
        .sort("month")
    )
    summary = {
        "monthly_commercial_cap": cap,
        "policy_version": policy.version,
        "plan_included": plan is not None,
        "by_month": {
            row.pop("month"): {k: int(v) for k, v in row.items()} for row in monthly.to_dicts()
        },
        "total": {
            "customer_months_with_counted": int(monthly["customer_months_with_counted"].sum()),
            "breaches": breaches.height,
            "breaches_with_plan": int(breaches["plan_contributed"].sum()),
        },
    }
    return CapReport(breaches=breaches, by_channel_category=by_channel_category, summary=summary)

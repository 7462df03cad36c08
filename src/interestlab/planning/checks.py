"""Boolean check columns the `contact_plan` GX suite expects to be True (a failure blocks the plan).

Each flag is recomputed from the input tables, not read back from the plan's own columns, so the
gate checks the planner instead of trusting it. The frame holds flags only: no ids or values
reach GX results or Data Docs.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from interestlab.consent import consent_snapshot
from interestlab.planning.candidates import held_products
from interestlab.planning.cap import counted_in_month
from interestlab.policy import Policy

SUITE_NAME = "contact_plan"
CHECK_COLUMNS = (
    "within_cap",
    "one_contact_per_customer",
    "web_data_consented",
    "email_consented_if_email",
    "group_product",
    "not_already_held",
    "capped_channel",
    "explained",
)


def plan_checks(
    plan: pl.DataFrame,
    *,
    products: pl.LazyFrame | pl.DataFrame,
    holdings: pl.LazyFrame | pl.DataFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    communications: pl.LazyFrame | pl.DataFrame,
    as_of: datetime,
    policy: Policy,
) -> pl.DataFrame:
    """One row per planned contact with the `CHECK_COLUMNS` flags (True = rule respected).

    `within_cap` counts, per customer, the log's counted contacts in the plan month plus the
    plan's own capped contacts (R6); e-mail needs the explicit e-mail consent at `as_of` (R9);
    products must come from a group provider (R11); customers must be web-data consented (R13).
    """
    ids = plan.select("customer_id").unique()
    web = consent_snapshot(
        ids, consent_events, at=as_of, purpose=policy.web_data_purpose, policy=policy
    ).select("customer_id", pl.col("consented").alias("web"))
    email = consent_snapshot(
        ids, consent_events, at=as_of, purpose=policy.email_purpose, policy=policy
    ).select("customer_id", pl.col("consented").alias("email"))
    months = plan["plan_month"].unique().to_list()
    already = pl.concat(
        [
            counted_in_month(communications, month=month, policy=policy)
            .with_columns(pl.lit(month).alias("plan_month"))
            .collect(engine="in-memory")
            for month in sorted(months)
        ]
        or [
            pl.DataFrame(
                schema={
                    "customer_id": pl.String(),
                    "commercial_in_month": pl.Int64(),
                    "plan_month": pl.String(),
                }
            )
        ]
    )
    catalogue = frame_lazy(products).select("product_id", "provider", "provider_in_group")
    local_day = as_of.astimezone(policy.zone).date()
    capped = pl.col("channel").is_in(list(policy.capped_channels))
    return (
        plan.lazy()
        .select("customer_id", "plan_month", "channel", "product_id", "reasons")
        .join(web.lazy(), on="customer_id", how="left")
        .join(email.lazy(), on="customer_id", how="left")
        .join(already.lazy(), on=["customer_id", "plan_month"], how="left")
        .join(catalogue, on="product_id", how="left")
        .join(held_products(holdings, on=local_day), on=["customer_id", "product_id"], how="left")
        .with_columns(
            (
                pl.col("commercial_in_month").fill_null(0)
                + capped.cast(pl.Int64).sum().over("customer_id", "plan_month")
                <= policy.monthly_commercial_cap
            ).alias("within_cap"),
            (pl.len().over("customer_id") == 1).alias("one_contact_per_customer"),
            pl.col("web").fill_null(False).alias("web_data_consented"),
            (
                ~pl.col("channel").is_in(list(policy.explicit_consent_channels))
                | pl.col("email").fill_null(False)
            ).alias("email_consented_if_email"),
            (
                pl.col("provider_in_group").fill_null(False)
                & pl.col("provider").is_in(list(policy.group_providers)).fill_null(False)
            ).alias("group_product"),
            pl.col("held").is_null().alias("not_already_held"),
            (capped & ~pl.col("channel").is_in(list(policy.exempt_channels))).alias(
                "capped_channel"
            ),
            (pl.col("reasons").list.len().fill_null(0) > 0).alias("explained"),
        )
        .select(CHECK_COLUMNS)
        .collect(engine="in-memory")
    )


def frame_lazy(value: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    return value.lazy()


def failed_checks(checks: pl.DataFrame) -> dict[str, int]:
    """Rows failing each check (for a message without GX; counts only)."""
    return {c: int((~checks[c]).sum()) for c in CHECK_COLUMNS if int((~checks[c]).sum())}

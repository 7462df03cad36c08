"""Who may be contacted, and through which channel (R9, R13, R6).

Per customer at the as-of moment: web-data consent (R13, needed for any plan entry), the
e-mail consent that explicit-consent channels need (R9), recent internet-banking activity that
identification-required channels need (R9), and the commercial contacts already counted in the
plan's month (R6). Channel rules are read from the policy, never from channel names.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from interestlab.consent import consent_snapshot
from interestlab.contract import UTC_TS
from interestlab.planning.cap import counted_in_month
from interestlab.planning.params import PlanParams
from interestlab.policy import Policy


def login_activity(clicks: pl.LazyFrame | pl.DataFrame, *, as_of: datetime) -> pl.LazyFrame:
    """Last identification moment before `as_of` per customer: `customer_id, last_login_at`.

    The curated store holds identified sessions only (R1); `identified_at` is the login.
    """
    return (
        clicks.lazy()
        .filter(pl.col("identified_at") < as_of)
        .group_by("customer_id")
        .agg(pl.col("identified_at").max().alias("last_login_at"))
    )


def customer_eligibility(
    customer_ids: pl.LazyFrame | pl.DataFrame,
    *,
    consent_events: pl.LazyFrame | pl.DataFrame,
    communications: pl.LazyFrame | pl.DataFrame,
    activity: pl.LazyFrame | pl.DataFrame,
    as_of: datetime,
    month: str,
    policy: Policy,
    params: PlanParams,
) -> pl.DataFrame:
    """One row per customer with the facts every channel and cap rule needs.

    Returns `customer_id, web_consented, web_recorded_at, web_source, email_consented,
    email_recorded_at, email_source, recently_active, commercial_in_month, cap_reached`, and
    one boolean `channel_ok__<channel>` per planned channel.
    """
    ids = customer_ids.lazy().select("customer_id").unique()
    web = consent_snapshot(
        ids, consent_events, at=as_of, purpose=policy.web_data_purpose, policy=policy
    ).rename(
        {"consented": "web_consented", "recorded_at": "web_recorded_at", "source": "web_source"}
    )
    email = consent_snapshot(
        ids, consent_events, at=as_of, purpose=policy.email_purpose, policy=policy
    ).rename(
        {
            "consented": "email_consented",
            "recorded_at": "email_recorded_at",
            "source": "email_source",
        }
    )
    since = as_of - timedelta(days=params.recent_login_days)
    recent = (
        activity.lazy()
        .select("customer_id", pl.col("last_login_at").cast(UTC_TS))
        .filter((pl.col("last_login_at") >= since) & (pl.col("last_login_at") < as_of))
        .select("customer_id", pl.lit(True).alias("recently_active"))
        .unique()
    )
    counted = counted_in_month(communications, month=month, policy=policy)
    frame = (
        web.lazy()
        .join(email.lazy(), on="customer_id", how="left")
        .join(recent, on="customer_id", how="left")
        .join(counted, on="customer_id", how="left")
        .with_columns(
            pl.col("recently_active").fill_null(False),
            pl.col("commercial_in_month").fill_null(0),
        )
        .with_columns(
            (pl.col("commercial_in_month") >= policy.monthly_commercial_cap).alias("cap_reached")
        )
    )
    return (
        frame.with_columns(
            channel_rule(channel, policy).alias(f"channel_ok__{channel}")
            for channel in params.channels
        )
        .sort("customer_id")
        .collect(engine="in-memory")
    )


def channel_rule(channel: str, policy: Policy) -> pl.Expr:
    """Whether `channel` may carry a commercial proposal to the customer (R9)."""
    rule = pl.lit(True)
    if channel in policy.explicit_consent_channels:
        rule = rule & pl.col("email_consented")
    if channel in policy.identification_required_channels:
        rule = rule & pl.col("recently_active")
    return rule


def channel_exclusions(channels: tuple[str, ...], policy: Policy) -> list[tuple[pl.Expr, str]]:
    """(condition, reason label) for channels a customer may not receive (suppression log)."""
    reasons = []
    if any(c in policy.explicit_consent_channels for c in channels):
        reasons.append((~pl.col("email_consented"), "no_email_consent"))
    if any(c in policy.identification_required_channels for c in channels):
        reasons.append((~pl.col("recently_active"), "no_recent_login"))
    return reasons

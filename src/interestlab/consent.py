"""Consent as a time-stamped history (R9, R13).

`consent_events` holds every grant and withdrawal. For any moment t a customer's state for a
purpose is the latest event recorded at or before t; without any event it is the policy
default (not consented). Every downstream step asks "consented as of the run's as-of
moment", and, unless the policy allows it, only uses click events that occurred while
consent was granted (events of a withdrawn period stay unused after a re-grant).
All functions are pure transforms over polars frames.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from interestlab.contract import UTC_TS
from interestlab.policy import Policy


def _events_for(consent_events: pl.LazyFrame | pl.DataFrame, purpose: str) -> pl.LazyFrame:
    return (
        consent_events.lazy()
        .filter(pl.col("purpose") == purpose)
        .select("customer_id", "granted", "recorded_at", "source")
    )


def consent_snapshot(
    customer_ids: pl.LazyFrame | pl.DataFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    *,
    at: datetime,
    purpose: str,
    policy: Policy,
) -> pl.DataFrame:
    """State of `purpose` for every customer at moment `at`.

    Returns `customer_id, consented, recorded_at, source` (one row per customer in
    `customer_ids`); `recorded_at`/`source` are null where the policy default applied.

    Examples
    --------
    >>> snap = consent_snapshot(customers.select("customer_id"), consent, at=t,
    ...                         purpose="email_commercial", policy=policy)  # doctest: +SKIP
    """
    latest = (
        _events_for(consent_events, purpose)
        .filter(pl.col("recorded_at") <= at)
        # On equal timestamps a withdrawal wins: the conservative reading of a tie.
        .sort("customer_id", "recorded_at", "granted", descending=[False, False, True])
        .group_by("customer_id")
        .agg(pl.all().last())
    )
    return (
        customer_ids.lazy()
        .select("customer_id")
        .unique()
        .join(latest, on="customer_id", how="left")
        .select(
            "customer_id",
            pl.col("granted").fill_null(policy.default_consent).alias("consented"),
            "recorded_at",
            "source",
        )
        .sort("customer_id")
        .collect(engine="in-memory")
    )


def consent_intervals(
    consent_events: pl.LazyFrame | pl.DataFrame, *, purpose: str, policy: Policy
) -> pl.LazyFrame:
    """Periods during which `purpose` was granted: `customer_id, granted_from, granted_until`.

    `granted_until` is null for a period still open. With a policy default of "consented",
    the period before a customer's first record is granted too (`granted_from` null).
    """
    ordered = (
        _events_for(consent_events, purpose)
        .sort("customer_id", "recorded_at", "granted", descending=[False, False, True])
        .with_columns(
            pl.col("granted").shift(1).over("customer_id").alias("previous"),
            pl.col("recorded_at").shift(-1).over("customer_id").alias("next_at"),
        )
    )
    grants = ordered.filter(
        pl.col("granted") & ~pl.col("previous").fill_null(policy.default_consent)
    ).select("customer_id", pl.col("recorded_at").alias("granted_from"))
    withdrawals = ordered.filter(
        ~pl.col("granted") & pl.col("previous").fill_null(policy.default_consent)
    ).select("customer_id", pl.col("recorded_at").alias("granted_until"))
    if policy.default_consent:
        firsts = ordered.group_by("customer_id").agg(pl.col("recorded_at").min().alias("first"))
        grants = pl.concat(
            [
                firsts.select("customer_id", pl.lit(None, dtype=UTC_TS).alias("granted_from")),
                grants,
            ]
        )
    # Pair each grant with the first withdrawal after it.
    return (
        grants.join(withdrawals, on="customer_id", how="left")
        .with_columns(
            pl.when(
                pl.col("granted_from").is_null()
                | (pl.col("granted_until") > pl.col("granted_from"))
            )
            .then(pl.col("granted_until"))
            .alias("granted_until")
        )
        .group_by("customer_id", "granted_from")
        .agg(pl.col("granted_until").min())
        .sort("customer_id", "granted_from", nulls_last=False)
    )


def consented_ids(
    customer_ids: pl.LazyFrame | pl.DataFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    *,
    at: datetime,
    policy: Policy,
    purpose: str | None = None,
) -> pl.DataFrame:
    """Customer ids consented for `purpose` (default: web-data commercial use) at `at`."""
    snap = consent_snapshot(
        customer_ids,
        consent_events,
        at=at,
        purpose=purpose or policy.web_data_purpose,
        policy=policy,
    )
    return snap.filter(pl.col("consented")).select("customer_id")


def events_in_granted_periods(
    events: pl.LazyFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    *,
    policy: Policy,
    codes: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """Events that occurred while web-data consent was granted (the as-of-independent part).

    With `use_events_from_non_consented_periods` the events are returned unchanged. With
    `codes` (`customer_id, code`), `events` are keyed by the integer `code` instead of
    `customer_id` (the feature build joins on small integers; see `features.clicks`).
    """
    if policy.use_events_from_non_consented_periods:
        return events
    periods = consent_intervals(consent_events, purpose=policy.web_data_purpose, policy=policy)
    key = "customer_id"
    if codes is not None:
        periods = periods.join(codes.lazy(), on="customer_id", how="inner").drop("customer_id")
        key = "code"
    return (
        events.join(periods, on=key, how="inner")
        .filter(
            (pl.col("granted_from").is_null() | (pl.col("ts") >= pl.col("granted_from")))
            & (pl.col("granted_until").is_null() | (pl.col("ts") < pl.col("granted_until")))
        )
        .drop("granted_from", "granted_until")
    )


def usable_click_events(
    events: pl.LazyFrame,
    consent_events: pl.LazyFrame | pl.DataFrame,
    customer_ids: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: datetime,
    policy: Policy,
) -> pl.LazyFrame:
    """Click events that may feed features, models and plans at `as_of` (R13).

    Keeps events of customers consented for web-data commercial use at `as_of`, occurring
    before `as_of`, and (unless `use_events_from_non_consented_periods`) only those that
    occurred inside a granted period.
    """
    allowed = consented_ids(customer_ids, consent_events, at=as_of, policy=policy).lazy()
    kept = events.filter(pl.col("ts") < as_of).join(allowed, on="customer_id", how="semi")
    return events_in_granted_periods(kept, consent_events, policy=policy)

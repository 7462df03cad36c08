"""Click-behaviour features (R4) from the curated store, point in time, inside retention (R3).

The raw events are aggregated **once** into two compact tables keyed by bank-local calendar
day (`daily_activity`: customer, day, event type, family, theme, count; `session_starts`:
customer, day of a session's first usable event, count). Every window of every as-of
snapshot is then derived from these tables (`click_features`), so a 12-snapshot training
set reads the raw events once, not 12 times.

Days are calendar days in the policy's zone, as are as-of moments (local midnight) and the
retention cutoff: "the last 7 days" before an as-of on day D are days D-7 .. D-1. Events at
or after the as-of moment never count; events before the run's retention cutoff were
filtered out before aggregation, so every window is clipped at that cutoff.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from interestlab.contract import FAMILIES, THEMES
from interestlab.features.catalogue import (
    FAMILY_DAYS_SINCE_TYPES,
    FAMILY_TYPE_WINDOWS,
    GLOBAL_TYPE_WINDOW,
    HISTORY_DAYS_MAX,
    THEME_WINDOWS,
    WINDOWS,
)
from interestlab.policy import Policy

_EPOCH = date(1970, 1, 1)
_EVENT_TYPES_GLOBAL = (
    "theme_visit",
    "info_consult",
    "simulation",
    "procedure_started",
    "procedure_abandoned",
    "procedure_completed",
)


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the Int32 day key of the compact tables)."""
    return (day - _EPOCH).days


def local_day(moment: datetime, policy: Policy) -> date:
    """Bank-local calendar date of an aware moment."""
    return moment.astimezone(policy.zone).date()


def local_day_expr(column: str, policy: Policy) -> pl.Expr:
    """Int32 bank-local day number of a UTC timestamp column."""
    return (
        pl.col(column).dt.convert_time_zone(policy.timezone).dt.date().cast(pl.Int32).alias("day")
    )


def daily_activity(events: pl.LazyFrame, *, policy: Policy) -> pl.LazyFrame:
    """Events counted per customer, local day, event type, product family and theme.

    Returns `customer_id, day (Int32), event_type, product_family, theme, n (UInt32)`.
    """
    return events.group_by(
        "customer_id", local_day_expr("ts", policy), "event_type", "product_family", "theme"
    ).agg(pl.len().cast(pl.UInt32).alias("n"))


def session_starts(events: pl.LazyFrame, *, policy: Policy) -> pl.LazyFrame:
    """Sessions counted per customer and local day of their first usable event.

    A session is dated by its first event that survived the consent and retention filters,
    so a session is counted in a window iff that first event lies in the window (exactly
    what a per-as-of count would give, since later events cannot move the first one).
    """
    return (
        events.group_by("customer_id", "session_id")
        .agg(local_day_expr("ts", policy).min())
        .group_by("customer_id", "day")
        .agg(pl.len().cast(pl.UInt32).alias("n"))
    )


def _in_window(as_of_day: int, window: int) -> pl.Expr:
    # Local days as_of_day - window .. as_of_day - 1.
    return (pl.col("day") < as_of_day) & (pl.col("day") >= as_of_day - window)


# Measures are (name, masked value, aggregation): the mask is applied in a `with_columns`
# before the group-by so that the group-by only runs plain `sum`/`max` (polars' fast path;
# `col.filter(...).sum()` inside `agg` is evaluated group by group and is much slower).
def _sum_where(condition: pl.Expr, name: str, value: pl.Expr | None = None) -> tuple:
    return (name, pl.when(condition).then(pl.col("n") if value is None else value), "sum")


def _days_since(as_of_day: int, condition: pl.Expr, name: str) -> tuple:
    in_window = condition & _in_window(as_of_day, HISTORY_DAYS_MAX)
    return (name, pl.when(in_window).then(as_of_day - pl.col("day")), "min")


def _trend(recent: str, longer: str) -> pl.Expr:
    # Share of the 90-day activity that fell in the last 30 days; 1/3 is a steady pace.
    return pl.when(pl.col(longer) > 0).then(pl.col(recent) / pl.col(longer)).cast(pl.Float32)


def _span(frame: pl.LazyFrame | pl.DataFrame, as_of_days: list[int]) -> pl.LazyFrame:
    return frame.lazy().filter(
        (pl.col("day") < max(as_of_days)) & (pl.col("day") >= min(as_of_days) - HISTORY_DAYS_MAX)
    )


def _family_measures(d: int) -> list[tuple]:
    measures = [_sum_where(_in_window(d, w), f"events_{w}d") for w in WINDOWS]
    measures += [
        _sum_where((pl.col("event_type") == event_type) & _in_window(d, w), f"{event_type}_{w}d")
        for event_type, w in FAMILY_TYPE_WINDOWS
    ]
    measures += [
        _days_since(d, pl.col("event_type") == event_type, f"days_since_{event_type}")
        for event_type in FAMILY_DAYS_SINCE_TYPES
    ]
    return measures


def _theme_measures(d: int) -> list[tuple]:
    measures = [_sum_where(_in_window(d, w), f"visits_{w}d") for w in THEME_WINDOWS]
    measures.append(_days_since(d, pl.lit(True), "days_since_visit"))
    return measures


def _global_measures(d: int) -> list[tuple]:
    measures = [_sum_where(_in_window(d, w), f"all__events_{w}d") for w in WINDOWS]
    measures += [
        _sum_where(
            (pl.col("event_type") == event_type) & _in_window(d, GLOBAL_TYPE_WINDOW),
            f"all__{event_type}_{GLOBAL_TYPE_WINDOW}d",
        )
        for event_type in _EVENT_TYPES_GLOBAL
    ]
    measures.append(_days_since(d, pl.lit(True), "all__days_since_event"))
    return measures


def _session_measures(d: int) -> list[tuple]:
    return [_sum_where(_in_window(d, w), f"all__sessions_{w}d") for w in (30, 90, 365)]


def _active_day_measures(d: int) -> list[tuple]:
    # Rows of the per-(customer, day) table: one row is one active day.
    return [_sum_where(_in_window(d, w), f"all__active_days_{w}d", pl.lit(1)) for w in (30, 90)]


def _grouped(
    frame: pl.LazyFrame, keys: list[str], as_of_days: list[int], measures
) -> tuple[pl.DataFrame, list[str]]:
    # One pass over the compact table computes the measures of every snapshot at once;
    # columns are suffixed `#<snapshot index>`.
    specs = [
        (f"{name}#{i}", value, how)
        for i, day in enumerate(as_of_days)
        for name, value, how in measures(day)
    ]
    grouped = (
        frame.with_columns(value.alias(name) for name, value, _ in specs)
        .group_by(keys)
        .agg(getattr(pl.col(name), how)().cast(pl.Float32) for name, _, how in specs)
        .collect()
    )
    return grouped, [name for name, _, _ in measures(as_of_days[0])]


def _slice(grouped: pl.DataFrame, keys: list[str], names: list[str], index: int) -> pl.LazyFrame:
    return grouped.lazy().select(*keys, *[pl.col(f"{name}#{index}").alias(name) for name in names])


def click_features_many(
    daily: pl.LazyFrame | pl.DataFrame,
    sessions: pl.LazyFrame | pl.DataFrame,
    *,
    as_of_days: list[int],
) -> pl.DataFrame:
    """Click features at several as-of days from one pass over the compact tables.

    Returns `customer_id, as_of_day (Int32)` and the click columns of the catalogue, one row
    per customer with at least one event in the 365 days before the snapshot's as-of day.
    """
    if not as_of_days:
        msg = "`as_of_days` must hold at least one day, got an empty list"
        raise ValueError(msg)
    rows = _span(daily, as_of_days)
    family_rows = (
        rows.filter(pl.col("product_family").is_not_null())
        .group_by("customer_id", "day", "event_type", "product_family")
        .agg(pl.col("n").sum())
    )
    theme_rows = (
        rows.filter((pl.col("event_type") == "theme_visit") & pl.col("theme").is_not_null())
        .group_by("customer_id", "day", "theme")
        .agg(pl.col("n").sum())
    )
    global_rows = rows.group_by("customer_id", "day", "event_type").agg(pl.col("n").sum())
    family, family_names = _grouped(
        family_rows, ["customer_id", "product_family"], as_of_days, _family_measures
    )
    theme, theme_names = _grouped(theme_rows, ["customer_id", "theme"], as_of_days, _theme_measures)
    overall, overall_names = _grouped(global_rows, ["customer_id"], as_of_days, _global_measures)
    session, session_names = _grouped(
        _span(sessions, as_of_days), ["customer_id"], as_of_days, _session_measures
    )
    day_rows = rows.group_by("customer_id", "day").agg(pl.col("n").sum())
    active, active_names = _grouped(day_rows, ["customer_id"], as_of_days, _active_day_measures)
    family_names.append("trend_30_90")
    snapshots = []
    for index, day in enumerate(as_of_days):
        wide_family = (
            _slice(family, ["customer_id", "product_family"], family_names[:-1], index)
            .filter(pl.col("events_365d") > 0)
            .with_columns(_trend("events_30d", "events_90d").alias("trend_30_90"))
            .pivot(
                "product_family",
                on_columns=list(FAMILIES),
                index="customer_id",
                values=family_names,
                separator="@",
            )
            .rename({f"{m}@{f}": f"fam_{f}__{m}" for m in family_names for f in FAMILIES})
        )
        wide_theme = (
            _slice(theme, ["customer_id", "theme"], theme_names, index)
            .filter(pl.col("days_since_visit").is_not_null())
            .pivot(
                "theme",
                on_columns=list(THEMES),
                index="customer_id",
                values=theme_names,
                separator="@",
            )
            .rename({f"{m}@{t}": f"theme_{t}__{m}" for m in theme_names for t in THEMES})
        )
        snapshots.append(
            _slice(overall, ["customer_id"], overall_names, index)
            .filter(pl.col("all__events_365d") > 0)
            .with_columns(_trend("all__events_30d", "all__events_90d").alias("all__trend_30_90"))
            .join(
                _slice(session, ["customer_id"], session_names, index),
                on="customer_id",
                how="left",
            )
            .join(
                _slice(active, ["customer_id"], active_names, index), on="customer_id", how="left"
            )
            .join(wide_family, on="customer_id", how="left")
            .join(wide_theme, on="customer_id", how="left")
            .with_columns(pl.lit(day, dtype=pl.Int32).alias("as_of_day"))
        )
    return pl.concat(pl.collect_all(snapshots), how="diagonal_relaxed")


def history_days(as_of: datetime, retention_start: datetime) -> int:
    """Whole days of click history available before `as_of` (0..365), given the cutoff."""
    seconds = (as_of - retention_start).total_seconds()
    return int(min(max(seconds // 86_400, 0), HISTORY_DAYS_MAX))


def click_features(
    daily: pl.LazyFrame | pl.DataFrame,
    sessions: pl.LazyFrame | pl.DataFrame,
    *,
    as_of_day: int,
) -> pl.LazyFrame:
    """Click features of every customer with activity before local day `as_of_day`.

    Parameters
    ----------
    daily : output of `daily_activity` (already consent- and retention-filtered).
    sessions : output of `session_starts` over the same events.
    as_of_day : Int32 local day number of the as-of moment (a local midnight).

    Returns
    -------
    LazyFrame of `customer_id` and the click columns of the catalogue; customers without
    any event in the last 365 days are absent (the caller fills their counts with 0).
    """
    return click_features_many(daily, sessions, as_of_days=[as_of_day]).lazy().drop("as_of_day")

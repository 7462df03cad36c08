"""The monthly commercial cap (R6-R8), counted in the bank's local calendar month.

A communication counts iff its channel is a capped channel and its category a counted
category of the policy; banners (R7), subscribed (R7), operational and legal (R8) messages
never count. Months are the policy zone's months (Europe/Brussels): a letter sent at
23:30 UTC on 31 October is a November letter, whatever the daylight-saving offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from interestlab.planning.params import PlanParams
from interestlab.policy import Policy


@dataclass(frozen=True)
class PlanWindow:
    """When the plan's contacts go out and which month's cap they use.

    Attributes
    ----------
    send_from, send_until : first and last bank-local day contacts may be sent.
    planned_week : ISO week label of `send_from` (e.g. "2026-W46").
    month : bank-local month label "YYYY-MM" of the send window (the counted month).
    """

    send_from: date
    send_until: date
    planned_week: str
    month: str


def plan_window(as_of: datetime, *, policy: Policy, params: PlanParams) -> PlanWindow:
    """The send window of a plan built at `as_of` (a time-zone aware moment).

    Contacts go out from the bank-local as-of date + `lead_days` until the end of that ISO
    week, clipped to the month, so every contact lands in the month whose cap it uses.

    Examples
    --------
    >>> w = plan_window(as_of_moment(date(2026, 11, 15), policy), policy=policy,
    ...                 params=params)  # doctest: +SKIP
    >>> (w.send_from, w.send_until, w.planned_week, w.month)  # doctest: +SKIP
    (date(2026, 11, 15), date(2026, 11, 15), '2026-W46', '2026-11')
    """
    if as_of.tzinfo is None:
        msg = f"`as_of` must be time-zone aware (UTC), got naive {as_of!r}"
        raise ValueError(msg)
    send_from = as_of.astimezone(policy.zone).date() + timedelta(days=params.lead_days)
    week_end = send_from + timedelta(days=6 - send_from.weekday())
    next_month = date(send_from.year + send_from.month // 12, send_from.month % 12 + 1, 1)
    send_until = min(week_end, next_month - timedelta(days=1))
    iso = send_from.isocalendar()
    return PlanWindow(
        send_from=send_from,
        send_until=send_until,
        planned_week=f"{iso.year:04d}-W{iso.week:02d}",
        month=f"{send_from.year:04d}-{send_from.month:02d}",
    )


def local_month(column: str, policy: Policy) -> pl.Expr:
    """Bank-local month label `YYYY-MM` of a UTC timestamp column."""
    return pl.col(column).dt.convert_time_zone(policy.timezone).dt.strftime("%Y-%m")


def is_counted(policy: Policy) -> pl.Expr:
    """True for communications that count against the cap (capped channel AND counted category)."""
    return pl.col("channel").is_in(list(policy.capped_channels)) & pl.col("category").is_in(
        list(policy.counted_categories)
    )


def counted_in_month(
    communications: pl.LazyFrame | pl.DataFrame, *, month: str, policy: Policy
) -> pl.LazyFrame:
    """Counted commercial communications per customer in bank-local `month`.

    Returns `customer_id, commercial_in_month` (only customers with at least one). Everything
    the log holds for the month counts, also what is dated after the as-of moment: the cap is
    per calendar month, not per month-to-date.
    """
    return (
        communications.lazy()
        .filter(is_counted(policy) & (local_month("sent_at", policy) == month))
        .group_by("customer_id")
        .agg(pl.len().cast(pl.Int64).alias("commercial_in_month"))
    )


def cap_state_text(sent: pl.Expr, *, month: str, cap: int) -> pl.Expr:
    """Plain-language cap state before the plan, e.g. "no commercial contact yet in 2026-11"."""
    return (
        pl.when(sent == 0)
        .then(pl.lit(f"no commercial contact yet in {month} (cap {cap} a month)"))
        .otherwise(
            pl.format(
                "{} commercial contact(s) already in {} (cap {} a month)",
                sent,
                pl.lit(month),
                pl.lit(cap),
            )
        )
    )

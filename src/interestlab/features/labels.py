"""Labels and the monthly as-of moments of a training set.

Label for (customer, family, as-of): 1 when the customer opened a product of that family
within `horizon_days` after the as-of moment, 0 when not, null (not eligible) when the
customer already held one at the as-of moment. With as-of at local midnight starting day
D, the horizon covers local days D .. D + horizon_days - 1.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

import polars as pl

from interestlab.contract import FAMILIES, UTC_TS
from interestlab.features.clicks import day_number, local_day
from interestlab.features.holdings import held_at, holdings_with_family
from interestlab.policy import Policy, as_of_moment, load_policy


def check_horizon(horizon_days: int) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        msg = f"`horizon_days` must be a positive integer, got {horizon_days!r}"
        raise ValueError(msg)


def check_as_of(as_of: datetime, policy: Policy) -> date:
    """Local date of `as_of`; raise unless it is an aware local midnight (features are daily)."""
    if as_of.tzinfo is None:
        msg = f"`as_of` must be time-zone aware (UTC), got naive {as_of!r}"
        raise ValueError(msg)
    day = local_day(as_of, policy)
    if as_of_moment(day, policy) != as_of:
        msg = (
            f"`as_of` must be a local midnight in {policy.timezone}"
            f" (use `policy.as_of_moment`), got {as_of.isoformat()}"
        )
        raise ValueError(msg)
    return day


def build_labels(
    holdings: pl.LazyFrame | pl.DataFrame,
    products: pl.LazyFrame | pl.DataFrame,
    *,
    as_ofs: list[datetime],
    horizon_days: int,
    policy: Policy | None = None,
) -> pl.DataFrame:
    """Label grid `customer_id, as_of, family, label` for every customer in `holdings`.

    Parameters
    ----------
    holdings, products : contract tables.
    as_ofs : as-of moments (local midnights of the policy zone).
    horizon_days : days after the as-of moment in which an opening counts.
    policy : gives the bank's zone (default: the project's policy file).

    Returns
    -------
    DataFrame sorted by `as_of, customer_id, family`; `label` is Int8: 1 opened within the
    horizon, 0 did not, null already held a product of the family at as-of (not eligible).

    Examples
    --------
    >>> build_labels(holdings, products, as_ofs=[t], horizon_days=60)  # doctest: +SKIP
    """
    check_horizon(horizon_days)
    if not as_ofs:
        msg = "`as_ofs` must hold at least one as-of moment, got an empty list"
        raise ValueError(msg)
    policy = policy or load_policy()
    accounts = holdings_with_family(holdings, products)
    customers = accounts.select("customer_id").unique()
    families = pl.LazyFrame({"family": list(FAMILIES)})
    grids = []
    for as_of in as_ofs:
        day = day_number(check_as_of(as_of, policy))
        status = accounts.group_by("customer_id", "family").agg(
            held_at(day).any().alias("held"),
            pl.col("opened_day").is_between(day, day + horizon_days - 1).any().alias("opened"),
        )
        grids.append(
            customers.join(families, how="cross")
            .join(status, on=["customer_id", "family"], how="left")
            .select(
                "customer_id",
                pl.lit(as_of, dtype=UTC_TS).alias("as_of"),
                "family",
                pl.when(pl.col("held").fill_null(False))
                .then(None)
                .otherwise(pl.col("opened").fill_null(False))
                .cast(pl.Int8)
                .alias("label"),
            )
        )
    return pl.concat(grids).collect().sort("as_of", "customer_id", "family")


def label_columns(
    holdings: pl.LazyFrame | pl.DataFrame,
    products: pl.LazyFrame | pl.DataFrame,
    *,
    as_of: datetime,
    horizon_days: int,
    policy: Policy,
    key: str = "customer_id",
) -> pl.LazyFrame:
    """`<key>, label__<family>...` at one as-of: `build_labels` pivoted, one row per customer.

    Customers without any account are absent (the caller fills 0: eligible, no opening).
    A test checks these columns against `build_labels`.
    """
    check_horizon(horizon_days)
    day = day_number(check_as_of(as_of, policy))
    return (
        holdings_with_family(holdings, products, key=key)
        .group_by(key)
        .agg(_label_measures(day, horizon_days))
    )


def _label_measures(day: int, horizon_days: int) -> list[pl.Expr]:
    opened = pl.col("opened_day").is_between(day, day + horizon_days - 1)
    return [
        pl.when((held_at(day) & (pl.col("family") == family)).any())
        .then(None)
        .otherwise((opened & (pl.col("family") == family)).any())
        .cast(pl.Int8)
        .alias(f"label__{family}")
        for family in FAMILIES
    ]


def label_columns_many(
    holdings: pl.LazyFrame | pl.DataFrame,
    products: pl.LazyFrame | pl.DataFrame,
    *,
    as_ofs: list[datetime],
    horizon_days: int,
    policy: Policy,
    key: str = "customer_id",
) -> list[pl.DataFrame]:
    """`label_columns` at each of `as_ofs` (same rows and columns), from one group-by.

    The accounts are grouped once for every as-of instead of once per as-of. Every frame
    has the same customers (those with any account), in the same, unspecified order.
    """
    check_horizon(horizon_days)
    days = [day_number(check_as_of(as_of, policy)) for as_of in as_ofs]
    grouped = (
        holdings_with_family(holdings, products, key=key)
        .group_by(key)
        .agg(
            expr.name.suffix(f"#{index}")
            for index, day in enumerate(days)
            for expr in _label_measures(day, horizon_days)
        )
        .collect()
    )
    names = [f"label__{family}" for family in FAMILIES]
    return [
        grouped.select(key, *[pl.col(f"{name}#{index}").alias(name) for name in names])
        for index in range(len(days))
    ]


def monthly_as_ofs(
    run_as_of: datetime, *, n_snapshots: int, horizon_days: int, policy: Policy
) -> list[datetime]:
    """Monthly as-of moments whose label horizon ends at or before `run_as_of`.

    The moments fall on the local day of month of `run_as_of` (clamped to the month's last
    day), are local midnights, and the latest satisfies `as_of + horizon_days <= run_as_of`
    so every label is complete. Returned oldest first. Snapshots older than the retention
    cutoff of the run have less click history: the feature `all__history_days` says how
    much.

    Examples
    --------
    >>> policy = load_policy()
    >>> run = as_of_moment(date(2026, 11, 15), policy)
    >>> [local_day(t, policy).isoformat() for t in monthly_as_ofs(run, n_snapshots=3,
    ...                                                          horizon_days=60, policy=policy)]
    ['2026-07-15', '2026-08-15', '2026-09-15']
    """
    check_horizon(horizon_days)
    if isinstance(n_snapshots, bool) or not isinstance(n_snapshots, int) or n_snapshots < 1:
        msg = f"`n_snapshots` must be a positive integer, got {n_snapshots!r}"
        raise ValueError(msg)
    run_day = check_as_of(run_as_of, policy)
    latest_allowed = day_number(run_day) - horizon_days

    def month_day(months_back: int) -> date:
        index = run_day.year * 12 + run_day.month - 1 - months_back
        year, month = divmod(index, 12)
        last = calendar.monthrange(year, month + 1)[1]
        return date(year, month + 1, min(run_day.day, last))

    months_back = 0
    while day_number(month_day(months_back)) > latest_allowed:
        months_back += 1
    days = [month_day(months_back + k) for k in range(n_snapshots)]
    return [as_of_moment(day, policy) for day in sorted(days)]

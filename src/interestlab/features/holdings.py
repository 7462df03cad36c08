"""Holdings at the as-of moment (R4): families held, tenure, recent openings and closings.

Holdings dates are bank-local calendar dates. At an as-of moment (local midnight starting
day D) only what happened on days before D is known: an account is held iff it was opened
before D and not closed before D (a closing on day D or later is in the future).
"""

from __future__ import annotations

import polars as pl

from interestlab.contract import FAMILIES


def holdings_with_family(
    holdings: pl.LazyFrame, products: pl.LazyFrame, *, key: str = "customer_id"
) -> pl.LazyFrame:
    """Accounts with their product family: `<key>, family, opened_day, closed_day` (Int32).

    `key` names the customer column (`customer_id`, or the integer `code` of the feature
    build, `snapshots.customer_codes`).
    """
    return (
        holdings.lazy()
        .join(products.lazy().select("product_id", "family"), on="product_id", how="inner")
        .select(
            key,
            "family",
            pl.col("opened_on").cast(pl.Int32).alias("opened_day"),
            pl.col("closed_on").cast(pl.Int32).alias("closed_day"),
        )
    )


def held_at(as_of_day: int) -> pl.Expr:
    """Account open at the start of local day `as_of_day` (known at that moment)."""
    return (pl.col("opened_day") < as_of_day) & (
        pl.col("closed_day").is_null() | (pl.col("closed_day") >= as_of_day)
    )


def holding_features(
    holdings: pl.LazyFrame, products: pl.LazyFrame, *, as_of_day: int, key: str = "customer_id"
) -> pl.LazyFrame:
    """Holding features of every customer with an account opened before `as_of_day`.

    Returns `<key>` (the customer column), `hold_<family>` (UInt8 0/1) and the `hold__*`
    counts of the catalogue; customers without any account are absent (the caller fills
    zeros).
    """
    accounts = holdings_with_family(holdings, products, key=key).filter(
        pl.col("opened_day") < as_of_day
    )
    held = held_at(as_of_day)

    def count_where(condition: pl.Expr, name: str) -> pl.Expr:
        return condition.sum().cast(pl.Float32).alias(name)

    closed_before = pl.col("closed_day").is_not_null() & (pl.col("closed_day") < as_of_day)
    return accounts.group_by(key).agg(
        *[
            (held & (pl.col("family") == family)).any().cast(pl.UInt8).alias(f"hold_{family}")
            for family in FAMILIES
        ],
        count_where(held, "hold__accounts_open"),
        pl.col("family").filter(held).n_unique().cast(pl.Float32).alias("hold__families_held"),
        (as_of_day - pl.col("opened_day").filter(held).min())
        .cast(pl.Float32)
        .alias("hold__tenure_days"),
        count_where(pl.col("opened_day") >= as_of_day - 90, "hold__openings_90d"),
        count_where(pl.col("opened_day") >= as_of_day - 365, "hold__openings_365d"),
        count_where(closed_before & (pl.col("closed_day") >= as_of_day - 90), "hold__closings_90d"),
        count_where(
            closed_before & (pl.col("closed_day") >= as_of_day - 365), "hold__closings_365d"
        ),
    )


def _holding_measures(as_of_day: int) -> list[pl.Expr]:
    # `holding_features`' aggregations as masked sums and minima over *all* of a customer's
    # accounts (those opened on or after `as_of_day` masked out), so that one group-by
    # serves several as-of days; `hold__families_held` is added after the group-by.
    known = pl.col("opened_day") < as_of_day
    held = held_at(as_of_day)
    closed_before = pl.col("closed_day").is_not_null() & (pl.col("closed_day") < as_of_day)

    def count_where(condition: pl.Expr, name: str) -> pl.Expr:
        return (known & condition).sum().cast(pl.Float32).alias(name)

    return [
        *[
            (held & (pl.col("family") == family)).any().cast(pl.UInt8).alias(f"hold_{family}")
            for family in FAMILIES
        ],
        count_where(held, "hold__accounts_open"),
        (as_of_day - pl.when(held).then(pl.col("opened_day")).min())
        .cast(pl.Float32)
        .alias("hold__tenure_days"),
        count_where(pl.col("opened_day") >= as_of_day - 90, "hold__openings_90d"),
        count_where(pl.col("opened_day") >= as_of_day - 365, "hold__openings_365d"),
        count_where(closed_before & (pl.col("closed_day") >= as_of_day - 90), "hold__closings_90d"),
        count_where(
            closed_before & (pl.col("closed_day") >= as_of_day - 365), "hold__closings_365d"
        ),
    ]


def holding_features_many(
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    *,
    as_of_days: list[int],
    key: str = "customer_id",
) -> list[pl.DataFrame]:
    """`holding_features` at each of `as_of_days` (same rows and columns), from one group-by.

    The accounts are grouped once for every as-of day instead of once per day (a training
    set's 12 snapshots pay about two single-day group-bys). Rows are in no particular order.
    `hold__families_held` counts the `hold_<family>` flags: the families of the contract's
    domain (`contract.FAMILIES`), as every product's family is.
    """
    first_opened = pl.col("opened_day").min().alias("_first_opened")
    grouped = (
        holdings_with_family(holdings, products, key=key)
        .group_by(key)
        .agg(
            first_opened,
            *[
                expr.name.suffix(f"#{index}")
                for index, day in enumerate(as_of_days)
                for expr in _holding_measures(day)
            ],
        )
        .collect()
    )
    names = [expr.meta.output_name() for expr in _holding_measures(0)]
    flags = [f"hold_{family}" for family in FAMILIES]
    columns = [*flags, "hold__accounts_open"]
    columns += ["hold__families_held", *names[len(columns) :]]
    out = []
    for index, day in enumerate(as_of_days):
        frame = grouped.filter(pl.col("_first_opened") < day).select(
            key, *[pl.col(f"{name}#{index}").alias(name) for name in names]
        )
        families_held = pl.sum_horizontal(flags).cast(pl.Float32).alias("hold__families_held")
        out.append(frame.with_columns(families_held).select(key, *columns))
    return out

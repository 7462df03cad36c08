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

"""Identity features (R4): age band, language, region, segment, seniority.

Categorical identity data becomes small integer codes (UInt8, the index in the contract's
domain) so the frame is LightGBM-ready; the catalogue marks them `categorical` and holds
the labels. The birth year is never a feature, only the band of the age reached in the
as-of year.
"""

from __future__ import annotations

import polars as pl

from interestlab.contract import LANGUAGES, REGIONS, SEGMENTS
from interestlab.features.catalogue import AGE_BANDS


def _code(column: str, domain: tuple[str, ...]) -> pl.Expr:
    return (
        pl.col(column)
        .replace_strict(list(domain), list(range(len(domain))), return_dtype=pl.UInt8)
        .alias(f"id__{column}")
    )


def identity_features(
    customers: pl.LazyFrame, *, as_of_day: int, as_of_year: int, key: str = "customer_id"
) -> pl.LazyFrame:
    """Identity features of every customer who became a customer before local day `as_of_day`.

    `key` names the customer column kept in the output (`customer_id` or the feature
    build's integer `code`).
    """
    age = pl.lit(as_of_year, dtype=pl.Int32) - pl.col("birth_year").cast(pl.Int32)
    band = pl.sum_horizontal([(age >= bound).cast(pl.UInt8) for bound in AGE_BANDS])
    since = pl.col("customer_since").cast(pl.Int32)
    return (
        customers.lazy()
        .filter(since < as_of_day)
        .select(
            key,
            band.cast(pl.UInt8).alias("id__age_band"),
            _code("language", LANGUAGES),
            _code("region", REGIONS),
            _code("segment", SEGMENTS),
            ((as_of_day - since) / 365.25).cast(pl.Float32).alias("id__seniority_years"),
        )
    )

"""Golden tests of identity features (R4): codes in the contract's domains, bands, seniority."""

from __future__ import annotations

from datetime import date

import polars as pl
from literal_bank import frame

from interestlab.contract import LANGUAGES, REGIONS, SEGMENTS
from interestlab.features.identity import identity_features

from .frames import customers_rows, one


def test_codes_band_and_seniority(features) -> None:
    row = one(features([]))
    assert row["id__age_band"] == 3  # 2026 - 1980 = 46 -> band 3, "45 to 54"
    assert row["id__language"] == LANGUAGES.index("fr")
    assert row["id__region"] == REGIONS.index("brussels")
    assert row["id__segment"] == SEGMENTS.index("affluent")
    assert abs(row["id__seniority_years"] - 10.0) < 0.01


def test_age_band_edges_and_future_customers_excluded() -> None:
    rows = customers_rows("Y", "O", "NEW")
    rows[0]["birth_year"], rows[1]["birth_year"] = 2002, 1951  # ages 24 and 75
    rows[2]["customer_since"] = date(2026, 11, 15)
    day = (date(2026, 11, 15) - date(1970, 1, 1)).days
    out = (
        identity_features(frame("customers", rows).lazy(), as_of_day=day, as_of_year=2026)
        .collect()
        .sort("customer_id")
    )
    assert out["customer_id"].to_list() == ["O", "Y"]
    assert out["id__age_band"].to_list() == [6, 0]
    assert out.schema["id__language"] == pl.UInt8

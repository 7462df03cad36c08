"""Literal rows shared by the feature tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

AS_OF_DAY = date(2026, 11, 15)
WEB = "web_data_commercial"


def customers_rows(*ids: str) -> list[dict[str, Any]]:
    return [
        {
            "customer_id": customer_id,
            "birth_year": 1980,
            "language": "fr",
            "region": "brussels",
            "segment": "affluent",
            "customer_since": date(2016, 11, 15),
        }
        for customer_id in ids
    ]


def grant(customer_id: str, at: datetime, *, granted: bool = True) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "purpose": WEB,
        "granted": granted,
        "recorded_at": at,
        "source": "internet_banking",
    }


PRODUCTS = [
    {
        "product_id": f"P-{family}",
        "family": family,
        "name": family,
        "provider": "Bank",
        "provider_in_group": True,
    }
    for family in ("mortgage", "savings", "car_loan", "credit_card")
]


def one(df: pl.DataFrame, customer_id: str = "C1") -> dict[str, Any]:
    """The row of one customer as a dict (test helper)."""
    rows = df.filter(pl.col("customer_id") == customer_id)
    assert rows.height == 1, f"expected one row for {customer_id}, found {rows.height}"
    return rows.row(0, named=True)

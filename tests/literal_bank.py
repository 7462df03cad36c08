"""Tiny literal banks in the data contract, for tests (import: `from literal_bank import ...`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from interestlab.contract import TABLES
from interestlab.storage import write_parquet


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    """A contract-typed frame from literal rows (missing nullable fields become null)."""
    schema = TABLES[table].schema
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)


DEFAULT_ROWS: dict[str, list[dict]] = {
    "customers": [
        {
            "customer_id": f"C{i}",
            "birth_year": 1980 + i,
            "language": "nl",
            "region": "flanders",
            "segment": "mass",
            "customer_since": date(2015, 1, 1),
        }
        for i in range(1, 5)
    ],
    "products": [
        {
            "product_id": "P-MORT",
            "family": "mortgage",
            "name": "Home Loan",
            "provider": "Bank",
            "provider_in_group": True,
        },
        {
            "product_id": "P-TRAV-X",
            "family": "travel_insurance",
            "name": "Trip Cover",
            "provider": "Partner Travel Cover",
            "provider_in_group": False,
        },
    ],
    "holdings": [
        {
            "customer_id": "C1",
            "account_id": "A1",
            "product_id": "P-MORT",
            "opened_on": date(2020, 1, 1),
        },
    ],
    "theme_links": [
        {"customer_id": "C1", "account_id": "A1", "theme": "home", "linked_at": utc(2026, 1, 1)},
    ],
    "consent_events": [
        {
            "customer_id": "C1",
            "purpose": "web_data_commercial",
            "granted": True,
            "recorded_at": utc(2025, 1, 1),
            "source": "internet_banking",
        },
        {
            "customer_id": "C2",
            "purpose": "web_data_commercial",
            "granted": True,
            "recorded_at": utc(2025, 1, 1),
            "source": "branch",
        },
    ],
    "communications": [
        {
            "comm_id": "M1",
            "customer_id": "C1",
            "sent_at": utc(2026, 10, 3),
            "channel": "letter",
            "category": "commercial",
            "product_id": "P-MORT",
        },
    ],
    "click_events": [
        {
            "event_id": 1,
            "session_id": 10,
            "customer_id": "C1",
            "identified_at": utc(2026, 10, 1, 9),
            "ts": utc(2026, 10, 1, 9, 5),
            "event_type": "simulation",
            "theme": "home",
            "product_family": "mortgage",
            "channel": "web",
        },
    ],
}


def write_bank(root: Path, **tables: list[dict] | pl.DataFrame) -> Path:
    """Write a tiny bank; `click_events` rows are split into UTC-month folders like the feed."""
    for name in TABLES:
        rows = tables.get(name, DEFAULT_ROWS[name])
        df = rows if isinstance(rows, pl.DataFrame) else frame(name, rows)
        if name == "click_events":
            months = df.with_columns(
                pl.col("ts").dt.strftime("%Y-%m").fill_null("unknown").alias("_m")
            )
            for (month,), part in months.partition_by("_m", as_dict=True).items():
                write_parquet(part.drop("_m"), root / name / f"month={month}" / "part-0.parquet")
        else:
            write_parquet(df, root / name / "part-0.parquet")
    return root

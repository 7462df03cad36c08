"""Literal banks and stores for the gate tests, with customer ids easy to grep for."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
from literal_bank import frame, utc, write_bank

from interestlab.click_store import month_file
from interestlab.policy import Policy, as_of_moment
from interestlab.storage import write_parquet

AS_OF = date(2026, 11, 15)
IDS = ("CUSTOMER-ALPHA-7F3A", "CUSTOMER-BRAVO-91C2", "CUSTOMER-CHARLIE-0B6E", "CUSTOMER-DELTA-55D1")
ALPHA, BRAVO, CHARLIE, DELTA = IDS
WEB = "web_data_commercial"


def customers(ids: tuple[str, ...] = IDS) -> list[dict]:
    return [
        {
            "customer_id": cid,
            "birth_year": 1980,
            "language": "nl",
            "region": "flanders",
            "segment": "mass",
            "customer_since": date(2015, 1, 1),
        }
        for cid in ids
    ]


def consent() -> list[dict]:
    """ALPHA and BRAVO consented since 2024; CHARLIE withdrew in 2026; DELTA never asked."""
    return [
        {
            "customer_id": ALPHA,
            "purpose": WEB,
            "granted": True,
            "recorded_at": utc(2024, 1, 1),
            "source": "internet_banking",
        },
        {
            "customer_id": BRAVO,
            "purpose": WEB,
            "granted": True,
            "recorded_at": utc(2024, 1, 1),
            "source": "branch",
        },
        {
            "customer_id": CHARLIE,
            "purpose": WEB,
            "granted": True,
            "recorded_at": utc(2024, 1, 1),
            "source": "branch",
        },
        {
            "customer_id": CHARLIE,
            "purpose": WEB,
            "granted": False,
            "recorded_at": utc(2026, 6, 1),
            "source": "mobile_app",
        },
    ]


def click(event_id: int, customer_id: str | None, ts: datetime, **extra: object) -> dict:
    row = {
        "event_id": event_id,
        "session_id": event_id * 10,
        "customer_id": customer_id,
        "identified_at": None if customer_id is None else ts - timedelta(minutes=5),
        "ts": ts,
        "event_type": "simulation",
        "theme": "home",
        "product_family": "mortgage",
        "channel": "web",
    }
    row.update(extra)
    return row


def good_tables() -> dict[str, list[dict]]:
    return {
        "customers": customers(),
        "holdings": [
            {
                "customer_id": ALPHA,
                "account_id": "A1",
                "product_id": "P-MORT",
                "opened_on": date(2020, 1, 1),
            },
            {
                "customer_id": BRAVO,
                "account_id": "A2",
                "product_id": "P-MORT",
                "opened_on": date(2021, 1, 1),
                "closed_on": date(2023, 1, 1),
            },
        ],
        "theme_links": [
            {
                "customer_id": ALPHA,
                "account_id": "A1",
                "theme": "home",
                "linked_at": utc(2026, 1, 1),
            },
        ],
        "consent_events": consent(),
        "communications": [
            {
                "comm_id": "M1",
                "customer_id": ALPHA,
                "sent_at": utc(2026, 10, 3),
                "channel": "letter",
                "category": "commercial",
                "product_id": "P-MORT",
            },
        ],
        "click_events": [
            click(1, ALPHA, utc(2026, 9, 1, 9)),
            click(2, None, utc(2026, 10, 1, 9)),  # anonymous: allowed in the raw feed
            click(3, BRAVO, utc(2026, 10, 2, 9), theme=None, product_family=None),
        ],
    }


def write_good_bank(root: Path, **overrides: list[dict]) -> Path:
    return write_bank(root, **{**good_tables(), **overrides})


def write_store(store: Path, rows: list[dict]) -> Path:
    """Write curated click rows into the store's month files (UTC month of `ts`)."""
    df = frame("click_events", rows).with_columns(pl.col("ts").dt.strftime("%Y-%m").alias("_m"))
    for (month,), part in df.partition_by("_m", as_dict=True).items():
        write_parquet(part.drop("_m").sort("event_id"), month_file(store, month))
    return store


def run_at(policy: Policy) -> datetime:
    return as_of_moment(AS_OF, policy)


def good_store_rows(policy: Policy) -> list[dict]:
    """Identified, consented-or-not events inside the window; one exactly at the cutoff."""
    cutoff = policy.retention_cutoff(run_at(policy))
    at_cutoff = click(10, ALPHA, cutoff)
    return [
        at_cutoff,
        click(11, ALPHA, utc(2026, 10, 5, 12)),
        click(12, BRAVO, utc(2026, 11, 2, 8)),
        click(13, CHARLIE, utc(2026, 3, 2, 8)),  # withdrawn later: stored, never fed
        click(14, DELTA, utc(2026, 11, 3, 8)),  # never consented: stored, never fed
    ]

"""The curated click store: identified events only, one parquet file per UTC month.

Layout under the store folder (default `data/store/`):

    click_events/month=YYYY-MM/part-0.parquet   curated events (contract columns and types)
    quarantine/<run_id>.parquet            rejected feed rows with a `reason` column
    receipts/<kind>-<run_id>.json          ingest and purge receipts (no personal data)
    derived/<name>/...                     tables built from the store, with `_lineage.json`

A month file is only ever replaced whole through `storage.atomic_path`, so readers see the
complete old or the complete new month.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from interestlab.contract import TABLES

CLICKS = "click_events"  # the store is bank-shaped for this table: the contract suite runs on it
QUARANTINE = "quarantine"
RECEIPTS = "receipts"
DERIVED = "derived"
STORE_SCHEMA = TABLES["click_events"].schema


def month_dir(store_dir: Path, month: str) -> Path:
    return Path(store_dir) / CLICKS / f"month={month}"


def month_file(store_dir: Path, month: str) -> Path:
    return month_dir(store_dir, month) / "part-0.parquet"


def stored_months(store_dir: Path) -> list[str]:
    """Months (`YYYY-MM`) present in the store, sorted."""
    root = Path(store_dir) / CLICKS
    if not root.is_dir():
        return []
    return sorted(p.parent.name.removeprefix("month=") for p in root.glob("month=*/part-0.parquet"))


def scan_clicks(store_dir: Path, months: list[str] | None = None) -> pl.LazyFrame:
    """Lazily scan the curated clicks (all months, or the given ones). Empty store: empty frame."""
    chosen = stored_months(store_dir) if months is None else months
    files = [month_file(store_dir, m) for m in chosen if month_file(store_dir, m).exists()]
    if not files:
        return pl.LazyFrame(schema=STORE_SCHEMA)
    return pl.scan_parquet(files, hive_partitioning=False).select(STORE_SCHEMA.names())


def month_expr(column: str = "ts") -> pl.Expr:
    """UTC month label `YYYY-MM` of a timestamp column (the store's partition key)."""
    return pl.col(column).dt.strftime("%Y-%m")

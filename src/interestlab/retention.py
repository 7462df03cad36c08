"""Retention (R3): physically purge click data older than the policy's window.

`purge_expired` removes every stored click event with `ts` before the retention cutoff of
the run date, rewriting affected month files atomically (or deleting months that expired
entirely), purges quarantined feed rows the same way, and deletes derived tables (feature
snapshots) whose oldest input has expired: a derived table never outlives its inputs.
It writes a receipt with partitions touched and rows removed, never personal data.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from interestlab.click_store import (
    DERIVED,
    QUARANTINE,
    RECEIPTS,
    month_file,
    scan_clicks,
    stored_months,
)
from interestlab.policy import Policy
from interestlab.progress import fmt_count, step
from interestlab.storage import write_json, write_parquet

LINEAGE_FILE = "_lineage.json"


def expired(ts: pl.Expr, cutoff: datetime) -> pl.Expr:
    """True where a timestamp lies before the retention cutoff (R3: kept iff ts >= cutoff)."""
    return ts < cutoff


@dataclass
class PurgeReceipt:
    run_id: str
    run_at: str
    cutoff: str
    retention_days: int
    policy_version: str
    rows_removed: int = 0
    partitions: list[dict] = field(default_factory=list)
    quarantine_rows_removed: int = 0
    derived_removed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _purge_clicks(store_dir: Path, cutoff: datetime, receipt: PurgeReceipt) -> None:
    for month in stored_months(store_dir):
        target = month_file(store_dir, month)
        bounds = (
            scan_clicks(store_dir, [month])
            .select(
                pl.len().alias("rows"),
                expired(pl.col("ts"), cutoff).sum().alias("expired"),
            )
            .collect()
        )
        rows, n_expired = bounds.row(0)
        if n_expired == 0:
            continue
        if n_expired == rows:
            target.unlink()
            target.parent.rmdir()
            action = "deleted"
        else:
            kept = (
                scan_clicks(store_dir, [month])
                .filter(~expired(pl.col("ts"), cutoff))
                .collect()
                .sort("ts", "event_id")
            )
            write_parquet(kept, target)
            action = "rewritten"
        receipt.rows_removed += n_expired
        receipt.partitions.append(
            {"month": month, "action": action, "rows_before": rows, "rows_removed": n_expired}
        )
        step(
            f"purge: month {month} {action}, removed {fmt_count(n_expired)} of {fmt_count(rows)} rows"
        )


def _purge_quarantine(store_dir: Path, cutoff: datetime, receipt: PurgeReceipt) -> None:
    for path in sorted((Path(store_dir) / QUARANTINE).glob("*.parquet")):
        frame = pl.read_parquet(path)
        old = expired(pl.coalesce("ts", "quarantined_at"), cutoff)
        n_old = frame.select(old.sum()).item()
        if n_old == 0:
            continue
        if n_old == frame.height:
            path.unlink()
        else:
            write_parquet(frame.filter(~old), path)
        receipt.quarantine_rows_removed += n_old


def _purge_derived(store_dir: Path, cutoff: datetime, receipt: PurgeReceipt) -> None:
    root = Path(store_dir) / DERIVED
    for lineage_path in sorted(root.glob(f"**/{LINEAGE_FILE}")):
        lineage = json.loads(lineage_path.read_text())
        oldest = lineage.get("oldest_input_ts")
        if oldest is None:
            msg = f"derived table {lineage_path.parent}: `{LINEAGE_FILE}` lacks `oldest_input_ts`"
            raise ValueError(msg)
        if datetime.fromisoformat(oldest) < cutoff:
            shutil.rmtree(lineage_path.parent)
            receipt.derived_removed.append(str(lineage_path.parent.relative_to(store_dir)))


def purge_expired(
    store_dir: Path, *, policy: Policy, run_at: datetime, run_id: str
) -> PurgeReceipt:
    """Remove every click event (and derived table) older than the retention window (R3)."""
    cutoff = policy.retention_cutoff(run_at)
    receipt = PurgeReceipt(
        run_id=run_id,
        run_at=run_at.isoformat(),
        cutoff=cutoff.isoformat(),
        retention_days=policy.retention_days,
        policy_version=policy.version,
    )
    _purge_clicks(Path(store_dir), cutoff, receipt)
    _purge_quarantine(Path(store_dir), cutoff, receipt)
    _purge_derived(Path(store_dir), cutoff, receipt)
    write_json(receipt.to_dict(), Path(store_dir) / RECEIPTS / f"purge-{run_id}.json")
    step(
        f"purge: cutoff {cutoff:%Y-%m-%d %H:%M} UTC, removed {fmt_count(receipt.rows_removed)} events"
        f" from {len(receipt.partitions)} months, {len(receipt.derived_removed)} derived tables"
    )
    return receipt

"""Registration (R1, R2): append a delivered click feed to the curated store.

Only events of identified sessions, at or after the session's identification moment, are
stored. Anonymous and pre-identification events are counted, never stored. Rows that break
the contract's semantics go to a quarantine file with every reason that applies. Re-delivering
the same feed adds nothing (dedupe on `event_id`).

The pure part (`classify_events`) labels each row; `ingest_feed` does the I/O month by month,
replacing each store month atomically, so memory stays bounded by one delivered month and a
crash leaves every month either as it was or fully updated (re-running is then idempotent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from interestlab.click_store import (
    QUARANTINE,
    RECEIPTS,
    STORE_SCHEMA,
    month_expr,
    month_file,
    scan_clicks,
)
from interestlab.contract import TABLES
from interestlab.memory import release_memory
from interestlab.policy import Policy
from interestlab.progress import fmt_count, step
from interestlab.storage import scan_table, table_files, write_json, write_parquet

# Outcome of each delivered row.
KEPT = "kept"
ANONYMOUS = "anonymous"
PRE_IDENTIFICATION = "pre_identification"
EXPIRED = "expired_on_arrival"
QUARANTINED = "quarantined"
DUPLICATE = "duplicate"


def _domain_reason(column: str) -> pl.Expr:
    domain = TABLES["click_events"].column(column).domain
    assert domain is not None
    bad = pl.col(column).is_not_null() & ~pl.col(column).is_in(list(domain))
    return pl.when(bad).then(pl.lit(f"{column} outside contract domain"))


def quarantine_reasons(*, run_at: datetime) -> pl.Expr:
    """List of every contract-semantics violation of a row (empty list when none)."""
    checks = [
        pl.when(pl.col("event_id").is_null()).then(pl.lit("event_id is null")),
        pl.when(pl.col("session_id").is_null()).then(pl.lit("session_id is null")),
        pl.when(pl.col("ts").is_null()).then(pl.lit("ts is null")),
        pl.when(pl.col("ts") > run_at).then(pl.lit("ts after the run date")),
        pl.when(pl.col("event_type").is_null()).then(pl.lit("event_type is null")),
        pl.when(pl.col("channel").is_null()).then(pl.lit("channel is null")),
        pl.when(pl.col("customer_id").is_not_null() & pl.col("identified_at").is_null()).then(
            pl.lit("customer_id without identified_at")
        ),
        pl.when(pl.col("customer_id").is_not_null() & ~pl.col("_known_customer")).then(
            pl.lit("customer unknown to `customers`")
        ),
        _domain_reason("event_type"),
        _domain_reason("theme"),
        _domain_reason("product_family"),
        _domain_reason("channel"),
    ]
    return pl.concat_list(checks).list.drop_nulls()


def classify_events(
    feed: pl.LazyFrame,
    known_customers: pl.LazyFrame,
    *,
    run_at: datetime,
    retention_cutoff: datetime,
) -> pl.LazyFrame:
    """Label every delivered row with `outcome` and `reasons` (pure; no I/O).

    Precedence: anonymous rows (no customer) are never stored and never quarantined;
    then contract violations (quarantined with all reasons); then events before the
    session's identification moment (R1); then events already older than the retention
    window (R3: never stored, not even until the next purge); the rest is kept
    (duplicates are resolved against the store by `ingest_feed`).
    """
    known = (
        known_customers.select("customer_id")
        .unique()
        .with_columns(pl.lit(True).alias("_known_customer"))
    )
    return (
        feed.join(known, on="customer_id", how="left")
        .with_columns(pl.col("_known_customer").fill_null(False))
        .with_columns(quarantine_reasons(run_at=run_at).alias("reasons"))
        .with_columns(
            pl.when(pl.col("customer_id").is_null())
            .then(pl.lit(ANONYMOUS))
            .when(pl.col("reasons").list.len() > 0)
            .then(pl.lit(QUARANTINED))
            .when(pl.col("ts") < pl.col("identified_at"))
            .then(pl.lit(PRE_IDENTIFICATION))
            .when(pl.col("ts") < retention_cutoff)
            .then(pl.lit(EXPIRED))
            .otherwise(pl.lit(KEPT))
            .alias("outcome")
        )
        .drop("_known_customer")
    )


def merge_month(existing: pl.DataFrame, new: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Store month with `new` events added once: returns (merged, n_duplicates)."""
    fresh = new.unique(subset="event_id", keep="first", maintain_order=True).join(
        existing.select("event_id"), on="event_id", how="anti"
    )
    merged = pl.concat([existing, fresh]).sort("ts", "event_id")
    return merged, new.height - fresh.height


@dataclass
class IngestReport:
    run_id: str
    run_at: str
    policy_version: str
    delivered: int = 0
    kept: int = 0
    anonymous: int = 0
    pre_identification: int = 0
    expired_on_arrival: int = 0
    quarantined: int = 0
    duplicate: int = 0
    months_written: list[str] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_file: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_feed(
    bank_dir: Path,
    store_dir: Path,
    *,
    policy: Policy,
    run_at: datetime,
    run_id: str,
) -> IngestReport:
    """Append the bank's delivered `click_events` feed to the curated store (R1).

    Reads the feed one delivered month at a time, writes each touched store month
    atomically, writes rejected rows to `quarantine/<run_id>.parquet` and a receipt
    `receipts/ingest-<run_id>.json` (counts only, no personal data).
    """
    if not policy.require_identification:
        msg = "policy `registration.require_identification` is false; the notice (R1) requires it"
        raise ValueError(msg)
    table = TABLES["click_events"]
    files = table_files(bank_dir, table)
    scan_table(bank_dir, "click_events")  # schema check of every file before writing anything
    known = scan_table(bank_dir, "customers").select("customer_id")
    cutoff = policy.retention_cutoff(run_at)
    report = IngestReport(run_id=run_id, run_at=run_at.isoformat(), policy_version=policy.version)
    quarantined_parts: list[pl.DataFrame] = []
    for path in files:
        labelled = classify_events(
            pl.scan_parquet(path).select(STORE_SCHEMA.names()),
            known,
            run_at=run_at,
            retention_cutoff=cutoff,
        ).collect()
        counts = dict(labelled.group_by("outcome").len().iter_rows())
        report.delivered += labelled.height
        report.anonymous += counts.get(ANONYMOUS, 0)
        report.pre_identification += counts.get(PRE_IDENTIFICATION, 0)
        report.expired_on_arrival += counts.get(EXPIRED, 0)
        bad = labelled.filter(pl.col("outcome") == QUARANTINED)
        if bad.height:
            quarantined_parts.append(
                bad.select(
                    *STORE_SCHEMA.names(),
                    "reasons",
                    pl.lit(run_at).alias("quarantined_at"),
                    pl.lit(run_id).alias("run_id"),
                )
            )
        kept = labelled.filter(pl.col("outcome") == KEPT).select(STORE_SCHEMA.names())
        for (month,), part in sorted(
            kept.with_columns(month_expr().alias("_month"))
            .partition_by("_month", as_dict=True)
            .items()
        ):
            target = month_file(store_dir, month)
            existing = (
                scan_clicks(store_dir, [month]).collect()
                if target.exists()
                else pl.DataFrame(schema=STORE_SCHEMA)
            )
            merged, n_dup = merge_month(existing, part.drop("_month"))
            report.duplicate += n_dup
            report.kept += part.height - n_dup
            if merged.height != existing.height:
                write_parquet(merged, target)
                if month not in report.months_written:
                    report.months_written.append(month)
        step(
            f"ingest: {path.parent.name} delivered {fmt_count(labelled.height)}"
            f" kept {fmt_count(counts.get(KEPT, 0))} anonymous {fmt_count(counts.get(ANONYMOUS, 0))}"
            f" pre-identification {fmt_count(counts.get(PRE_IDENTIFICATION, 0))}"
            f" expired {fmt_count(counts.get(EXPIRED, 0))}"
            f" quarantined {fmt_count(bad.height)}"
        )
        del labelled, kept, bad
        release_memory()
    if quarantined_parts:
        quarantine = pl.concat(quarantined_parts)
        report.quarantined = quarantine.height
        reason_counts = (
            quarantine.select(pl.col("reasons").explode()).group_by("reasons").len().sort("reasons")
        )
        report.quarantine_reasons = dict(reason_counts.iter_rows())
        qfile = Path(store_dir) / QUARANTINE / f"{run_id}.parquet"
        write_parquet(quarantine, qfile)
        report.quarantine_file = str(qfile)
    report.months_written.sort()
    write_json(report.to_dict(), Path(store_dir) / RECEIPTS / f"ingest-{run_id}.json")
    return report

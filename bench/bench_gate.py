"""Bench the GX gate on a synthetic store: validate_store wall time and peak RSS, against a
plain-polars baseline of the same checks measured in the same run (median of --repeats)."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

os.environ.setdefault("INTERESTLAB_QUIET", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from measure import PeakRss  # noqa: E402

from interestlab.click_store import month_file, scan_clicks  # noqa: E402
from interestlab.contract import TABLES, UTC_TS  # noqa: E402
from interestlab.policy import as_of_moment, load_policy  # noqa: E402
from interestlab.quality import validate_store  # noqa: E402
from interestlab.storage import write_parquet  # noqa: E402


def build(root: Path, n_customers: int, events_per_customer: int, seed: int, policy) -> tuple:
    rng = np.random.default_rng(seed)
    run_at = as_of_moment(date(2026, 11, 15), policy)
    cutoff = policy.retention_cutoff(run_at)
    n = n_customers * events_per_customer
    span = (run_at - cutoff).total_seconds()
    ts = pl.Series(
        np.int64(cutoff.timestamp() * 1e6) + (rng.random(n) * span * 1e6).astype("int64")
    )
    ids = [f"C{i:07d}" for i in range(n_customers)]
    events = (
        pl.DataFrame(
            {
                "event_id": np.arange(n, dtype="int64"),
                "session_id": np.arange(n, dtype="int64"),
                "customer_id": pl.Series(ids).gather(rng.integers(0, n_customers, n)),
                "ts": ts.cast(pl.Datetime("us", "UTC")),
                "event_type": pl.Series(["simulation"] * n),
                "theme": pl.Series(["home"] * n),
                "product_family": pl.Series(["mortgage"] * n),
                "channel": pl.Series(["web"] * n),
            }
        )
        .with_columns(identified_at=pl.col("ts") - timedelta(minutes=1))
        .select(TABLES["click_events"].schema.names())
    )
    store, bank = root / "store", root / "bank"
    for (month,), part in (
        events.with_columns(m=pl.col("ts").dt.strftime("%Y-%m"))
        .partition_by("m", as_dict=True)
        .items()
    ):
        write_parquet(part.drop("m").sort("event_id"), month_file(store, month))
    write_parquet(
        pl.DataFrame({"customer_id": ids}).with_columns(
            birth_year=pl.lit(1980, pl.Int16),
            language=pl.lit("nl"),
            region=pl.lit("flanders"),
            segment=pl.lit("mass"),
            customer_since=pl.lit(date(2015, 1, 1)),
        ),
        bank / "customers" / "part-0.parquet",
    )
    write_parquet(
        pl.DataFrame({"customer_id": ids[::2]}).with_columns(
            purpose=pl.lit("web_data_commercial"),
            granted=pl.lit(True),
            recorded_at=pl.lit(cutoff - timedelta(days=30)).cast(UTC_TS),
            source=pl.lit("branch"),
        ),
        bank / "consent_events" / "part-0.parquet",
    )
    return store, bank, run_at, n


def polars_baseline(store: Path, cutoff) -> int:
    """The same store checks in plain polars (whole store, one query): violations found."""
    return (
        scan_clicks(store)
        .select(
            pl.col("customer_id").is_null().sum()
            + pl.col("identified_at").is_null().sum()
            + (pl.col("ts") < pl.col("identified_at")).sum()
            + (pl.col("ts") < cutoff).sum()
            + (pl.len() - pl.col("event_id").n_unique())
        )
        .collect()
        .item()
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events-per-customer", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers", type=int, help="GX worker processes (default: the gate's default)"
    )
    args = parser.parse_args()
    workers = {} if args.workers is None else {"workers": args.workers}
    policy = load_policy()
    root = Path(tempfile.mkdtemp(prefix="bench_gate_"))
    try:
        store, bank, run_at, n = build(
            root, args.customers, args.events_per_customer, args.seed, policy
        )
        gx_times, base_times, peak = [], [], 0.0
        for i in range(args.repeats):
            start = time.perf_counter()
            assert polars_baseline(store, policy.retention_cutoff(run_at)) == 0
            base_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            with PeakRss(tree=True) as rss:  # this process and the GX workers, summed
                result = validate_store(
                    store,
                    bank,
                    output_dir=root / f"run{i}",
                    policy=policy,
                    run_at=run_at,
                    **workers,
                )
            gx_times.append(time.perf_counter() - start)
            peak = max(peak, rss.peak / 2**20)
            assert result.success, result.message()
        gx, base = statistics.median(gx_times), statistics.median(base_times)
        print(
            f"events {n:,} customers {args.customers:,} months {len(result.expectations) and result.batches['click_store_compliance']}"
        )
        print(
            f"validate_store (GX, 2 suites, every row): median {gx:.2f} s  runs {[round(t, 2) for t in gx_times]}"
        )
        print(f"baseline plain polars store checks:        median {base:.3f} s")
        print(
            f"ratio GX/polars {gx / base:.1f}x; {n / gx / 1e6:.2f} M events/s; peak RSS {peak:,.0f} MB"
        )
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()

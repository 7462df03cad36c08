"""Profile the phases of `build_features` / `build_training_set` on a bank and curated store.

Times each phase once (wall and CPU seconds, peak RSS of the process so far): the consent
universe, the raw-event scan into the compact daily/session tables (one phase: the scan
builds the packed keys the tables are counted from), the click windows for one as-of and
for 12 as-ofs from those tables, the per-snapshot steps of `iter_snapshots` +
`write_training_set` for the latest as-of (holdings and labels per pass, assembly, ids,
parquet, hash), and the labels. Point PYTHONPATH at another source tree to compare a library change:

    nice -n 10 .venv/bin/python bench/profile_features.py --bank bench/out/bank-1000000 \\
        --store bench/out/store-1000000
    PYTHONPATH=/work/bench-opt/src nice -n 10 .venv/bin/python bench/profile_features.py ...
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path

import polars as pl

import interestlab
from interestlab.click_store import scan_clicks
from interestlab.config import DEFAULT_AS_OF
from interestlab.consent import consented_ids, events_in_granted_periods
from interestlab.features import build_labels, monthly_as_ofs
from interestlab.features.clicks import (
    SNAPSHOTS_PER_PASS,
    click_features,
    click_features_many,
    compact_events,
    compact_tables,
    day_number,
)
from interestlab.features.holdings import holding_features_many
from interestlab.features.labels import label_columns_many
from interestlab.features.snapshots import _snapshot, content_hash, customer_codes
from interestlab.policy import Policy, as_of_moment, load_policy
from interestlab.storage import scan_table


def now() -> tuple[float, float]:
    """Wall and CPU seconds: on a shared 2-core machine wall time swings with the other
    load, CPU time much less, so phases print both."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), usage.ru_utime + usage.ru_stime


def phase(name: str, started: tuple[float, float]) -> tuple[float, float]:
    ended = now()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = ended[0] - started[0], ended[1] - started[1]
    print(
        f"  {name:<44} {wall:8.2f} s  cpu {cpu:7.2f} s   process peak RSS {peak:8,.0f} MB",
        flush=True,
    )
    return ended


def per_snapshot(
    click_rows: pl.DataFrame,
    universe: pl.DataFrame,
    codes: pl.DataFrame,
    bank: Path,
    *,
    as_ofs: list[datetime],
    policy: Policy,
    retention_start: datetime,
) -> None:
    """The steps `iter_snapshots` + `write_training_set` repeat for every snapshot, timed.

    Mirrors one loop turn of both (same calls, same order) for the latest as-of, after the
    click windows: what a training set pays per snapshot on top of its share of the click
    passes. Holdings and labels are grouped once per pass of `SNAPSHOTS_PER_PASS` as-ofs;
    the parquet write and the hash run in a worker thread, beside the next snapshot.
    """
    print("  per snapshot (iter_snapshots + write_training_set), latest as-of:")
    t = now()
    customers, holdings, products = (
        scan_table(bank, name).collect() for name in ("customers", "holdings", "products")
    )
    people = customers.join(codes, on="customer_id", how="inner").drop("customer_id").sort("code")
    accounts = holdings.join(codes, on="customer_id", how="inner").drop("customer_id")
    coded_universe = universe.join(codes, on="customer_id").select("code")
    t = phase("  bank tables read + coded (once a run)", t)
    as_of = as_ofs[-1]
    days = [day_number(a.astimezone(policy.zone).date()) for a in as_ofs]
    batch = SNAPSHOTS_PER_PASS
    held = holding_features_many(
        accounts.lazy(), products.lazy(), as_of_days=days[-batch:], key="code"
    )
    t = phase(f"  holdings, one pass of {len(held)} as-ofs", t)
    labels = label_columns_many(
        accounts, products, as_ofs=as_ofs[-batch:], horizon_days=30, policy=policy, key="code"
    )
    t = phase(f"  labels, one pass of {len(labels)} as-ofs", t)
    kwargs = {
        "people": people,
        "as_of": as_of,
        "policy": policy,
        "retention_start": retention_start,
    }
    _snapshot(click_rows, coded_universe, held=held[-1], labels=None, **kwargs)
    t = phase("  identity + click and holding columns", t)
    frame = _snapshot(click_rows, coded_universe, held=held[-1], labels=labels[-1], **kwargs)
    t = phase("  ... the same with labels", t)
    ids = codes.get_column("customer_id").gather(frame.get_column("code"))
    frame = frame.drop("code").insert_column(0, ids)
    t = phase("  customer ids", t)
    with tempfile.TemporaryDirectory() as tmp:
        frame.write_parquet(Path(tmp) / "part.parquet", compression="zstd", statistics=True)
        t = phase(f"  write parquet zstd {frame.shape} (worker thread)", t)
    content_hash(frame)
    phase("  content hash (worker thread)", t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument(
        "--skip-labels",
        action="store_true",
        help="skip `build_labels` x snapshots (115 s and 17 GB peak RSS at 1M customers)",
    )
    args = parser.parse_args()
    os.environ.setdefault("INTERESTLAB_QUIET", "1")
    print(f"interestlab from {Path(interestlab.__file__).parent}, polars {pl.__version__}")

    policy = load_policy()
    as_of = as_of_moment(DEFAULT_AS_OF, policy)
    retention_start = policy.retention_cutoff(as_of)
    as_ofs = monthly_as_ofs(as_of, n_snapshots=args.snapshots, horizon_days=30, policy=policy)
    consent = scan_table(args.bank, "consent_events")
    ids = scan_table(args.bank, "customers").select("customer_id")
    clicks = scan_clicks(args.store)

    t = now()
    universes = [consented_ids(ids, consent, at=a, policy=policy) for a in as_ofs]
    codes = customer_codes(universes)
    t = phase(f"consent universes x{len(as_ofs)} + customer codes", t)
    coded = clicks.join(codes.lazy(), on="customer_id", how="inner").drop("customer_id")
    events = events_in_granted_periods(coded, consent, policy=policy, codes=codes)
    compact = compact_events(events, policy=policy, start=retention_start, end=max(as_ofs))
    daily, sessions, active = compact_tables(compact)
    t = phase("scan + consent filter + daily/session/active", t)
    print(
        f"    events {daily['n'].sum():,}, daily {daily.height:,} rows"
        f" ({daily.estimated_size('mb'):,.0f} MB), sessions {sessions.height:,},"
        f" active days {active.height:,}"
    )
    days = [day_number(a.astimezone(policy.zone).date()) for a in as_ofs]
    one = click_features(daily, sessions, active, as_of_day=days[-1])
    t = phase("click windows, latest as-of", t)
    for day in days:
        click_features(daily, sessions, active, as_of_day=day)
    t = phase(f"click windows, {len(days)} as-ofs one by one", t)
    print(f"    latest {one.shape}")
    for _ in click_features_many(daily, sessions, active, as_of_days=days):
        pass
    t = phase(f"click windows, {len(days)} as-ofs as iter_snapshots", t)
    per_snapshot(
        one,
        universes[-1],
        codes,
        args.bank,
        as_ofs=as_ofs,
        policy=policy,
        retention_start=retention_start,
    )
    if args.skip_labels:
        return
    t = now()
    holdings = scan_table(args.bank, "holdings")
    products = scan_table(args.bank, "products")
    build_labels(holdings, products, as_ofs=as_ofs, horizon_days=30, policy=policy)
    t = phase(f"labels x{len(as_ofs)}", t)


if __name__ == "__main__":
    main()

"""Profile the phases of `build_features` / `build_training_set` on a bank and curated store.

Times each phase once (wall and CPU seconds, peak RSS of the process so far): the consent
universe, the raw-event scan into the compact daily/session tables (one phase: the scan
builds the packed keys the tables are counted from), the tables made ready for the windows
(`ClickWindows`), the click windows for one as-of and for 12 as-ofs, the per-snapshot steps
of `iter_snapshots` + `write_training_set` for the latest as-of (holdings and labels per
pass, click columns, assembly, ids, parquet, hash), and the labels. Point PYTHONPATH at another source tree to compare a library change:

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
from interestlab.consent import events_in_granted_periods
from interestlab.features import build_labels, monthly_as_ofs
from interestlab.features.clicks import (
    ClickWindows,
    compact_events,
    compact_tables,
    day_number,
)
from interestlab.features.holdings import holding_features_many
from interestlab.features.labels import label_columns_many
from interestlab.features.snapshots import (
    SNAPSHOTS_PER_PASS,
    _consented_codes,
    _snapshot,
    content_hash,
)
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
    windows: ClickWindows,
    coded_universe: pl.DataFrame,
    codes: pl.DataFrame,
    bank: Path,
    *,
    as_ofs: list[datetime],
    policy: Policy,
    retention_start: datetime,
) -> None:
    """The steps `iter_snapshots` + `write_training_set` repeat for every snapshot, timed.

    Mirrors one loop turn of both (same calls, same order) for the latest as-of: what a
    training set pays per snapshot once the compact tables are ready. Holdings and labels
    are grouped once per pass of `SNAPSHOTS_PER_PASS` as-ofs; the parquet write and the hash
    run in a worker thread, beside the next snapshot.
    """
    print("  per snapshot (iter_snapshots + write_training_set), latest as-of:")
    t = now()
    customers, holdings, products = (
        scan_table(bank, name).collect() for name in ("customers", "holdings", "products")
    )
    people = customers.join(codes, on="customer_id", how="inner").drop("customer_id").sort("code")
    accounts = holdings.join(codes, on="customer_id", how="inner").drop("customer_id")
    customer_ids = codes.get_column("customer_id")
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
    codes = people.filter(pl.col("code").is_in(coded_universe["code"].implode()))["code"]
    t = now()
    windows.columns(days[-1], codes)
    t = phase("  click columns onto the universe's codes", t)
    _snapshot(windows, coded_universe, held=held[-1], labels=None, **kwargs)
    t = phase("  identity + click and holding columns", t)
    frame = _snapshot(windows, coded_universe, held=held[-1], labels=labels[-1], **kwargs)
    t = phase("  ... the same with labels", t)
    ids = customer_ids.gather(frame.get_column("code"))
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
    customers = scan_table(args.bank, "customers").collect()
    clicks = scan_clicks(args.store)

    t = now()
    codes, universes = _consented_codes(customers, consent, as_ofs, policy=policy)
    t = phase(f"consent universes x{len(as_ofs)} + customer codes (as iter_snapshots)", t)
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
    windows = ClickWindows(daily, sessions, active)
    t = phase("tables made ready for the windows (once a run)", t)
    one = windows.features(days[-1])
    t = phase("click windows, latest as-of (click_features)", t)
    for day in days:
        windows.features(day)
    t = phase(f"click windows, {len(days)} as-ofs (click_features)", t)
    print(f"    latest {one.shape}")
    del one
    for day, universe in zip(days, universes, strict=True):
        windows.columns(day, universe.get_column("code"))
    t = phase(f"click columns, {len(days)} as-ofs onto their universes", t)
    per_snapshot(
        windows,
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

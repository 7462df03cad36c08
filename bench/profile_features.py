"""Profile the phases of `build_features` / `build_training_set` on a bank and curated store.

Times each phase once (wall seconds, peak RSS of the process so far): the consent
universe, the raw-event scan into the compact daily/session tables, the click windows for
one as-of and for 12 as-ofs from those tables, and identity + holdings + labels. Point
PYTHONPATH at another source tree to compare a library change:

    nice -n 10 .venv/bin/python bench/profile_features.py --bank bench/out/bank-1000000 \\
        --store bench/out/store-1000000
    PYTHONPATH=/work/bench-opt/src nice -n 10 .venv/bin/python bench/profile_features.py ...
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import polars as pl

import interestlab
from interestlab.click_store import scan_clicks
from interestlab.config import DEFAULT_AS_OF
from interestlab.consent import consented_ids, events_in_granted_periods
from interestlab.features import build_labels, monthly_as_ofs
from interestlab.features.clicks import click_features, compact_events, compact_tables, day_number
from interestlab.features.snapshots import customer_codes
from interestlab.policy import as_of_moment, load_policy
from interestlab.storage import scan_table


def phase(name: str, started: float) -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    now = time.perf_counter()
    print(f"  {name:<44} {now - started:8.2f} s   process peak RSS {peak:8,.0f} MB", flush=True)
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--snapshots", type=int, default=12)
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

    t = time.perf_counter()
    universes = [consented_ids(ids, consent, at=a, policy=policy) for a in as_ofs]
    codes = customer_codes(universes)
    t = phase(f"consent universes x{len(as_ofs)} + customer codes", t)
    coded = clicks.join(codes.lazy(), on="customer_id", how="inner").drop("customer_id")
    events = events_in_granted_periods(coded, consent, policy=policy, codes=codes)
    compact = compact_events(
        events, policy=policy, start=retention_start, end=max(as_ofs)
    ).collect()
    t = phase("scan + consent filter + integer coding", t)
    daily, sessions, active = compact_tables(compact.lazy())
    t = phase("daily / session / active-day tables", t)
    print(
        f"    events {compact.height:,} ({compact.estimated_size('mb'):,.0f} MB),"
        f" daily {daily.height:,} rows ({daily.estimated_size('mb'):,.0f} MB),"
        f" sessions {sessions.height:,}, active days {active.height:,}"
    )
    del compact
    days = [day_number(a.astimezone(policy.zone).date()) for a in as_ofs]
    one = click_features(daily, sessions, active, as_of_day=days[-1])
    t = phase("click windows, latest as-of", t)
    for day in days:
        click_features(daily, sessions, active, as_of_day=day)
    t = phase(f"click windows, {len(days)} as-ofs one by one", t)
    print(f"    latest {one.shape}")
    holdings = scan_table(args.bank, "holdings")
    products = scan_table(args.bank, "products")
    build_labels(holdings, products, as_ofs=as_ofs, horizon_days=30, policy=policy)
    t = phase(f"labels x{len(as_ofs)}", t)


if __name__ == "__main__":
    main()

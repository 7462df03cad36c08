"""`interestlab features`: build and write the feature snapshot of one as-of date, and with
`--training-snapshots N` the N-snapshot training set beside it (as notebook 02 does).

The lead wires it into the main parser with `features.cli.register(subparsers)`; the
handler is stored as `func` (returns the exit code).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import polars as pl

from interestlab import config
from interestlab.click_store import DERIVED, scan_clicks
from interestlab.features.labels import monthly_as_ofs
from interestlab.features.snapshots import (
    build_features,
    derived_dir,
    iter_snapshots,
    write_snapshot,
    write_training_set,
)
from interestlab.policy import as_of_moment, load_policy
from interestlab.progress import fmt_count, step
from interestlab.storage import scan_table


def default_out_dir(store_dir: Path, as_of: date) -> Path:
    """`<store>/derived/features-YYYY-MM-DD/`: under `derived/` so the retention purge sees it."""
    return Path(store_dir) / DERIVED / f"features-{as_of.isoformat()}"


def run(args: argparse.Namespace) -> int:
    policy = load_policy()
    as_of_day = date.fromisoformat(args.as_of)
    as_of = as_of_moment(as_of_day, policy)
    retention_start = policy.retention_cutoff(as_of)
    bank_dir = Path(args.bank) if args.bank else config.default_bank_dir()
    store_dir = Path(args.store) if args.store else config.store_dir()
    out_dir = Path(args.out) if args.out else default_out_dir(store_dir, as_of_day)
    clicks = scan_clicks(store_dir)
    step(f"features: building the snapshot at {as_of_day} from {store_dir}")
    tables = {
        name: scan_table(bank_dir, name)
        for name in ("customers", "holdings", "products", "consent_events")
    }
    df = build_features(
        clicks,
        **tables,
        as_of=as_of,
        policy=policy,
        retention_start=retention_start,
    )
    # Conservative for the purge: the oldest stored event the window could have read.
    oldest = (
        clicks.filter((pl.col("ts") >= retention_start) & (pl.col("ts") < as_of))
        .select(pl.col("ts").min())
        .collect()
        .item()
    )
    lineage = write_snapshot(df, out_dir, as_of=as_of, policy=policy, oldest_input_ts=oldest)
    print(
        f"features: as_of={as_of_day} rows={fmt_count(lineage['n_rows'])}"
        f" features={lineage['n_features']} hash={lineage['content_hash'][:12]}"
        f" policy={policy.version} -> {out_dir}"
    )
    del df
    if args.training_snapshots:
        as_ofs = monthly_as_ofs(
            as_of,
            n_snapshots=args.training_snapshots,
            horizon_days=args.horizon_days,
            policy=policy,
        )
        training_dir = derived_dir(store_dir, "training", as_of_day)
        step(f"features: building the training set ({len(as_ofs)} monthly snapshots)")
        snapshots = iter_snapshots(
            clicks,
            **tables,
            as_ofs=as_ofs,
            policy=policy,
            retention_start=retention_start,
            horizon_days=args.horizon_days,
        )
        training = write_training_set(
            snapshots, training_dir, as_ofs=as_ofs, policy=policy, oldest_input_ts=oldest
        )
        print(
            f"features: training set {as_ofs[0].date()}..{as_ofs[-1].date()} (UTC)"
            f" rows={fmt_count(training['n_rows'])} parts={len(training['parts'])}"
            f" hash={training['content_hash'][:12]} -> {training_dir}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `features` command to the main parser's subparsers."""
    parser = subparsers.add_parser(
        "features",
        help="build the point-in-time feature snapshot of one as-of date (R3, R4, R13)",
        description=(
            "Build one row per customer consented at the as-of moment (local midnight of the"
            " bank's zone) from the curated click store, holdings and identity data, and write"
            " it with its lineage (_lineage.json)."
        ),
    )
    parser.add_argument(
        "--as-of",
        default=config.DEFAULT_AS_OF.isoformat(),
        help="as-of date YYYY-MM-DD (default: %(default)s)",
    )
    parser.add_argument("--bank", default="", help="bank folder (default: data/bank)")
    parser.add_argument("--store", default="", help="curated click store (default: data/store)")
    parser.add_argument(
        "--out", default="", help="output folder (default: <store>/derived/features-<as-of>)"
    )
    parser.add_argument(
        "--training-snapshots",
        type=int,
        default=0,
        help="also write a training set of this many monthly snapshots to"
        " <store>/derived/training-<as-of> (default: none)",
    )
    parser.add_argument(
        "--horizon-days",
        type=int,
        default=60,
        help="label horizon of the training set in days (default: %(default)s)",
    )
    parser.set_defaults(func=run)
    return parser

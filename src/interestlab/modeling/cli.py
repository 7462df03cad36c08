"""`interestlab train | approve | promote | ui`: the modeling sub-commands (the lead wires
`register` into `interestlab.cli`)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def _cmd_train(args: argparse.Namespace) -> int:
    import polars as pl

    from interestlab.config import default_bank_dir
    from interestlab.modeling import train_all
    from interestlab.modeling.train import group_families
    from interestlab.policy import load_policy
    from interestlab.storage import read_table

    source = Path(args.training_set)
    # A folder written by `features.write_training_set` (part-NN.parquet) or one parquet file.
    training_set = pl.read_parquet(source / "part-*.parquet" if source.is_dir() else source)
    if args.families:
        families = [f.strip() for f in args.families.split(",") if f.strip()]
    else:
        families = group_families(read_table(Path(args.bank or default_bank_dir()), "products"))
    params = json.loads(Path(args.params).read_text()) if args.params else {}
    lineage = json.loads(Path(args.lineage).read_text()) if args.lineage else []
    gx_summary = json.loads(Path(args.gx_summary).read_text()) if args.gx_summary else None
    truth = pl.read_parquet(args.truth) if args.truth else None
    report = train_all(
        training_set,
        families=families,
        params=params,
        seed=args.seed,
        n_test_months=args.n_test_months,
        lineage=lineage,
        gx_summary=gx_summary,
        policy=load_policy(),
        trainer=args.trainer,
        truth=truth,
        output_dir=Path(args.output) if args.output else None,
    )
    with pl.Config(tbl_rows=-1, tbl_cols=-1):
        print(
            report.to_frame().select(
                "family",
                "version",
                "test_auc",
                "challenger_test_auc",
                "test_top_decile_lift",
                "skipped",
            )
        )
    print(f"train: MLflow run {report.run_id}; new versions have the alias `candidate`")
    return 0


def _cmd_approve(args: argparse.Namespace) -> int:
    from interestlab.modeling import record_approval

    record_approval(args.family, args.version, args.reviewer, args.note)
    print(f"approve: interest-{args.family} version {args.version} approved by {args.reviewer}")
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from interestlab.modeling import promote

    params = json.loads(Path(args.params).read_text()) if args.params else None
    decision = promote(
        args.family, version=args.version, approver=args.approver, params=params, reason=args.reason
    )
    for gate in decision.gates:
        print(f"  {gate.name:>10}: pass ({gate.detail})")
    print(f"promote: interest-{args.family}@champion -> version {args.version}")
    return 0


def _cmd_ui(args: argparse.Namespace) -> int:
    from interestlab.modeling.tracking import ui_command

    command, env, url = ui_command(port=args.port)
    print(
        f"ui: MLflow UI on {url} (store {command[command.index('--backend-store-uri') + 1]});"
        " Ctrl-C stops it",
        flush=True,
    )
    if args.dry_run:
        print(" ".join(command))
        return 0
    # Replace this process by the server: stopping its pid stops the UI (no orphaned workers).
    os.execve(command[0], command, env)
    return 0  # pragma: no cover - execve does not return


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `train`, `approve`, `promote` and `ui` to the `interestlab` command."""
    from interestlab.config import DEFAULT_SEED
    from interestlab.modeling.train import DEFAULT_N_TEST_MONTHS

    p = subparsers.add_parser(
        "train",
        help="train, evaluate and register one interest model per family (R4)",
        description="Train one LightGBM model per family offered by the group on a training set"
        " (stacked snapshots with label__<family> columns), evaluate it out of time against a"
        " logistic-regression challenger, log everything to MLflow (mlruns/) and register each"
        " model as a new version with the alias `candidate`.",
    )
    p.add_argument(
        "--training-set",
        required=True,
        help="training set: the folder notebook 02 / `interestlab features --training-snapshots`"
        " writes (<store>/derived/training-<as-of>/) or one parquet file",
    )
    p.add_argument("--trainer", required=True, help="your name (you cannot approve your models)")
    p.add_argument(
        "--families", help="comma-separated families (default: group families of --bank)"
    )
    p.add_argument(
        "--bank", help="bank folder whose products define the group families (default: data/bank)"
    )
    p.add_argument("--params", help="JSON file of parameter overrides (see train.DEFAULT_PARAMS)")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)"
    )
    p.add_argument(
        "--n-test-months",
        type=int,
        default=DEFAULT_N_TEST_MONTHS,
        help="latest as-of months held out as test set (default: %(default)s)",
    )
    p.add_argument("--lineage", help="JSON file: list of snapshot lineage dicts")
    p.add_argument("--gx-summary", help="JSON file: summary of the data-quality gate")
    p.add_argument("--truth", help="synthetic bank only: latent-interest truth parquet")
    p.add_argument("--output", help="folder for local copies of plots and model cards")
    p.set_defaults(func=_cmd_train)

    p = subparsers.add_parser(
        "approve",
        help="record a reviewer's approval of a model version (four eyes)",
        description="Record an approval as version tags. The reviewer must not be the trainer.",
    )
    p.add_argument("--family", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--reviewer", required=True)
    p.add_argument("--note", default="", help="what was reviewed")
    p.set_defaults(func=_cmd_approve)

    p = subparsers.add_parser(
        "promote",
        help="move the `champion` alias to a version when every gate passes",
        description="Gates: test metrics over thresholds, beats the challenger, score PSI vs the"
        " current champion under the maximum, approval by a reviewer other than the trainer."
        " A refusal exits non-zero and lists every failed gate. Every alias move is audited.",
    )
    p.add_argument("--family", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--approver", required=True, help="the reviewer who recorded the approval")
    p.add_argument("--params", help="JSON file with a `gates` section overriding the thresholds")
    p.add_argument("--reason", default="", help="note kept in the audit record")
    p.set_defaults(func=_cmd_promote)

    p = subparsers.add_parser(
        "ui",
        help="serve the MLflow UI on 127.0.0.1 over mlruns/ (telemetry off)",
    )
    p.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.set_defaults(func=_cmd_ui)


__all__ = ["register"]

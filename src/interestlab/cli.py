"""The `interestlab` command: one sub-command per stage, each documented in `--help`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from interestlab import __version__, config
from interestlab.errors import InterestlabError, RunLockedError

# EX_TEMPFAIL (sysexits.h): another run holds the workspace lock; try again later.
EXIT_LOCKED = 75


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        msg = f"expected a date as YYYY-MM-DD, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def _cmd_contract(args: argparse.Namespace) -> int:
    from interestlab.contract import render_markdown
    from interestlab.storage import check_bank

    if args.markdown:
        print(render_markdown())
        return 0
    from interestlab.config import default_bank_dir

    bank = Path(args.bank or default_bank_dir())
    counts = check_bank(bank)
    for name, n in counts.items():
        print(f"{name:>16}: {n:>12,} rows")
    print(f"contract: all {len(counts)} tables of {bank} match the contract")
    return 0


def _cmd_policy(args: argparse.Namespace) -> int:
    from interestlab.policy import load_policy

    policy = load_policy(Path(args.file) if args.file else None)
    for key, value in policy.summary().items():
        print(f"{key:>24}: {value}")
    print(f"policy: {args.file or 'conf/policy.yaml'} is valid (version {policy.version})")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from interestlab.stages import ingest_and_validate

    ingest_and_validate(
        args.as_of,
        bank_dir=args.bank,
        store_dir=args.store,
        output_dir=args.output,
    )
    return 0


def _settings(args: argparse.Namespace, *, demo_reviewer: str = ""):
    from interestlab.run import RunSettings

    return RunSettings(
        as_of=args.as_of,
        bank_dir=Path(args.bank or config.default_bank_dir()).resolve(),
        store_dir=Path(args.store or config.store_dir()).resolve(),
        seed=args.seed,
        n_snapshots=args.snapshots,
        horizon_days=args.horizon_days,
        dry_run=getattr(args, "dry_run", False),
        demo_reviewer=demo_reviewer,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from interestlab.run import run_pipeline, where_to_look

    result = run_pipeline(_settings(args))
    print(where_to_look(result))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from interestlab.orchestration import workspace_lock
    from interestlab.run import DEMO_REVIEWER, ensure_demo_bank, run_pipeline, where_to_look

    bank = Path(config.default_bank_dir()).resolve()
    store = Path(config.store_dir()).resolve()
    # One lock around bank preparation and run: a demo never clears a store a run is using.
    with workspace_lock(config.runs_dir()):
        ensure_demo_bank(bank, store, n_customers=args.customers, seed=args.seed, end=args.as_of)
        args.bank, args.store, args.dry_run = str(bank), str(store), False
        result = run_pipeline(_settings(args, demo_reviewer=DEMO_REVIEWER), take_lock=False)
    print(where_to_look(result))
    print(
        f"demo: models were approved by `{DEMO_REVIEWER}` on the synthetic bank; a scheduled"
        " `interestlab run` never approves anything"
    )
    return 0


def _cmd_privacy_scan(args: argparse.Namespace) -> int:
    from interestlab.privacy_scan import bank_identifiers, reviewer_paths, scan, scanned_files

    bank = Path(args.bank or config.default_bank_dir())
    paths = [Path(p) for p in args.paths] or reviewer_paths()
    findings = scan(paths, bank_identifiers(bank))
    for finding in findings[:50]:
        print(f"  {finding}")
    n_files = scanned_files(paths)
    if findings:
        print(f"privacy-scan: {len(findings)} identifier(s) of {bank} in {n_files:,} files scanned")
        return 1
    print(
        f"privacy-scan: no customer, account or communication id of {bank} in {n_files:,} files scanned"
    )
    return 0


def _add_run_options(p: argparse.ArgumentParser, *, as_of_required: bool) -> None:
    if as_of_required:  # a scheduled run never falls back to a default date
        p.add_argument("--as-of", type=parse_date, required=True, help="run date YYYY-MM-DD")
    else:
        p.add_argument(
            "--as-of",
            type=parse_date,
            default=config.DEFAULT_AS_OF,
            help=f"run date YYYY-MM-DD (default {config.DEFAULT_AS_OF}, the synthetic bank's end)",
        )
    p.add_argument("--seed", type=int, default=config.DEFAULT_SEED, help="seed (default 42)")
    p.add_argument("--snapshots", type=int, default=6, help="monthly training snapshots")
    p.add_argument("--horizon-days", type=int, default=60, help="label horizon in days")


def _register_core(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="the scheduled run: ingest+gate, features, train+register, contact plan (papermill)",
        description="Execute notebooks/01-04 in order through papermill with the same parameters"
        " into runs/<as-of>-<id>/ (executed notebooks, GX results and Data Docs, reports, plan),"
        " then log notebooks and reports to MLflow. A failing notebook stops the chain (exit 2,"
        " naming notebook and cell) and touches no alias and no earlier plan. A second run while"
        " one is active exits 75 (EX_TEMPFAIL) with a message. Never approves a model: the plan"
        " reads champions; --dry-run plans from candidates and is never made current.",
    )
    _add_run_options(p, as_of_required=True)
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--store", help="curated store folder (default: data/store)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="plan from the `candidate` models (plan marked as a dry run, not for sending)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "privacy-scan",
        help="scan what reviewers browse (MLflow, executed notebooks, GX, reports) for ids",
        description="Search every browsable file (notebook text outputs, JSON/HTML/Markdown,"
        " the MLflow SQLite store) for the customer and account ids of a bank. Exit 1 and list"
        " the findings when any is found. Default paths: mlruns/ and, per run folder,"
        " notebooks/, gx/, models/ and the JSON reports.",
    )
    p.add_argument("paths", nargs="*", help="files or folders (default: what reviewers browse)")
    p.add_argument("--bank", help="bank whose ids to look for (default: data/bank)")
    p.set_defaults(func=_cmd_privacy_scan)

    p = sub.add_parser(
        "demo",
        help="generate the synthetic bank (if missing) and run the whole pipeline on it",
        description="The README's first command: a synthetic bank in data/bank, then `run` on it;"
        " a named demo reviewer approves and promotes the models (gates still apply) so the demo"
        " reaches a real plan. Ends with where to look.",
    )
    _add_run_options(p, as_of_required=False)
    p.add_argument(
        "--customers",
        type=int,
        default=config.DEFAULT_N_CUSTOMERS,
        help=f"synthetic customers (default {config.DEFAULT_N_CUSTOMERS})",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "contract",
        help="check a bank folder against the data contract, or print the contract as Markdown",
        description="Check every contract table of a bank folder (missing table/column or wrong type"
        " is an error naming table, column, expected and found type). --markdown prints"
        " docs/data-contract.md.",
    )
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--markdown", action="store_true", help="print the contract as Markdown")
    p.set_defaults(func=_cmd_contract)

    p = sub.add_parser("policy", help="validate the policy file and show its numbers")
    p.add_argument("--file", help="policy file (default: conf/policy.yaml)")
    p.set_defaults(func=_cmd_policy)

    p = sub.add_parser(
        "ingest",
        help="register the click feed (R1), purge expired data (R3) and run the GX gate",
        description="Append the bank's click feed to the curated store (identified events only),"
        " quarantine rows that break the contract, purge everything older than the retention"
        " window, then validate inputs and store with Great Expectations. A failed expectation"
        " exits non-zero and names suite, expectation and counts.",
    )
    p.add_argument("--as-of", type=parse_date, required=True, help="run date YYYY-MM-DD")
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--store", help="curated store folder (default: data/store)")
    p.add_argument("--output", help="run output folder for reports, GX results and Data Docs")
    p.set_defaults(func=_cmd_ingest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interestlab",
        description="Interest models and contact plans from identified click data, inside the"
        " bank's privacy notice (rules R1-R13, conf/policy.yaml).",
    )
    parser.add_argument("--version", action="version", version=f"interestlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _register_core(sub)
    for register in _registrars():
        register(sub)
    return parser


def _registrars():
    """Sub-commands of the stage packages (each owns its arguments and help)."""
    from interestlab.features.cli import register as features
    from interestlab.modeling.cli import register as modeling
    from interestlab.planning.cli import register as planning
    from interestlab.synth.cli import register as synth

    return [synth, features, modeling, planning]


# Stage commands that write what a scheduled run reads or writes (bank, store, training sets,
# registry aliases, plans) take the workspace lock, as `run` and `demo` do: a stage started
# during a run (or a run during a stage) exits with EXIT_LOCKED and does nothing.
WRITES_WORKSPACE = frozenset({"synth", "ingest", "features", "train", "promote", "plan"})


def main(argv: Sequence[str] | None = None) -> int:
    from contextlib import nullcontext

    from interestlab.orchestration import workspace_lock

    args = build_parser().parse_args(argv)
    try:
        lock = (
            workspace_lock(config.runs_dir()) if args.command in WRITES_WORKSPACE else nullcontext()
        )
        with lock:
            return int(args.func(args) or 0)
    except RunLockedError as exc:  # busy, not failed: cron can tell the two apart
        print(f"interestlab {args.command}: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except InterestlabError as exc:
        print(f"interestlab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

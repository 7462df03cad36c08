"""The `interestlab` command: one sub-command per stage, each documented in `--help`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from interestlab import __version__
from interestlab.errors import InterestlabError


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


def _register_core(sub: argparse._SubParsersAction) -> None:
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InterestlabError as exc:
        print(f"interestlab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

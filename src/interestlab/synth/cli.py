"""`interestlab synth`: write the synthetic bank (the embedded default data set).

The lead wires `register` into `interestlab.cli`; `python -m interestlab.synth.cli` runs the
same sub-command on its own (used by `bench/bench_synth.py`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from interestlab import config
from interestlab.progress import fmt_count
from interestlab.synth import params

HELP = "generate the synthetic bank (all contract tables, truth apart) month by month"
DESCRIPTION = (
    "Write a complete, realistic synthetic bank in the data contract: customers, products,"
    " holdings, theme links, consent histories, the click feed (one folder per UTC month,"
    " anonymous and pre-login events included) and the communication log, plus the latent"
    " interests under truth/ (for evaluation only) and a non-personal _summary.json."
    " Deterministic for a seed; the folder is replaced atomically."
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"expected a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        msg = f"expected a non-negative integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        msg = f"expected a date YYYY-MM-DD, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customers",
        type=_positive,
        default=config.DEFAULT_N_CUSTOMERS,
        help="number of customers (default: %(default)s; ~110 click events each)",
    )
    parser.add_argument(
        "--seed",
        type=_non_negative,
        default=config.DEFAULT_SEED,
        help="random seed (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"bank folder to write (default: {config.default_bank_dir()})",
    )
    parser.add_argument(
        "--end",
        type=_day,
        default=config.DEFAULT_AS_OF,
        help="history ends just before local midnight of this date (default: %(default)s)",
    )
    parser.add_argument(
        "--months",
        type=_positive,
        default=params.DEFAULT_N_MONTHS,
        help="months of history (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    """Handler of `interestlab synth`: generate, then print one summary line."""
    from interestlab.synth import generate_bank

    out = Path(args.out) if args.out is not None else config.default_bank_dir()
    summary = generate_bank(
        out, n_customers=args.customers, seed=args.seed, end=args.end, n_months=args.months
    )
    clicks = summary["click_events"]
    total = max(clicks["events"], 1)
    print(
        f"synth: wrote {fmt_count(summary['n_customers'])} customers,"
        f" {fmt_count(clicks['events'])} click events"
        f" ({clicks['anonymous'] / total:.1%} anonymous,"
        f" {clicks['pre_identification'] / total:.1%} before login,"
        f" {clicks['older_than_retention'] / total:.1%} older than the retention window;"
        f" {fmt_count(summary['rows']['communications'])} communications) to {out}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `synth` sub-command to the `interestlab` command."""
    parser = subparsers.add_parser("synth", help=HELP, description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="interestlab", description="interestlab workbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""`interestlab plan | advisor | cap-report`: the planning sub-commands (wired by `register`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl


def _cmd_plan(args: argparse.Namespace) -> int:
    from interestlab.planning.build import build_plan

    summary = build_plan(
        args.as_of,
        bank_dir=args.bank,
        store_dir=args.store,
        output_dir=args.output,
        alias="candidate" if args.dry_run_candidate else "champion",
    )
    value = summary["value"]
    print(
        f"plan {summary['plan_month']} (week {summary['planned_week']}, alias {summary['alias']}):"
        f" {summary['planned']['total']:,} contacts, expected value {value['expected_value']:,.2f}"
        f" (upper bound {value['upper_bound']:,.2f}, gap {value['gap']:.4%});"
        f" {summary['suppressed']['total']:,} candidates suppressed"
    )
    print(f"outputs: {Path(summary['outputs']['plan']).parent}")
    return 0


def _run_folder(args: argparse.Namespace) -> Path:
    """`--output`, or the published run of `--as-of` (`runs/current-<as-of>`)."""
    from interestlab import config

    if args.output:
        return Path(args.output)
    return config.runs_dir() / f"current-{args.as_of.isoformat()}"


def _published_plan(output: Path, as_of) -> pl.DataFrame:
    from interestlab.errors import ContractError
    from interestlab.planning.build import read_plan
    from interestlab.planning.outputs import PLAN_FILE

    plan = read_plan(output)
    if plan is None:
        msg = (
            f"no plan at {output / 'plan' / PLAN_FILE}; expected the plan of a run folder"
            f" (default runs/current-{as_of.isoformat()}, or --output RUN_FOLDER)"
        )
        raise ContractError(msg)
    months = sorted(set(plan["plan_month"].to_list()))
    wanted = f"{as_of.year:04d}-{as_of.month:02d}"
    if months and months != [wanted]:
        msg = (
            f"plan in {output} is for {', '.join(months)}, expected the month of {as_of}: {wanted}"
        )
        raise ContractError(msg)
    return plan


def _cmd_advisor(args: argparse.Namespace) -> int:
    from interestlab.errors import ContractError
    from interestlab.planning.advisor import advisor_view, format_advisor_view
    from interestlab.policy import as_of_moment, load_policy
    from interestlab.stages import resolve_paths
    from interestlab.storage import scan_table

    policy = load_policy()
    bank, _, _ = resolve_paths(args.as_of, bank_dir=args.bank, store_dir=None, output_dir=None)
    output = _run_folder(args)
    plan = _published_plan(output, args.as_of)
    known = scan_table(bank, "customers").filter(pl.col("customer_id") == args.customer)
    if known.select(pl.len()).collect().item() == 0:
        msg = f"customer `{args.customer}`: not in table `customers` of {bank}"
        raise ContractError(msg)
    view = advisor_view(
        args.customer,
        theme_links=scan_table(bank, "theme_links"),
        holdings=scan_table(bank, "holdings"),
        products=scan_table(bank, "products"),
        plan=plan,
        as_of=as_of_moment(args.as_of, policy),
    )
    if args.json:
        print(json.dumps(view, indent=2, default=str))
    else:
        print(format_advisor_view(view))
    return 0


def _cmd_cap_report(args: argparse.Namespace) -> int:
    from interestlab.planning.build import cap_report
    from interestlab.stages import resolve_paths

    bank, _, _ = resolve_paths(args.as_of, bank_dir=args.bank, store_dir=None, output_dir=None)
    output = _run_folder(args)
    if args.with_plan:
        _published_plan(output, args.as_of)  # a missing plan is an error, never silently skipped
    summary = cap_report(
        bank_dir=bank, plan_dir=output if args.with_plan else None, output_dir=output
    )
    total = summary["total"]
    print(
        f"cap report (cap {summary['monthly_commercial_cap']} a month, plan included:"
        f" {summary['plan_included']}): {total['breaches']:,} customer-months above the cap,"
        f" {total['breaches_with_plan']:,} with a planned contact"
    )
    for month, row in summary["by_month"].items():
        counted = row["customer_months_with_counted"]
        print(f"  {month}: {row['breaches']:>8,} breaches of {counted:>10,}")
    print(f"outputs: {Path(output) / 'cap_report'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `plan`, `advisor` and `cap-report` to the `interestlab` command."""
    from interestlab.cli import parse_date

    p = subparsers.add_parser(
        "plan",
        help="build the month's explainable contact plan under the cap (R5-R12)",
        description="Score consented customers with each family's champion, add declared-theme"
        " interests, choose at most one lawful (product, channel) per customer under the monthly"
        " cap and channel capacities, explain the planned contacts, validate with the"
        " contact_plan GX suite (failure blocks the plan) and write plan, suppression log,"
        " processor extracts and summary atomically to <output>/plan/.",
    )
    p.add_argument("--as-of", type=parse_date, required=True, help="plan date YYYY-MM-DD")
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--store", help="curated store folder (default: data/store)")
    p.add_argument("--output", help="run folder (default: runs/<as-of>-manual)")
    p.add_argument(
        "--dry-run-candidate",
        action="store_true",
        help="score with the `candidate` alias instead of `champion` (recorded in the plan)",
    )
    p.set_defaults(func=_cmd_plan)

    p = subparsers.add_parser(
        "advisor",
        help="show one customer's theme-linked accounts and planned contact (R10)",
        description="What a branch or contact-centre employee may see: accounts the customer"
        " linked to themes and the planned contact with its explanation. Reads the plan of"
        " the run folder.",
    )
    p.add_argument("--customer", required=True, help="pseudonymous customer id")
    p.add_argument("--as-of", type=parse_date, required=True, help="plan date YYYY-MM-DD")
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--output", help="run folder holding plan/ (default: runs/current-<as-of>)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_cmd_advisor)

    p = subparsers.add_parser(
        "cap-report",
        help="report customer-months above the commercial cap (R6), by channel and category",
        description="Counts capped-channel, counted-category communications per customer and"
        " bank-local month; writes breaches, a by-channel-and-category table and a summary to"
        " <output>/cap_report/. --with-plan adds the run's plan.",
    )
    p.add_argument("--as-of", type=parse_date, required=True, help="run date YYYY-MM-DD")
    p.add_argument("--bank", help="bank folder (default: data/bank)")
    p.add_argument("--output", help="run folder (default: runs/<as-of>-manual)")
    p.add_argument("--with-plan", action="store_true", help="include <output>/plan/plan.parquet")
    p.set_defaults(func=_cmd_cap_report)

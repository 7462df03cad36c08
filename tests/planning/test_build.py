"""The edge: bank folder in, gated plan files out (fake models and features injected)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from literal_bank import utc

from interestlab.errors import GateError
from interestlab.planning import build
from interestlab.planning.build import build_plan, cap_report, read_plan
from interestlab.planning.cli import register
from interestlab.policy import Policy, load_policy

from .inputs import PRODUCT_ROWS, FakeModel

NAMES = ["fam_mortgage__simulation_90d", "theme_home__visits_30d", "hold__accounts_open"]


def models(alias: str = "champion") -> dict[str, FakeModel]:
    return {
        "mortgage": FakeModel("mortgage", NAMES, [0.8, 0.1, 0.0], alias=alias),
        "savings": FakeModel("savings", NAMES, [0.0, 0.5, 0.3], alias=alias),
    }


def features() -> pl.DataFrame:
    # One row per web-data consented customer (C1, C2 in the literal bank).
    return pl.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            NAMES[0]: [0.0, 4.0],
            NAMES[1]: [2.0, 1.0],
            NAMES[2]: [3.0, 1.0],
        }
    )


@pytest.fixture
def bank(make_bank) -> Path:
    return make_bank(
        products=PRODUCT_ROWS,
        theme_links=[
            {"customer_id": "C1", "account_id": "A1", "theme": "home", "linked_at": utc(2026, 1, 1)}
        ],
    )


def test_build_plan_writes_a_gated_explained_plan(bank: Path, tmp_path: Path) -> None:
    output = tmp_path / "run"
    summary = build_plan(
        "2026-11-15",
        bank_dir=bank,
        store_dir=tmp_path / "store",
        output_dir=output,
        models=models(),
        features=features(),
    )
    plan = read_plan(output)
    assert plan is not None
    assert plan.select("customer_id", "product_id", "source").rows() == [
        ("C1", "P-MORT-B", "model"),  # holds P-MORT: the other group mortgage
        ("C2", "P-MORT", "model"),
    ]
    assert plan.filter(pl.col("customer_id") == "C2")["reasons"][0].to_list()[0] == (
        "completed a mortgage simulation 4 times in the last 90 days"
    )
    assert summary["gate"]["success"] is True
    assert summary["alias"] == "champion" and summary["dry_run"] is False
    files = sorted(
        p.relative_to(output).as_posix() for p in (output / "plan").rglob("*") if p.is_file()
    )
    assert files == [
        "plan/extracts/branch.parquet",
        "plan/extracts/contact_center.parquet",
        "plan/extracts/email.parquet",
        "plan/extracts/ib_message.parquet",
        "plan/extracts/letter.parquet",
        "plan/extracts/phone.parquet",
        "plan/plan.parquet",
        "plan/summary.json",
        "plan/suppression_log.parquet",
    ]
    report = (output / "plan_report.json").read_text()
    assert '"C1"' not in report and '"C2"' not in report
    assert not list(output.glob(".plan.*"))  # no temporary folders left behind


def test_dry_run_records_the_candidate_alias(bank: Path, tmp_path: Path) -> None:
    summary = build_plan(
        "2026-11-15",
        bank_dir=bank,
        store_dir=tmp_path / "store",
        output_dir=tmp_path / "run",
        alias="candidate",
        models=models("candidate"),
        features=features(),
        run_gate=False,
    )
    assert summary["dry_run"] is True and summary["allow_candidate"] is True
    assert set(read_plan(tmp_path / "run")["alias"]) == {"candidate"}
    with pytest.raises(ValueError, match=r"`alias` must be 'champion' or 'candidate'"):
        build_plan(
            "2026-11-15",
            bank_dir=bank,
            output_dir=tmp_path / "x",
            alias="staging",
            models=models(),
            features=features(),
        )


def test_a_failing_gate_blocks_the_plan(bank: Path, tmp_path: Path, monkeypatch) -> None:
    real = build.plan_checks
    monkeypatch.setattr(
        build,
        "plan_checks",
        lambda plan, **kw: real(plan, **kw).with_columns(within_cap=pl.lit(False)),
    )
    with pytest.raises(GateError, match=r"within_cap"):
        build_plan(
            "2026-11-15",
            bank_dir=bank,
            store_dir=tmp_path / "store",
            output_dir=tmp_path / "run",
            models=models(),
            features=features(),
        )
    assert read_plan(tmp_path / "run") is None


def test_cli_plan_advisor_and_cap_report(
    bank: Path, tmp_path: Path, capsys, policy: Policy
) -> None:
    parser = argparse.ArgumentParser(prog="interestlab")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plan", "--as-of", "2026-11-15", "--dry-run-candidate"])
    assert args.dry_run_candidate is True
    output = tmp_path / "run"
    build_plan(
        "2026-11-15",
        bank_dir=bank,
        store_dir=tmp_path / "store",
        output_dir=output,
        models=models(),
        features=features(),
        run_gate=False,
    )

    args = parser.parse_args(
        [
            "advisor",
            "--customer",
            "C1",
            "--as-of",
            "2026-11-15",
            "--bank",
            str(bank),
            "--output",
            str(output),
        ]
    )
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "home: account A1" in text and "planned contact: Green Loan" in text

    args = parser.parse_args(
        [
            "cap-report",
            "--as-of",
            "2026-11-15",
            "--bank",
            str(bank),
            "--output",
            str(output),
            "--with-plan",
        ]
    )
    assert args.func(args) == 0
    assert "0 customer-months above the cap" in capsys.readouterr().out
    summary = json.loads((output / "cap_report" / "summary.json").read_text())
    assert summary["plan_included"] is True
    assert (
        cap_report(bank_dir=bank, output_dir=tmp_path / "other", policy=policy)["plan_included"]
        is False
    )


def test_a_second_plan_in_the_month_counts_the_published_one(bank: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    first = runs / "2026-11-02-aaaa"
    build_plan(
        "2026-11-02",
        bank_dir=bank,
        store_dir=tmp_path / "store",
        output_dir=first,
        models=models(),
        features=features(),
    )
    planned_first = set(read_plan(first)["customer_id"])
    assert planned_first
    (runs / "current-2026-11-02").symlink_to(first.name)
    earlier = build.published_plans(
        "2026-11", as_of=date(2026, 11, 15), policy=load_policy(), runs_dir=runs
    )
    assert set(earlier["customer_id"]) == planned_first
    assert earlier["category"].unique().to_list() == ["commercial"]
    assert build.published_plans(
        "2026-11", as_of=date(2026, 11, 2), policy=load_policy(), runs_dir=runs
    ).is_empty(), "a re-run of the same as-of replaces its plan, it does not count it"
    second = runs / "2026-11-15-bbbb"
    summary = build_plan(
        "2026-11-15",
        bank_dir=bank,
        store_dir=tmp_path / "store",
        output_dir=second,
        models=models(),
        features=features(),
    )
    assert summary["earlier_plans_counted"] == len(planned_first)
    plan = read_plan(second)
    assert plan is None or not (set(plan["customer_id"]) & planned_first)

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from literal_bank import frame, utc

from interestlab.errors import GateError
from interestlab.planning.checks import CHECK_COLUMNS, SUITE_NAME, failed_checks, plan_checks
from interestlab.policy import Policy

from .inputs import PRODUCT_ROWS, as_of, comm, grant, inputs, run, scores


def checks_of(plan: pl.DataFrame, policy: Policy, frames: dict) -> pl.DataFrame:
    return plan_checks(
        plan,
        products=frames["products"],
        holdings=frames["holdings"],
        consent_events=frames["consent_events"],
        communications=frames["communications"],
        as_of=as_of(policy),
        policy=policy,
    )


def explained(p: pl.DataFrame) -> pl.DataFrame:
    return p.with_columns(reasons=["a reason"])


def test_a_plan_passes_every_check(policy: Policy) -> None:
    frames = inputs()
    result = run(
        scores([("C1", "mortgage", 0.5), ("C2", "savings", 0.9)]),
        policy,
        frames=frames,
        explain=explained,
    )
    checks = checks_of(result.plan, policy, frames)
    assert checks.columns == list(CHECK_COLUMNS)
    assert checks.height == 2 and failed_checks(checks) == {}


def test_tampered_plans_fail_the_named_checks(policy: Policy) -> None:
    frames = inputs(
        consent=[grant("C1"), grant("C2")],
        communications=[comm("C2", utc(2026, 11, 1, 9))],
        holdings=[
            {
                "customer_id": "C1",
                "account_id": "A1",
                "product_id": "P-TRAV-X",
                "opened_on": utc(2020, 1, 1).date(),
            }
        ],
    )
    result = run(scores([("C1", "mortgage", 0.5)]), policy, frames=frames, explain=explained)
    good = result.plan
    bad = pl.concat(
        [
            good.with_columns(channel=pl.lit("email")),  # no e-mail consent
            good.with_columns(customer_id=pl.lit("C2")),  # over the cap
            good.with_columns(customer_id=pl.lit("C3")),  # not consented
            good.with_columns(
                product_id=pl.lit("P-TRAV-X"), reasons=pl.lit([], dtype=pl.List(pl.String))
            ),
            good.with_columns(channel=pl.lit("banner")),
        ]
    )
    assert failed_checks(checks_of(bad, policy, frames)) == {
        "within_cap": 4,  # C1: two capped contacts (the banner row fails too); C2 had one
        "one_contact_per_customer": 3,
        "web_data_consented": 1,
        "email_consented_if_email": 1,
        "group_product": 1,
        "not_already_held": 1,
        "capped_channel": 1,
        "explained": 1,
    }


def test_gx_suite_blocks_a_bad_plan(policy: Policy, tmp_path: Path) -> None:
    from interestlab.quality import run_suite

    frames = inputs()
    result = run(scores([("C1", "mortgage", 0.5)]), policy, frames=frames, explain=explained)
    good = checks_of(result.plan, policy, frames)
    assert run_suite(
        SUITE_NAME, [("plan", good)], output_dir=tmp_path / "ok", build_docs=False
    ).success
    bad = checks_of(result.plan.with_columns(channel=pl.lit("email")), policy, frames)
    gate = run_suite(SUITE_NAME, [("plan", bad)], output_dir=tmp_path / "bad", build_docs=False)
    with pytest.raises(GateError, match=r"email_consented_if_email"):
        gate.raise_for_failure()
    assert "C1" not in "".join(p.read_text() for p in (tmp_path / "bad").rglob("*.json"))


def test_products_fixture_has_an_off_list_provider() -> None:
    # Guards the R11 tests: one product is flagged in-group but its provider is not listed.
    assert frame("products", PRODUCT_ROWS).filter(pl.col("provider") == "Other Card Co").height == 1

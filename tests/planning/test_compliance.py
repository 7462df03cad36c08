from __future__ import annotations

import json

import polars as pl
from literal_bank import frame, utc

from interestlab.planning.compliance import cap_compliance
from interestlab.policy import Policy

from .inputs import comm


def test_breaches_by_local_month_with_plan_contribution(policy: Policy) -> None:
    log = frame(
        "communications",
        [
            comm("C1", utc(2026, 10, 31, 23, 30)),  # November (local)
            comm("C1", utc(2026, 11, 20), "phone"),  # November: breach
            comm("C1", utc(2026, 11, 21), "banner"),  # exempt: shown, never counted
            comm("C2", utc(2026, 10, 2), "email"),
            comm("C2", utc(2026, 10, 3), "letter", "subscribed"),
            comm("C3", utc(2026, 11, 2), "email"),  # plus the plan below: breach
        ],
    )
    plan = pl.DataFrame(
        {
            "customer_id": ["C3", "C4"],
            "channel": ["letter", "letter"],
            "plan_month": ["2026-11", "2026-11"],
        }
    )
    report = cap_compliance(log, policy=policy, plan=plan)
    assert report.breaches.select(
        "customer_id", "month", "counted", "excess", "plan_contributed"
    ).rows() == [
        ("C1", "2026-11", 2, 1, False),
        ("C3", "2026-11", 2, 1, True),
    ]
    c1 = report.by_channel_category.filter(pl.col("channel") == "banner")
    assert c1.select("counted", "communications").rows() == [(False, 1)]
    assert report.summary["total"] == {
        "customer_months_with_counted": 4,
        "breaches": 2,
        "breaches_with_plan": 1,
    }
    assert report.summary["by_month"]["2026-10"]["breaches"] == 0
    assert '"C1"' not in json.dumps(report.summary)


def test_without_plan_nothing_is_attributed_to_a_plan(policy: Policy) -> None:
    log = frame(
        "communications", [comm("C1", utc(2026, 11, 2)), comm("C1", utc(2026, 11, 3), "email")]
    )
    report = cap_compliance(log, policy=policy)
    assert report.summary["plan_included"] is False
    assert report.breaches["plan_contributed"].to_list() == [False]

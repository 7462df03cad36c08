"""Property-based tests: random logs, consents, holdings and scores; the plan's promises hold."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from literal_bank import frame
from polars.testing import assert_frame_equal

from interestlab.contract import COMM_CATEGORIES, COMM_CHANNELS
from interestlab.planning.cap import counted_in_month
from interestlab.planning.planner import plan_contacts
from interestlab.policy import Policy, as_of_moment, load_policy

from .inputs import PRODUCT_ROWS, activity, comm, customers, grant, params

POLICY = load_policy()
IDS = ["C1", "C2", "C3", "C4", "C5"]
FAMILIES = ["mortgage", "savings", "travel_insurance", "credit_card"]
PRODUCT_IDS = [p["product_id"] for p in PRODUCT_ROWS]
GROUP = {
    p["product_id"]
    for p in PRODUCT_ROWS
    if p["provider_in_group"] and p["provider"] in POLICY.group_providers
}
# Around the plan months, DST end (25 Oct 2026) and month boundaries included.
moments = st.datetimes(
    min_value=datetime(2026, 9, 20), max_value=datetime(2026, 12, 10), timezones=st.just(UTC)
)
customer = st.sampled_from(IDS)

cases = st.fixed_dictionaries(
    {
        "day": st.sampled_from(
            [date(2026, 10, 25), date(2026, 11, 1), date(2026, 11, 15), date(2026, 11, 30)]
        ),
        "cap": st.sampled_from([0, 1, 1, 2]),
        "granted_early": st.sets(customer, min_size=2),
        "scores": st.lists(
            st.tuples(customer, st.sampled_from(FAMILIES), st.floats(0, 1)),
            unique_by=lambda r: (r[0], r[1]),
            min_size=3,
            max_size=14,
        ),
        "consent": st.lists(
            st.tuples(
                customer,
                st.sampled_from(["web_data_commercial", "email_commercial"]),
                st.booleans(),
                moments,
            ),
            max_size=8,
        ),
        "comms": st.lists(
            st.tuples(
                customer, st.sampled_from(COMM_CHANNELS), st.sampled_from(COMM_CATEGORIES), moments
            ),
            max_size=6,
        ),
        "holdings": st.lists(st.tuples(customer, st.sampled_from(PRODUCT_IDS)), max_size=5),
        "logins": st.lists(st.tuples(customer, moments), max_size=5),
        "capacities": st.lists(st.integers(0, 3), min_size=6, max_size=6),
        "shuffle_seed": st.integers(0, 2**16),
    }
)


def build(case: dict) -> tuple[dict, Policy]:
    policy = Policy(**{**POLICY.__dict__, "monthly_commercial_cap": case["cap"]})
    score_rows = case["scores"]
    frames = {
        "scores": pl.DataFrame(
            {
                "customer_id": [r[0] for r in score_rows],
                "family": [r[1] for r in score_rows],
                "score": [r[2] for r in score_rows],
                "model_name": [f"interest-{r[1]}" for r in score_rows],
                "model_version": ["1"] * len(score_rows),
                "alias": ["champion"] * len(score_rows),
            },
            schema={
                "customer_id": pl.String,
                "family": pl.String,
                "score": pl.Float64,
                "model_name": pl.String,
                "model_version": pl.String,
                "alias": pl.String,
            },
        ),
        "customers": customers(IDS),
        "products": frame("products", PRODUCT_ROWS),
        "holdings": frame(
            "holdings",
            [
                {
                    "customer_id": c,
                    "account_id": f"A{i}",
                    "product_id": p,
                    "opened_on": date(2020, 1, 1),
                }
                for i, (c, p) in enumerate(case["holdings"])
            ],
        ),
        "theme_links": frame("theme_links", []),
        "consent_events": frame(
            "consent_events",
            [grant(c, purpose, at, granted=g) for c, purpose, g, at in consent_rows(case)],
        ),
        "communications": frame(
            "communications",
            [
                comm(c, at, ch, cat, comm_id=f"M{i}")
                for i, (c, ch, cat, at) in enumerate(case["comms"])
            ],
        ),
        "activity": activity(case["logins"]),
    }
    return frames, policy


def consent_rows(case: dict) -> list[tuple[str, str, bool, datetime]]:
    """Random choices, after an early web-data grant for some customers (so plans happen)."""
    early = [
        (c, "web_data_commercial", True, datetime(2025, 1, 1, tzinfo=UTC))
        for c in sorted(case["granted_early"])
    ]
    return early + case["consent"]


def oracle_consent(case: dict, purpose: str, at: datetime) -> dict[str, bool]:
    """Latest choice at or before `at`; on a tie a withdrawal wins; no record: not consented."""
    state: dict[str, tuple[datetime, bool]] = {}
    for c, p, granted, moment in consent_rows(case):
        if p != purpose or moment > at:
            continue
        if c not in state or (moment, not granted) > (state[c][0], not state[c][1]):
            state[c] = (moment, granted)
    return {c: s[1] for c, s in state.items()}


def plan(frames: dict, policy: Policy, case: dict):
    plan_params = params(
        channel_capacities=dict(zip(params().channels, case["capacities"], strict=True)),
    )
    return plan_contacts(
        frames["scores"],
        **{k: v for k, v in frames.items() if k != "scores"},
        as_of=as_of_moment(case["day"], policy),
        policy=policy,
        params=plan_params,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_plan_promises_hold(case: dict) -> None:
    frames, policy = build(case)
    at = as_of_moment(case["day"], policy)
    result = plan(frames, policy, case)
    planned = result.plan
    event("plan non-empty" if planned.height else "plan empty")

    # R6: never above the cap in the counted month, with what the log already holds.
    already = dict(
        counted_in_month(frames["communications"], month=result.window.month, policy=policy)
        .collect()
        .iter_rows()
    )
    per_customer = planned.group_by("customer_id").len()
    for customer_id, n in per_customer.iter_rows():
        assert n == 1
        assert already.get(customer_id, 0) + n <= policy.monthly_commercial_cap

    # R13 and R9 against an independent replay of the consent history.
    web = oracle_consent(case, "web_data_commercial", at)
    email = oracle_consent(case, "email_commercial", at)
    for customer_id, channel in planned.select("customer_id", "channel").iter_rows():
        assert web.get(customer_id, False)
        if channel == "email":
            assert email.get(customer_id, False)

    # R11 and holdings.
    assert set(planned["product_id"]) <= GROUP
    held = set(case["holdings"])
    assert not {(c, p) for c, p in planned.select("customer_id", "product_id").iter_rows()} & held

    # Capacities, value bound, and every candidate accounted for with a reason.
    for channel, capacity in zip(params().channels, case["capacities"], strict=True):
        assert (planned["channel"] == channel).sum() <= capacity
    assert result.optimality["upper_bound"] >= result.optimality["value"] - 1e-6
    assert (result.suppression_log["reasons"].list.len() >= 1).all()
    assert planned.height + result.suppression_log.height == result.summary["candidates"]["total"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_plan_is_identical_when_run_twice_and_on_shuffled_inputs(case: dict) -> None:
    frames, policy = build(case)
    first = plan(frames, policy, case)
    second = plan(frames, policy, case)
    seed = case["shuffle_seed"]
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=seed) for k, v in frames.items()}
    third = plan(shuffled, policy, case)
    for other in (second, third):
        assert_frame_equal(first.plan, other.plan)
        assert_frame_equal(first.suppression_log, other.suppression_log)
        assert first.summary == other.summary
        for channel, extract in first.channel_extracts.items():
            assert_frame_equal(extract, other.channel_extracts[channel])

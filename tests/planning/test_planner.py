from __future__ import annotations

import polars as pl
import pytest
from literal_bank import utc
from polars.testing import assert_frame_equal

from interestlab.planning.outputs import EXTRACT_COLUMNS
from interestlab.planning.planner import SUPPRESSION_REASONS
from interestlab.policy import Policy

from .inputs import comm, grant, inputs, params, reasons_of, run, scores


def test_best_group_product_is_planned_with_its_audit_trail(policy: Policy) -> None:
    result = run(scores([("C1", "mortgage", 0.5), ("C1", "savings", 0.9)]), policy)
    row = result.plan.row(0, named=True)
    assert result.plan.height == 1
    # 0.5 x 2400 beats 0.9 x 60; P-MORT before P-MORT-B (same value, product id order).
    assert (row["product_id"], row["family"], row["source"]) == ("P-MORT", "mortgage", "model")
    assert (row["model_name"], row["model_version"], row["alias"]) == (
        "interest-mortgage",
        "3",
        "champion",
    )
    assert row["channel"] == "letter"  # no e-mail consent, no recent login; cheapest left
    assert row["expected_value"] == pytest.approx(0.5 * 2400 - 1.2)
    assert (row["rank"], row["n_alternatives"]) == (1, 3)
    assert row["cap_state"] == "no commercial contact yet in 2026-11 (cap 1 a month)"
    assert row["consents_used"] == [
        {
            "purpose": "web_data_commercial",
            "consented": True,
            "recorded_at": utc(2025, 1, 1),
            "source": "internet_banking",
        }
    ]
    assert row["message_template"] == "P-MORT.letter.nl"
    assert reasons_of(result, "C1", "P-SAV") == ["lower_value_than_chosen"]
    assert reasons_of(result, "C1", "P-MORT-B") == [
        "other_product_preferred",
        "lower_value_than_chosen",
    ]


def test_email_needs_consent_at_as_of_and_a_withdrawal_before_it_blocks(policy: Policy) -> None:
    consent = [
        grant("C1"),
        grant("C2"),
        grant("C3"),
        grant("C1", "email_commercial", utc(2026, 1, 5)),
        grant("C2", "email_commercial", utc(2026, 1, 5)),
        grant("C2", "email_commercial", utc(2026, 11, 14, 22, 59), granted=False),  # before as-of
        grant("C3", "email_commercial", utc(2026, 11, 14, 23, 0)),  # at as-of: counts
    ]
    result = run(
        scores([("C1", "mortgage", 0.5), ("C2", "mortgage", 0.5), ("C3", "mortgage", 0.5)]),
        policy,
        frames=inputs(consent=consent),
    )
    channels = dict(result.plan.select("customer_id", "channel").iter_rows())
    assert channels == {"C1": "email", "C2": "letter", "C3": "email"}
    email_consent = result.plan.filter(pl.col("customer_id") == "C1")["consents_used"][0].to_list()
    assert [c["purpose"] for c in email_consent] == ["web_data_commercial", "email_commercial"]


def test_ib_message_only_after_a_recent_login(policy: Policy) -> None:
    frames = inputs(logins=[("C1", utc(2026, 11, 10)), ("C2", utc(2026, 9, 1))])
    result = run(scores([("C1", "mortgage", 0.5), ("C2", "mortgage", 0.5)]), policy, frames=frames)
    assert dict(result.plan.select("customer_id", "channel").iter_rows()) == {
        "C1": "ib_message",
        "C2": "letter",
    }


def test_non_group_and_held_products_are_never_planned(policy: Policy) -> None:
    frames = inputs(
        holdings=[
            {
                "customer_id": "C1",
                "account_id": "A1",
                "product_id": "P-TRAV",
                "opened_on": utc(2020, 1, 1).date(),
            },
            # Closed before as-of: no longer held.
            {
                "customer_id": "C2",
                "account_id": "A2",
                "product_id": "P-TRAV",
                "opened_on": utc(2020, 1, 1).date(),
                "closed_on": utc(2026, 1, 1).date(),
            },
        ]
    )
    result = run(
        scores(
            [
                ("C1", "travel_insurance", 0.9),
                ("C1", "credit_card", 0.9),
                ("C2", "travel_insurance", 0.9),
            ]
        ),
        policy,
        frames=frames,
    )
    assert result.plan.select("customer_id", "product_id").rows() == [("C2", "P-TRAV")]
    assert reasons_of(result, "C1", "P-TRAV") == ["already_held"]
    assert reasons_of(result, "C1", "P-TRAV-X") == ["non_group_product"]
    assert reasons_of(result, "C1", "P-CARD-X") == ["non_group_product"]
    assert reasons_of(result, "C2", "P-TRAV-X") == ["non_group_product"]


def test_suppression_log_lists_every_rule(policy: Policy) -> None:
    frames = inputs(
        consent=[grant("C2")],  # C1 has no web-data consent
        holdings=[
            {
                "customer_id": "C1",
                "account_id": "A1",
                "product_id": "P-TRAV",
                "opened_on": utc(2020, 1, 1).date(),
            }
        ],
        communications=[comm("C1", utc(2026, 11, 2, 9))],
    )
    result = run(scores([("C1", "travel_insurance", 0.9)]), policy, frames=frames)
    assert result.plan.height == 0
    assert reasons_of(result, "C1", "P-TRAV") == [
        "no_web_data_consent",
        "already_held",
        "cap_reached",
    ]
    assert reasons_of(result, "C1", "P-TRAV-X") == [
        "no_web_data_consent",
        "non_group_product",
        "cap_reached",
    ]
    labels = set(result.suppression_log["reasons"].explode().to_list())
    assert labels <= set(SUPPRESSION_REASONS)


def test_cap_counts_the_local_month_of_the_log(policy: Policy) -> None:
    comms = [
        comm("C1", utc(2026, 10, 31, 23, 30)),  # 1 Nov local: counts
        comm("C2", utc(2026, 10, 31, 22, 30)),  # 31 Oct local: does not
        comm("C3", utc(2026, 11, 3), "banner"),  # exempt channel
        comm("C3", utc(2026, 11, 3), "letter", "legal"),  # exempt category
    ]
    result = run(
        scores([(c, "mortgage", 0.5) for c in ("C1", "C2", "C3")]),
        policy,
        frames=inputs(communications=comms),
    )
    assert sorted(result.plan["customer_id"]) == ["C2", "C3"]
    assert reasons_of(result, "C1", "P-MORT") == ["cap_reached"]
    assert result.summary["cap"]["customers_at_cap_before_plan"] == 1
    assert result.summary["cap"]["customers_above_cap_after_plan"] == 0


def test_a_higher_cap_leaves_room_and_says_so(policy: Policy) -> None:
    two = Policy(**{**policy.__dict__, "monthly_commercial_cap": 2})
    result = run(
        scores([("C1", "mortgage", 0.5)]),
        two,
        frames=inputs(communications=[comm("C1", utc(2026, 11, 2))]),
    )
    assert result.plan["cap_state"].to_list() == [
        "1 commercial contact(s) already in 2026-11 (cap 2 a month)"
    ]


def test_capacity_and_cost_reasons(policy: Policy) -> None:
    tight = params(
        channel_capacities={
            **params().channel_capacities,
            "letter": 1,
            "contact_center": 0,
            "phone": 0,
            "branch": 0,
        }
    )
    result = run(
        scores([("C1", "mortgage", 0.5), ("C2", "mortgage", 0.4), ("C3", "savings", 0.01)]),
        policy,
        plan_params=tight,
    )
    assert result.plan.select("customer_id", "channel").rows() == [("C1", "letter")]
    assert reasons_of(result, "C2", "P-MORT") == [
        "channel_capacity",
        "no_email_consent",
        "no_recent_login",
    ]
    # 0.01 x 60 = 0.6 < 1.20 letter cost: not worth any allowed channel.
    assert reasons_of(result, "C3", "P-SAV") == [
        "not_worth_contacting",
        "no_email_consent",
        "no_recent_login",
    ]
    assert result.summary["channels"]["letter"] == {"planned": 1, "capacity": 1, "utilisation": 1.0}
    assert result.optimality["upper_bound"] >= result.optimality["value"]


def test_declared_theme_is_a_separate_labelled_candidate(policy: Policy) -> None:
    links = [
        {"customer_id": "C1", "account_id": "A1", "theme": "home", "linked_at": utc(2026, 5, 1)},
        {
            "customer_id": "C2",
            "account_id": "A2",
            "theme": "home",
            "linked_at": utc(2026, 5, 1),
            "unlinked_at": utc(2026, 11, 1),
        },  # unlinked before as-of: inactive
    ]
    result = run(scores([("C3", "mortgage", 0.5)]), policy, frames=inputs(theme_links=links))
    theme_row = result.plan.filter(pl.col("customer_id") == "C1").row(0, named=True)
    assert theme_row["source"] == "declared theme"
    assert theme_row["score"] is None and theme_row["model_name"] is None
    assert theme_row["propensity"] == pytest.approx(params().theme_propensity)
    assert theme_row["reasons"] == [theme_row["theme_rule"]]
    assert theme_row["product_id"] == "P-MORT"  # home -> mortgage (home_insurance has no product)
    assert theme_row["theme_rule"] == (
        "declared theme (R5, no model): an account linked to the theme 'home' suggests mortgage"
    )
    assert "C2" not in result.plan["customer_id"].to_list()


def test_model_and_theme_candidates_are_not_blended(policy: Policy) -> None:
    links = [
        {"customer_id": "C1", "account_id": "A1", "theme": "vacation", "linked_at": utc(2026, 5, 1)}
    ]
    result = run(
        scores([("C1", "travel_insurance", 0.9)]), policy, frames=inputs(theme_links=links)
    )
    assert result.plan["source"].to_list() == ["model"]
    assert result.plan["score"].to_list() == [0.9]
    assert reasons_of(result, "C1", "P-TRAV", source="declared theme") == [
        "lower_value_than_chosen"
    ]


def test_explanations_come_from_the_explainer_for_planned_model_contacts_only(
    policy: Policy,
) -> None:
    seen: list[pl.DataFrame] = []

    def explain(planned: pl.DataFrame) -> pl.DataFrame:
        seen.append(planned)
        return planned.with_columns(pl.lit(["simulated a mortgage 6 days ago"]).alias("reasons"))

    result = run(
        scores([("C1", "mortgage", 0.5), ("C1", "savings", 0.5), ("C2", "savings", 0.9)]),
        policy,
        explain=explain,
    )
    assert_frame_equal(
        seen[0], pl.DataFrame({"customer_id": ["C1", "C2"], "family": ["mortgage", "savings"]})
    )
    assert result.plan["reasons"].to_list() == [["simulated a mortgage 6 days ago"]] * 2


def test_candidate_alias_needs_the_dry_run_flag(policy: Policy) -> None:
    dry = scores([("C1", "mortgage", 0.5)], alias="candidate")
    with pytest.raises(ValueError, match=r"`scores.alias`: expected \['champion'\]"):
        run(dry, policy)
    result = run(dry, policy, plan_params=params(allow_candidate=True))
    assert result.plan["alias"].to_list() == ["candidate"]
    assert result.summary["allow_candidate"] is True


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (scores([("C1", "mortgage", 1.5)]), r"`scores.score`: expected propensities in \[0, 1\]"),
        (scores([("C1", "boats", 0.5)]), r"`scores.family`: unknown families \['boats'\]"),
        (
            scores([("C1", "mortgage", 0.5), ("C1", "mortgage", 0.4)]),
            r"one row per \(customer_id, family\)",
        ),
        (scores([("C1", "mortgage", 0.5)]).drop("alias"), r"`scores`: missing columns \['alias'\]"),
        (
            pl.concat(
                [
                    scores([("C1", "mortgage", 0.5)]),
                    scores([("C2", "mortgage", 0.5)]).with_columns(
                        pl.lit("4").alias("model_version")
                    ),
                ]
            ),
            r"one model per family, found several for \['mortgage'\]",
        ),
    ],
)
def test_invalid_scores(policy: Policy, frame: pl.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        run(frame, policy)


def test_extracts_hold_only_what_the_processor_needs(policy: Policy) -> None:
    result = run(scores([("C1", "mortgage", 0.5), ("C2", "savings", 0.9)]), policy)
    assert set(result.channel_extracts) == set(params().channels)
    for extract in result.channel_extracts.values():
        assert tuple(extract.columns) == EXTRACT_COLUMNS
    assert result.channel_extracts["letter"]["customer_id"].to_list() == ["C1", "C2"]


def test_summary_has_no_customer_ids(policy: Policy) -> None:
    import json

    result = run(scores([("C1", "mortgage", 0.5), ("C2", "savings", 0.9)]), policy)
    text = json.dumps(result.summary, default=str)
    assert '"C1"' not in text and '"C2"' not in text
    assert result.summary["planned"]["by_product"] == {"P-MORT": 1, "P-SAV": 1}


def test_empty_scores_give_an_empty_plan(policy: Policy) -> None:
    result = run(scores([]), policy)
    assert result.plan.height == 0 and result.suppression_log.height == 0
    assert result.optimality["value"] == 0.0

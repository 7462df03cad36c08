from dataclasses import replace

import polars as pl
from literal_bank import frame, utc
from polars.testing import assert_frame_equal

from interestlab.consent import (
    consent_intervals,
    consent_snapshot,
    consented_ids,
    usable_click_events,
)

WEB = "web_data_commercial"


def history() -> pl.DataFrame:
    rows = [
        # C1 grants, withdraws, re-grants.
        ("C1", WEB, True, utc(2026, 1, 1)),
        ("C1", WEB, False, utc(2026, 3, 1)),
        ("C1", WEB, True, utc(2026, 6, 1)),
        # C2 grants, then withdraws for good.
        ("C2", WEB, True, utc(2026, 1, 1)),
        ("C2", WEB, False, utc(2026, 5, 1)),
        # C3 only ever gave e-mail consent.
        ("C3", "email_commercial", True, utc(2026, 1, 1)),
    ]
    return frame(
        "consent_events",
        [
            {
                "customer_id": c,
                "purpose": p,
                "granted": g,
                "recorded_at": t,
                "source": "internet_banking",
            }
            for c, p, g, t in rows
        ],
    )


IDS = pl.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"]})


def test_state_is_latest_event_at_or_before_the_moment(policy) -> None:
    def consented(at):
        snap = consent_snapshot(IDS, history(), at=at, purpose=WEB, policy=policy)
        return dict(snap.select("customer_id", "consented").iter_rows())

    assert consented(utc(2025, 12, 31)) == {"C1": False, "C2": False, "C3": False, "C4": False}
    assert consented(utc(2026, 1, 1)) == {"C1": True, "C2": True, "C3": False, "C4": False}
    assert consented(utc(2026, 4, 1)) == {"C1": False, "C2": True, "C3": False, "C4": False}
    assert consented(utc(2026, 7, 1)) == {"C1": True, "C2": False, "C3": False, "C4": False}


def test_snapshot_records_which_event_decided(policy) -> None:
    snap = consent_snapshot(IDS, history(), at=utc(2026, 7, 1), purpose=WEB, policy=policy)
    row = snap.filter(pl.col("customer_id") == "C1").row(0, named=True)
    assert row["recorded_at"] == utc(2026, 6, 1)
    assert snap.filter(pl.col("customer_id") == "C4")["recorded_at"].to_list() == [None]


def test_tie_on_the_same_moment_is_read_as_withdrawal(policy) -> None:
    tie = frame(
        "consent_events",
        [
            {
                "customer_id": "C1",
                "purpose": WEB,
                "granted": g,
                "recorded_at": utc(2026, 1, 1),
                "source": "branch",
            }
            for g in (True, False)
        ],
    )
    assert consented_ids(IDS, tie, at=utc(2026, 2, 1), policy=policy).height == 0


def test_intervals_pair_grants_with_withdrawals(policy) -> None:
    got = consent_intervals(history(), purpose=WEB, policy=policy).collect()
    expected = pl.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "granted_from": [utc(2026, 1, 1), utc(2026, 6, 1), utc(2026, 1, 1)],
            "granted_until": [utc(2026, 3, 1), None, utc(2026, 5, 1)],
        },
        schema_overrides={
            "granted_from": pl.Datetime("us", "UTC"),
            "granted_until": pl.Datetime("us", "UTC"),
        },
    )
    assert_frame_equal(got, expected)


def clicks() -> pl.LazyFrame:
    times = [utc(2026, 2, 1), utc(2026, 4, 1), utc(2026, 6, 15), utc(2026, 8, 1)]
    rows = [
        {
            "event_id": i * 10 + j,
            "session_id": i,
            "customer_id": c,
            "identified_at": t,
            "ts": t,
            "event_type": "theme_visit",
            "theme": "home",
            "channel": "web",
        }
        for i, c in enumerate(["C1", "C2", "C3"])
        for j, t in enumerate(times)
    ]
    return frame("click_events", rows).lazy()


def test_withdrawn_customer_disappears_and_returns_only_from_the_regrant(policy) -> None:
    def used(as_of, pol=policy):
        return (
            usable_click_events(clicks(), history(), IDS, as_of=as_of, policy=pol)
            .collect()
            .sort("event_id")
            .select("customer_id", "ts")
            .rows()
        )

    # During C1's withdrawal: C1 is out entirely; C2 still in.
    assert used(utc(2026, 4, 15)) == [("C2", utc(2026, 2, 1)), ("C2", utc(2026, 4, 1))]
    # After the re-grant (conservative default): C1 is back, but its withdrawn-period event (April)
    # stays unused; C2 withdrew before as-of and is gone; C3 never consented to web data.
    assert used(utc(2026, 9, 1)) == [
        ("C1", utc(2026, 2, 1)),
        ("C1", utc(2026, 6, 15)),
        ("C1", utc(2026, 8, 1)),
    ]
    # The permissive policy setting uses C1's withdrawn-period event after the re-grant.
    permissive = replace(policy, use_events_from_non_consented_periods=True)
    assert ("C1", utc(2026, 4, 1)) in used(utc(2026, 9, 1), permissive)


def test_no_record_means_not_consented_by_default(policy) -> None:
    assert consented_ids(IDS, history().head(0), at=utc(2026, 9, 1), policy=policy).height == 0
    lenient = replace(policy, default_consent=True)
    assert consented_ids(IDS, history().head(0), at=utc(2026, 9, 1), policy=lenient).height == 4

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from literal_bank import frame, utc
from polars.testing import assert_frame_equal

from interestlab.planning.cap import counted_in_month, plan_window
from interestlab.policy import Policy, as_of_moment

from .inputs import comm, params


def counts(rows: list[dict], month: str, policy: Policy) -> dict[str, int]:
    out = counted_in_month(frame("communications", rows), month=month, policy=policy).collect()
    return dict(out.sort("customer_id").iter_rows())


def test_23_30_utc_on_the_last_day_is_next_local_month(policy: Policy) -> None:
    # 2026-10-31 23:30 UTC = 2026-11-01 00:30 Brussels (CET, after the October DST change).
    rows = [comm("C1", utc(2026, 10, 31, 23, 30)), comm("C2", utc(2026, 10, 31, 22, 59))]
    assert counts(rows, "2026-11", policy) == {"C1": 1}
    assert counts(rows, "2026-10", policy) == {"C2": 1}


def test_dst_edge_uses_summer_offset(policy: Policy) -> None:
    # 2026-03-31 22:30 UTC = 2026-04-01 00:30 CEST (UTC+2): April; at 21:59 UTC still March.
    rows = [comm("C1", utc(2026, 3, 31, 22, 30)), comm("C2", utc(2026, 3, 31, 21, 59))]
    assert counts(rows, "2026-04", policy) == {"C1": 1}
    assert counts(rows, "2026-03", policy) == {"C2": 1}


def test_only_capped_channels_and_counted_categories_count(policy: Policy) -> None:
    t = utc(2026, 11, 3, 10)
    rows = [
        comm("C1", t, "banner", "commercial"),
        comm("C1", t, "email", "subscribed"),
        comm("C1", t, "letter", "operational"),
        comm("C1", t, "phone", "legal"),
        comm("C2", t, "ib_message", "commercial"),
        comm("C2", t, "branch", "commercial"),
    ]
    assert counts(rows, "2026-11", policy) == {"C2": 2}


def test_later_entries_of_the_same_month_count_too(policy: Policy) -> None:
    rows = [comm("C1", utc(2026, 11, 28, 9))]
    out = counted_in_month(frame("communications", rows), month="2026-11", policy=policy).collect()
    assert_frame_equal(
        out,
        pl.DataFrame({"customer_id": ["C1"], "commercial_in_month": [1]}),
        check_dtypes=False,
    )


@pytest.mark.parametrize(
    ("day", "lead", "expected"),
    [
        (date(2026, 11, 15), 0, (date(2026, 11, 15), date(2026, 11, 15), "2026-W46", "2026-11")),
        (date(2026, 11, 10), 0, (date(2026, 11, 10), date(2026, 11, 15), "2026-W46", "2026-11")),
        # Monday 30 November: its ISO week is clipped to the month (the cap is monthly).
        (date(2026, 11, 30), 0, (date(2026, 11, 30), date(2026, 11, 30), "2026-W49", "2026-11")),
        # A lead that crosses the month boundary moves the counted month with it.
        (date(2026, 11, 30), 2, (date(2026, 12, 2), date(2026, 12, 6), "2026-W49", "2026-12")),
        (date(2026, 12, 31), 0, (date(2026, 12, 31), date(2026, 12, 31), "2026-W53", "2026-12")),
    ],
)
def test_plan_window(policy: Policy, day: date, lead: int, expected: tuple) -> None:
    w = plan_window(as_of_moment(day, policy), policy=policy, params=params(lead_days=lead))
    assert (w.send_from, w.send_until, w.planned_week, w.month) == expected


def test_plan_window_needs_an_aware_moment(policy: Policy) -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match=r"`as_of` must be time-zone aware"):
        plan_window(datetime(2026, 11, 15), policy=policy, params=params())

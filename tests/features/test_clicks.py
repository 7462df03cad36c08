"""Golden tests of the click features (R4) on tiny literal frames: windows, days since, trends."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from literal_bank import frame

from interestlab.features.clicks import click_features, daily_activity, history_days, session_starts

from .frames import one


def test_family_counts_per_window_days_since_and_trend(features, click) -> None:
    rows = [
        click(days_before=1, event_type="simulation", family="mortgage"),
        click(days_before=6.5, event_type="simulation", family="mortgage"),
        click(days_before=20, event_type="procedure_abandoned", family="mortgage"),
        click(days_before=60, event_type="info_consult", family="mortgage"),
        click(days_before=200, event_type="procedure_completed", family="mortgage"),
        click(days_before=3, event_type="info_consult", family="savings"),
    ]
    row = one(features(rows))
    assert row["fam_mortgage__events_7d"] == 2
    assert row["fam_mortgage__events_30d"] == 3
    assert row["fam_mortgage__events_90d"] == 4
    assert row["fam_mortgage__events_365d"] == 5
    assert row["fam_mortgage__simulation_90d"] == 2
    assert row["fam_mortgage__info_consult_90d"] == 1
    assert row["fam_mortgage__procedure_abandoned_365d"] == 1
    assert row["fam_mortgage__procedure_completed_365d"] == 1
    assert row["fam_mortgage__days_since_simulation"] == 1
    assert row["fam_mortgage__days_since_procedure_abandoned"] == 20
    assert row["fam_mortgage__trend_30_90"] == pytest.approx(3 / 4)
    assert row["fam_savings__events_7d"] == 1
    assert row["fam_savings__days_since_simulation"] is None
    # A family never touched: zero counts, missing days-since and trend.
    assert row["fam_car_loan__events_365d"] == 0
    assert row["fam_car_loan__days_since_procedure_abandoned"] is None
    assert row["fam_car_loan__trend_30_90"] is None


def test_window_edges_are_local_calendar_days(features, click, as_of) -> None:
    # 7-day window = local days D-7 .. D-1: an event at 00:00 local on D-7 counts, one a
    # microsecond earlier (D-8) does not; nothing at or after the as-of moment counts.
    rows = [
        click(ts=as_of - timedelta(days=7), family="savings"),
        click(ts=as_of - timedelta(days=7, microseconds=1), family="savings"),
        click(ts=as_of - timedelta(microseconds=1), family="savings"),
        click(ts=as_of, family="savings"),
        click(ts=as_of + timedelta(days=2), family="savings"),
    ]
    row = one(features(rows))
    assert row["fam_savings__events_7d"] == 2
    assert row["fam_savings__events_30d"] == 3
    assert row["fam_savings__days_since_simulation"] is None
    assert row["all__days_since_event"] == 1


def test_theme_visits_and_days_since(features, click) -> None:
    rows = [
        click(days_before=2, event_type="theme_visit", theme="home"),
        click(days_before=10, event_type="theme_visit", theme="home"),
        click(days_before=45, event_type="theme_visit", theme="home"),
        click(days_before=5, event_type="theme_visit", theme="vacation"),
        # Not a visit: a simulation under a theme dossier counts for the family only.
        click(days_before=1, event_type="simulation", theme="home", family="mortgage"),
    ]
    row = one(features(rows))
    assert row["theme_home__visits_30d"] == 2
    assert row["theme_home__visits_90d"] == 3
    assert row["theme_home__days_since_visit"] == 2
    assert row["theme_vacation__visits_30d"] == 1
    assert row["theme_car__visits_90d"] == 0
    assert row["theme_car__days_since_visit"] is None


def test_global_activity_sessions_and_active_days(features, click) -> None:
    rows = [
        click(days_before=1, session_id=1, event_type="theme_visit", theme="car"),
        click(days_before=1, session_id=1, event_type="simulation", family="car_loan"),
        click(days_before=1, session_id=2, event_type="info_consult"),
        click(days_before=40, session_id=3, event_type="procedure_started", family="car_loan"),
        click(days_before=100, session_id=4, event_type="procedure_abandoned", family="car_loan"),
    ]
    row = one(features(rows))
    assert row["all__events_7d"] == 3
    assert row["all__events_30d"] == 3
    assert row["all__events_90d"] == 4
    assert row["all__events_365d"] == 5
    assert row["all__sessions_30d"] == 2
    assert row["all__sessions_90d"] == 3
    assert row["all__sessions_365d"] == 4
    assert row["all__active_days_30d"] == 1
    assert row["all__active_days_90d"] == 2
    assert row["all__theme_visit_90d"] == 1
    assert row["all__simulation_90d"] == 1
    assert row["all__procedure_started_90d"] == 1
    assert row["all__procedure_abandoned_90d"] == 0
    assert row["all__days_since_event"] == 1
    assert row["all__trend_30_90"] == pytest.approx(3 / 4)
    assert row["all__history_days"] == 365


def test_customer_without_clicks_has_zero_counts_and_missing_recency(features, click) -> None:
    row = one(features([click("C1", days_before=3)]), "C2")
    assert row["all__events_365d"] == 0
    assert row["all__sessions_365d"] == 0
    assert row["all__days_since_event"] is None
    assert row["all__trend_30_90"] is None


def test_session_is_dated_by_its_first_usable_event(policy, click) -> None:
    rows = frame(
        "click_events",
        [click(days_before=31, session_id=7), click(days_before=29, session_id=7)],
    ).lazy()
    daily = daily_activity(rows, policy=policy).collect()
    sessions = session_starts(rows, policy=policy).collect()
    assert sessions["n"].to_list() == [1]
    assert daily["n"].sum() == 2
    as_of_day = sessions["day"][0] + 31
    out = click_features(daily, sessions, as_of_day=as_of_day).collect().row(0, named=True)
    assert out["all__sessions_30d"] == 0
    assert out["all__sessions_90d"] == 1
    assert out["all__events_30d"] == 1


def test_history_days_is_clipped_to_the_longest_window(as_of) -> None:
    assert history_days(as_of, as_of - timedelta(days=400)) == 365
    assert history_days(as_of, as_of - timedelta(days=30, hours=12)) == 30
    assert history_days(as_of, as_of + timedelta(days=3)) == 0


def test_daily_activity_uses_bank_local_days(policy, as_of) -> None:
    # 23:30 UTC on 14 Nov is already 15 Nov in Brussels: the as-of day itself, excluded.
    late = {
        "event_id": 1,
        "session_id": 1,
        "customer_id": "C1",
        "identified_at": as_of,
        "ts": as_of + timedelta(minutes=30),
        "event_type": "info_consult",
        "theme": None,
        "product_family": None,
        "channel": "app",
    }
    daily = daily_activity(frame("click_events", [late]).lazy(), policy=policy).collect()
    assert daily.get_column("day").cast(pl.Date).to_list() == [as_of.date() + timedelta(days=1)]

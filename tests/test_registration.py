import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from literal_bank import utc

from interestlab.click_store import scan_clicks, stored_months
from interestlab.errors import ContractError
from interestlab.policy import as_of_moment
from interestlab.registration import ingest_feed

RUN_AT = utc(2026, 11, 14, 23)  # 2026-11-15 local midnight
LOGIN = utc(2026, 10, 1, 9)
CLICK = utc(2026, 10, 1, 9, 5)


def event(event_id, *, customer="C1", identified=LOGIN, ts=CLICK, **kw):
    row = {
        "event_id": event_id,
        "session_id": 100 + event_id,
        "customer_id": customer,
        "identified_at": identified,
        "ts": ts,
        "event_type": "theme_visit",
        "theme": "home",
        "product_family": None,
        "channel": "web",
    }
    return row | kw


def ingest(bank: Path, store: Path, policy, run_id: str = "r1"):
    return ingest_feed(bank, store, policy=policy, run_at=RUN_AT, run_id=run_id)


def test_only_identified_events_at_or_after_login_are_stored(make_bank, tmp_path, policy) -> None:
    login = utc(2026, 10, 1, 9)
    bank = make_bank(
        click_events=[
            event(1, ts=login),  # exactly at identification: kept
            event(2, ts=login + timedelta(minutes=3)),  # after: kept
            event(
                3, ts=login - timedelta(seconds=1)
            ),  # before login in the same session: never stored
            event(4, customer=None, identified=None),  # anonymous session: never stored
        ]
    )
    store = tmp_path / "store"
    report = ingest(bank, store, policy)
    assert scan_clicks(store).collect().sort("event_id")["event_id"].to_list() == [1, 2]
    assert (report.kept, report.pre_identification, report.anonymous, report.quarantined) == (
        2,
        1,
        1,
        0,
    )


def test_reingesting_the_same_feed_is_a_no_op(make_bank, tmp_path, policy) -> None:
    bank = make_bank(
        click_events=[event(1), event(2, ts=utc(2026, 9, 30, 10), identified=utc(2026, 9, 30, 9))]
    )
    store = tmp_path / "store"
    first = ingest(bank, store, policy, "r1")
    files = {p: p.read_bytes() for p in (store / "click_events").rglob("*.parquet")}
    second = ingest(bank, store, policy, "r2")
    assert (first.kept, second.kept, second.duplicate) == (2, 0, 2)
    assert second.months_written == []
    assert {p: p.read_bytes() for p in (store / "click_events").rglob("*.parquet")} == files
    assert stored_months(store) == ["2026-09", "2026-10"]


def test_duplicates_within_one_feed_are_stored_once(make_bank, tmp_path, policy) -> None:
    bank = make_bank(click_events=[event(1), event(1)])
    report = ingest(bank, tmp_path / "store", policy)
    assert (report.kept, report.duplicate) == (1, 1)
    assert scan_clicks(tmp_path / "store").collect().height == 1


def test_contract_violations_are_quarantined_with_every_reason(make_bank, tmp_path, policy) -> None:
    bank = make_bank(
        click_events=[
            event(1),
            event(2, customer="C999"),  # unknown customer
            event(3, ts=utc(2026, 11, 20), identified=utc(2026, 11, 20)),  # after the run date
            event(4, customer="C999", event_type="purchase_done"),  # two reasons at once
            event(5, identified=None),  # identified customer without login moment
        ]
    )
    store = tmp_path / "store"
    report = ingest(bank, store, policy)
    assert report.kept == 1
    assert report.quarantined == 4
    assert report.delivered == 5
    quarantine = pl.read_parquet(store / "quarantine" / "r1.parquet").sort("event_id")
    reasons = dict(zip(quarantine["event_id"], quarantine["reasons"].to_list(), strict=True))
    assert reasons[2] == ["customer unknown to `customers`"]
    assert reasons[3] == ["ts after the run date"]
    assert reasons[4] == ["customer unknown to `customers`", "event_type outside contract domain"]
    assert reasons[5] == ["customer_id without identified_at"]
    assert report.quarantine_reasons["customer unknown to `customers`"] == 2
    receipt = json.loads((store / "receipts" / "ingest-r1.json").read_text())
    assert receipt["quarantined"] == 4
    assert "C999" not in json.dumps(receipt) and "C1" not in json.dumps(receipt)


def test_events_already_past_retention_are_never_stored(make_bank, tmp_path, policy) -> None:
    old = as_of_moment(date(2025, 11, 14), policy)  # 366 days before the run date
    bank = make_bank(click_events=[event(1), event(2, ts=old, identified=old)])
    report = ingest(bank, tmp_path / "store", policy)
    assert (report.kept, report.expired_on_arrival) == (1, 1)
    assert scan_clicks(tmp_path / "store").collect()["event_id"].to_list() == [1]


def test_contract_error_stops_before_anything_is_written(make_bank, tmp_path, policy) -> None:
    bank = make_bank()
    bad = pl.read_parquet(next((bank / "click_events").rglob("*.parquet"))).with_columns(
        pl.col("event_id").cast(pl.String)
    )
    bad.write_parquet(bank / "click_events" / "month=2026-10" / "part-0.parquet")
    with pytest.raises(ContractError, match="column `event_id` has type String, expected Int64"):
        ingest(bank, tmp_path / "store", policy)
    assert not (tmp_path / "store").exists()


def test_failed_month_write_leaves_store_consistent(
    make_bank, tmp_path, policy, monkeypatch
) -> None:
    bank = make_bank(click_events=[event(1)])
    store = tmp_path / "store"
    ingest(bank, store, policy, "r1")
    before = scan_clicks(store).collect()
    bank2 = make_bank(click_events=[event(1), event(2)])

    def crash(df, target):
        with open(target.with_name(".partial.tmp"), "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr("interestlab.registration.write_parquet", crash)
    with pytest.raises(OSError, match="disk full"):
        ingest(bank2, store, policy, "r2")
    monkeypatch.undo()
    assert scan_clicks(store).collect().equals(before)
    assert ingest(bank2, store, policy, "r3").kept == 1  # re-running completes it

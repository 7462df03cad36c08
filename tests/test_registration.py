import json
import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from literal_bank import frame, utc
from polars.testing import assert_frame_equal

from interestlab.click_store import scan_clicks, stored_months
from interestlab.contract import TABLES, UTC_TS
from interestlab.errors import ContractError
from interestlab.policy import as_of_moment
from interestlab.registration import (
    ANONYMOUS,
    KEPT,
    QUARANTINED,
    classify_events,
    first_per_event_id,
    ingest_feed,
)

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


def late_delivery_bank(make_bank, rows: list[dict]) -> Path:
    """A bank whose `month=2026-10` file holds all `rows`, whatever their month (late events)."""
    bank = make_bank(click_events=[event(1)])
    frame("click_events", rows).write_parquet(
        bank / "click_events" / "month=2026-10" / "part-0.parquet"
    )
    return bank


def month_bytes(store: Path) -> dict[str, bytes]:
    return {
        p.parent.name: p.read_bytes() for p in sorted((store / "click_events").rglob("*.parquet"))
    }


def reference_reasons(run_at) -> pl.Expr:
    """The reasons spelled out row by row (12 `when/then` strings per row, as first written)."""

    def outside(column: str) -> pl.Expr:
        domain = list(TABLES["click_events"].column(column).domain)
        bad = pl.col(column).is_not_null() & ~pl.col(column).is_in(domain)
        return pl.when(bad).then(pl.lit(f"{column} outside contract domain"))

    known = pl.col("customer_id").is_in(["C1", "C2", "C3", "C4"])
    checks = [
        pl.when(pl.col("event_id").is_null()).then(pl.lit("event_id is null")),
        pl.when(pl.col("session_id").is_null()).then(pl.lit("session_id is null")),
        pl.when(pl.col("ts").is_null()).then(pl.lit("ts is null")),
        pl.when(pl.col("ts") > run_at).then(pl.lit("ts after the run date")),
        pl.when(pl.col("event_type").is_null()).then(pl.lit("event_type is null")),
        pl.when(pl.col("channel").is_null()).then(pl.lit("channel is null")),
        pl.when(pl.col("customer_id").is_not_null() & pl.col("identified_at").is_null()).then(
            pl.lit("customer_id without identified_at")
        ),
        pl.when(pl.col("customer_id").is_not_null() & ~known).then(
            pl.lit("customer unknown to `customers`")
        ),
        outside("event_type"),
        outside("theme"),
        outside("product_family"),
        outside("channel"),
    ]
    return pl.concat_list(checks).list.drop_nulls()


def test_reasons_and_outcomes_match_the_row_by_row_reference() -> None:
    # Every combination of six independent faults (64 rows), each with and without a customer.
    faults = {
        "event_id": None,
        "ts": utc(2026, 12, 1),
        "identified_at": None,
        "event_type": "purchase_done",
        "theme": "casino",
        "channel": None,
    }
    rows = []
    for combo in range(2 ** len(faults)):
        broken = {k: v for bit, (k, v) in enumerate(faults.items()) if combo >> bit & 1}
        for customer in ("C1", "C999", None):
            rows.append({**event(len(rows), customer=customer), **broken})
    feed = frame("click_events", rows).lazy()
    known = pl.LazyFrame({"customer_id": ["C1", "C2", "C3", "C4", "C1"]})
    cutoff = RUN_AT - timedelta(days=365)
    labelled = classify_events(feed, known, run_at=RUN_AT, retention_cutoff=cutoff).collect()
    expected = feed.with_columns(reference_reasons(RUN_AT).alias("reasons")).collect()
    assert labelled["reasons"].to_list() == expected["reasons"].to_list()
    assert labelled["reasons"].dtype == pl.List(pl.String)
    has_reasons = [len(r) > 0 for r in expected["reasons"].to_list()]
    for row, bad, got in zip(rows, has_reasons, labelled["outcome"], strict=True):
        if row["customer_id"] is None:
            assert got == ANONYMOUS
        elif bad:
            assert got == QUARANTINED
        else:
            assert got == KEPT, row
    assert labelled["outcome"].to_list().count(KEPT) == 1
    assert labelled.drop("reasons", "outcome").equals(feed.collect())  # order and rows kept


def test_a_feed_file_holding_two_months_fills_both(make_bank, tmp_path, policy) -> None:
    september = utc(2026, 9, 30, 23, 59)
    bank = late_delivery_bank(
        make_bank,
        [event(2), event(1, ts=september, identified=september), event(3, ts=utc(2026, 10, 2))],
    )
    store = tmp_path / "store"
    report = ingest(bank, store, policy)
    assert (report.kept, report.months_written) == (3, ["2026-09", "2026-10"])
    assert scan_clicks(store, ["2026-09"]).collect()["event_id"].to_list() == [1]
    assert scan_clicks(store, ["2026-10"]).collect()["event_id"].to_list() == [2, 3]


def test_the_first_delivered_row_of_an_event_id_is_stored(make_bank, tmp_path, policy) -> None:
    bank = late_delivery_bank(
        make_bank, [event(7, theme="home"), event(7, theme="car"), event(7, theme="studies")]
    )
    report = ingest(bank, tmp_path / "store", policy)
    assert (report.kept, report.duplicate) == (1, 2)
    assert scan_clicks(tmp_path / "store").collect()["theme"].to_list() == ["home"]


def test_adding_to_a_stored_month_gives_the_bytes_of_one_delivery(
    make_bank, tmp_path, policy
) -> None:
    # Out of order and with repeats: the merge path must sort and dedupe like a new month.
    first = [event(5, ts=CLICK + timedelta(minutes=5)), event(3), event(9, ts=CLICK)]
    second = [event(4, ts=CLICK + timedelta(minutes=1)), event(3), event(8, ts=CLICK)]
    merged_store, fresh_store = tmp_path / "merged", tmp_path / "fresh"
    ingest(late_delivery_bank(make_bank, first), merged_store, policy, "r1")
    added = ingest(late_delivery_bank(make_bank, second), merged_store, policy, "r2")
    ingest(late_delivery_bank(make_bank, first + second), fresh_store, policy, "r1")
    assert (added.kept, added.duplicate, added.months_written) == (2, 1, ["2026-10"])
    assert month_bytes(merged_store) == month_bytes(fresh_store)
    stored = scan_clicks(merged_store).collect()
    assert stored["event_id"].to_list() == [3, 8, 9, 4, 5]  # by ts, then event id


def test_same_feed_gives_the_same_quarantine_bytes(make_bank, tmp_path, policy) -> None:
    rows = [
        event(i, customer="C999" if i % 3 else "C1", channel=None if i % 5 else "web")
        for i in range(200)
    ]
    bank = late_delivery_bank(make_bank, rows)
    a = ingest(bank, tmp_path / "a", policy)
    b = ingest(bank, tmp_path / "b", policy)
    assert a.quarantined == b.quarantined > 100
    assert Path(a.quarantine_file).read_bytes() == Path(b.quarantine_file).read_bytes()
    assert month_bytes(tmp_path / "a") == month_bytes(tmp_path / "b")


@pytest.mark.parametrize("order", ["feed", "by ts", "by event id", "reversed", "sorted feed"])
def test_first_per_event_id_keeps_first_rows_sorted(order: str) -> None:
    rng = random.Random(7)
    rows = [
        {
            "event_id": rng.randint(0, 30),
            "ts": CLICK + timedelta(seconds=rng.randint(0, 20)),
            "n": i,
        }
        for i in range(120)
    ]
    if order == "by ts":
        rows.sort(key=lambda r: (r["ts"], r["event_id"]))
    elif order == "by event id":
        rows.sort(key=lambda r: r["event_id"])
    elif order == "reversed":
        rows.reverse()
    elif order == "sorted feed":  # ids and moments both ascending: nothing to sort
        rows = [row | {"ts": CLICK + timedelta(seconds=row["event_id"])} for row in rows]
        rows.sort(key=lambda r: r["event_id"])
    schema = {"event_id": pl.Int64, "ts": UTC_TS, "n": pl.Int64}
    chunks = [pl.DataFrame(rows[i : i + 25], schema=schema) for i in range(0, len(rows), 25)]
    events = pl.concat(chunks, rechunk=False)  # as a filtered read can be
    expected = events.unique("event_id", keep="first", maintain_order=True).sort("ts", "event_id")
    found = first_per_event_id(events)
    assert_frame_equal(found, expected)
    assert found.n_chunks() == 1  # the parquet writer's row groups follow the chunks

import json
from datetime import date, timedelta

import polars as pl
import pytest
from literal_bank import frame, utc

from interestlab.click_store import month_file, scan_clicks, stored_months
from interestlab.policy import as_of_moment
from interestlab.retention import purge_expired
from interestlab.storage import write_json, write_parquet


def store_with(tmp_path, stamps):
    rows = [
        {
            "event_id": i,
            "session_id": i,
            "customer_id": "C1",
            "identified_at": t,
            "ts": t,
            "event_type": "info_consult",
            "channel": "app",
        }
        for i, t in enumerate(stamps)
    ]
    df = frame("click_events", rows).with_columns(pl.col("ts").dt.strftime("%Y-%m").alias("m"))
    store = tmp_path / "store"
    for (month,), part in df.partition_by("m", as_dict=True).items():
        write_parquet(part.drop("m").sort("ts"), month_file(store, month))
    return store


@pytest.mark.parametrize(
    ("run_date", "label"),
    [(date(2026, 11, 15), "winter"), (date(2026, 3, 30), "after the spring DST change")],
)
def test_boundary_364_365_366_days(tmp_path, policy, run_date, label) -> None:
    run_at = as_of_moment(run_date, policy)
    stamps = {
        days: as_of_moment(run_date - timedelta(days=days), policy) for days in (364, 365, 366)
    }
    stamps["365 minus 1 microsecond"] = stamps[365] - timedelta(microseconds=1)
    store = store_with(tmp_path, list(stamps.values()))
    receipt = purge_expired(store, policy=policy, run_at=run_at, run_id="p1")
    kept = set(scan_clicks(store).collect()["ts"].to_list())
    assert stamps[364] in kept and stamps[365] in kept, label
    assert stamps[366] not in kept and stamps["365 minus 1 microsecond"] not in kept, label
    assert receipt.rows_removed == 2


def test_dst_cutoff_is_local_midnight_not_24h_multiples(tmp_path, policy) -> None:
    run_at = as_of_moment(date(2026, 3, 30), policy)  # 2026-03-29 22:00 UTC (CEST)
    naive_cutoff = run_at - timedelta(days=365)  # 2025-03-29 22:00 UTC: an hour too early
    in_between = naive_cutoff + timedelta(
        minutes=30
    )  # 2025-03-29 23:30 local: 366 calendar days ago
    store = store_with(tmp_path, [in_between, utc(2026, 3, 1)])
    purge_expired(store, policy=policy, run_at=run_at, run_id="p1")
    assert in_between not in scan_clicks(store).collect()["ts"].to_list()


def test_purge_deletes_expired_months_and_rewrites_partial_ones(tmp_path, policy) -> None:
    run_at = as_of_moment(date(2026, 11, 15), policy)
    store = store_with(
        tmp_path, [utc(2025, 9, 3), utc(2025, 11, 2), utc(2025, 11, 20), utc(2026, 5, 1)]
    )
    receipt = purge_expired(store, policy=policy, run_at=run_at, run_id="p1")
    assert stored_months(store) == ["2025-11", "2026-05"]
    assert [(p["month"], p["action"], p["rows_removed"]) for p in receipt.partitions] == [
        ("2025-09", "deleted", 1),
        ("2025-11", "rewritten", 1),
    ]
    saved = json.loads((store / "receipts" / "purge-p1.json").read_text())
    assert saved["rows_removed"] == 2 and saved["policy_version"] == policy.version
    assert "C1" not in json.dumps(saved)
    # A second purge on the same date finds nothing to do.
    assert purge_expired(store, policy=policy, run_at=run_at, run_id="p2").rows_removed == 0


def test_derived_tables_do_not_outlive_their_inputs(tmp_path, policy) -> None:
    run_at = as_of_moment(date(2026, 11, 15), policy)
    store = store_with(tmp_path, [utc(2026, 5, 1)])
    for name, oldest in (("old", utc(2025, 11, 1)), ("fresh", utc(2025, 11, 20))):
        folder = store / "derived" / "features" / name
        write_parquet(pl.DataFrame({"x": [1]}), folder / "features.parquet")
        write_json({"oldest_input_ts": oldest.isoformat()}, folder / "_lineage.json")
    receipt = purge_expired(store, policy=policy, run_at=run_at, run_id="p1")
    assert receipt.derived_removed == ["derived/features/old"]
    assert (store / "derived" / "features" / "fresh").is_dir()


def test_quarantined_rows_expire_too(tmp_path, policy) -> None:
    run_at = as_of_moment(date(2026, 11, 15), policy)
    store = store_with(tmp_path, [utc(2026, 5, 1)])
    q = frame(
        "click_events",
        [
            {
                "event_id": 1,
                "session_id": 1,
                "ts": utc(2025, 1, 1),
                "event_type": "x",
                "channel": "web",
            },
            {
                "event_id": 2,
                "session_id": 1,
                "ts": utc(2026, 10, 1),
                "event_type": "x",
                "channel": "web",
            },
        ],
    ).with_columns(pl.lit(utc(2026, 10, 2)).alias("quarantined_at"))
    write_parquet(q, store / "quarantine" / "r1.parquet")
    receipt = purge_expired(store, policy=policy, run_at=run_at, run_id="p1")
    assert receipt.quarantine_rows_removed == 1
    assert pl.read_parquet(store / "quarantine" / "r1.parquet")["event_id"].to_list() == [2]

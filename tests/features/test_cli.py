"""`interestlab features` on a literal bank and store."""

from __future__ import annotations

import argparse
import json

import polars as pl
import pytest
from literal_bank import DEFAULT_ROWS, frame

from interestlab.click_store import month_file
from interestlab.features.cli import register
from interestlab.storage import write_parquet


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="interestlab")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_features_command_writes_snapshot_and_summary(make_bank, tmp_path, capsys) -> None:
    bank = make_bank()
    store = tmp_path / "store"
    write_parquet(frame("click_events", DEFAULT_ROWS["click_events"]), month_file(store, "2026-10"))
    args = parse(["features", "--as-of", "2026-11-15", "--bank", str(bank), "--store", str(store)])
    assert args.func(args) == 0
    out_dir = store / "derived" / "features-2026-11-15"
    lineage = json.loads((out_dir / "_lineage.json").read_text())
    assert lineage["n_rows"] == 2  # C1 and C2 consented in the literal bank
    assert lineage["oldest_input_ts"].startswith("2026-10-01T09:05")
    df = pl.read_parquet(out_dir / "part-0.parquet")
    assert df["customer_id"].to_list() == ["C1", "C2"]
    line = capsys.readouterr().out.strip()
    assert line.startswith("features: as_of=2026-11-15 rows=2 features=183 hash=")


def test_features_command_writes_the_training_set_part_by_part(make_bank, tmp_path) -> None:
    bank = make_bank()
    store = tmp_path / "store"
    write_parquet(frame("click_events", DEFAULT_ROWS["click_events"]), month_file(store, "2026-10"))
    argv = ["features", "--as-of", "2026-11-15", "--bank", str(bank), "--store", str(store)]
    args = parse([*argv, "--training-snapshots", "3", "--horizon-days", "30"])
    assert args.func(args) == 0
    training = store / "derived" / "training-2026-11-15"
    lineage = json.loads((training / "_lineage.json").read_text())
    assert [part["file"] for part in lineage["parts"]] == [
        "part-00.parquet",
        "part-01.parquet",
        "part-02.parquet",
    ]
    assert len(lineage["as_of"]) == 3
    stacked = pl.read_parquet(training / "part-*.parquet")
    assert stacked.height == lineage["n_rows"]
    assert "label__savings" in stacked.columns


def test_features_command_rejects_bad_date(make_bank, tmp_path) -> None:
    args = parse(
        [
            "features",
            "--as-of",
            "15/11/2026",
            "--bank",
            str(make_bank()),
            "--store",
            str(tmp_path / "store"),
        ]
    )
    with pytest.raises(ValueError, match="Invalid isoformat"):
        args.func(args)

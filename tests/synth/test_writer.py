import json
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from interestlab.contract import TABLES
from interestlab.policy import as_of_moment
from interestlab.storage import check_bank, table_files
from interestlab.synth import generate_bank, writer

from .conftest import N_CUSTOMERS


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_every_contract_table_is_written_with_exact_types_and_column_order(bank, summary) -> None:
    counts = check_bank(bank)
    assert counts == summary["rows"]
    assert counts["customers"] == N_CUSTOMERS
    for table in TABLES.values():
        for path in table_files(bank, table):
            schema = pl.Schema(pl.from_arrow(pq.read_schema(path).empty_table()).schema)
            assert list(schema.items()) == list(table.schema.items()), path
    assert (bank / "customers" / "part-0.parquet").is_file()
    assert (bank / "communications" / "part-0.parquet").is_file()


def test_click_months_are_utc_months_of_ts_and_the_history_ends_before_the_as_of(
    bank, clicks, policy
) -> None:
    end = as_of_moment(date(2026, 11, 15), policy)
    months = sorted(p.name for p in (bank / "click_events").iterdir())
    assert months[0] == "month=2025-08" and months[-1] == "month=2026-11" and len(months) == 16
    for folder in months:
        part = pl.read_parquet(bank / "click_events" / folder / "part-0.parquet")
        assert set(part["ts"].dt.strftime("%Y-%m")) == {folder.removeprefix("month=")}
        assert part["ts"].is_sorted()
    assert clicks["ts"].max() < end
    assert clicks["ts"].min() >= as_of_moment(date(2025, 8, 15), policy)


def test_truth_is_written_apart_and_the_summary_is_non_personal(bank, summary) -> None:
    assert sorted(p.name for p in (bank / "truth").iterdir()) == [
        "activity.parquet",
        "interests.parquet",
        "latent_interest.parquet",
    ]
    assert "truth" not in TABLES
    assert json.loads((bank / "_summary.json").read_text()) == summary
    text = json.dumps(summary)
    assert '"C0' not in text  # no customer id anywhere in the summary
    assert summary["n_customers"] == N_CUSTOMERS


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path) -> None:
    args = {"n_customers": 300, "n_months": 2}
    generate_bank(tmp_path / "a", seed=3, **args)
    generate_bank(tmp_path / "b", seed=3, **args)
    generate_bank(tmp_path / "c", seed=4, **args)
    first = tree_bytes(tmp_path / "a")
    assert first == tree_bytes(tmp_path / "b")
    other = tree_bytes(tmp_path / "c")
    assert first.keys() == other.keys()
    differing = [name for name in first if first[name] != other[name]]
    assert "customers/part-0.parquet" in differing
    assert any(name.startswith("click_events/") for name in differing)


def test_a_crash_mid_write_leaves_no_partial_bank(tmp_path, monkeypatch) -> None:
    def explode(*args, **kwargs):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(writer, "_write_communications", explode)
    with pytest.raises(OSError, match="disk full"):
        generate_bank(tmp_path / "bank", n_customers=50, seed=1, n_months=1)
    assert list(tmp_path.iterdir()) == []


def test_a_crash_while_replacing_keeps_the_previous_bank_intact(tmp_path, monkeypatch) -> None:
    out = tmp_path / "bank"
    generate_bank(out, n_customers=50, seed=1, n_months=1)
    before = tree_bytes(out)
    calls = {"n": 0}
    real = writer.write_table

    def fail_on_third(df, path):
        calls["n"] += 1
        if calls["n"] == 3:
            msg = "killed"
            raise RuntimeError(msg)
        real(df, path)

    monkeypatch.setattr(writer, "write_table", fail_on_third)
    with pytest.raises(RuntimeError, match="killed"):
        generate_bank(out, n_customers=80, seed=2, n_months=1)
    assert tree_bytes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["bank"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0, "seed": 1}, "`n_customers` must be a positive integer, got 0"),
        ({"n_customers": 10, "seed": -1}, "`seed` must be a non-negative integer, got -1"),
        ({"n_customers": 10, "seed": 1.5}, "`seed` must be a non-negative integer, got 1.5"),
        ({"n_customers": 10, "seed": 1, "n_months": 0}, "`n_months` must be a positive integer"),
    ],
)
def test_invalid_arguments_are_rejected_before_writing(tmp_path, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        generate_bank(tmp_path / "bank", **kwargs)
    assert not (tmp_path / "bank").exists()

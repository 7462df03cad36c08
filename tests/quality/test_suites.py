"""The committed GX JSON equals what the contract implies (they cannot drift)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from interestlab.config import EXPECTATIONS_DIR
from interestlab.contract import TABLES
from interestlab.quality.suites import (
    FEED_SUITE,
    STORE_SUITE,
    builtin_suites,
    expected_documents,
    load_document,
    main,
    pandas_type,
    stable_id,
    suite_name,
    write_expectations,
)


def kinds(suite: dict) -> list[tuple[str, str | None]]:
    return [(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]]


def test_committed_json_equals_generated() -> None:
    expected = expected_documents(EXPECTATIONS_DIR)
    committed = {
        str(p.relative_to(EXPECTATIONS_DIR)): json.loads(p.read_text())
        for p in sorted(EXPECTATIONS_DIR.rglob("*.json"))
    }
    # Suites other stages commit (e.g. contact_plan) are theirs; their checkpoints are ours.
    foreign = {k for k in committed if k.startswith("suites/") and k not in expected}
    assert set(committed) - foreign == set(expected), "run `python -m interestlab.quality.suites`"
    for relative, document in expected.items():
        assert committed[relative] == document, f"{relative} drifted from the contract"
    for relative in foreign:
        assert committed[relative]["name"] == Path(relative).stem
        assert committed[relative]["id"] == stable_id("suites", Path(relative).stem)


def test_one_suite_per_contract_table_plus_compliance() -> None:
    assert set(builtin_suites()) == {suite_name(t) for t in TABLES} | {STORE_SUITE, FEED_SUITE}


def test_table_suite_follows_contract() -> None:
    suites = builtin_suites()
    clicks = suites["bank_click_events"]
    found = kinds(clicks)
    assert ("expect_column_values_to_not_be_null", "ts") in found
    assert ("expect_column_values_to_not_be_null", "customer_id") not in found  # nullable
    assert ("expect_column_values_to_be_in_set", "theme") in found
    assert ("expect_column_values_to_be_unique", "event_id") in found
    columns = clicks["expectations"][0]["kwargs"]["column_set"]
    assert columns == [*TABLES["click_events"].schema.names(), "key_unique_across_batches"]
    links = suites["bank_theme_links"]["expectations"]
    compound = [e for e in links if e["type"] == "expect_compound_columns_to_be_unique"]
    assert compound[0]["kwargs"]["column_list"] == list(TABLES["theme_links"].key)


def test_store_suite_carries_the_rules_as_parameters() -> None:
    store = builtin_suites()[STORE_SUITE]
    window = [e for e in store["expectations"] if e["type"] == "expect_column_values_to_be_between"]
    assert window[0]["kwargs"]["min_value"] == {"$PARAMETER": "retention_cutoff"}
    assert window[0]["meta"]["rule"] == "R3"
    rules = {e["meta"]["rule"] for e in store["expectations"]}
    assert rules == {"R1", "R3"}


def test_no_large_id_sets_in_suites() -> None:
    for suite in builtin_suites().values():
        for expectation in suite["expectations"]:
            assert len(expectation["kwargs"].get("value_set", [])) <= 20


def test_write_is_deterministic_and_adds_checkpoints_for_foreign_suites(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "feature_table.json").write_text('{"name": "feature_table"}')
    first = {p: p.read_bytes() for p in write_expectations(tmp_path)}
    second = {p: p.read_bytes() for p in write_expectations(tmp_path)}
    assert first == second
    checkpoint = load_document(tmp_path, "checkpoints", "feature_table")
    assert checkpoint["result_format"] == {
        "partial_unexpected_count": 0,
        "result_format": "SUMMARY",
    }
    assert json.loads((tmp_path / "suites" / "feature_table.json").read_text()) == {
        "name": "feature_table"
    }


def test_main_writes_to_given_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "checkpoints" / f"{STORE_SUITE}.json").is_file()
    assert str(tmp_path) in capsys.readouterr().out


def test_load_document_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"GX checkpoint `nope`: expected .*no such file"):
        load_document(tmp_path, "checkpoints", "nope")


@pytest.mark.parametrize(
    ("dtype", "name"),
    [
        (pl.String(), "str"),
        (pl.Int16(), "int16"),
        (pl.Boolean(), "bool"),
        (pl.Date(), "datetime64"),
        (pl.Datetime("us", "UTC"), "Timestamp"),
        (pl.Datetime("us"), "datetime64"),
    ],
)
def test_pandas_type(dtype: pl.DataType, name: str) -> None:
    assert pandas_type(dtype) == name


def test_pandas_type_unknown() -> None:
    with pytest.raises(ValueError, match=r"no pandas type known for contract dtype List\(String\)"):
        pandas_type(pl.List(pl.String()))

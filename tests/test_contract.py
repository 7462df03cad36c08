from pathlib import Path

import polars as pl
import pytest
from literal_bank import DEFAULT_ROWS, frame, write_bank

from interestlab.config import PROJECT_ROOT
from interestlab.contract import TABLES, render_markdown
from interestlab.errors import ContractError
from interestlab.storage import check_bank, read_table, scan_table, write_parquet


def test_docs_page_is_rendered_from_the_contract() -> None:
    page = (PROJECT_ROOT / "docs" / "data-contract.md").read_text()
    assert page == render_markdown() + "\n", (
        "run `interestlab contract --markdown > docs/data-contract.md`"
    )


def test_every_column_is_documented() -> None:
    page = render_markdown()
    for table in TABLES.values():
        for column in table.columns:
            assert f"| `{column.name}` |" in page
            assert column.description


def test_good_bank_loads_with_counts(make_bank) -> None:
    bank = make_bank()
    counts = check_bank(bank)
    assert counts == {name: len(DEFAULT_ROWS[name]) for name in TABLES}
    assert read_table(bank, "click_events").schema == TABLES["click_events"].schema


def test_missing_table_names_table_and_folder(make_bank) -> None:
    bank = make_bank()
    for f in (bank / "holdings").iterdir():
        f.unlink()
    (bank / "holdings").rmdir()
    with pytest.raises(
        ContractError, match=r"table `holdings`: expected folder .* found no such folder"
    ):
        check_bank(bank)


def test_empty_table_folder_is_an_error(make_bank) -> None:
    bank = make_bank()
    (bank / "products" / "part-0.parquet").unlink()
    with pytest.raises(
        ContractError, match=r"table `products`: expected parquet files .* found none"
    ):
        scan_table(bank, "products")


def test_missing_column_names_table_column_and_expected_type(make_bank) -> None:
    bank = make_bank()
    write_parquet(
        frame("customers", DEFAULT_ROWS["customers"]).drop("segment"),
        bank / "customers" / "part-0.parquet",
    )
    with pytest.raises(
        ContractError,
        match=r"table `customers` .*missing column `segment` \(expected type String\)",
    ):
        scan_table(bank, "customers")


def test_wrong_type_is_never_coerced(make_bank) -> None:
    bank = make_bank()
    bad = frame("customers", DEFAULT_ROWS["customers"]).with_columns(
        pl.col("birth_year").cast(pl.Int64)
    )
    write_parquet(bad, bank / "customers" / "part-0.parquet")
    with pytest.raises(ContractError, match=r"column `birth_year` has type Int64, expected Int16"):
        scan_table(bank, "customers")


def test_wrong_type_in_one_month_of_the_feed_is_found(make_bank) -> None:
    rows = DEFAULT_ROWS["click_events"]
    bank = make_bank()
    naive = frame("click_events", rows).with_columns(pl.col("ts").dt.replace_time_zone(None))
    write_parquet(naive, bank / "click_events" / "month=2026-09" / "part-0.parquet")
    with pytest.raises(ContractError, match=r"month=2026-09.*column `ts` has type Datetime"):
        scan_table(bank, "click_events")


def test_unknown_table_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="unknown table `clicks`"):
        scan_table(write_bank(tmp_path), "clicks")

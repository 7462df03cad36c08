"""The GX gate end to end on tiny literal banks and stores (one GX run per fixture)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from literal_bank import utc

from interestlab.errors import GateError
from interestlab.policy import Policy
from interestlab.quality import GateResult, run_suite, validate_bank, validate_store
from interestlab.quality import gate as gate_module
from interestlab.quality.checks import CONSENT_FLAG, with_consent_flag

from .banks import (
    ALPHA,
    BRAVO,
    CHARLIE,
    DELTA,
    IDS,
    click,
    customers,
    good_store_rows,
    run_at,
    write_good_bank,
    write_store,
)


def outcome(result: GateResult, suite: str, expectation: str, column: str | None):
    found = [
        e
        for e in result.expectations
        if e.suite == suite and e.expectation == expectation and e.column == column
    ]
    assert len(found) == 1, (
        suite,
        expectation,
        column,
        [e.describe() for e in result.expectations],
    )
    return found[0]


def assert_no_customer_ids(folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for cid in IDS:
            assert cid not in text, f"{cid} found in {path}"


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory, policy: Policy):
    root = tmp_path_factory.mktemp("good")
    bank = write_good_bank(root / "bank")
    store = write_store(root / "store", good_store_rows(policy))
    output = root / "run"
    bank_result = validate_bank(bank, output_dir=output, policy=policy)
    store_result = validate_store(
        store, bank, output_dir=output, policy=policy, run_at=run_at(policy)
    )
    return output, bank_result, store_result


@pytest.fixture(scope="module")
def bad_bank(tmp_path_factory: pytest.TempPathFactory, policy: Policy):
    root = tmp_path_factory.mktemp("bad_bank")
    bank = write_good_bank(
        root / "bank",
        # ALPHA twice, in different chunks of 2 rows: only the cross-batch flag sees it.
        customers=customers((ALPHA, BRAVO, CHARLIE, ALPHA)),
        products=[
            {
                "product_id": "P-MORT",
                "family": "mortgage",
                "name": "Home Loan",
                "provider": "Bank",
                "provider_in_group": True,
            },
            {
                "product_id": "P-X",
                "family": "crypto",
                "name": "Coin",
                "provider": "Bank",
                "provider_in_group": True,
            },
        ],
        theme_links=[
            {
                "customer_id": ALPHA,
                "account_id": "A1",
                "theme": "home",
                "linked_at": utc(2026, 1, 1),
            },
            {
                "customer_id": ALPHA,
                "account_id": "A1",
                "theme": "home",
                "linked_at": utc(2026, 1, 1),
            },
        ],
        communications=[
            {
                "comm_id": "M1",
                "customer_id": ALPHA,
                "sent_at": utc(2026, 10, 3),
                "channel": None,
                "category": "commercial",
            },
        ],
        click_events=[
            click(1, ALPHA, utc(2026, 9, 1, 9)),
            click(1, BRAVO, utc(2026, 10, 1, 9)),  # same event id in another month
        ],
    )
    return validate_bank(bank, output_dir=root / "run", policy=policy, chunk_rows=2), root / "run"


@pytest.fixture(scope="module")
def bad_store(tmp_path_factory: pytest.TempPathFactory, policy: Policy):
    root = tmp_path_factory.mktemp("bad_store")
    bank = write_good_bank(root / "bank")
    cutoff = policy.retention_cutoff(run_at(policy))
    rows = [
        *good_store_rows(policy),
        click(20, ALPHA, cutoff - timedelta(days=1)),  # 366 days old: must have been purged
        {**click(21, BRAVO, utc(2026, 10, 6, 9)), "identified_at": utc(2026, 10, 6, 10)},
        click(22, None, utc(2026, 10, 7, 9)),  # anonymous event in the store
        click(11, BRAVO, utc(2026, 9, 9, 9)),  # event id 11 is also in October
    ]
    store = write_store(root / "store", rows)
    result = validate_store(
        store, bank, output_dir=root / "run", policy=policy, run_at=run_at(policy), workers=2
    )
    return result, root / "run"


@pytest.fixture(scope="module")
def bad_store_one_process(tmp_path_factory: pytest.TempPathFactory, policy: Policy):
    """The `bad_store` gate again, validated in this process only (`workers=1`)."""
    root = tmp_path_factory.mktemp("bad_store_serial")
    bank = write_good_bank(root / "bank")
    cutoff = policy.retention_cutoff(run_at(policy))
    rows = [
        *good_store_rows(policy),
        click(20, ALPHA, cutoff - timedelta(days=1)),
        {**click(21, BRAVO, utc(2026, 10, 6, 9)), "identified_at": utc(2026, 10, 6, 10)},
        click(22, None, utc(2026, 10, 7, 9)),
        click(11, BRAVO, utc(2026, 9, 9, 9)),
    ]
    store = write_store(root / "store", rows)
    result = validate_store(
        store, bank, output_dir=root / "run", policy=policy, run_at=run_at(policy), workers=1
    )
    return result, root / "run"


def comparable(result: GateResult) -> dict:
    """A gate summary without the paths of its run folder."""
    return {
        k: v for k, v in result.summary().items() if k not in {"results_dir", "data_docs_index"}
    }


def result_runs(output: Path) -> list[tuple[str, ...]]:
    """(suite, run name) of every GX result file of a run (the timestamp folder left out)."""
    files = (output / "gx" / "results").rglob("*.json")
    return sorted(p.relative_to(output / "gx" / "results").parts[:2] for p in files)


def test_good_bank_and_store_pass(good_run) -> None:
    _, bank_result, store_result = good_run
    assert bank_result.success, bank_result.message()
    assert store_result.success, store_result.message()
    bank_result.raise_for_failure()
    store_result.raise_for_failure()
    assert set(bank_result.suites) == {
        "bank_customers",
        "bank_products",
        "bank_holdings",
        "bank_theme_links",
        "bank_consent_events",
        "bank_click_events",
        "bank_communications",
    }
    assert bank_result.batches["bank_click_events"] == 2  # one per monthly file
    assert bank_result.rows["bank_click_events"] == 3
    assert store_result.batches == {"click_store_compliance": 4, "model_feed_consent": 4}
    assert store_result.rows["click_store_compliance"] == 5
    # Only ALPHA's (2) and BRAVO's (1) events feed models; CHARLIE withdrew, DELTA never agreed.
    assert store_result.rows["model_feed_consent"] == 3


def test_exact_cutoff_event_is_kept(good_run) -> None:
    _, _, store_result = good_run
    window = outcome(
        store_result, "click_store_compliance", "expect_column_values_to_be_between", "ts"
    )
    assert window.success and window.rows_checked == 5 and window.unexpected == 0
    assert store_result.summary()["suite_parameters"]["click_store_compliance"] == {
        "retention_cutoff": "2025-11-14 23:00:00+00:00"
    }


def test_data_docs_and_results_written_without_customer_ids(good_run) -> None:
    output, bank_result, store_result = good_run
    index = store_result.data_docs_index
    assert index == output / "gx" / "data_docs" / "index.html"
    assert index.is_file()
    html = index.read_text()
    assert "click_store_compliance" in html and "bank_customers" in html
    assert list(store_result.results_dir.rglob("*.json"))
    assert (output / "gx" / "gate_summary.json").is_file()
    assert_no_customer_ids(output)


def test_summary_is_small_and_json_able(good_run) -> None:
    import json

    _, bank_result, _ = good_run
    summary = bank_result.summary()
    text = json.dumps(summary)
    assert summary["success"] is True
    assert summary["expectations_failed"] == 0
    assert summary["suites"]["bank_customers"] == {"batches": 1, "rows": 4}
    for cid in IDS:
        assert cid not in text


def test_bad_bank_names_each_violation(bad_bank) -> None:
    result, _ = bad_bank
    assert not result.success
    dup = outcome(
        result, "bank_customers", "expect_column_values_to_be_in_set", "key_unique_across_batches"
    )
    assert (dup.unexpected, dup.rows_checked, dup.batches) == (2, 4, 2)
    within = outcome(result, "bank_customers", "expect_column_values_to_be_unique", "customer_id")
    assert within.success  # the two ALPHA rows sit in different chunks
    domain = outcome(result, "bank_products", "expect_column_values_to_be_in_set", "family")
    assert (domain.unexpected, domain.rows_checked) == (1, 2)
    null = outcome(result, "bank_communications", "expect_column_values_to_not_be_null", "channel")
    assert null.unexpected == 1
    compound = outcome(
        result,
        "bank_theme_links",
        "expect_compound_columns_to_be_unique",
        "customer_id, account_id, theme, linked_at",
    )
    assert compound.unexpected == 2
    cross = outcome(
        result,
        "bank_click_events",
        "expect_column_values_to_be_in_set",
        "key_unique_across_batches",
    )
    assert cross.unexpected == 2
    assert cross.failed_batches == ("month=2026-09", "month=2026-10")
    assert {f.suite for f in result.failures} == {
        "bank_customers",
        "bank_products",
        "bank_communications",
        "bank_theme_links",
        "bank_click_events",
    }


def test_bad_bank_raises_gate_error_with_counts(bad_bank) -> None:
    result, output = bad_bank
    with pytest.raises(
        GateError,
        match=r"suite `bank_products`, expect_column_values_to_be_in_set\(column `family`\)"
        r" \[R11\]: 1 unexpected of 2 rows checked",
    ):
        result.raise_for_failure()
    assert (
        "suite `bank_communications`, expect_column_values_to_not_be_null(column `channel`)"
        in result.message()
    )
    assert result.summary()["expectations_failed"] == len(result.failures) == 5
    assert_no_customer_ids(output)


def test_bad_store_names_each_violation(bad_store) -> None:
    result, output = bad_store
    suite = "click_store_compliance"
    window = outcome(result, suite, "expect_column_values_to_be_between", "ts")
    assert (window.unexpected, window.rule) == (1, "R3")
    assert window.failed_batches == ("month=2025-11",)
    before = outcome(
        result, suite, "expect_column_pair_values_a_to_be_greater_than_b", "ts >= identified_at"
    )
    assert (before.unexpected, before.rule) == (2, "R1")  # event 21, and anonymous 22 (null)
    anonymous = outcome(result, suite, "expect_column_values_to_not_be_null", "customer_id")
    assert anonymous.unexpected == 1
    cross = outcome(
        result, suite, "expect_column_values_to_be_in_set", "event_id_unique_across_months"
    )
    assert cross.unexpected == 2
    with pytest.raises(GateError, match=r"\[R3\]: 1 unexpected of 9 rows checked"):
        result.raise_for_failure()
    assert_no_customer_ids(output)


def test_non_consented_customer_in_model_feed_fails(tmp_path: Path, policy: Policy) -> None:
    consented = pl.DataFrame({"customer_id": [ALPHA]})
    feed = pl.DataFrame({"customer_id": [ALPHA, DELTA, DELTA]})
    flagged = with_consent_flag(feed, consented).collect()
    result = run_suite("model_feed_consent", [("features", flagged)], output_dir=tmp_path)
    found = outcome(
        result, "model_feed_consent", "expect_column_values_to_be_in_set", "consented_at_as_of"
    )
    assert (found.unexpected, found.rows_checked, found.rule) == (2, 3, "R13")
    with pytest.raises(GateError, match=r"suite `model_feed_consent`.*2 unexpected of 3 rows"):
        result.raise_for_failure()
    assert_no_customer_ids(tmp_path)


def test_store_gate_catches_a_feed_that_ignores_consent(
    tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank = write_good_bank(tmp_path / "bank")
    store = write_store(
        tmp_path / "store", [click(1, ALPHA, utc(2026, 10, 1)), click(2, CHARLIE, utc(2026, 10, 2))]
    )

    def ignores_consent(events, consent_events, customer_ids, *, as_of, policy):
        return events

    monkeypatch.setattr(gate_module, "usable_click_events", ignores_consent)
    result = validate_store(
        store, bank, output_dir=tmp_path / "run", policy=policy, run_at=run_at(policy)
    )
    assert outcome(
        result, "click_store_compliance", "expect_column_values_to_be_unique", "event_id"
    ).success
    with pytest.raises(GateError, match=r"model_feed_consent.*\[R13\]: 1 unexpected of 2 rows"):
        result.raise_for_failure()


def test_gx_exception_is_a_failure(tmp_path: Path) -> None:
    frame = pl.DataFrame({"customer_id": [BRAVO]})  # the consent flag column is missing
    result = run_suite(
        "model_feed_consent", [("features", frame)], output_dir=tmp_path, build_docs=False
    )
    assert not result.success
    assert result.data_docs_index is None
    with pytest.raises(GateError, match=r"consented_at_as_of.*GX raised an exception"):
        result.raise_for_failure()


def test_empty_store_is_validated(tmp_path: Path, policy: Policy) -> None:
    bank = write_good_bank(tmp_path / "bank")
    result = validate_store(
        tmp_path / "store",
        bank,
        output_dir=tmp_path / "run",
        policy=policy,
        run_at=run_at(policy),
    )
    assert result.success, result.message()
    assert result.batches == {"click_store_compliance": 1, "model_feed_consent": 1}


def test_argument_errors(tmp_path: Path, policy: Policy) -> None:
    with pytest.raises(FileNotFoundError, match=r"GX suite `no_such_suite`: expected .*no such"):
        run_suite("no_such_suite", [("x", pl.DataFrame())], output_dir=tmp_path)
    with pytest.raises(ValueError, match=r"suite `model_feed_consent`: expected at least one"):
        run_suite("model_feed_consent", [], output_dir=tmp_path)
    with pytest.raises(ValueError, match=r"`workers` must be a positive integer, got 0"):
        run_suite("model_feed_consent", [("x", pl.DataFrame())], output_dir=tmp_path, workers=0)
    with pytest.raises(ValueError, match=r"`tables`: unknown tables \['clicks'\]"):
        validate_bank(tmp_path, output_dir=tmp_path, policy=policy, tables=["clicks"])
    with pytest.raises(ValueError, match=r"`chunk_rows` must be a positive integer, got 0"):
        validate_bank(tmp_path, output_dir=tmp_path, policy=policy, chunk_rows=0)
    with pytest.raises(ValueError, match=r"`run_at` must be time-zone aware"):
        validate_store(
            tmp_path,
            tmp_path,
            output_dir=tmp_path,
            policy=policy,
            run_at=utc(2026, 11, 1).replace(tzinfo=None),
        )


def test_contract_break_raises_before_gx(tmp_path: Path, policy: Policy) -> None:
    from interestlab.errors import ContractError

    bank = write_good_bank(tmp_path / "bank")
    (bank / "products" / "part-0.parquet").unlink()
    pl.DataFrame({"product_id": ["P"]}).write_parquet(bank / "products" / "part-0.parquet")
    with pytest.raises(ContractError, match=r"table `products`.*missing column `family`"):
        validate_bank(bank, output_dir=tmp_path / "run", policy=policy, tables=["products"])


def test_one_table_selected(tmp_path: Path, policy: Policy) -> None:
    bank = write_good_bank(tmp_path / "bank", click_events=[click(1, None, utc(2026, 10, 1))])
    result = validate_bank(bank, output_dir=tmp_path / "run", policy=policy, tables=["customers"])
    assert result.suites == ("bank_customers",)


def test_worker_processes_give_the_results_of_one_process(bad_store, bad_store_one_process) -> None:
    parallel, parallel_output = bad_store
    serial, serial_output = bad_store_one_process
    assert (
        parallel.batches == serial.batches == {"click_store_compliance": 5, "model_feed_consent": 5}
    )
    assert comparable(parallel) == comparable(serial)
    assert parallel.message().split("\nresults:")[0] == serial.message().split("\nresults:")[0]
    assert result_runs(parallel_output) == result_runs(serial_output)
    assert len(result_runs(serial_output)) == 10
    assert (parallel_output / "gx" / "data_docs" / "index.html").is_file()


def test_lazy_batches_are_read_by_the_validating_process(tmp_path: Path) -> None:
    path = tmp_path / "feed.parquet"
    pl.DataFrame({"customer_id": [ALPHA, BRAVO], CONSENT_FLAG: [True, False]}).write_parquet(path)
    batches = [(f"part-{i}", pl.scan_parquet(path)) for i in range(3)]
    result = run_suite(
        "model_feed_consent", batches, output_dir=tmp_path / "run", workers=2, build_docs=False
    )
    found = outcome(result, "model_feed_consent", "expect_column_values_to_be_in_set", CONSENT_FLAG)
    assert (found.rows_checked, found.unexpected) == (6, 3)
    assert found.failed_batches == ("part-0", "part-1", "part-2")  # in batch order


def test_an_error_in_a_worker_reaches_the_caller(tmp_path: Path) -> None:
    good = pl.DataFrame({"customer_id": [ALPHA], CONSENT_FLAG: [True]})
    missing = pl.scan_parquet(tmp_path / "no-such-file.parquet")
    with pytest.raises(FileNotFoundError):
        run_suite(
            "model_feed_consent",
            [("good", good), ("missing", missing)],
            output_dir=tmp_path / "run",
            workers=2,
        )

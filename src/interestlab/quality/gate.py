"""The Great Expectations gate: validate every row, batch by batch, and stop on failure.

`run_suite` validates `(label, polars frame)` batches against one committed suite through
its committed checkpoint, one fresh GX context per batch (bounded memory), and collects
counts per expectation. `validate_bank` runs the contract suites over a bank folder (one
monthly partition or bounded chunk per batch); `validate_store` runs the compliance suites
over the curated click store at the run date. Their batches are lazy (each month is read
when it is validated) and can be validated by several processes (`workers`, default
`config.gate_workers()`; `quality.runner`); they are tallied in batch order, so the outcome
does not depend on `workers`. Results JSON and Data Docs go under `output_dir/gx/`; they
hold counts, never failing values (customer ids).

Examples
--------
>>> result = validate_store(store, bank, output_dir=run / "gate", policy=policy,
...                         run_at=as_of_moment(as_of, policy))  # doctest: +SKIP
>>> result.raise_for_failure()  # GateError naming suite, expectation and counts
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.click_store import scan_clicks, stored_months
from interestlab.config import EXPECTATIONS_DIR, gate_workers
from interestlab.consent import consented_ids, usable_click_events
from interestlab.contract import TABLES
from interestlab.errors import GateError
from interestlab.policy import Policy
from interestlab.progress import fmt_count, step
from interestlab.quality import project
from interestlab.quality.checks import (
    EVENT_ID_FLAG,
    KEY_FLAG,
    cross_batch_duplicates,
    flag_not_in,
    with_consent_flag,
)
from interestlab.quality.runner import CheckResult, Job, run_jobs
from interestlab.quality.suites import FEED_SUITE, STORE_SUITE, suite_name
from interestlab.storage import scan_table, table_files, write_json

DEFAULT_CHUNK_ROWS = 2_000_000
STORE_COLUMNS = ("event_id", "customer_id", "identified_at", "ts")
SUMMARY_FILE = "gate_summary.json"


@dataclass(frozen=True)
class ExpectationOutcome:
    """Counts of one expectation of one suite over all batches of a run (no values)."""

    suite: str
    expectation: str
    column: str | None
    rule: str | None
    batches: int
    failed_batches: tuple[str, ...]
    rows_checked: int
    unexpected: int
    exceptions: tuple[str, ...]
    observed: str | None = None

    @property
    def success(self) -> bool:
        return not self.failed_batches and not self.exceptions

    def describe(self) -> str:
        """One line naming suite, expectation, column, rule and counts."""
        target = f"(column `{self.column}`)" if self.column else "(table)"
        rule = f" [{self.rule}]" if self.rule else ""
        text = (
            f"suite `{self.suite}`, {self.expectation}{target}{rule}: "
            f"{fmt_count(self.unexpected)} unexpected of {fmt_count(self.rows_checked)}"
            " rows checked"
            f" (failed in {len(self.failed_batches)} of {self.batches} batches"
        )
        if self.failed_batches:
            shown = ", ".join(self.failed_batches[:5])
            more = ", ..." if len(self.failed_batches) > 5 else ""
            text += f": {shown}{more}"
        text += ")"
        if self.observed is not None:
            text += f"; observed {self.observed}"
        if self.exceptions:
            text += f"; GX raised an exception: {self.exceptions[0]}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectation": self.expectation,
            "column": self.column,
            "rule": self.rule,
            "success": self.success,
            "batches": self.batches,
            "failed_batches": list(self.failed_batches),
            "rows_checked": self.rows_checked,
            "unexpected": self.unexpected,
            "exceptions": len(self.exceptions),
        }


@dataclass(frozen=True)
class GateResult:
    """Outcome of one gate call: success, per-expectation counts and where GX wrote."""

    success: bool
    expectations: tuple[ExpectationOutcome, ...]
    batches: dict[str, int]
    rows: dict[str, int]
    results_dir: Path
    data_docs_index: Path | None = None
    suite_parameters: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def suites(self) -> tuple[str, ...]:
        return tuple(self.batches)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(e for e in self.expectations if not e.success)

    def message(self) -> str:
        """Human-readable account of the failures (empty when the gate passed)."""
        if self.success:
            return ""
        failed_suites = sorted({f.suite for f in self.failures})
        lines = [
            f"GX gate failed: {len(self.failures)} expectation(s) failed in suite(s) "
            + ", ".join(f"`{s}`" for s in failed_suites)
        ]
        lines += [f"- {f.describe()}" for f in self.failures]
        lines.append(f"results: {self.results_dir}")
        if self.data_docs_index is not None:
            lines.append(f"data docs: {self.data_docs_index}")
        return "\n".join(lines)

    def raise_for_failure(self) -> None:
        """Raise `GateError` naming suite, expectation and counts unless every check passed."""
        if not self.success:
            raise GateError(self.message())

    def summary(self) -> dict[str, Any]:
        """Small JSON-able dict for run reports and MLflow: counts only, no personal data."""
        return {
            "success": self.success,
            "suites": {
                name: {"batches": self.batches[name], "rows": self.rows[name]}
                for name in self.batches
            },
            "expectations_evaluated": len(self.expectations),
            "expectations_failed": len(self.failures),
            "unexpected_total": sum(e.unexpected for e in self.expectations),
            "suite_parameters": self.suite_parameters,
            "failures": [f.to_dict() for f in self.failures],
            "expectations": [e.to_dict() for e in self.expectations],
            "results_dir": str(self.results_dir),
            "data_docs_index": None if self.data_docs_index is None else str(self.data_docs_index),
        }

    @classmethod
    def combine(cls, results: Sequence[GateResult], *, data_docs_index: Path | None) -> GateResult:
        """One result for several suites validated in the same run folder."""
        if not results:
            msg = "`results` must hold at least one GateResult, got none"
            raise ValueError(msg)
        batches: dict[str, int] = {}
        rows: dict[str, int] = {}
        parameters: dict[str, dict[str, str]] = {}
        for result in results:
            batches.update(result.batches)
            rows.update(result.rows)
            parameters.update(result.suite_parameters)
        return cls(
            success=all(r.success for r in results),
            expectations=tuple(e for r in results for e in r.expectations),
            batches=batches,
            rows=rows,
            results_dir=results[0].results_dir,
            data_docs_index=data_docs_index,
            suite_parameters=parameters,
        )


class _Tally:
    """Accumulates per-expectation counts batch after batch."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self.order: list[tuple[str, str | None]] = []
        self.data: dict[tuple[str, str | None], dict[str, Any]] = {}
        self.batches = 0
        self.rows = 0

    def add(self, label: str, n_rows: int, checks: Iterable[CheckResult]) -> None:
        self.batches += 1
        self.rows += n_rows
        for check in checks:
            key = (check.expectation, check.column)
            if key not in self.data:
                self.order.append(key)
                self.data[key] = {
                    "rule": check.rule,
                    "batches": 0,
                    "failed": [],
                    "rows": 0,
                    "unexpected": 0,
                    "exceptions": [],
                    "observed": None,
                }
            entry = self.data[key]
            entry["batches"] += 1
            entry["rows"] += n_rows
            entry["unexpected"] += check.unexpected
            entry["exceptions"] += check.exceptions
            if not check.success or check.exceptions:
                entry["failed"].append(label)
                if entry["observed"] is None:
                    entry["observed"] = check.observed

    def outcomes(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(
            ExpectationOutcome(
                suite=self.suite,
                expectation=kind,
                column=column,
                rule=self.data[(kind, column)]["rule"],
                batches=self.data[(kind, column)]["batches"],
                failed_batches=tuple(self.data[(kind, column)]["failed"]),
                rows_checked=self.data[(kind, column)]["rows"],
                unexpected=self.data[(kind, column)]["unexpected"],
                exceptions=tuple(self.data[(kind, column)]["exceptions"]),
                observed=self.data[(kind, column)]["observed"],
            )
            for kind, column in self.order
        )


def _validate_suites(
    suites: Sequence[tuple[str, Iterable[tuple[str, pl.DataFrame | pl.LazyFrame]], dict | None]],
    *,
    output_dir: Path,
    expectations_dir: Path,
    workers: int,
) -> list[GateResult]:
    """Validate `(suite, batches, suite_parameters)` in order, the batches of all suites
    through one stream of jobs (no idle worker between suites); one result per suite."""
    for suite, _, _ in suites:
        project.prepare_project(output_dir, suite, expectations_dir=expectations_dir)
    tallies = {suite: _Tally(suite) for suite, _, _ in suites}
    jobs = (
        Job(suite, label, frame, parameters)
        for suite, batches, parameters in suites
        for label, frame in batches
    )
    for batch in run_jobs(jobs, output_dir=output_dir, workers=workers):
        step(f"gate: {batch.suite} {batch.label}: validated {fmt_count(batch.rows)} rows")
        tallies[batch.suite].add(batch.label, batch.rows, batch.checks)
    results = []
    for suite, _, parameters in suites:
        tally = tallies[suite]
        if tally.batches == 0:
            msg = f"suite `{suite}`: expected at least one (label, frame) batch, found none"
            raise ValueError(msg)
        outcomes = tally.outcomes()
        results.append(
            GateResult(
                success=all(o.success for o in outcomes),
                expectations=outcomes,
                batches={suite: tally.batches},
                rows={suite: tally.rows},
                results_dir=project.results_dir(output_dir),
                suite_parameters={suite: {k: str(v) for k, v in (parameters or {}).items()}},
            )
        )
    return results


def run_suite(
    suite_name: str,
    batches: Iterable[tuple[str, pl.DataFrame | pl.LazyFrame]],
    *,
    output_dir: Path,
    suite_parameters: dict | None = None,
    expectations_dir: Path = EXPECTATIONS_DIR,
    build_docs: bool = True,
    workers: int | None = None,
) -> GateResult:
    """Validate `(label, frame)` batches against the committed suite `suite_name`.

    Every row of every batch is validated; pass a generator to hold one batch in memory at a
    time. Labels (e.g. `month=2026-10`) name GX runs and failing batches: no personal data.

    Parameters
    ----------
    suite_name
        A suite committed under `expectations_dir/suites/` with its validation definition
        and checkpoint (`python -m interestlab.quality.suites` writes those).
    batches
        `(label, polars.DataFrame or LazyFrame)` pairs holding the columns the suite names;
        a LazyFrame is collected by the process that validates it.
    output_dir
        Run folder: results in `output_dir/gx/results/`, Data Docs in
        `output_dir/gx/data_docs/index.html`.
    suite_parameters
        Values of the suite's `{"$PARAMETER": ...}` placeholders (real datetimes).
    build_docs
        Build Data Docs at the end (set False when validating several suites in a row).
    workers
        Processes validating batches at the same time (1: all in this process; default
        `config.gate_workers()`). Results do not depend on it.

    Examples
    --------
    >>> result = run_suite("model_feed_consent", [("features", flagged)],
    ...                    output_dir=run / "gate")  # doctest: +SKIP
    >>> result.raise_for_failure()  # doctest: +SKIP
    """
    results = _validate_suites(
        [(suite_name, batches, suite_parameters)],
        output_dir=Path(output_dir),
        expectations_dir=Path(expectations_dir),
        workers=gate_workers() if workers is None else workers,
    )
    return _finish(results, output_dir=Path(output_dir), build_docs=build_docs)


def _finish(results: list[GateResult], *, output_dir: Path, build_docs: bool) -> GateResult:
    index = project.build_data_docs(output_dir) if build_docs else None
    combined = GateResult.combine(results, data_docs_index=index)
    write_json(combined.summary(), project.gx_root(output_dir) / SUMMARY_FILE)
    step(
        f"gate: {'passed' if combined.success else 'FAILED'}: "
        f"{len(combined.expectations)} expectations, {len(combined.failures)} failed"
    )
    return combined


def _table_parts(bank_dir: Path, name: str, *, chunk_rows: int) -> list[tuple[str, pl.LazyFrame]]:
    """Batches of a contract table: one per monthly file, or chunks of `chunk_rows`."""
    table = TABLES[name]
    scan = scan_table(bank_dir, name)  # checks every file's schema first (ContractError)
    columns = table.schema.names()
    if table.partitioned_by_month:
        return [
            (f"{path.parent.name}", pl.scan_parquet(path).select(columns))
            for path in table_files(bank_dir, table)
        ]
    n_rows = scan.select(pl.len()).collect().item()
    n_chunks = max(1, math.ceil(n_rows / chunk_rows))
    if n_chunks == 1:
        return [("all", scan)]
    return [
        (f"rows-{i * chunk_rows}", scan.slice(i * chunk_rows, chunk_rows)) for i in range(n_chunks)
    ]


def _flagged_batches(
    parts: list[tuple[str, pl.LazyFrame]], duplicates: pl.DataFrame, key: Sequence[str], flag: str
) -> Iterator[tuple[str, pl.LazyFrame]]:
    for label, part in parts:
        yield label, flag_not_in(part, duplicates, key, flag=flag)


def validate_bank(
    bank_dir: Path,
    *,
    output_dir: Path,
    policy: Policy,
    tables: Iterable[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    expectations_dir: Path = EXPECTATIONS_DIR,
    workers: int | None = None,
) -> GateResult:
    """Validate contract tables of a bank folder against their suites (`bank_<table>`).

    Every row is checked: `click_events` one monthly file per batch, other tables in chunks
    of at most `chunk_rows` rows; a key repeated across batches is caught by a flag computed
    in polars. `tables` defaults to every contract table. A table that breaks the schema
    raises `ContractError` before GX runs. `workers` processes validate batches in parallel
    (default `config.gate_workers()`).
    """
    if chunk_rows < 1:
        msg = f"`chunk_rows` must be a positive integer, got {chunk_rows!r}"
        raise ValueError(msg)
    names = list(TABLES) if tables is None else list(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        msg = f"`tables`: unknown tables {unknown}; expected a subset of {list(TABLES)}"
        raise ValueError(msg)
    suites = []
    for name in names:
        key = TABLES[name].key
        parts = _table_parts(Path(bank_dir), name, chunk_rows=chunk_rows)
        duplicates = cross_batch_duplicates([p for _, p in parts], key)
        suites.append((suite_name(name), _flagged_batches(parts, duplicates, key, KEY_FLAG), None))
    results = _validate_suites(
        suites,
        output_dir=Path(output_dir),
        expectations_dir=Path(expectations_dir),
        workers=gate_workers() if workers is None else workers,
    )
    step(f"gate: bank validated under policy {policy.version}")
    return _finish(results, output_dir=Path(output_dir), build_docs=True)


def store_batches(
    store_dir: Path, *, duplicates: pl.DataFrame | None = None
) -> Iterator[tuple[str, pl.LazyFrame]]:
    """Monthly batches of the curated store for `click_store_compliance` (columns the suite
    needs plus the cross-month event-id flag); one empty batch for an empty store. Lazy:
    each month is read by whoever validates it."""
    months = stored_months(store_dir)
    if duplicates is None:
        duplicates = cross_batch_duplicates(
            [scan_clicks(store_dir, [m]) for m in months], ["event_id"]
        )
    if not months:
        empty = scan_clicks(store_dir, []).select(STORE_COLUMNS)
        yield "empty-store", flag_not_in(empty, duplicates, ["event_id"], flag=EVENT_ID_FLAG)
        return
    for month in months:
        frame = scan_clicks(store_dir, [month]).select(STORE_COLUMNS)
        yield f"month={month}", flag_not_in(frame, duplicates, ["event_id"], flag=EVENT_ID_FLAG)


def feed_batches(
    store_dir: Path, bank_dir: Path, *, policy: Policy, run_at: datetime
) -> Iterator[tuple[str, pl.LazyFrame]]:
    """Monthly batches of what feeds the models at `run_at` (`consent.usable_click_events`),
    with the `consented_at_as_of` flag computed independently from the consent snapshot.
    Lazy: each month is read and filtered by whoever validates it."""
    customers = scan_table(bank_dir, "customers").select("customer_id")
    consent = scan_table(bank_dir, "consent_events").collect()
    consented = consented_ids(customers, consent, at=run_at, policy=policy)
    months = stored_months(store_dir) or []
    labels = [f"month={m}" for m in months] or ["empty-store"]
    for label, chosen in zip(labels, [[m] for m in months] or [[]], strict=True):
        feed = usable_click_events(
            scan_clicks(store_dir, chosen), consent, customers, as_of=run_at, policy=policy
        )
        yield label, with_consent_flag(feed.select("customer_id"), consented)


def validate_store(
    store_dir: Path,
    bank_dir: Path,
    *,
    output_dir: Path,
    policy: Policy,
    run_at: datetime,
    expectations_dir: Path = EXPECTATIONS_DIR,
    workers: int | None = None,
) -> GateResult:
    """Validate the curated click store (R1, R3) and the model feed (R13) at `run_at`.

    `run_at` is the run's as-of moment (`policy.as_of_moment(as_of, policy)`); the R3 window
    is `policy.retention_cutoff(run_at)`, passed to the suite as `retention_cutoff`.
    `workers` processes validate batches in parallel (default `config.gate_workers()`).
    """
    cutoff = policy.retention_cutoff(run_at)
    results = _validate_suites(
        [
            (STORE_SUITE, store_batches(Path(store_dir)), {"retention_cutoff": cutoff}),
            (
                FEED_SUITE,
                feed_batches(Path(store_dir), Path(bank_dir), policy=policy, run_at=run_at),
                None,
            ),
        ],
        output_dir=Path(output_dir),
        expectations_dir=Path(expectations_dir),
        workers=gate_workers() if workers is None else workers,
    )
    return _finish(results, output_dir=Path(output_dir), build_docs=True)

"""Run GX checkpoints on batches, in this process or in worker processes, in batch order.

A job is one batch of one suite. A `polars.LazyFrame` batch is collected where it is
validated, so a worker reads its own month instead of receiving it through a pipe. Every
batch gets a fresh GX context on the run project and comes back as counts only
(`CheckResult`: no row values, no GX objects).

With `workers > 1` (and at least two jobs) the batches go to a process pool whose workers
are forked from a server that imported GX once (`forkserver` preloading
`interestlab.quality.preload`: no worker pays the 4-7 s import). At most `workers` batches
are validated at a time, each worker releasing a batch's memory before the next
(`memory.release_memory`), so the peak is about `workers` times that of one batch. Results
are yielded in job order: tallies, failing-batch lists and the files GX writes are the same
as with one process. As with any `multiprocessing` pool, a script that validates with
`workers > 1` needs the `if __name__ == "__main__":` guard (notebooks and the CLI have it).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.memory import release_memory
from interestlab.quality import project
from interestlab.quality.checks import to_validation_pandas

PRELOAD_MODULE = "interestlab.quality.preload"


@dataclass(frozen=True)
class CheckResult:
    """One expectation on one batch: what the tally needs, counts only."""

    expectation: str
    column: str | None
    rule: str | None
    success: bool
    unexpected: int
    exceptions: tuple[str, ...]
    observed: str | None


@dataclass(frozen=True)
class BatchResult:
    suite: str
    label: str
    rows: int
    checks: tuple[CheckResult, ...]


@dataclass(frozen=True)
class Job:
    """One batch of one suite; `frame` may be lazy (collected by whoever validates it)."""

    suite: str
    label: str
    frame: pl.DataFrame | pl.LazyFrame
    suite_parameters: dict[str, Any] | None = None


def _exception_messages(info: Any) -> list[str]:
    """GX reports internal errors inside results, either flat or keyed by metric."""
    if not info:
        return []
    if "raised_exception" in info:
        if info.get("raised_exception"):
            return [str(info.get("exception_message") or "unknown GX exception")]
        return []
    messages = []
    for value in info.values():
        if isinstance(value, dict):
            messages += _exception_messages(value)
    return messages


def _target(kwargs: dict[str, Any]) -> str | None:
    if kwargs.get("column"):
        return str(kwargs["column"])
    if kwargs.get("column_list"):
        return ", ".join(kwargs["column_list"])
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']} >= {kwargs['column_B']}"
    return None


def summarise(validation: Any) -> tuple[CheckResult, ...]:
    """Counts of every expectation of one GX validation result."""
    checks = []
    for result in validation.results:
        config = result.expectation_config
        body = result.result or {}
        checks.append(
            CheckResult(
                expectation=config.type,
                column=_target(dict(config.kwargs)),
                rule=(config.meta or {}).get("rule"),
                success=bool(result.success),
                unexpected=int(body.get("unexpected_count") or 0),
                exceptions=tuple(_exception_messages(result.exception_info)),
                # Table-level checks only (types, column sets): no row values.
                observed=repr(body["observed_value"]) if "observed_value" in body else None,
            )
        )
    return tuple(checks)


def run_name(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_=." else "_" for ch in label)


def validate_batch(output_dir: Path, job: Job) -> BatchResult:
    """Validate one batch through its suite's committed checkpoint (fresh GX context)."""
    project.import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    frame = job.frame
    if isinstance(frame, pl.LazyFrame):
        frame = frame.collect(engine="in-memory")
    rows = frame.height
    data = to_validation_pandas(frame)
    del frame  # GX holds the pandas copy and makes more: drop the polars one first
    # A fresh context per batch: one shared context grows ~95 MB a batch.
    context = project.fresh_context(output_dir)
    checkpoint = context.checkpoints.get(job.suite)
    outcome = checkpoint.run(
        batch_parameters={"dataframe": data},
        expectation_parameters=dict(job.suite_parameters or {}),
        run_id=RunIdentifier(run_name=run_name(job.label), run_time=datetime.now(UTC)),
    )
    checks = tuple(c for validation in outcome.run_results.values() for c in summarise(validation))
    del data, context, checkpoint, outcome
    release_memory()
    return BatchResult(job.suite, job.label, rows, checks)


def _pool_context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # no fork server here: workers import GX
    context = multiprocessing.get_context("forkserver")
    # Only effective before the server starts (the first pool of the process).
    context.set_forkserver_preload([PRELOAD_MODULE])
    return context


def _drain(items: list[Job]) -> Iterator[Job]:
    """Yield and forget `items` one by one (no reference kept to a validated batch)."""
    while items:
        yield items.pop(0)


def run_jobs(jobs: Iterable[Job], *, output_dir: Path, workers: int) -> Iterator[BatchResult]:
    """Validate `jobs` and yield their results in job order.

    One process when `workers` is 1 or there is a single job; otherwise a pool of `workers`
    processes, with at most `workers` batches being validated at any time (the job iterator
    is advanced only as workers free up, so lazy batches are built just in time).
    """
    if workers < 1:
        msg = f"`workers` must be a positive integer, got {workers!r}"
        raise ValueError(msg)
    jobs = iter(jobs)
    head = list(islice(jobs, 2)) if workers > 1 else []
    if workers == 1 or len(head) < 2:
        for job in chain(_drain(head), jobs):
            yield validate_batch(output_dir, job)
        return
    # Workers forked from the server inherit its environment: analytics off before it starts.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # This process needs GX only for Data Docs at the end: import it while the workers run.
    threading.Thread(target=project.import_gx, daemon=True).start()
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        pending: deque[Future[BatchResult]] = deque()
        remaining = chain(_drain(head), jobs)
        exhausted = False
        while True:
            while not exhausted and sum(not f.done() for f in pending) < workers:
                job = next(remaining, None)
                if job is None:
                    exhausted = True
                else:
                    pending.append(pool.submit(validate_batch, output_dir, job))
            if not pending:
                return
            while pending and pending[0].done():
                yield pending.popleft().result()
            running = [f for f in pending if not f.done()]
            if running and (exhausted or len(running) >= workers):
                wait(running, return_when=FIRST_COMPLETED)

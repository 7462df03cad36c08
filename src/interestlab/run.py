"""The scheduled run and the demo: the four notebooks through papermill, then MLflow.

`run_pipeline` is what `interestlab run --as-of D` and cron execute: one run folder
`runs/<as-of>-<id>/` with the executed notebooks, GX results and Data Docs, reports and the
plan; the executed notebooks and non-personal reports are then logged to MLflow. It never
approves a model: the plan reads each family's `champion` (or, in a dry run, `candidate`,
marked as such in the plan).

`demo` is the README's first command: it generates the synthetic bank when missing, runs the
same chain, and, on the synthetic bank only, lets a named demo reviewer approve and promote
(the promotion gates still apply) so that the demo reaches a real plan.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from interestlab import config
from interestlab.errors import ContractError
from interestlab.orchestration import NOTEBOOKS, RunFailedError, RunResult, run_notebooks
from interestlab.progress import step
from interestlab.storage import check_bank

DEMO_REVIEWER = "demo-reviewer (synthetic bank only)"
CANDIDATE = "candidate"
CHAMPION = "champion"


@dataclass(frozen=True)
class RunSettings:
    """The parameters every notebook of the chain receives (each takes the ones it declares)."""

    as_of: date
    bank_dir: Path
    store_dir: Path
    seed: int = config.DEFAULT_SEED
    n_snapshots: int = 6
    horizon_days: int = 60
    dry_run: bool = False
    demo_reviewer: str = ""

    def parameters(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "bank_dir": str(self.bank_dir),
            "store_dir": str(self.store_dir),
            "seed": self.seed,
            "n_snapshots": self.n_snapshots,
            "horizon_days": self.horizon_days,
            "alias": CANDIDATE if self.dry_run else CHAMPION,
            "demo_reviewer": self.demo_reviewer,
        }


def run_pipeline(
    settings: RunSettings,
    *,
    runs_dir: Path | None = None,
    notebooks: tuple[str, ...] = NOTEBOOKS,
    notebooks_dir: Path | None = None,
    log_to_mlflow: bool = True,
    take_lock: bool = True,
) -> RunResult:
    """Execute the chain for `settings.as_of`; log what it produced to MLflow.

    A dry run (`settings.dry_run`) never becomes `runs/current-<as-of>`: its plan comes from
    unapproved `candidate` models and must not be mistaken for the one to send.

    Raises
    ------
    ContractError : the bank folder is missing or breaks the contract (before any notebook).
    RunLockedError : another run holds the workspace lock (nothing was done).
    RunFailedError : a notebook failed; it names notebook and cell, later stages did not run.
        The partial run is still logged to MLflow (run status FAILED) for debugging.
    """
    if not settings.bank_dir.is_dir():
        msg = (
            f"bank folder {settings.bank_dir}: expected a folder with the contract tables"
            " (see docs/data-contract.md), found no such folder; `interestlab demo` generates"
            " a synthetic one"
        )
        raise ContractError(msg)
    check_bank(settings.bank_dir)
    try:
        result = run_notebooks(
            settings.as_of,
            parameters=settings.parameters(),
            notebooks=notebooks,
            runs_dir=runs_dir,
            notebooks_dir=notebooks_dir,
            publish=not settings.dry_run,
            take_lock=take_lock,
        )
    except RunFailedError as exc:
        if log_to_mlflow and exc.run_dir is not None:
            _log_safely(exc.run_dir)
        raise
    if log_to_mlflow:
        step(f"run {result.run_id}: logging notebooks and reports to MLflow")
        _log_safely(result.run_dir)
    return result


def _log_safely(run_dir: Path) -> None:
    """Log to MLflow; a logging failure is reported, never hides the run's own outcome."""
    from interestlab.modeling.run_log import log_run

    try:
        log_run(run_dir)
    except Exception as exc:  # the run folder is complete either way
        step(f"run: WARNING could not log {run_dir.name} to MLflow ({type(exc).__name__}: {exc})")


def ensure_demo_bank(
    bank_dir: Path, store_dir: Path, *, n_customers: int, seed: int, end: date
) -> bool:
    """Generate the synthetic bank unless one with the same settings is there; True if made.

    A regenerated bank makes the old curated store meaningless, so the store is cleared with it
    (the demo's own folders only; a bank passed by the user is never touched).
    """
    from interestlab.synth.writer import SUMMARY_FILE, generate_bank

    summary_file = bank_dir / SUMMARY_FILE
    if bank_dir.exists() and not summary_file.is_file():
        msg = (
            f"demo: {bank_dir} holds a bank that `interestlab synth` did not write (no"
            f" {SUMMARY_FILE}); expected the synthetic bank or no folder. The demo never"
            " overwrites a delivered bank: move it, or use `interestlab run --bank ...`"
        )
        raise ContractError(msg)
    if summary_file.is_file():
        summary = json.loads(summary_file.read_text())
        same = (
            summary.get("n_customers") == n_customers
            and summary.get("seed") == seed
            and summary.get("end") == end.isoformat()
        )
        if same:
            step(f"demo: reusing the synthetic bank in {bank_dir}")
            return False
    if store_dir.exists():
        step(f"demo: clearing the curated store {store_dir} (built from another synthetic bank)")
        shutil.rmtree(store_dir)
    step(f"demo: generating a synthetic bank of {n_customers:,} customers (seed {seed})")
    generate_bank(bank_dir, n_customers=n_customers, seed=seed, end=end)
    return True


def where_to_look(result: RunResult) -> str:
    """The closing lines of `run` and `demo`: what was written and where to look."""
    run_dir = result.run_dir
    lines = [f"run {result.run_id} {result.status} in {sum(result.timings.values()):.0f} s:"]
    lines.append(f"  executed notebooks  {run_dir / 'notebooks'}")
    docs = sorted(run_dir.glob("gx/**/index.html"))
    if docs:
        lines.append(f"  Data Docs (GX)      {docs[0]}")
    plan_report = run_dir / "plan_report.json"
    if plan_report.is_file():
        report = json.loads(plan_report.read_text())
        kind = (
            "DRY RUN from candidates, not for sending, not made current"
            if report.get("dry_run")
            else "from champions"
        )
        lines.append(
            f"  contact plan        {run_dir / 'plan'} ({report['planned']['total']:,} contacts"
            f" for {report['plan_month']}, {kind})"
        )
    lines.append(
        f"  MLflow store        {config.mlruns_dir()} (browse: `interestlab ui`, 127.0.0.1:5000)"
    )
    if result.replaced:
        lines.append(f"  replaced            {result.replaced} as the current run of this as-of")
    return "\n".join(lines)

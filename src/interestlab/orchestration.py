"""One scheduled run: the notebooks in order through papermill, into one run folder.

    runs/<as-of>-<run-id>/
        notebooks/01_ingest_and_validate.ipynb ...   executed copies (aggregates only)
        gx/ (results, Data Docs)  reports, plan outputs   written by the stages
        run.json                                       parameters, status, timings

A workspace lock makes a second concurrent run exit cleanly. A failing notebook stops the chain
(`RunFailedError` names notebook and cell); the partial notebook stays for debugging and no later
stage runs, so no model alias and no published plan is touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from interestlab import config
from interestlab.errors import InterestlabError, RunLockedError
from interestlab.progress import step
from interestlab.stages import new_run_id
from interestlab.storage import write_json

NOTEBOOKS = (
    "01_ingest_and_validate.ipynb",
    "02_features.ipynb",
    "03_train.ipynb",
    "04_contact_plan.ipynb",
)
LOCK_FILE = ".interestlab-run.lock"


class RunFailedError(InterestlabError):
    """A notebook of the chain failed; later stages were not run."""

    def __init__(self, message: str, *, run_dir: Path | None = None) -> None:
        super().__init__(message)
        self.run_dir = run_dir


def declared_parameters(notebook: Path) -> set[str]:
    """Names the notebook's `parameters` cell declares (papermill's own inspection)."""
    import papermill as pm

    return set(pm.inspect_notebook(str(notebook)))


@contextmanager
def workspace_lock(runs_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking lock on the workspace; released even if the process dies."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / LOCK_FILE
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            msg = (
                f"another interestlab run holds the lock {path} ({holder}); try again when it ends"
            )
            raise RunLockedError(msg) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S')}")
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    replaced: str | None
    timings: dict[str, float]


# Unix socket paths are limited to 107 bytes; a kernel's five sockets end in `-<n>`.
_SOCKET_PATH_MAX = 100


def kernel_options(socket_dir: Path) -> dict[str, Any]:
    """Keyword arguments for `papermill.execute_notebook` that connect the notebook's kernel
    through Unix sockets in `socket_dir` instead of loopback TCP ports.

    Only the user running the notebooks can reach those sockets (`socket_dir` is a private
    0700 temporary folder; TCP ports on 127.0.0.1 are open to every local user, though the
    messages are signed with the connection file's key either way), and ipykernel stops
    warning that the "Kernel is running over TCP without encryption" for every notebook of a
    run. Where Unix sockets cannot be used (Windows, or a `socket_dir` path too long for a
    socket name) the kernel keeps TCP.
    """
    from traitlets.config import Config

    prefix = str(socket_dir / "kernel")
    if os.name == "nt" or len(prefix.encode()) > _SOCKET_PATH_MAX:
        return {}
    return {"config": Config({"KernelManager": {"transport": "ipc", "ip": prefix}})}


def _failed_cell(exc: Exception) -> str:
    """`cell In [4] (cell 6 of the executed notebook): KeyError: ...` from papermill's error."""
    exec_count = getattr(exc, "exec_count", None)
    cell_index = getattr(exc, "cell_index", None)
    where = f"cell In [{exec_count}]" if exec_count is not None else "cell"
    if cell_index is not None:
        where += f" (cell {cell_index + 1} of the executed notebook)"
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return f"{where}: {ename}: {str(evalue)[:300]}"


def run_notebooks(
    as_of: date,
    *,
    parameters: dict[str, Any],
    notebooks: tuple[str, ...] = NOTEBOOKS,
    runs_dir: Path | None = None,
    run_id: str | None = None,
    notebooks_dir: Path | None = None,
    publish: bool = True,
    take_lock: bool = True,
) -> RunResult:
    """Execute `notebooks` in order with the same `parameters` into a fresh run folder.

    publish : on success, point `runs/current-<as-of>` at this run (False for dry runs, whose
        plan must never be mistaken for the one to send).
    take_lock : False when the caller already holds `workspace_lock` (e.g. the demo, which
        prepares the bank under the same lock).
    """
    runs_dir = Path(runs_dir or config.runs_dir())
    lock = workspace_lock(runs_dir) if take_lock else nullcontext()
    with lock:
        return _run_locked(
            as_of,
            parameters=parameters,
            notebooks=notebooks,
            runs_dir=runs_dir,
            run_id=run_id or new_run_id(as_of),
            notebooks_dir=Path(notebooks_dir or config.NOTEBOOKS_DIR),
            publish=publish,
        )


def _run_locked(
    as_of: date,
    *,
    parameters: dict[str, Any],
    notebooks: tuple[str, ...],
    runs_dir: Path,
    run_id: str,
    notebooks_dir: Path,
    publish: bool,
) -> RunResult:
    import papermill as pm

    run_dir = runs_dir / run_id
    current = runs_dir / f"current-{as_of.isoformat()}"
    (run_dir / "notebooks").mkdir(parents=True, exist_ok=True)
    params = {
        **parameters,
        "as_of": as_of.isoformat(),
        "output_dir": str(run_dir),
        "run_id": run_id,
    }
    record: dict[str, Any] = {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "parameters": params,
        "published": publish,
        "status": "running",
        "steps": [],
    }
    write_json(record, run_dir / "run.json")
    timings: dict[str, float] = {}
    # The kernels' sockets (`kernel_options`), removed with the folder when the run ends.
    with tempfile.TemporaryDirectory(prefix="interestlab-kernel-") as sockets:
        for name in notebooks:
            step(f"run {run_id}: executing {name}")
            started = time.perf_counter()
            try:
                declared = declared_parameters(notebooks_dir / name)
                pm.execute_notebook(
                    notebooks_dir / name,
                    run_dir / "notebooks" / name,
                    parameters={k: v for k, v in params.items() if k in declared},
                    cwd=str(notebooks_dir),
                    progress_bar=False,
                    log_output=False,
                    kernel_name="python3",
                    **kernel_options(Path(sockets)),
                )
            except Exception as exc:
                where = _failed_cell(exc)
                record["status"] = "failed"
                record["failed"] = {"notebook": name, "detail": where}
                write_json(record, run_dir / "run.json")
                msg = (
                    f"run {run_id} stopped at notebook {name}, {where}; partial notebook kept at"
                    f" {run_dir / 'notebooks' / name}; later stages were not run"
                )
                raise RunFailedError(msg, run_dir=run_dir) from exc
            except BaseException:  # interrupted (Ctrl-C, a scheduler's SIGTERM): say so, re-raise
                record["status"] = "interrupted"
                record["failed"] = {"notebook": name, "detail": "interrupted"}
                write_json(record, run_dir / "run.json")
                raise
            timings[name] = round(time.perf_counter() - started, 1)
            record["steps"].append({"notebook": name, "seconds": timings[name]})
            write_json(record, run_dir / "run.json")
    record["status"] = "succeeded"
    write_json(record, run_dir / "run.json")
    replaced = None
    if publish:
        replaced = os.readlink(current) if current.is_symlink() else None
        tmp_link = runs_dir / f".current-{as_of.isoformat()}.tmp"
        if tmp_link.is_symlink():
            tmp_link.unlink()
        tmp_link.symlink_to(run_dir.name)
        os.replace(tmp_link, current)
    return RunResult(run_id, run_dir, "succeeded", replaced, timings)


def read_run(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "run.json").read_text())

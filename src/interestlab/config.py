"""Project paths and run-wide defaults, each written in exactly one place.

Every path is absolute and derived from the project root, so notebooks (whose working
directory is `notebooks/`), papermill runs and the CLI all resolve the same locations.
`INTERESTLAB_HOME` moves the whole workspace (used by tests and benchmarks).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = PROJECT_ROOT / "conf"
POLICY_FILE = CONF_DIR / "policy.yaml"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"


def workspace() -> Path:
    """Root under which generated data, stores, runs and the MLflow store live."""
    return Path(os.environ.get("INTERESTLAB_HOME", PROJECT_ROOT)).resolve()


def data_dir() -> Path:
    return workspace() / "data"


def default_bank_dir() -> Path:
    """Where `interestlab synth` writes the embedded synthetic bank by default."""
    return data_dir() / "bank"


def store_dir() -> Path:
    """Curated click store, quarantine, purge receipts and derived feature tables."""
    return data_dir() / "store"


def runs_dir() -> Path:
    return workspace() / "runs"


def mlruns_dir() -> Path:
    return workspace() / "mlruns"


# The synthetic bank's history ends just before this date (local midnight); the demo run plans
# for its month, so the communications already sent earlier that month count against the cap.
DEFAULT_AS_OF = date(2026, 11, 15)
DEFAULT_SEED = 42
DEFAULT_N_CUSTOMERS = 20_000


def gate_workers() -> int:
    """Processes validating GX batches at the same time (`quality.gate`): 1 unless
    `INTERESTLAB_GATE_WORKERS` says otherwise.

    One by default: on the shared 2-core machine, 2 workers were slower than 1 (other jobs
    kept both cores busy), and at 1M customers one month's batch peaks at ~3.5 GB, so two
    at once would pass the 6 GB budget (bench/README.md). Results do not depend on it.
    """
    value = os.environ.get("INTERESTLAB_GATE_WORKERS", "1")
    if not value.isdigit() or int(value) < 1:
        msg = f"`INTERESTLAB_GATE_WORKERS` must be a positive integer, got {value!r}"
        raise ValueError(msg)
    return int(value)

"""MLflow set-up: telemetry off, one absolute SQLite store under `mlruns/`, explicit artifact roots.

Every entry point of the modeling package calls `configure()` before touching MLflow, so the
notebook (working directory `notebooks/`), the CLI and tests (`INTERESTLAB_HOME` in a tmp
folder) all read and write the same store: `<workspace>/mlruns/mlflow.db` for tracking and
the registry, `<workspace>/mlruns/artifacts/<experiment>` for artifacts (`file://` locations,
so the UI and the library resolve them without a server; a new store's "Default" experiment
keeps its artifacts in `artifacts/0`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

# Telemetry must be off before mlflow is imported anywhere (PITFALLS: it tries to reach the
# internet); the package `__init__` sets it too, this covers direct imports of this module.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from interestlab import config  # noqa: E402

EXPERIMENT_NAME = "interest-models"
MODEL_NAME_PREFIX = "interest-"
# Tag values above this length are cut (the SQLite store rejects very long values).
MAX_TAG_LENGTH = 5000


def tracking_uri() -> str:
    """`sqlite:////<abs>/mlruns/mlflow.db` of the current workspace (honours INTERESTLAB_HOME)."""
    return f"sqlite:///{(config.mlruns_dir() / 'mlflow.db').as_posix()}"


def artifact_root() -> Path:
    return config.mlruns_dir() / "artifacts"


def model_name(family: str) -> str:
    """Registered model name of a product family, e.g. `interest-mortgage`."""
    return f"{MODEL_NAME_PREFIX}{family}"


def configure() -> str:
    """Point the MLflow library at the workspace store; return the tracking URI.

    Examples
    --------
    >>> configure()  # doctest: +SKIP
    'sqlite:////work/main/mlruns/mlflow.db'
    """
    import logging

    import mlflow

    # MLflow's INFO lines ("Creating initial MLflow database tables", "Registered model ...
    # already exists") are noise in executed notebooks and cron logs; warnings still show.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    config.mlruns_dir().mkdir(parents=True, exist_ok=True)
    uri = tracking_uri()
    if not (config.mlruns_dir() / "mlflow.db").exists():
        # A new store: created here with the artifact root inside `mlruns/`, so its "Default"
        # experiment (id 0, where an unnamed run goes) keeps artifacts in the store too. The
        # library would otherwise root it at `./mlruns/0` under the creating process's
        # working directory: `notebooks/mlruns/0` for a run started from a notebook.
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(uri, artifact_root().resolve().as_uri())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def client() -> Any:
    """An `MlflowClient` bound to the workspace store (configures the library as well)."""
    from mlflow import MlflowClient

    uri = configure()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(name: str = EXPERIMENT_NAME) -> str:
    """Id of experiment `name`, created with a `file://` artifact location inside `mlruns/`."""
    import mlflow

    configure()
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    location = (artifact_root() / name).resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def git_commit() -> str:
    """Commit of the project checkout ("unknown" outside a git checkout), "+dirty" if modified."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=config.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=config.PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def tag_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_TAG_LENGTH else text[: MAX_TAG_LENGTH - 3] + "..."


def flatten(params: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Nested dict -> flat `a.b` keys, the form MLflow params and tags take."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, prefix=f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = ",".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def ui_command(*, port: int = 5000) -> tuple[list[str], dict[str, str], str]:
    """Command, environment and URL that serve the MLflow UI on loopback over `mlruns/`."""
    import sys

    configure()
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        tracking_uri(),
        "--registry-store-uri",
        tracking_uri(),
        # file:// artifact roots, as for experiments created by the library: one mode only
        # (PITFALLS: `mlflow-artifacts:/` locations resolve only through a running server).
        "--default-artifact-root",
        artifact_root().resolve().as_uri(),
        "--no-serve-artifacts",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    return command, env, f"http://127.0.0.1:{port}"

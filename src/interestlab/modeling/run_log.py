"""Log a finished (or failed) run folder to MLflow for model-risk reviewers.

What goes to MLflow is what a reviewer may browse: the executed notebooks (aggregates only),
the non-personal reports (`*.json` at the run folder's top, plan and cap-report summaries) and
the GX results and Data Docs. Never the plan, the suppression log, extracts or any table with
customer rows (`PERSONAL_PARTS`).

- experiment `interestlab-runs`: one MLflow run per scheduled run, named after its id;
- the training run of notebook 03 receives the executed training notebook and the data-quality
  report under `run/`, and each model version it registered gets tags pointing at them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from interestlab.modeling import tracking

RUNS_EXPERIMENT = "interestlab-runs"
TRAINING_NOTEBOOK = "03_train.ipynb"
# Sub-folders of a run folder that hold customer rows: never logged.
PERSONAL_PARTS = ("plan/plan.parquet", "plan/suppression_log.parquet", "plan/extracts")
REPORT_FILES = ("plan/summary.json", "cap_report/summary.json")


def reviewable_files(run_dir: Path) -> list[Path]:
    """Files of `run_dir` a reviewer may see in MLflow (relative paths, sorted)."""
    run_dir = Path(run_dir)
    files = [p for p in (run_dir / "notebooks").glob("*.ipynb")]
    files += [p for p in run_dir.glob("*.json")]
    files += [run_dir / name for name in REPORT_FILES if (run_dir / name).is_file()]
    files += [p for p in (run_dir / "gx").rglob("*") if p.is_file()]
    relative = sorted(p.relative_to(run_dir) for p in files)
    for path in relative:
        if any(path.as_posix().startswith(part) for part in PERSONAL_PARTS):
            msg = f"refusing to log {path}: it holds customer rows"
            raise ValueError(msg)
    return relative


def _log_files(
    client: Any, mlflow_run_id: str, run_dir: Path, files: list[Path], prefix: str
) -> None:
    for rel in files:
        parts = [p for p in (prefix, rel.parent.as_posix()) if p and p != "."]
        client.log_artifact(mlflow_run_id, str(run_dir / rel), "/".join(parts) or None)


def log_run(run_dir: Path) -> str:
    """Log `run_dir` to MLflow; link the training run and model versions. Returns the run id."""
    import mlflow

    run_dir = Path(run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    client = tracking.client()
    experiment_id = tracking.ensure_experiment(RUNS_EXPERIMENT)
    files = reviewable_files(run_dir)
    params = {k: v for k, v in record["parameters"].items() if k not in ("output_dir", "bank_dir")}
    tags = {
        "interestlab.run_id": record["run_id"],
        "interestlab.as_of": record["as_of"],
        "interestlab.status": record["status"],
        "git_commit": tracking.git_commit(),
    }
    if "failed" in record:
        tags["interestlab.failed"] = tracking.tag_value(record["failed"])
    active = mlflow.start_run(experiment_id=experiment_id, run_name=record["run_id"], tags=tags)
    status = "FINISHED" if record["status"] == "succeeded" else "FAILED"
    try:
        mlflow.log_params({k: tracking.tag_value(v) for k, v in params.items()})
        for stepinfo in record.get("steps", []):
            key = "seconds_" + stepinfo["notebook"].split("_", 1)[0]
            mlflow.log_metric(key, stepinfo["seconds"])
        _log_files(client, active.info.run_id, run_dir, files, prefix="")
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run(status)
    pipeline_run_id = active.info.run_id
    training = run_dir / "training_report.json"
    if training.is_file():
        _link_training(client, run_dir, json.loads(training.read_text()), files, pipeline_run_id)
    return pipeline_run_id


def _link_training(
    client: Any, run_dir: Path, training: dict[str, Any], files: list[Path], pipeline_run: str
) -> None:
    """Executed notebook + data-quality report onto the training run; tags onto its versions."""
    training_run = training["mlflow_run_id"]
    evidence = [
        f
        for f in files
        if f.as_posix() == f"notebooks/{TRAINING_NOTEBOOK}"
        or f.name == "ingest_report.json"
        or f.parts[0] == "gx"
    ]
    _log_files(client, training_run, run_dir, evidence, prefix="run")
    client.set_tag(training_run, "interestlab.run_id", training.get("run_id", ""))
    client.set_tag(training_run, "interestlab.pipeline_mlflow_run", pipeline_run)
    docs = next((f for f in evidence if f.name == "index.html"), None)
    links = {
        "training_notebook": f"runs:/{training_run}/run/notebooks/{TRAINING_NOTEBOOK}",
        "data_quality_report": f"runs:/{training_run}/run/{docs.as_posix()}"
        if docs is not None
        else "none (no GX Data Docs in the run folder)",
        "ingest_report": f"runs:/{training_run}/run/ingest_report.json",
    }
    for family, version in training.get("versions", {}).items():
        name = tracking.model_name(family)
        for key, value in links.items():
            client.set_model_version_tag(name, str(version), key, value)

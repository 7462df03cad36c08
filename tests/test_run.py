"""End to end: the whole chain through papermill on a small synthetic bank (slow, part of CI).

One module-scoped workspace runs, in order:
1. `interestlab demo` (synthetic bank, run, demo approval and promotion);
2. a scheduled `interestlab run` of the same as-of: replaces the current run, trains the same
   models bit for bit, plans from the unchanged champions and yields the identical plan;
3. a run on a bank that breaks a GX expectation: exits non-zero naming notebook and cell, keeps
   the partial notebook, and leaves the champion aliases and the current plan untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from interestlab import cli, config
from interestlab.privacy_scan import bank_identifiers, reviewer_paths, scan, scanned_files

pytestmark = pytest.mark.slow

AS_OF = "2026-11-15"
N_CUSTOMERS = 1500


def _run_dirs(home: Path) -> list[Path]:
    """Run folders of `interestlab run`/`demo` (not the notebooks' manual default folder)."""
    runs = (home / "runs").glob(f"{AS_OF}-*")
    return sorted(p for p in runs if p.is_dir() and not p.name.endswith("-manual"))


def _current(home: Path) -> Path:
    return (home / "runs" / f"current-{AS_OF}").resolve()


def _champions() -> dict[str, str]:
    from interestlab.contract import FAMILIES
    from interestlab.modeling import tracking
    from interestlab.modeling.registry import version_by_alias

    client = tracking.client()
    found = {f: version_by_alias(client, f, "champion") for f in FAMILIES}
    return {f: str(v.version) for f, v in found.items() if v is not None}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("workspace")
    patch = pytest.MonkeyPatch()
    patch.setenv("INTERESTLAB_HOME", str(home))
    patch.setenv("INTERESTLAB_QUIET", "1")
    patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    patch.setenv("GX_ANALYTICS_ENABLED", "false")
    state: dict = {"home": home}
    state["demo_exit"] = cli.main(["demo", "--customers", str(N_CUSTOMERS), "--as-of", AS_OF])
    state["demo_dir"] = _current(home)
    state["demo_champions"] = _champions()
    state["run_exit"] = cli.main(["run", "--as-of", AS_OF])
    state["run_dir"] = _current(home)
    before = set(_run_dirs(home))
    state["dry_exit"] = cli.main(["run", "--as-of", AS_OF, "--dry-run"])
    (state["dry_dir"],) = set(_run_dirs(home)) - before
    yield state
    patch.undo()


def test_demo_runs_every_notebook_and_reaches_a_real_plan(workspace):
    assert workspace["demo_exit"] == 0
    run_dir = workspace["demo_dir"]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert [s["notebook"] for s in record["steps"]] == [
        "01_ingest_and_validate.ipynb",
        "02_features.ipynb",
        "03_train.ipynb",
        "04_contact_plan.ipynb",
    ]
    for step in record["steps"]:
        assert (run_dir / "notebooks" / step["notebook"]).is_file()
    assert (run_dir / "gx" / "data_docs" / "index.html").is_file()
    ingest = json.loads((run_dir / "ingest_report.json").read_text())
    assert all(part["success"] for part in ingest["gate"].values())
    assert workspace["demo_champions"], "the demo promoted no model"
    review = json.loads((run_dir / "demo_review.json").read_text())
    assert review["reviewer"].startswith("demo-reviewer")
    report = json.loads((run_dir / "plan_report.json").read_text())
    assert report["dry_run"] is False and report["alias"] == "champion"
    assert report["gate"]["success"] is True
    assert report["planned"]["total"] > 0


def test_plan_outputs_exist_and_hold_the_cap(workspace):
    run_dir = workspace["demo_dir"]
    plan = pl.read_parquet(run_dir / "plan" / "plan.parquet")
    assert plan.height > 0
    assert plan.group_by("customer_id").len()["len"].max() == 1
    assert set(plan["model_version"].drop_nulls().unique()) <= set(
        workspace["demo_champions"].values()
    )
    assert (run_dir / "plan" / "suppression_log.parquet").is_file()
    for channel in plan["channel"].unique():
        extract = pl.read_parquet(run_dir / "plan" / "extracts" / f"{channel}.parquet")
        assert "score" not in extract.columns and "reasons" not in extract.columns
    assert (run_dir / "cap_report" / "summary.json").is_file()


def test_rerun_replaces_the_current_run_and_reproduces_models_and_plan(workspace):
    assert workspace["run_exit"] == 0
    first, second = workspace["demo_dir"], workspace["run_dir"]
    assert first != second
    assert _run_dirs(workspace["home"]) == sorted([first, second, workspace["dry_dir"]])
    # the scheduled run approved nothing: champions are still the demo's versions
    assert _champions() == workspace["demo_champions"]
    assert not (second / "demo_review.json").exists()
    plan_1 = pl.read_parquet(first / "plan" / "plan.parquet")
    plan_2 = pl.read_parquet(second / "plan" / "plan.parquet")
    assert plan_1.equals(plan_2)
    # retraining from the same data, parameters and seed gives the same model bytes
    versions_1 = json.loads((first / "training_report.json").read_text())["versions"]
    versions_2 = json.loads((second / "training_report.json").read_text())["versions"]
    assert versions_1.keys() == versions_2.keys()
    import mlflow

    for family in versions_1:
        name = f"interest-{family}"
        a = mlflow.lightgbm.load_model(f"models:/{name}/{versions_1[family]}")
        b = mlflow.lightgbm.load_model(f"models:/{name}/{versions_2[family]}")
        assert a.model_to_string() == b.model_to_string(), family


def test_reviewer_finds_the_evidence_on_each_model_version(workspace):
    from interestlab.modeling import tracking

    client = tracking.client()
    for family, version in workspace["demo_champions"].items():
        mv = client.get_model_version(f"interest-{family}", version)
        assert "Model card" in (mv.description or "") or "model card" in (mv.description or "")
        for key in ("training_notebook", "data_quality_report", "approval.reviewer"):
            assert key in mv.tags, (family, key, sorted(mv.tags))
        assert mv.tags["data_quality_report"].startswith("runs:/")
        assert mv.tags["gx_status"] == "True", (family, mv.tags["gx_status"])
        assert mv.tags["policy_version"] and mv.tags["data_window"]
        assert any(k.startswith("audit.") for k in mv.tags)
    runs = client.search_runs(
        [tracking.ensure_experiment("interestlab-runs")], order_by=["start_time ASC"]
    )
    assert len(runs) == 3
    assert {r.info.status for r in runs} == {"FINISHED"}
    artifacts = {a.path for a in client.list_artifacts(runs[0].info.run_id, "notebooks")}
    assert "notebooks/03_train.ipynb" in artifacts


def test_nothing_a_reviewer_browses_holds_customer_or_account_ids(workspace):
    home = workspace["home"]
    ids = bank_identifiers(home / "data" / "bank")
    assert len(ids) > N_CUSTOMERS
    browsed = reviewer_paths()
    assert home / "mlruns" in browsed
    for run_dir in _run_dirs(home):
        assert run_dir / "notebooks" in browsed and run_dir / "gx" in browsed
    assert scanned_files(browsed) > 50
    findings = scan(browsed, ids)
    assert findings == [], "\n".join(map(str, findings[:20]))
    # the scanner does see ids where they belong (the processor extracts are personal data)
    planned = pl.read_parquet(workspace["run_dir"] / "plan" / "extracts" / "letter.parquet")
    assert planned.height == 0 or set(planned["customer_id"]) <= ids


def test_a_dry_run_plans_from_candidates_and_is_never_made_current(workspace):
    assert workspace["dry_exit"] == 0
    dry = workspace["dry_dir"]
    assert _current(workspace["home"]) == workspace["run_dir"]
    assert json.loads((dry / "run.json").read_text())["published"] is False
    report = json.loads((dry / "plan_report.json").read_text())
    assert report["dry_run"] is True and report["alias"] == "candidate"
    assert not (dry / "plan" / "extracts").exists()
    assert list((dry / "plan" / "extracts-DRY-RUN-not-for-sending").glob("*.parquet"))
    plan = pl.read_parquet(dry / "plan" / "plan.parquet")
    assert set(plan["alias"].drop_nulls()) <= {"candidate"}
    assert _champions() == workspace["demo_champions"]


def test_a_failing_gate_stops_the_chain_and_touches_nothing_downstream(workspace, capsys):
    home = workspace["home"]
    champions = _champions()
    current = _current(home)
    plan_before = _digest(current / "plan")
    broken = home / "broken-bank"
    shutil.copytree(home / "data" / "bank", broken)
    customers = pl.read_parquet(broken / "customers" / "*.parquet")
    for old in (broken / "customers").glob("*.parquet"):
        old.unlink()
    customers.with_columns(pl.lit("xx").alias("language")).write_parquet(
        broken / "customers" / "part-0.parquet"
    )
    before = set(_run_dirs(home))
    code = cli.main(["run", "--as-of", AS_OF, "--bank", str(broken)])
    assert code == 2
    err = capsys.readouterr().err
    assert "01_ingest_and_validate.ipynb" in err and "cell In [" in err
    assert "GateError" in err and "language" in err
    failed = sorted(set(_run_dirs(home)) - before)
    assert len(failed) == 1
    record = json.loads((failed[0] / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["failed"]["notebook"] == "01_ingest_and_validate.ipynb"
    assert (failed[0] / "notebooks" / "01_ingest_and_validate.ipynb").is_file()
    assert not (failed[0] / "notebooks" / "02_features.ipynb").exists()
    assert _champions() == champions
    assert _current(home) == current
    assert _digest(current / "plan") == plan_before
    from interestlab.modeling import tracking

    client = tracking.client()
    logged = client.search_runs(
        [tracking.ensure_experiment("interestlab-runs")],
        filter_string=f"tags.`interestlab.run_id` = '{failed[0].name}'",
    )
    assert [r.info.status for r in logged] == ["FAILED"]


def test_a_second_run_while_one_is_active_exits_cleanly(workspace, capsys):
    from interestlab.orchestration import workspace_lock

    with workspace_lock(config.runs_dir()):
        code = cli.main(["run", "--as-of", AS_OF])
        demo_code = cli.main(["demo", "--customers", "10"])
    assert code == demo_code == cli.EXIT_LOCKED
    assert "another interestlab run holds the lock" in capsys.readouterr().err
    summary = json.loads((workspace["home"] / "data" / "bank" / "_summary.json").read_text())
    assert summary["n_customers"] == N_CUSTOMERS, "a locked-out demo touched the bank"


def test_the_demo_never_overwrites_a_delivered_bank(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERESTLAB_HOME", str(tmp_path))
    delivered = tmp_path / "data" / "bank" / "customers"
    delivered.mkdir(parents=True)
    (delivered / "part-0.parquet").write_bytes(b"delivered")
    assert cli.main(["demo", "--customers", "10"]) == 2
    assert "never overwrites a delivered bank" in capsys.readouterr().err
    assert (delivered / "part-0.parquet").read_bytes() == b"delivered"


def test_run_dates_are_checked(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--as-of", "2026-13-01"])
    assert "expected a date as YYYY-MM-DD" in capsys.readouterr().err
    assert date.fromisoformat(AS_OF)


def test_each_notebook_runs_top_to_bottom_with_its_default_parameters(workspace, tmp_path):
    """What a data scientist gets in JupyterLab: no parameter passed, the synthetic bank."""
    import papermill as pm

    for name in (
        "01_ingest_and_validate.ipynb",
        "02_features.ipynb",
        "03_train.ipynb",
        "04_contact_plan.ipynb",
    ):
        pm.execute_notebook(
            config.NOTEBOOKS_DIR / name,
            tmp_path / name,
            cwd=str(config.NOTEBOOKS_DIR),
            progress_bar=False,
            kernel_name="python3",
        )
        assert (tmp_path / name).is_file()
    manual = workspace["home"] / "runs" / f"{AS_OF}-manual"
    assert (manual / "plan" / "plan.parquet").is_file()
    assert scan([tmp_path], bank_identifiers(workspace["home"] / "data" / "bank")) == []


def test_a_missing_bank_is_a_clear_error_before_any_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INTERESTLAB_HOME", str(tmp_path))
    code = cli.main(["run", "--as-of", AS_OF, "--bank", str(tmp_path / "nowhere")])
    assert code == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "found no such folder" in err
    assert not (tmp_path / "runs").exists()

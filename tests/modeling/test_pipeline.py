import json
import sqlite3

import polars as pl
import pytest

from interestlab.modeling import CANDIDATE, alias_history, tracking
from interestlab.modeling.model_card import REQUIRED_SECTIONS


def test_report_has_metrics_versions_and_truth(trained) -> None:
    _, report = trained
    frame = report.to_frame()
    assert frame["family"].to_list() == ["mortgage", "savings"]
    assert frame["version"].to_list() == ["1", "1"]
    assert (frame["test_auc"] > 0.6).all()
    assert frame["challenger_test_auc"].is_not_null().all()
    assert frame["truth_auc"].is_not_nan().all()  # truth table given
    assert report.skipped == {}
    assert set(report.families["mortgage"].plots) >= {"roc", "reliability", "shap_summary"}
    assert all(path.is_file() for path in report.families["mortgage"].plots.values())


def test_store_is_absolute_sqlite_under_workspace_mlruns(trained_home) -> None:
    assert tracking.tracking_uri() == f"sqlite:///{trained_home / 'mlruns' / 'mlflow.db'}"
    assert (trained_home / "mlruns" / "mlflow.db").is_file()
    experiment = tracking.client().get_experiment_by_name(tracking.EXPERIMENT_NAME)
    assert experiment.artifact_location.startswith(f"file://{trained_home}/mlruns/artifacts/")


def test_a_new_stores_default_experiment_keeps_artifacts_in_mlruns(tmp_path, monkeypatch) -> None:
    # An unnamed run goes to the "Default" experiment: its artifacts must land in the store,
    # not under the working directory of whichever process created the store.
    import mlflow

    home = tmp_path / "workspace"
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.setenv("INTERESTLAB_HOME", str(home))
    monkeypatch.chdir(elsewhere)
    default = tracking.client().get_experiment("0")
    assert default.name == "Default"
    assert default.artifact_location == (home / "mlruns" / "artifacts").resolve().as_uri() + "/0"
    with mlflow.start_run(experiment_id="0"):
        mlflow.log_text("x", "probe.txt")
    assert list(elsewhere.iterdir()) == []
    assert list((home / "mlruns" / "artifacts" / "0").rglob("probe.txt"))


def test_parent_and_child_runs_carry_lineage(trained, trained_home) -> None:
    _, report = trained
    client = tracking.client()
    parent = client.get_run(report.run_id)
    for key in (
        "git_commit",
        "policy_version",
        "data_window",
        "snapshot_hashes",
        "gx_status",
        "as_of_dates",
        "trainer",
    ):
        assert parent.data.tags[key], key
    assert parent.data.tags["gx_status"] == "True"
    assert parent.data.params["lightgbm.num_leaves"] == "7"
    child = client.get_run(report.families["mortgage"].run_id)
    assert child.data.tags["mlflow.parentRunId"] == report.run_id
    assert child.data.metrics["test_auc"] == pytest.approx(
        report.families["mortgage"].metrics["auc"]
    )
    assert child.data.params["lightgbm.deterministic"] == "True"
    artifacts = {a.path for a in client.list_artifacts(child.info.run_id, "plots")}
    assert {"plots/roc.png", "plots/reliability.png", "plots/shap_summary.png"} <= artifacts


def test_registered_version_has_card_candidate_alias_and_audit(trained_home) -> None:
    client = tracking.client()
    version = client.get_model_version_by_alias("interest-mortgage", CANDIDATE)
    assert str(version.version) == "1"
    for section in REQUIRED_SECTIONS:
        assert f"## {section}" in version.description, section
    assert (
        "R1" in version.description and "R3" in version.description and "R13" in version.description
    )
    assert version.tags["trainer"] == "alice"
    history = alias_history("mortgage")
    assert history[0] | {"when": None} == {
        "alias": CANDIDATE,
        "from_version": None,
        "to_version": "1",
        "who": "alice",
        "when": None,
        "reason": f"registered by training run {history[0]['reason'].split()[-1]}",
    }


def test_no_customer_ids_in_mlflow_store_or_artifacts(trained, trained_home) -> None:
    # Every param, tag, description and metric key lives in the SQLite file; artifacts on disk.
    assert b"CUST" not in (trained_home / "mlruns" / "mlflow.db").read_bytes()
    with sqlite3.connect(trained_home / "mlruns" / "mlflow.db") as db:
        texts = [
            row[0]
            for row in db.execute("select value from params union all select value from tags")
        ]
    assert texts and not any("CUST" in str(t) for t in texts)
    files = [p for p in (trained_home / "mlruns" / "artifacts").rglob("*") if p.is_file()]
    assert any(p.name == "input_example.json" for p in files)
    for path in files:
        assert b"CUST" not in path.read_bytes(), path
    example = next(p for p in files if p.name == "input_example.json")
    assert "customer_id" not in json.loads(example.read_text())["columns"]


def test_snapshot_lineage_hashes_each_snapshot_whatever_the_stacking(training_set) -> None:
    from interestlab.features import content_hash
    from interestlab.modeling import snapshot_lineage
    from interestlab.policy import load_policy

    policy = load_policy()
    lineage = snapshot_lineage(training_set, policy=policy, oldest_input_ts=None)
    shuffled = snapshot_lineage(
        training_set.sample(fraction=1.0, shuffle=True, seed=2), policy=policy, oldest_input_ts=None
    )
    assert lineage == shuffled
    # The reference: `partition_by` (which copied the whole set at once), sorted by as-of.
    expected = [
        (as_of.isoformat(), content_hash(part.sort("customer_id")), part.height)
        for (as_of,), part in sorted(training_set.partition_by("as_of", as_dict=True).items())
    ]
    assert [(i["as_of"], i["content_hash"], i["n_rows"]) for i in lineage] == expected
    assert {i["policy_version"] for i in lineage} == {policy.version}


def test_snapshot_lineage_reuses_the_verified_hashes_of_stored_parts(
    training_set, tmp_path
) -> None:
    from interestlab.features import write_training_set
    from interestlab.features.snapshots import read_training_set
    from interestlab.modeling import snapshot_lineage
    from interestlab.policy import load_policy

    policy = load_policy()
    as_ofs = sorted(training_set["as_of"].unique().to_list())
    parts = (training_set.filter(pl.col("as_of") == t).sort("customer_id") for t in as_ofs)
    write_training_set(parts, tmp_path / "t", as_ofs=as_ofs, policy=policy, oldest_input_ts=None)
    table, stored = read_training_set(tmp_path / "t", as_of=as_ofs, policy=policy)
    hashed = snapshot_lineage(table, policy=policy, oldest_input_ts="2025-01-01")
    reused = snapshot_lineage(
        table, policy=policy, oldest_input_ts="2025-01-01", parts=stored["parts"]
    )
    assert reused == hashed
    # Parts of another table are refused, not trusted.
    with pytest.raises(ValueError, match=r"the stored parts are \(as_of, rows\)"):
        snapshot_lineage(table.head(5), policy=policy, oldest_input_ts=None, parts=stored["parts"])

"""Promotion gates, four-eyes approval and the alias audit, on versions registered directly
(a tiny booster, chosen metrics and score quantiles) so each gate can be made to fail."""

import json

import numpy as np
import pytest

from interestlab.modeling import (
    CANDIDATE,
    CHAMPION,
    PromotionRefusedError,
    RegistryError,
    alias_history,
    evaluate_gates,
    promote,
    record_approval,
    tracking,
)
from interestlab.modeling.evaluate import score_quantiles
from interestlab.modeling.promote import SCORE_QUANTILES_ARTIFACT
from interestlab.modeling.registry import register_version

GOOD = {"test_auc": 0.80, "test_top_decile_lift": 3.0, "challenger_test_auc": 0.70}
BASE_SCORES = np.random.default_rng(0).beta(2, 20, 4000)


@pytest.fixture(scope="module")
def booster():
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    data = lgb.Dataset(x, label=(x[:, 0] > 0).astype(float))
    return lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1}, data, 3)


def register(booster, *, metrics=GOOD, scores=BASE_SCORES, trainer="alice") -> str:
    import mlflow

    experiment_id = tracking.ensure_experiment()
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_metrics(metrics)
        mlflow.log_dict(score_quantiles(scores), SCORE_QUANTILES_ARTIFACT)
        info = mlflow.lightgbm.log_model(booster, name="model", pip_requirements=["lightgbm"])
    return register_version(
        info.model_uri,
        "savings",
        description="card",
        tags={"data_window": "test"},
        trainer=trainer,
        reason="test registration",
    )


def test_refused_without_approval(workspace, booster) -> None:
    version = register(booster)
    with pytest.raises(PromotionRefusedError, match="1 gate\\(s\\) failed: approval: no approval"):
        promote("savings", version=version, approver="bob")
    assert tracking.client().get_registered_model("interest-savings").aliases == {CANDIDATE: 1}


def test_trainer_cannot_record_or_use_self_approval(workspace, booster) -> None:
    version = register(booster)
    with pytest.raises(ValueError, match="`alice` trained `interest-savings` version 1 and cannot"):
        record_approval("savings", version, "alice", "looks fine")
    # A tag edited by hand in the UI does not get past the gate either.
    tracking.client().set_model_version_tag(
        "interest-savings", version, "approval.reviewer", "alice"
    )
    with pytest.raises(
        PromotionRefusedError, match="approval by the trainer `alice` does not count"
    ):
        promote("savings", version=version, approver="alice")


def test_approver_must_be_the_reviewer(workspace, booster) -> None:
    version = register(booster)
    record_approval("savings", version, "bob", "reviewed")
    with pytest.raises(PromotionRefusedError, match="approved by `bob`, but `carol` is promoting"):
        promote("savings", version=version, approver="carol")


def test_every_failing_gate_is_listed(workspace, booster) -> None:
    weak = {"test_auc": 0.60, "test_top_decile_lift": 1.2, "challenger_test_auc": 0.65}
    version = register(booster, metrics=weak)
    with pytest.raises(PromotionRefusedError, match="3 gate\\(s\\) failed") as refused:
        promote("savings", version=version, approver="bob")
    message = str(refused.value)
    assert "metrics: test AUC 0.600 (min 0.65), top-decile lift 1.20 (min 2.0)" in message
    assert "challenger: AUC gain over the challenger -0.050" in message
    assert "approval: no approval recorded" in message


def test_gate_thresholds_come_from_params(workspace, booster) -> None:
    version = register(booster)
    record_approval("savings", version, "bob")
    decision = evaluate_gates(
        "savings", version=version, approver="bob", params={"gates": {"min_auc": 0.9}}
    )
    assert [g.name for g in decision.failures] == ["metrics"]


def test_promotion_with_approval_then_stability_gate_and_audit(workspace, booster) -> None:
    first = register(booster)
    record_approval("savings", first, "bob", "metrics, segments and card reviewed")
    decision = promote("savings", version=first, approver="bob")
    assert decision.passed and "no current champion" in decision.gates[2].detail
    client = tracking.client()
    assert str(client.get_model_version_by_alias("interest-savings", CHAMPION).version) == first

    shifted = register(booster, scores=np.random.default_rng(1).beta(8, 8, 4000))
    record_approval("savings", shifted, "bob")
    with pytest.raises(
        PromotionRefusedError, match="stability: score PSI vs champion version 1 = "
    ):
        promote("savings", version=shifted, approver="bob")

    stable = register(booster, scores=np.random.default_rng(2).beta(2, 20, 4000))
    record_approval("savings", stable, "bob")
    promote("savings", version=stable, approver="bob", reason="monthly retrain")
    assert str(client.get_model_version_by_alias("interest-savings", CHAMPION).version) == "3"

    moves = [
        (h["alias"], h["from_version"], h["to_version"], h["who"]) for h in alias_history("savings")
    ]
    assert moves == [
        (CANDIDATE, None, "1", "alice"),
        (CHAMPION, None, "1", "bob"),
        (CANDIDATE, "1", "2", "alice"),
        (CANDIDATE, "2", "3", "alice"),
        (CHAMPION, "1", "3", "bob"),
    ]
    assert alias_history("savings")[-1]["reason"] == "monthly retrain"
    old = client.get_model_version("interest-savings", "1").tags
    audit = [json.loads(v) for k, v in old.items() if k.startswith("audit.")]
    assert {(a["alias"], a["to_version"]) for a in audit} == {
        (CANDIDATE, "1"),
        (CHAMPION, "1"),
        (CANDIDATE, "2"),
        (CHAMPION, "3"),
    }
    assert old["approval.reviewer"] == "bob" and old["alias.champion.set_by"] == "bob"


def test_unknown_version_and_model(workspace, booster) -> None:
    register(booster)
    with pytest.raises(RegistryError, match="`interest-savings` has no version 9"):
        promote("savings", version=9, approver="bob")
    with pytest.raises(RegistryError, match="no registered model `interest-mortgage`"):
        alias_history("mortgage")
    with pytest.raises(ValueError, match="`reviewer` must be a non-empty name"):
        record_approval("savings", 1, " ")


def test_registration_drops_mlflow_progress_lines_only(workspace, booster, capfd) -> None:
    register(booster)
    register(booster)  # the second one: "Registered model ... already exists" in MLflow
    printed = capfd.readouterr().err
    assert "already exists. Creating a new version" not in printed
    assert "Created version" not in printed
    assert tracking.client().get_registered_model("interest-savings").aliases == {CANDIDATE: 2}

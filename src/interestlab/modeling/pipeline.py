"""`train_all`: the edge that trains every family, logs to MLflow and registers candidates.

One MLflow run per training (the parent: lineage, GX summary, parameters, the report) with one
nested child run per family (its metrics, plots, model card and model). The registered
version's description is the model card; lineage goes into version tags as well, so a reviewer
finds it on the version page. Nothing personal is logged: the input example is synthetic,
artifacts are aggregates (curves, bins, importances, quantiles).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from interestlab.memory import long_lived_frozen, release_memory
from interestlab.modeling import plots, tracking
from interestlab.modeling.model_card import gate_status, render_model_card, run_note
from interestlab.modeling.promote import SCORE_QUANTILES_ARTIFACT
from interestlab.modeling.registry import register_version
from interestlab.modeling.train import (
    FamilyResult,
    SplitInfo,
    assign_split,
    check_training_set,
    evaluate_family,
    feature_catalogue,
    fit_families,
    lightgbm_params,
    resolve_params,
    row_order,
    score_test_months,
)
from interestlab.policy import Policy
from interestlab.progress import step

HEADLINE_METRICS = (
    "auc",
    "average_precision",
    "top_decile_lift",
    "top_decile_capture",
    "brier",
    "calibration_error",
)


@dataclass
class FamilyReport:
    family: str
    run_id: str
    version: str
    counts: dict[str, int]
    metrics: dict[str, float]
    challenger_metrics: dict[str, float]
    truth: dict[str, float]
    best_iteration: int
    earns_its_place: bool
    plots: dict[str, Path] = field(default_factory=dict)
    model_card: str = ""


@dataclass
class TrainingReport:
    """What `train_all` did: one entry per trained family, the skipped ones with the reason."""

    run_id: str
    experiment_id: str
    split: SplitInfo
    families: dict[str, FamilyReport]
    skipped: dict[str, str]
    results: dict[str, FamilyResult] = field(default_factory=dict, repr=False)

    def to_frame(self) -> pl.DataFrame:
        """One row per family: version, counts, headline metrics of both models, truth AUC."""
        rows = []
        for family, report in self.families.items():
            rows.append(
                {
                    "family": family,
                    "version": report.version,
                    "n_train": report.counts["n_train"],
                    "n_test": report.counts["n_test"],
                    "positives_test": report.counts["positives_test"],
                    "best_iteration": report.best_iteration,
                    **{f"test_{m}": report.metrics[m] for m in HEADLINE_METRICS},
                    "challenger_test_auc": report.challenger_metrics["auc"],
                    "earns_its_place": report.earns_its_place,
                    "truth_auc": report.truth.get("truth_auc", float("nan")),
                    "skipped": None,
                }
            )
        rows += [{"family": family, "skipped": reason} for family, reason in self.skipped.items()]
        return pl.DataFrame(rows, infer_schema_length=None)


def _lineage_tags(
    *,
    split: SplitInfo,
    lineage: list[dict[str, Any]],
    gx_summary: dict[str, Any] | None,
    policy: Policy,
    trainer: str,
    seed: int,
    commit: str,
) -> dict[str, str]:
    gx = gx_summary or {}
    return {
        "trainer": trainer,
        "git_commit": commit,
        "policy_version": policy.version,
        "policy_sha256": policy.sha256[:12],
        "data_window": split.data_window,
        "as_of_dates": ",".join(split.as_of_dates),
        "train_months": ",".join(split.train_months),
        "valid_month": split.valid_month,
        "test_months": ",".join(split.test_months),
        "snapshot_hashes": ",".join(str(item.get("content_hash", ""))[:16] for item in lineage),
        "snapshot_as_of": ",".join(str(item.get("as_of", "")) for item in lineage),
        "oldest_input_ts": min(
            (str(i["oldest_input_ts"]) for i in lineage if i.get("oldest_input_ts")), default=""
        ),
        "gx_status": gate_status(gx),
        "seed": str(seed),
    }


def _input_example(features: list[str]) -> Any:
    """Two synthetic rows (all zeros, all ones): shows the schema, describes nobody."""
    import pandas as pd

    return pd.DataFrame(
        np.vstack([np.zeros(len(features)), np.ones(len(features))]).astype(np.float32),
        columns=features,
    )


def _pip_requirements() -> list[str]:
    import lightgbm
    import mlflow
    import pandas

    return [
        f"mlflow=={mlflow.__version__}",
        f"lightgbm=={lightgbm.__version__}",
        f"numpy=={np.__version__}",
        f"pandas=={pandas.__version__}",
    ]


def _write_family_artifacts(result: FamilyResult, card: str, folder: Path) -> None:
    # The PNG plots are already in `folder / "plots"` (`plots.write_family_plots`).
    (folder / "evaluation").mkdir(parents=True, exist_ok=True)
    result.segments.write_csv(folder / "evaluation" / "segments.csv")
    result.reliability.write_csv(folder / "evaluation" / "reliability.csv")
    result.importance.write_csv(folder / "evaluation" / "importance_gain.csv")
    result.shap.write_csv(folder / "evaluation" / "shap_summary.csv")
    (folder / SCORE_QUANTILES_ARTIFACT).write_text(json.dumps(result.score_quantiles))
    (folder / "model_card.md").write_text(card)


def _plot_worker() -> Any:
    """One spawned process that renders a family's plots while the next family is evaluated
    and the previous one logged (matplotlib holds the GIL: a thread would not overlap)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _family_metrics(result: FamilyResult) -> dict[str, float]:
    metrics = {f"test_{k}": v for k, v in result.metrics.items()}
    metrics |= {f"challenger_test_{k}": v for k, v in result.challenger_metrics.items()}
    metrics |= {f"valid_{k}": v for k, v in result.valid_metrics.items()}
    metrics |= {k: float(v) for k, v in result.truth.items()}
    metrics |= {k: float(v) for k, v in result.counts.items()}
    metrics["best_iteration"] = float(result.best_iteration)
    metrics["auc_gain_over_challenger"] = result.metrics["auc"] - result.challenger_metrics["auc"]
    return {k: float(v) for k, v in metrics.items()}


def train_all(
    training_set: pl.DataFrame,
    *,
    families: list[str],
    params: dict[str, Any],
    seed: int,
    n_test_months: int,
    lineage: list[dict[str, Any]],
    gx_summary: dict[str, Any] | None,
    policy: Policy,
    trainer: str,
    truth: pl.DataFrame | None = None,
    output_dir: Path | None = None,
) -> TrainingReport:
    """Train, evaluate, log and register one interest model per family (R4).

    Parameters
    ----------
    training_set : stacked snapshots: `customer_id`, `as_of`, numeric features and one
        `label__<family>` column per family (null = already holds the family: not eligible).
    families : families offered by the group (at least one `provider_in_group` product).
    params : overrides of `train.DEFAULT_PARAMS` (`lightgbm`, `negative_rate`, `gates`, ...).
    n_test_months : latest as-of months held out as the out-of-time test set.
    lineage : snapshot lineage dicts (`as_of`, `policy_version`, `content_hash`, `n_rows`,
        `oldest_input_ts`), logged as artifact and tags.
    gx_summary : summary of the data-quality gate of the data used (its `success` is tagged).
    trainer : who trains (recorded; they cannot approve the resulting versions).
    truth : synthetic bank only: `customer_id`, `family`, latent interest -> truth AUC.
    output_dir : local copies of plots and model cards (the notebook shows them).

    Returns
    -------
    TrainingReport : per family the metrics, child run id and registered version.

    Memory: besides `training_set` itself (not copied), the families' shared training rows
    (float32 until LightGBM has binned them, then one byte per value) and one family's
    subset at a time (`fit_families`), then one chunk of test rows and every family's test
    scores (`score_test_months`); the report keeps aggregates only.
    """
    trainer = (trainer or "").strip()
    if not trainer:
        msg = "`trainer` must be a non-empty name, got an empty string"
        raise ValueError(msg)
    # The modules imported and the MLflow store opened before the long-lived objects are
    # frozen: `release_memory` runs after every family, and each full collection would
    # traverse their ~170k objects again (~0.1 s a call, 0.13 s at full size).
    import lightgbm  # noqa: F401
    import mlflow
    import mlflow.lightgbm  # noqa: F401
    from mlflow.models import infer_signature  # noqa: F401
    from sklearn.linear_model import LogisticRegression  # noqa: F401

    experiment_id = tracking.ensure_experiment()
    with long_lived_frozen():
        resolved = resolve_params(params)
        features = check_training_set(training_set, families=families)
        frame, split = assign_split(training_set, n_test_months=n_test_months, policy=policy)
        order = row_order(frame)  # one key sort shared by every family
        catalogue = feature_catalogue()
        commit = tracking.git_commit()
        tags = _lineage_tags(
            split=split,
            lineage=lineage,
            gx_summary=gx_summary,
            policy=policy,
            trainer=trainer,
            seed=seed,
            commit=commit,
        )
        step(
            f"train: {len(families)} families, {training_set.height:,} rows x {len(features)} features;"
            f" test months {', '.join(split.test_months)}"
        )
        reports: dict[str, FamilyReport] = {}
        results: dict[str, FamilyResult] = {}
        with tempfile.TemporaryDirectory(prefix="interestlab-train-") as scratch:
            base = Path(output_dir) if output_dir is not None else Path(scratch)
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=f"train {split.data_window}", tags=tags
            ) as parent:
                mlflow.log_params(
                    tracking.flatten(resolved)
                    | {
                        "seed": seed,
                        "n_test_months": n_test_months,
                        "families": ",".join(families),
                        "n_features": len(features),
                    }
                )
                mlflow.log_dict({"snapshots": lineage}, "lineage/snapshots.json")
                mlflow.log_dict(gx_summary or {}, "lineage/gx_summary.json")
                mlflow.log_dict(split.to_dict(), "lineage/split.json")
                # Fit every family first (their training rows gathered and binned once, each
                # family trained on its subset), score the test months once for all of them (each
                # chunk gathered once), then evaluate and log each.
                step(f"train: fitting {len(families)} families on shared bins")

                def fitted_one(family: str) -> None:
                    step(f"train: {family} fitted")
                    # Hand the family's freed arrays back to the system before the next one
                    # (glibc keeps freed arenas otherwise, and RSS grows family by family).
                    release_memory()

                fitted, skipped = fit_families(
                    frame,
                    families,
                    features=features,
                    params=resolved,
                    seed=seed,
                    order=order,
                    on_fitted=fitted_one,
                )
                for family, reason in skipped.items():
                    step(f"train: {family} skipped: {reason}")
                release_memory()
                with _plot_worker() as plotter:
                    step(f"train: scoring the test months for {len(fitted)} families")
                    scores = score_test_months(frame, fitted, features)
                    # The worker starts (spawn, imports) once LightGBM no longer uses both cores:
                    # a busy third thread slows its OpenMP loops sharply.
                    plotter.submit(plots.warm_up)

                    # Pipelined: family k's plots render in the worker while the main process
                    # evaluates family k+1, then logs family k (its plots done by then).
                    def log(result: FamilyResult, plotted: Any) -> None:
                        family = result.family
                        reports[family] = _log_family(
                            result,
                            plot_paths=plotted.result(),  # the PNGs, in `base / family / "plots"`
                            base=base / family,
                            tags=tags,
                            resolved=resolved,
                            split=split,
                            policy=policy,
                            lineage=lineage,
                            gx_summary=gx_summary,
                            trainer=trainer,
                            seed=seed,
                            commit=commit,
                            catalogue=catalogue,
                            experiment_id=experiment_id,
                            parent_run_id=parent.info.run_id,
                            keep_plots=output_dir is not None,
                        )
                        results[family] = result
                        step(
                            f"train: {family} version {reports[family].version}: test AUC"
                            f" {result.metrics['auc']:.3f}"
                            f" (challenger {result.challenger_metrics['auc']:.3f})"
                        )

                    pending: tuple[FamilyResult, Any] | None = None
                    for fit in fitted:
                        result = evaluate_family(
                            frame,
                            fit,
                            scores.pop(fit.family),
                            features=features,
                            params=resolved,
                            seed=seed,
                            truth=truth,
                        )
                        plotted = plotter.submit(
                            plots.write_family_plots,
                            dataclasses.replace(result, booster=None),
                            base / fit.family / "plots",
                        )
                        if pending is not None:
                            log(*pending)
                        pending = (result, plotted)
                    if pending is not None:
                        log(*pending)
                report = TrainingReport(
                    parent.info.run_id, experiment_id, split, reports, skipped, results
                )
                summary = report.to_frame()
                mlflow.log_text(summary.write_csv(), "training_report.csv")
                mlflow.log_dict(skipped, "skipped_families.json")
                mlflow.set_tag("families_trained", ",".join(reports))
        return report


def _log_family(
    result: FamilyResult,
    *,
    base: Path,
    tags: dict[str, str],
    resolved: dict[str, Any],
    split: SplitInfo,
    policy: Policy,
    lineage: list[dict[str, Any]],
    gx_summary: dict[str, Any] | None,
    trainer: str,
    seed: int,
    commit: str,
    catalogue: dict[str, Any],
    experiment_id: str,
    parent_run_id: str,
    keep_plots: bool,
    plot_paths: dict[str, Path],
) -> FamilyReport:
    import mlflow
    from mlflow.models import infer_signature

    family = result.family
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=family,
        nested=True,
        tags=tags | {"family": family, "parent_run_id": parent_run_id},
    ) as child:
        run_id = child.info.run_id
        card = render_model_card(
            result,
            split=split,
            params=resolved,
            policy=policy,
            lineage=lineage,
            gx_summary=gx_summary,
            trainer=trainer,
            run_id=run_id,
            git_commit=commit,
            seed=seed,
            catalogue=catalogue,
        )
        _write_family_artifacts(result, card, base)
        mlflow.log_params(
            tracking.flatten(lightgbm_params(resolved, seed=seed), prefix="lightgbm.")
            | {
                "negative_rate": resolved["negative_rate"],
                "num_boost_round": resolved["num_boost_round"],
                "early_stopping_rounds": resolved["early_stopping_rounds"],
                "categorical_features": ",".join(result.categorical) or "none",
                "challenger": "logistic_regression",
            }
        )
        mlflow.log_metrics(_family_metrics(result))
        mlflow.log_artifacts(str(base), artifact_path=None)
        example = _input_example(result.features)
        signature = infer_signature(example, result.booster.predict(example.to_numpy()))
        info = mlflow.lightgbm.log_model(
            result.booster,
            name="model",
            signature=signature,
            input_example=example,
            pip_requirements=_pip_requirements(),
        )
        mlflow.set_tag("mlflow.note.content", run_note(card))
    version = register_version(
        info.model_uri,
        family,
        description=card,
        tags=tags
        | {
            "family": family,
            "run_id": run_id,
            "parent_run_id": parent_run_id,
            "test_auc": f"{result.metrics['auc']:.4f}",
            "challenger_test_auc": f"{result.challenger_metrics['auc']:.4f}",
        },
        trainer=trainer,
        reason=f"registered by training run {parent_run_id}",
    )
    return FamilyReport(
        family=family,
        run_id=run_id,
        version=version,
        counts=result.counts,
        metrics=result.metrics,
        challenger_metrics=result.challenger_metrics,
        truth=result.truth,
        best_iteration=result.best_iteration,
        earns_its_place=result.earns_its_place,
        plots=plot_paths if keep_plots else {},
        model_card=card,
    )


def snapshot_lineage(
    training_set: pl.DataFrame,
    *,
    policy: Policy,
    oldest_input_ts: Any,
    parts: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Lineage dict per as-of snapshot of a training set (`as_of`, `policy_version`,
    `content_hash`, `n_rows`, `oldest_input_ts`), the form `train_all` logs.

    The hash is `interestlab.features.content_hash` of the snapshot's rows, sorted by
    `customer_id`, so the same snapshot gives the same hash whatever the stacking order.
    `parts`: the verified part lineage of a stored training set
    (`features.snapshots.read_training_set`, one part per as-of, sorted by `customer_id`):
    their hashes are the same and are reused after checking that the as-of dates and row
    counts match the training set, instead of hashing every snapshot again.
    """
    from interestlab.features import content_hash

    oldest = (
        oldest_input_ts.isoformat() if hasattr(oldest_input_ts, "isoformat") else oldest_input_ts
    )
    counts = training_set.group_by("as_of").len().sort("as_of")
    if parts is not None:
        found = [(as_of.isoformat(), n) for as_of, n in counts.iter_rows()]
        stored = [(str(part["as_of"]), int(part["n_rows"])) for part in parts]
        if found != stored:
            msg = (
                f"snapshot_lineage: the stored parts are (as_of, rows) {stored}, the training"
                f" set has {found}; pass the lineage of the parts it was read from"
            )
            raise ValueError(msg)
        return [
            {
                "as_of": as_of,
                "policy_version": policy.version,
                "content_hash": str(part["content_hash"]),
                "n_rows": n_rows,
                "oldest_input_ts": oldest,
            }
            for (as_of, n_rows), part in zip(found, parts, strict=True)
        ]
    lineage = []
    # One snapshot at a time (a filter and a sort of ~1/12 of the rows), not `partition_by`,
    # which copies the whole training set at once.
    for as_of in counts.get_column("as_of").to_list():
        snapshot = training_set.filter(pl.col("as_of") == as_of).sort("customer_id")
        lineage.append(
            {
                "as_of": as_of.isoformat(),
                "policy_version": policy.version,
                "content_hash": content_hash(snapshot),
                "n_rows": snapshot.height,
                "oldest_input_ts": oldest,
            }
        )
        del snapshot
    return lineage

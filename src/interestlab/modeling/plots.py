"""Evaluation plots as matplotlib `Figure` objects (no pyplot state, no files).

The tracking edge saves them as PNG artifacts; the notebook shows the same PNGs. Every plot
shows aggregates or model quantities only (curves, bins, SHAP values) - no identifiers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

SIZE = (6.0, 4.2)
SHAP_TOP = 15
IMPORTANCE_TOP = 20


def _figure(size: tuple[float, float] = SIZE) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _curves(curve: pl.DataFrame) -> list[tuple[str, str, pl.DataFrame]]:
    """(model name, legend label, rows) per model of a curve frame, in its order."""
    from interestlab.modeling.challenger import CHALLENGER_NAME
    from interestlab.modeling.train import MODEL_NAME

    labels = {MODEL_NAME: "LightGBM", CHALLENGER_NAME: "challenger"}
    return [
        (model, labels.get(model, model), curve.filter(pl.col("model") == model))
        for model in curve["model"].unique(maintain_order=True).to_list()
    ]


def roc_figure(roc: pl.DataFrame, aucs: dict[str, float], *, title: str) -> Any:
    """ROC curves of the model and the challenger on the out-of-time test set.

    `roc` has `model, fpr, tpr` (`evaluate.roc_points` per model); `aucs` the test AUC per
    model name.
    """
    figure, axes = _figure()
    for model, label, curve in _curves(roc):
        axes.plot(curve["fpr"], curve["tpr"], label=f"{label} (AUC {aucs[model]:.3f})")
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    axes.legend(loc="lower right")
    return figure


def gains_figure(gains: pl.DataFrame, *, title: str) -> Any:
    """Cumulative capture of positives by share of customers contacted (gains chart).

    `gains` has `model, share, capture` (`evaluate.gains_points` per model).
    """
    figure, axes = _figure()
    for _, label, curve in _curves(gains):
        axes.plot(curve["share"], curve["capture"], label=label)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="random")
    axes.axvline(0.1, color="grey", linewidth=0.8)
    axes.set(
        xlabel="share of customers (highest scores first)",
        ylabel="share of positives captured",
        title=title,
    )
    axes.legend(loc="lower right")
    return figure


def reliability_figure(reliability: pl.DataFrame, challenger: pl.DataFrame, *, title: str) -> Any:
    """Reliability curve: mean predicted score vs observed rate per score decile."""
    figure, axes = _figure()
    for name, curve in (("LightGBM", reliability), ("challenger", challenger)):
        axes.plot(curve["mean_score"], curve["observed_rate"], marker="o", label=name)
    top = max(
        float(reliability["mean_score"].max() or 0),
        float(reliability["observed_rate"].max() or 0),
        float(challenger["mean_score"].max() or 0),
        1e-3,
    )
    axes.plot([0, top], [0, top], linestyle=":", color="grey", label="perfect calibration")
    axes.set(xlabel="mean predicted score", ylabel="observed rate", title=title)
    axes.legend(loc="upper left")
    return figure


def importance_figure(importance: pl.DataFrame, *, title: str, top: int = IMPORTANCE_TOP) -> Any:
    """Share of total split gain of the most important features."""
    head = importance.head(top).reverse()
    figure, axes = _figure((6.5, 0.3 * head.height + 1.2))
    axes.barh(head["feature"].to_list(), head["share"].to_numpy())
    axes.set(xlabel="share of total gain", title=title)
    axes.tick_params(axis="y", labelsize=7)
    return figure


def shap_figure(
    shap_values: np.ndarray,
    shap_features: np.ndarray,
    names: list[str],
    *,
    title: str,
    top: int = SHAP_TOP,
    seed: int = 0,
) -> Any:
    """SHAP summary (beeswarm-like): per feature the SHAP value of each sampled row, coloured
    by the feature value's rank (low = blue, high = red)."""
    shap = np.asarray(shap_values)[:, :-1]
    order = np.argsort(-np.abs(shap).mean(axis=0), kind="stable")[:top][::-1]
    figure, axes = _figure((6.5, 0.32 * len(order) + 1.3))
    jitter = np.random.default_rng(seed).uniform(-0.3, 0.3, size=shap.shape[0])
    for position, j in enumerate(order):
        values = shap_features[:, j].astype(np.float64)
        ranks = pl.Series(values).rank("average").fill_nan(None).to_numpy()
        colour = np.where(np.isnan(ranks), 0.5, (ranks - 1) / max(len(values) - 1, 1))
        axes.scatter(
            shap[:, j],
            position + jitter,
            c=colour,
            cmap="coolwarm",
            s=4,
            alpha=0.6,
            vmin=0,
            vmax=1,
            linewidths=0,
        )
    axes.set_yticks(range(len(order)), [names[j] for j in order], fontsize=7)
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set(xlabel="SHAP value (log-odds contribution)", title=title)
    return figure


def segment_figure(segments: pl.DataFrame, *, title: str) -> Any:
    """Test AUC per segment level (language, age band, segment)."""
    data = segments.filter(pl.col("auc").is_not_nan()).reverse()
    figure, axes = _figure((6.0, 0.28 * max(data.height, 1) + 1.3))
    labels = [f"{s}: {level}" for s, level in zip(data["segment"], data["level"], strict=True)]
    axes.barh(labels, data["auc"].to_numpy())
    axes.axvline(0.5, color="grey", linestyle=":")
    axes.set(xlabel="test AUC", xlim=(0.4, 1.0), title=title)
    axes.tick_params(axis="y", labelsize=7)
    return figure


def family_figures(result: Any) -> dict[str, Any]:
    """All evaluation figures of one `FamilyResult`, keyed by PNG file stem."""
    from interestlab.modeling.challenger import CHALLENGER_NAME
    from interestlab.modeling.train import MODEL_NAME

    family = result.family.replace("_", " ")
    aucs = {MODEL_NAME: result.metrics["auc"], CHALLENGER_NAME: result.challenger_metrics["auc"]}
    figures = {
        "roc": roc_figure(
            result.roc,
            aucs,
            title=f"{family}: ROC, out-of-time test",
        ),
        "gains": gains_figure(result.gains, title=f"{family}: cumulative gains"),
        "reliability": reliability_figure(
            result.reliability,
            result.challenger_reliability,
            title=f"{family}: reliability (calibration)",
        ),
        "importance": importance_figure(
            result.importance, title=f"{family}: feature importance (gain)"
        ),
        "shap_summary": shap_figure(
            result.shap_values,
            result.shap_features,
            result.features,
            title=f"{family}: SHAP summary (test sample)",
        ),
    }
    if result.segments.height:
        figures["segments"] = segment_figure(result.segments, title=f"{family}: AUC per segment")
    return figures


def warm_up() -> None:
    """Import matplotlib's figure and Agg canvas (a worker process calls it once, early)."""
    from matplotlib.backends import backend_agg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401


def write_family_plots(result: Any, folder: Any) -> dict[str, Any]:
    """Render `family_figures(result)` as PNG files in `folder`: `{stem: path}`.

    Runs in the training's plot worker process (`pipeline.train_all`), so it takes a
    result without its booster (`dataclasses.replace(result, booster=None)`).
    """
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, figure in family_figures(result).items():
        path = folder / f"{stem}.png"
        figure.savefig(path)
        paths[stem] = path
    return paths

"""Evaluation of propensity scores: pure functions over arrays and polars frames.

Nothing here trains, reads files or talks to MLflow, so every metric is testable on a handful
of literal values. Scores are probabilities in [0, 1]; labels are 0/1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

N_DECILES = 10
PSI_EPSILON = 1e-4
QUANTILE_POINTS = 101
# Points kept of a ROC or gains curve: what a plot can show, whatever the test-set size.
CURVE_POINTS = 1001


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        msg = (
            "`labels` and `scores` must be 1-d of equal length,"
            f" got {labels.shape} and {scores.shape}"
        )
        raise ValueError(msg)
    return labels, scores


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    labels, scores = _check(labels, scores)
    if labels.size == 0 or np.unique(labels).size < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    labels, scores = _check(labels, scores)
    if labels.size == 0 or labels.sum() == 0:
        return float("nan")
    return float(average_precision_score(labels, scores))


def brier_score(labels: np.ndarray, scores: np.ndarray) -> float:
    labels, scores = _check(labels, scores)
    if labels.size == 0:
        return float("nan")
    return float(np.mean((scores - labels) ** 2))


def top_fraction(
    labels: np.ndarray, scores: np.ndarray, *, fraction: float = 0.1
) -> dict[str, float]:
    """Lift and capture of the `fraction` highest scores (ties broken by position, stably).

    Lift = positive rate among the top / overall positive rate; capture = share of all
    positives found in the top.

    Examples
    --------
    >>> top_fraction(np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0]), np.arange(10)[::-1] / 10)
    {'lift': 5.0, 'capture': 0.5}
    """
    labels, scores = _check(labels, scores)
    if not 0 < fraction <= 1:
        msg = f"`fraction` must be in (0, 1], got {fraction!r}"
        raise ValueError(msg)
    n_top = max(1, int(round(labels.size * fraction)))
    total = labels.sum()
    if labels.size == 0 or total == 0:
        return {"lift": float("nan"), "capture": float("nan")}
    order = np.argsort(-scores, kind="stable")[:n_top]
    found = labels[order].sum()
    return {
        "lift": float((found / n_top) / (total / labels.size)),
        "capture": float(found / total),
    }


def reliability_curve(
    labels: np.ndarray, scores: np.ndarray, *, n_bins: int = N_DECILES
) -> pl.DataFrame:
    """Mean score vs observed rate per score-quantile bin (a calibration / reliability curve)."""
    labels, scores = _check(labels, scores)
    if labels.size == 0:
        return pl.DataFrame(
            schema={
                "bin": pl.Int32,
                "n": pl.Int64,
                "mean_score": pl.Float64,
                "observed_rate": pl.Float64,
            }
        )
    # Rank of each score (ties by position): the inverse of the stable sort permutation.
    ranks = np.empty(labels.size, dtype=np.int64)
    ranks[np.argsort(scores, kind="stable")] = np.arange(labels.size)
    bins = (ranks * n_bins // labels.size).astype(np.int32)
    return (
        pl.DataFrame({"bin": bins, "score": scores, "label": labels})
        .group_by("bin")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("score").mean().alias("mean_score"),
            pl.col("label").mean().alias("observed_rate"),
        )
        .sort("bin")
    )


def expected_calibration_error(curve: pl.DataFrame) -> float:
    """Count-weighted mean |mean score - observed rate| over the bins of `reliability_curve`."""
    if curve.height == 0:
        return float("nan")
    weights = curve["n"].to_numpy() / curve["n"].sum()
    gaps = np.abs(curve["mean_score"].to_numpy() - curve["observed_rate"].to_numpy())
    return float(np.sum(weights * gaps))


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, *, reliability: pl.DataFrame | None = None
) -> dict[str, float]:
    """The headline metrics of one model on one sample (all floats, NaN where undefined).

    `reliability` is `reliability_curve(labels, scores)` when the caller already has it (it is
    computed otherwise): the calibration error is read from it.
    """
    labels, scores = _check(labels, scores)
    if reliability is None:
        reliability = reliability_curve(labels, scores)
    top = top_fraction(labels, scores, fraction=0.1)
    return {
        "auc": roc_auc(labels, scores),
        "average_precision": average_precision(labels, scores),
        "top_decile_lift": top["lift"],
        "top_decile_capture": top["capture"],
        "brier": brier_score(labels, scores),
        "calibration_error": expected_calibration_error(reliability),
        "positive_rate": float(labels.mean()) if labels.size else float("nan"),
        "mean_score": float(scores.mean()) if scores.size else float("nan"),
    }


def segment_metrics(
    segments: pl.DataFrame, labels: np.ndarray, scores: np.ndarray, *, min_rows: int = 1
) -> pl.DataFrame:
    """AUC, positive rate and mean score per level of each segment column.

    Parameters
    ----------
    segments : one column per segmentation (e.g. `language`, `age band`), string levels,
        aligned row by row with `labels` and `scores`.
    min_rows : levels with fewer rows are left out (their AUC would be noise, and tiny
        cells come close to describing individuals).
    """
    labels, scores = _check(labels, scores)
    if segments.height != labels.size:
        msg = f"`segments` has {segments.height} rows, expected {labels.size} (one per score)"
        raise ValueError(msg)
    rows: list[dict[str, Any]] = []
    for column in segments.columns:
        # Row positions per level in one polars group-by (not one comparison per level).
        groups = (
            segments.select(
                pl.col(column).cast(pl.String).fill_null("unknown").alias("level"),
                pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
            )
            .group_by("level")
            .agg("row")
            .sort("level")
        )
        for level, positions in zip(groups["level"], groups["row"], strict=True):
            n = positions.len()
            if n < min_rows:
                continue
            index = np.sort(positions.to_numpy())  # row order, as the sums were before
            rows.append(
                {
                    "segment": column,
                    "level": level,
                    "n": n,
                    "positives": int(labels[index].sum()),
                    "positive_rate": float(labels[index].mean()),
                    "mean_score": float(scores[index].mean()),
                    "auc": roc_auc(labels[index], scores[index]),
                }
            )
    schema = {
        "segment": pl.String,
        "level": pl.String,
        "n": pl.Int64,
        "positives": pl.Int64,
        "positive_rate": pl.Float64,
        "mean_score": pl.Float64,
        "auc": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _thin(n_points: int, max_points: int) -> np.ndarray:
    """At most `max_points` evenly spaced positions of `n_points`, first and last included."""
    if n_points <= max_points:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, max_points).round().astype(np.int64))


def roc_points(
    labels: np.ndarray, scores: np.ndarray, *, max_points: int = CURVE_POINTS
) -> pl.DataFrame:
    """`fpr`, `tpr` of the ROC curve (scikit-learn's corners), thinned to `max_points` for
    plotting: an aggregate of the test set, not one point per row."""
    from sklearn.metrics import roc_curve

    labels, scores = _check(labels, scores)
    if labels.size == 0 or np.unique(labels).size < 2:
        return pl.DataFrame(schema={"fpr": pl.Float64, "tpr": pl.Float64})
    fpr, tpr, _ = roc_curve(labels, scores)
    keep = _thin(fpr.size, max_points)
    return pl.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]})


def gains_points(
    labels: np.ndarray, scores: np.ndarray, *, max_points: int = CURVE_POINTS
) -> pl.DataFrame:
    """Cumulative gains: `share` of rows taken (highest scores first, ties by position) and
    `capture`, the share of all positives among them; from (0, 0) to (1, 1), thinned to
    `max_points`.

    Examples
    --------
    >>> labels, scores = np.array([1.0, 0.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.1, 0.2])
    >>> gains_points(labels, scores)["capture"].to_list()
    [0.0, 0.5, 0.5, 1.0, 1.0]
    """
    labels, scores = _check(labels, scores)
    order = np.argsort(-scores, kind="stable")
    captured = np.concatenate([[0.0], np.cumsum(labels[order])])
    captured /= max(float(captured[-1]), 1.0)
    keep = _thin(captured.size, max_points)
    return pl.DataFrame({"share": keep / max(labels.size, 1), "capture": captured[keep]})


def score_quantiles(scores: np.ndarray, *, n_points: int = QUANTILE_POINTS) -> list[float]:
    """`n_points` evenly spaced quantiles (0 %..100 %) of the scores: an aggregate that stands
    in for the score distribution when a later version is compared to this one (PSI)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        msg = "`scores` is empty; expected at least one score to summarise"
        raise ValueError(msg)
    return [float(q) for q in np.quantile(scores, np.linspace(0.0, 1.0, n_points))]


def _cdf_from_quantiles(quantiles: np.ndarray, points: np.ndarray) -> np.ndarray:
    probabilities = np.linspace(0.0, 1.0, quantiles.size)
    # Repeated quantile values (point masses) -> take the largest probability at that value.
    values, last = np.unique(quantiles[::-1], return_index=True)
    probs = probabilities[::-1][last]
    return np.interp(points, values, probs, left=0.0, right=1.0)


def psi_from_quantiles(
    reference: list[float] | np.ndarray,
    current: list[float] | np.ndarray,
    *,
    n_bins: int = N_DECILES,
) -> float:
    """Population stability index of `current` vs `reference` score distributions.

    Both are given as quantile tables (`score_quantiles`); bins are the reference deciles.
    PSI = sum((a - e) * ln(a / e)); < 0.1 stable, 0.1-0.25 shifting, > 0.25 shifted.

    Examples
    --------
    >>> q = score_quantiles(np.linspace(0, 1, 1001))
    >>> round(psi_from_quantiles(q, q), 6)
    0.0
    """
    reference = np.asarray(reference, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    if reference.size < 2 or current.size < 2:
        msg = f"quantile tables need at least 2 points, got {reference.size} and {current.size}"
        raise ValueError(msg)
    edges = np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1])
    # Use the reference's own quantile table to get its mass per bin (handles ties).
    ref_cdf = np.concatenate([[0.0], _cdf_from_quantiles(reference, edges), [1.0]])
    cur_cdf = np.concatenate([[0.0], _cdf_from_quantiles(current, edges), [1.0]])
    expected = np.clip(np.diff(ref_cdf), PSI_EPSILON, None)
    actual = np.clip(np.diff(cur_cdf), PSI_EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def gain_importance(booster: Any) -> pl.DataFrame:
    """Total split gain per feature, largest first, with its share of the total."""
    names = booster.feature_name()
    gains = booster.feature_importance(importance_type="gain").astype(np.float64)
    total = gains.sum() or 1.0
    return pl.DataFrame({"feature": names, "gain": gains, "share": gains / total}).sort(
        ["gain", "feature"], descending=[True, False]
    )


def shap_summary(contributions: np.ndarray, features: np.ndarray, names: list[str]) -> pl.DataFrame:
    """Mean |SHAP| per feature and the correlation of each feature's value with its SHAP value
    (sign of the effect), from `pred_contrib=True` output (last column = bias)."""
    contributions = np.asarray(contributions, dtype=np.float64)
    if contributions.shape[1] != len(names) + 1:
        msg = (
            f"`contributions` has {contributions.shape[1]} columns, expected {len(names) + 1}"
            " (one per feature plus the bias)"
        )
        raise ValueError(msg)
    shap = contributions[:, :-1]
    values = np.asarray(features, dtype=np.float64)
    direction = []
    for j in range(len(names)):
        x, s = values[:, j], shap[:, j]
        ok = ~np.isnan(x)
        if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(s[ok]) == 0:
            direction.append(float("nan"))
        else:
            direction.append(float(np.corrcoef(x[ok], s[ok])[0, 1]))
    return pl.DataFrame(
        {
            "feature": names,
            "mean_abs_shap": np.abs(shap).mean(axis=0),
            "value_shap_correlation": direction,
        }
    ).sort(["mean_abs_shap", "feature"], descending=[True, False])


def truth_recovery(
    scored: pl.DataFrame, truth: pl.DataFrame, *, family: str, value_column: str | None = None
) -> dict[str, float]:
    """How well scores recover the synthetic bank's latent interests for one family.

    Parameters
    ----------
    scored : `customer_id`, `as_of`, `score` (one row per scored test row).
    truth : `customer_id`, `family`, optionally `as_of` (then matched per snapshot, as
        `interestlab.synth` `latent_interest_at` gives it per moment) and one latent-interest
        column (`latent_interest` by default, else the only other numeric or boolean column).

    Returns AUC of score vs truth, Spearman rank correlation and the number of matched rows.
    A boolean or 0/1 truth is used as is; a continuous interest counts as positive when it is
    above 0 (a life event in flight), or, when no value is 0, in its top decile.
    """
    for column in ("customer_id", "family"):
        if column not in truth.columns:
            msg = f"truth table: missing column `{column}`; found columns {truth.columns}"
            raise ValueError(msg)
    if value_column is None:
        if "latent_interest" in truth.columns:
            value_column = "latent_interest"
        else:
            candidates = [
                c
                for c, dtype in truth.schema.items()
                if c not in ("customer_id", "family")
                and (dtype.is_numeric() or dtype == pl.Boolean)
            ]
            if len(candidates) != 1:
                msg = (
                    "truth table: expected a `latent_interest` column or exactly one other numeric"
                    f" column, found {candidates}"
                )
                raise ValueError(msg)
            value_column = candidates[0]
    keys = ["customer_id", "as_of"] if "as_of" in truth.columns else ["customer_id"]
    joined = scored.join(
        truth.filter(pl.col("family") == family)
        .group_by(keys)
        .agg(pl.col(value_column).cast(pl.Float64).max().alias("truth")),
        on=keys,
        how="inner",
    ).sort(keys, maintain_order=True)
    if joined.height == 0:
        return {"truth_auc": float("nan"), "truth_spearman": float("nan"), "truth_rows": 0.0}
    values = joined["truth"].to_numpy()
    scores = joined["score"].to_numpy()
    if set(np.unique(values).tolist()) <= {0.0, 1.0}:
        positive = values
    elif (values == 0).any():
        positive = (values > 0).astype(np.float64)
    else:
        positive = (values >= np.quantile(values, 0.9)).astype(np.float64)
    ranks_t = pl.Series(values).rank("average").to_numpy()
    ranks_s = pl.Series(scores).rank("average").to_numpy()
    spearman = (
        float(np.corrcoef(ranks_t, ranks_s)[0, 1])
        if np.std(ranks_t) > 0 and np.std(ranks_s) > 0
        else float("nan")
    )
    return {
        "truth_auc": roc_auc(positive, scores),
        "truth_spearman": spearman,
        "truth_rows": float(joined.height),
    }


def latent_truth(
    interests: pl.DataFrame, customer_ids: pl.Series, as_ofs: list[Any]
) -> pl.DataFrame:
    """Synthetic bank only: `customer_id, as_of, family, latent_interest` at every as-of.

    `interests` is the generator's truth table (`<bank>/truth/interests.parquet`); the
    latent interest at a moment comes from `interestlab.synth` (a life-event surge in flight).
    Read for evaluation only, never by training.
    """
    from interestlab.synth.life_events import latent_interest_at

    return pl.concat(
        [
            latent_interest_at(interests, customer_ids, at=as_of).with_columns(
                pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of")
            )
            for as_of in as_ofs
        ]
    )

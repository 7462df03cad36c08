"""Evaluation of propensity scores: pure functions over arrays and polars frames.

Nothing here trains, reads files or talks to MLflow, so every metric is testable on a handful
of literal values. Scores are probabilities in [0, 1]; labels are 0/1.

Speed: the metrics that need the scores in order share one descending stable sort per score
vector (`RankedScores`, from `rank_scores`), passed as `ranked=` (checked bit for bit against
the labels and scores; without it each call ranks on its own). ROC AUC, average
precision and the ROC curve are computed from that order with the same arithmetic as
scikit-learn's `roc_auc_score`, `average_precision_score` and `roc_curve`, so their values are
identical; inputs those fast paths do not cover (labels other than 0/1, non-finite scores) go
to scikit-learn as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
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


# --- one descending order per score vector -------------------------------------------------


@dataclass(frozen=True, eq=False)
class RankedScores:
    """Labels and scores ranked once: highest score first, ties by position (stable).

    Build it with `rank_scores(labels, scores)` and pass it as `ranked=` to the metrics below
    (`classification_metrics`, `roc_auc`, `average_precision`, `top_fraction`, `roc_points`,
    `gains_points`, `reliability_curve`, `segment_metrics`, `score_quantiles`) so that they
    share one sort instead of sorting the same scores again. The arrays are read-only copies.
    """

    labels: np.ndarray
    scores: np.ndarray
    order: np.ndarray  # np.argsort(-scores, kind="stable")
    sorted_scores: np.ndarray  # scores[order]: descending
    cumulative_positives: np.ndarray  # np.cumsum(labels[order])
    finite: bool  # every score is finite
    binary: bool  # every label is 0 or 1

    @property
    def size(self) -> int:
        return int(self.scores.size)

    @property
    def positives(self) -> float:
        return float(self.cumulative_positives[-1]) if self.size else 0.0

    def matches(self, labels: np.ndarray, scores: np.ndarray) -> bool:
        """Whether these are the (float64) labels and scores this was built from, bit for bit."""
        return _same_bits(self.scores, scores) and _same_bits(self.labels, labels)

    @cached_property
    def tie_ends(self) -> np.ndarray:
        """Position (in `order`) of the last row of each group of tied scores: scikit-learn's
        `threshold_idxs`."""
        return np.concatenate(
            [np.flatnonzero(np.diff(self.sorted_scores)), np.array([self.size - 1])]
        )

    @cached_property
    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """`fps`, `tps` at each distinct score, highest first (only for 0/1 labels)."""
        return _confusion_at_ties(self.tie_ends, self.cumulative_positives)

    @cached_property
    def quantile_safe(self) -> bool:
        """Quantiles of `sorted_scores` are those of `scores`, bit for bit: finite, and no
        -0.0 (it ties with 0.0, so which of the two a quantile picks depends on the order)."""
        zero = self.sorted_scores == 0
        return self.finite and not bool(np.any(np.signbit(self.sorted_scores[zero])))


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint64), b.view(np.uint64)))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def rank_scores(labels: np.ndarray, scores: np.ndarray) -> RankedScores:
    """Rank `scores` once (descending, ties by position) for the metrics that take `ranked=`.

    Examples
    --------
    >>> ranked = rank_scores(np.array([0.0, 1.0, 1.0]), np.array([0.2, 0.9, 0.2]))
    >>> ranked.order.tolist(), ranked.cumulative_positives.tolist()
    ([1, 0, 2], [1.0, 1.0, 2.0])
    """
    labels, scores = _check(labels, scores)
    labels, scores = labels.copy(), scores.copy()
    order = np.argsort(-scores, kind="stable")
    return RankedScores(
        labels=_read_only(labels),
        scores=_read_only(scores),
        order=_read_only(order),
        sorted_scores=_read_only(scores[order]),
        cumulative_positives=_read_only(np.cumsum(labels[order])),
        finite=bool(np.isfinite(scores).all()),
        binary=bool(((labels == 0) | (labels == 1)).all()),
    )


def _ranked(labels: np.ndarray, scores: np.ndarray, ranked: RankedScores | None) -> RankedScores:
    """`ranked` checked against `labels`/`scores`, else a new ranking of them."""
    if ranked is None:
        return rank_scores(labels, scores)
    if not ranked.matches(labels, scores):
        msg = (
            "`ranked` was built from other labels or scores;"
            " build it with `rank_scores(labels, scores)` of these arrays"
        )
        raise ValueError(msg)
    return ranked


# --- scikit-learn's ranking metrics from a descending order ----------------------------------
# Same arithmetic as sklearn.metrics._ranking (confusion_matrix_at_thresholds, roc_curve with
# drop_intermediate=True, auc -> scipy.integrate.trapezoid, precision_recall_curve,
# average_precision_score) for 0/1 labels and finite scores without sample weights. The counts
# at the end of a group of tied scores do not depend on the order inside the group, so any
# descending order gives scikit-learn's curve exactly.


def _confusion_at_ties(
    tie_ends: np.ndarray, cumulative_positives: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    tps = cumulative_positives[tie_ends]
    fps = 1 + tie_ends.astype(np.float64) - tps
    return fps, tps


def _desc_curve(
    sorted_scores: np.ndarray, sorted_labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """`fps`, `tps` of scores already in descending order (with their labels)."""
    tie_ends = np.concatenate(
        [np.flatnonzero(np.diff(sorted_scores)), np.array([sorted_scores.size - 1])]
    )
    return _confusion_at_ties(tie_ends, np.cumsum(sorted_labels, dtype=np.float64))


def _roc_from_curve(fps: np.ndarray, tps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`roc_curve`'s `fpr`, `tpr` (intermediate collinear points dropped); both classes present."""
    if fps.size > 2:
        optimal = np.flatnonzero(
            np.concatenate([[True], np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), [True]])
        )
        fps, tps = fps[optimal], tps[optimal]
    tps = np.concatenate([[0.0], tps])
    fps = np.concatenate([[0.0], fps])
    return fps / fps[-1], tps / tps[-1]


def _auc_from_curve(fps: np.ndarray, tps: np.ndarray) -> float:
    """`roc_auc_score`: `auc(fpr, tpr)`, a trapezoid over the same points (`fpr` ascends)."""
    x, y = _roc_from_curve(fps, tps)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0, axis=-1, dtype=np.float64))


def _average_precision_from_curve(fps: np.ndarray, tps: np.ndarray) -> float:
    """`average_precision_score`: the step integral of `precision_recall_curve`; positives
    present."""
    precision = tps / (tps + fps)  # tps + fps >= 1 at every threshold
    recall = tps / tps[-1]
    precision = np.concatenate((precision[::-1], [1.0]))
    recall = np.concatenate((recall[::-1], [0.0]))
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))


# --- metrics -------------------------------------------------------------------------------


def _roc_auc_sklearn(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if labels.size == 0 or np.unique(labels).size < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def _roc_auc_ranked(ranked: RankedScores) -> float:
    if not (ranked.binary and ranked.finite):
        return _roc_auc_sklearn(ranked.labels, ranked.scores)
    if _one_class(ranked):
        return float("nan")
    return _auc_from_curve(*ranked.curve)


def roc_auc(labels: np.ndarray, scores: np.ndarray, *, ranked: RankedScores | None = None) -> float:
    """Area under the ROC curve; NaN when only one class is present."""
    labels, scores = _check(labels, scores)
    if labels.size == 0:
        return float("nan")
    return _roc_auc_ranked(_ranked(labels, scores, ranked))


def _average_precision_ranked(ranked: RankedScores) -> float:
    if not (ranked.binary and ranked.finite):
        from sklearn.metrics import average_precision_score

        if ranked.labels.sum() == 0:
            return float("nan")
        return float(average_precision_score(ranked.labels, ranked.scores))
    if ranked.positives == 0:
        return float("nan")
    return _average_precision_from_curve(*ranked.curve)


def average_precision(
    labels: np.ndarray, scores: np.ndarray, *, ranked: RankedScores | None = None
) -> float:
    labels, scores = _check(labels, scores)
    if labels.size == 0 or labels.sum() == 0:
        return float("nan")
    return _average_precision_ranked(_ranked(labels, scores, ranked))


def brier_score(labels: np.ndarray, scores: np.ndarray) -> float:
    labels, scores = _check(labels, scores)
    if labels.size == 0:
        return float("nan")
    return float(np.mean((scores - labels) ** 2))


def top_fraction(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    fraction: float = 0.1,
    ranked: RankedScores | None = None,
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
    order = _ranked(labels, scores, ranked).order[:n_top]
    found = labels[order].sum()
    return {
        "lift": float((found / n_top) / (total / labels.size)),
        "capture": float(found / total),
    }


def _ascending_ranks(ranked: RankedScores) -> np.ndarray:
    """Rank of each score in an ascending stable sort (ties by position), from the descending
    one: a tie group keeps its rows in position order in both, and the rows below a group in
    the ascending order are those after it in the descending one. Finite scores only."""
    n = ranked.size
    ends = ranked.tie_ends + 1  # exclusive ends of the tie groups, descending order
    starts = np.concatenate([[0], ends[:-1]])
    descending_to_ascending = np.repeat(n - ends - starts, ends - starts) + np.arange(n)
    ranks = np.empty(n, dtype=np.int64)
    ranks[ranked.order] = descending_to_ascending
    return ranks


def reliability_curve(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    n_bins: int = N_DECILES,
    ranked: RankedScores | None = None,
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
    # Rank of each score (ties by position): the inverse of the stable ascending sort
    # permutation, read off the shared descending order when the scores are finite.
    ranked = _ranked(labels, scores, ranked)
    if ranked.finite:
        ranks = _ascending_ranks(ranked)
    else:
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
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    reliability: pl.DataFrame | None = None,
    ranked: RankedScores | None = None,
) -> dict[str, float]:
    """The headline metrics of one model on one sample (all floats, NaN where undefined).

    `reliability` is `reliability_curve(labels, scores)` when the caller already has it (it is
    computed otherwise): the calibration error is read from it.
    """
    labels, scores = _check(labels, scores)
    auc = average = float("nan")
    if labels.size:
        ranked = _ranked(labels, scores, ranked)  # one sort for all that follows
        auc = _roc_auc_ranked(ranked)
        if labels.sum() != 0:
            average = _average_precision_ranked(ranked)
    if reliability is None:
        reliability = reliability_curve(labels, scores, ranked=ranked)
    top = top_fraction(labels, scores, fraction=0.1, ranked=ranked)
    return {
        "auc": auc,
        "average_precision": average,
        "top_decile_lift": top["lift"],
        "top_decile_capture": top["capture"],
        "brier": brier_score(labels, scores),
        "calibration_error": expected_calibration_error(reliability),
        "positive_rate": float(labels.mean()) if labels.size else float("nan"),
        "mean_score": float(scores.mean()) if scores.size else float("nan"),
    }


def _level_codes(segments: pl.DataFrame, column: str) -> tuple[list[str], np.ndarray]:
    """The sorted levels of a segment column (nulls as `unknown`) and each row's level index."""
    level = segments.select(
        pl.col(column).cast(pl.String).fill_null("unknown").alias("level")
    ).to_series()
    levels = level.unique().sort()
    codes = level.cast(pl.Enum(levels)).to_physical().to_numpy()
    # 16-bit codes sort by radix in O(n).
    dtype = np.uint16 if levels.len() <= np.iinfo(np.uint16).max else np.int64
    return levels.to_list(), codes.astype(dtype, copy=False)


def segment_metrics(
    segments: pl.DataFrame,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    min_rows: int = 1,
    ranked: RankedScores | None = None,
) -> pl.DataFrame:
    """AUC, positive rate and mean score per level of each segment column.

    Parameters
    ----------
    segments : one column per segmentation (e.g. `language`, `age band`), string levels,
        aligned row by row with `labels` and `scores`.
    min_rows : levels with fewer rows are left out (their AUC would be noise, and tiny
        cells come close to describing individuals).
    ranked : `rank_scores(labels, scores)` when the caller has it; a level's AUC is read
        from that one descending order restricted to the level's rows (no sort per level).
    """
    labels, scores = _check(labels, scores)
    if segments.height != labels.size:
        msg = f"`segments` has {segments.height} rows, expected {labels.size} (one per score)"
        raise ValueError(msg)
    schema = {
        "segment": pl.String,
        "level": pl.String,
        "n": pl.Int64,
        "positives": pl.Int64,
        "positive_rate": pl.Float64,
        "mean_score": pl.Float64,
        "auc": pl.Float64,
    }
    if labels.size == 0:
        return pl.DataFrame(schema=schema)
    ranked = _ranked(labels, scores, ranked)
    # 0/1 labels and finite scores: AUCs from the shared order, else scikit-learn per level.
    fast = ranked.binary and ranked.finite
    sorted_labels = ranked.labels[ranked.order]
    rows: list[dict[str, Any]] = []
    for column in segments.columns:
        levels, codes = _level_codes(segments, column)
        counts = np.bincount(codes, minlength=len(levels))
        bounds = np.concatenate([[0], np.cumsum(counts)])
        # Rows of each level, contiguous and in row order (the sums are taken in row order).
        by_level = np.argsort(codes, kind="stable")
        if fast:
            # The shared descending order restricted to each level, levels contiguous.
            in_order = np.argsort(codes[ranked.order], kind="stable")
            level_scores = ranked.sorted_scores[in_order]
            level_labels = sorted_labels[in_order]
        for k, level in enumerate(levels):
            n, start, end = int(counts[k]), int(bounds[k]), int(bounds[k + 1])
            if n < min_rows:
                continue
            index = by_level[start:end]
            level_y = labels[index]
            positives = int(level_y.sum())
            if not fast:
                auc = _roc_auc_sklearn(level_y, scores[index])
            elif positives in (0, n):
                auc = float("nan")
            else:
                auc = _auc_from_curve(
                    *_desc_curve(level_scores[start:end], level_labels[start:end])
                )
            rows.append(
                {
                    "segment": column,
                    "level": level,
                    "n": n,
                    "positives": positives,
                    "positive_rate": float(level_y.mean()),
                    "mean_score": float(scores[index].mean()),
                    "auc": auc,
                }
            )
    return pl.DataFrame(rows, schema=schema)


def _thin(n_points: int, max_points: int) -> np.ndarray:
    """At most `max_points` evenly spaced positions of `n_points`, first and last included."""
    if n_points <= max_points:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, max_points).round().astype(np.int64))


def _one_class(ranked: RankedScores) -> bool:
    if ranked.binary:
        return ranked.positives in (0.0, float(ranked.size))
    return np.unique(ranked.labels).size < 2


def roc_curve_full(
    labels: np.ndarray, scores: np.ndarray, *, ranked: RankedScores | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`fpr`, `tpr` of scikit-learn's `roc_curve(labels, scores)` (collinear intermediate
    points dropped), not thinned; both empty when fewer than two classes are present."""
    labels, scores = _check(labels, scores)
    if labels.size == 0:
        return np.empty(0), np.empty(0)
    ranked = _ranked(labels, scores, ranked)
    if _one_class(ranked):
        return np.empty(0), np.empty(0)
    if ranked.binary and ranked.finite:
        return _roc_from_curve(*ranked.curve)
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    return fpr, tpr


def roc_points(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    max_points: int = CURVE_POINTS,
    ranked: RankedScores | None = None,
) -> pl.DataFrame:
    """`fpr`, `tpr` of the ROC curve (scikit-learn's corners), thinned to `max_points` for
    plotting: an aggregate of the test set, not one point per row."""
    fpr, tpr = roc_curve_full(labels, scores, ranked=ranked)
    if fpr.size == 0:
        return pl.DataFrame(schema={"fpr": pl.Float64, "tpr": pl.Float64})
    keep = _thin(fpr.size, max_points)
    return pl.DataFrame({"fpr": fpr[keep], "tpr": tpr[keep]})


def gains_points(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    max_points: int = CURVE_POINTS,
    ranked: RankedScores | None = None,
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
    cumulative = _ranked(labels, scores, ranked).cumulative_positives
    captured = np.concatenate([[0.0], cumulative])
    captured /= max(float(captured[-1]), 1.0)
    keep = _thin(captured.size, max_points)
    return pl.DataFrame({"share": keep / max(labels.size, 1), "capture": captured[keep]})


def score_quantiles(
    scores: np.ndarray, *, n_points: int = QUANTILE_POINTS, ranked: RankedScores | None = None
) -> list[float]:
    """`n_points` evenly spaced quantiles (0 %..100 %) of the scores: an aggregate that stands
    in for the score distribution when a later version is compared to this one (PSI).

    `ranked` (`rank_scores` of the same scores) supplies them already sorted; the quantiles
    are the same values."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        msg = "`scores` is empty; expected at least one score to summarise"
        raise ValueError(msg)
    if ranked is not None and (scores.ndim != 1 or not _same_bits(ranked.scores, scores)):
        msg = "`ranked` was built from other scores; build it with `rank_scores`"
        raise ValueError(msg)
    if ranked is not None and ranked.quantile_safe:
        scores = ranked.sorted_scores[::-1]  # ascending: what np.quantile's selection does best
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

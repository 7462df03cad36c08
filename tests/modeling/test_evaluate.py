import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from interestlab.modeling import evaluate


def test_top_decile_lift_and_capture() -> None:
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    scores = np.arange(10)[::-1] / 10  # first row scores highest
    assert evaluate.top_fraction(labels, scores) == {"lift": 5.0, "capture": 0.5}


def test_top_fraction_rejects_bad_fraction() -> None:
    with pytest.raises(ValueError, match="`fraction` must be in"):
        evaluate.top_fraction(np.array([1, 0]), np.array([0.2, 0.1]), fraction=0)


def test_metrics_reject_misaligned_inputs() -> None:
    with pytest.raises(ValueError, match="1-d of equal length"):
        evaluate.roc_auc(np.array([1, 0]), np.array([0.1]))


def test_perfect_and_undefined_auc() -> None:
    assert evaluate.roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert np.isnan(evaluate.roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_brier_and_reliability_curve() -> None:
    labels = np.array([0, 1, 0, 1])
    scores = np.array([0.0, 1.0, 0.5, 0.5])
    assert evaluate.brier_score(labels, scores) == pytest.approx(0.125)
    curve = evaluate.reliability_curve(labels, scores, n_bins=2)
    expected = pl.DataFrame(
        {"bin": [0, 1], "n": [2, 2], "mean_score": [0.25, 0.75], "observed_rate": [0.0, 1.0]},
        schema={
            "bin": pl.Int32,
            "n": pl.Int64,
            "mean_score": pl.Float64,
            "observed_rate": pl.Float64,
        },
    )
    assert_frame_equal(curve, expected)
    assert evaluate.expected_calibration_error(curve) == pytest.approx(0.25)


def test_segment_metrics_per_level_and_min_rows() -> None:
    segments = pl.DataFrame({"language": ["nl", "nl", "fr", "fr", "de"]})
    labels = np.array([1, 0, 1, 0, 1])
    scores = np.array([0.9, 0.1, 0.2, 0.8, 0.5])
    result = evaluate.segment_metrics(segments, labels, scores, min_rows=2)
    assert result["level"].to_list() == ["fr", "nl"]  # de has 1 row: left out
    assert result["auc"].to_list() == [0.0, 1.0]
    with pytest.raises(ValueError, match="`segments` has 1 rows, expected 5"):
        evaluate.segment_metrics(segments.head(1), labels, scores)


def test_psi_zero_for_same_and_large_for_shifted_distribution() -> None:
    rng = np.random.default_rng(0)
    base = evaluate.score_quantiles(rng.beta(2, 20, 5000))
    same = evaluate.score_quantiles(rng.beta(2, 20, 5000))
    shifted = evaluate.score_quantiles(rng.beta(6, 10, 5000))
    assert evaluate.psi_from_quantiles(base, base) == pytest.approx(0.0, abs=1e-9)
    assert evaluate.psi_from_quantiles(base, same) < 0.05
    assert evaluate.psi_from_quantiles(base, shifted) > 1.0


def test_psi_and_quantiles_errors() -> None:
    with pytest.raises(ValueError, match="at least 2 points"):
        evaluate.psi_from_quantiles([0.1], [0.1, 0.2])
    with pytest.raises(ValueError, match="`scores` is empty"):
        evaluate.score_quantiles(np.array([]))


def test_shap_summary_orders_by_mean_abs_and_checks_width() -> None:
    contributions = np.array([[0.5, -0.1, 0.0], [-0.5, 0.1, 0.0], [1.0, 0.0, 0.0]])
    features = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    summary = evaluate.shap_summary(contributions, features, ["a", "b"])
    assert summary["feature"].to_list() == ["a", "b"]
    assert summary["value_shap_correlation"][0] > 0.9
    with pytest.raises(ValueError, match="expected 3 \\(one per feature plus the bias\\)"):
        evaluate.shap_summary(contributions[:, :2], features, ["a", "b"])


def test_truth_recovery_binary_and_continuous() -> None:
    scored = pl.DataFrame({"customer_id": ["a", "b", "c", "d"], "score": [0.9, 0.8, 0.2, 0.1]})
    truth = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "a"],
            "family": ["savings"] * 4 + ["mortgage"],
            "interested": [True, True, False, False, False],
        }
    )
    result = evaluate.truth_recovery(scored, truth, family="savings")
    assert result["truth_auc"] == 1.0 and result["truth_rows"] == 4.0
    continuous = truth.rename({"interested": "latent_interest"}).with_columns(
        pl.Series("latent_interest", [0.9, 0.5, 0.2, 0.1, 0.0])
    )
    assert evaluate.truth_recovery(scored, continuous, family="savings")["truth_spearman"] == 1.0


def test_truth_recovery_per_snapshot_with_zero_meaning_no_interest() -> None:
    scored = pl.DataFrame(
        {"customer_id": ["a", "a", "b", "b"], "as_of": [1, 2, 1, 2], "score": [0.9, 0.1, 0.2, 0.8]}
    )
    truth = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "as_of": [1, 2, 1, 2],
            "family": ["savings"] * 4,
            "latent_interest": [0.4, 0.0, 0.0, 0.3],
        }
    )
    result = evaluate.truth_recovery(scored, truth, family="savings")
    assert result == {
        "truth_auc": 1.0,
        "truth_spearman": pytest.approx(0.9487, abs=1e-4),
        "truth_rows": 4.0,
    }


def test_truth_recovery_errors() -> None:
    scored = pl.DataFrame({"customer_id": ["a"], "score": [0.5]})
    with pytest.raises(ValueError, match="missing column `family`"):
        evaluate.truth_recovery(scored, pl.DataFrame({"customer_id": ["a"]}), family="savings")
    two = pl.DataFrame({"customer_id": ["a"], "family": ["savings"], "x": [1.0], "y": [2.0]})
    with pytest.raises(ValueError, match="exactly one other numeric column, found \\['x', 'y'\\]"):
        evaluate.truth_recovery(scored, two, family="savings")


def test_reliability_ranks_match_argsort_of_argsort_with_ties() -> None:
    rng = np.random.default_rng(4)
    labels = (rng.random(997) < 0.2).astype(float)
    scores = rng.integers(0, 40, 997) / 40  # many ties across bin edges
    curve = evaluate.reliability_curve(labels, scores)
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable")
    expected = (
        pl.DataFrame({"bin": (ranks * 10 // 997).astype(np.int32), "s": scores, "y": labels})
        .group_by("bin")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("s").mean().alias("mean_score"),
            pl.col("y").mean().alias("observed_rate"),
        )
        .sort("bin")
    )
    assert_frame_equal(curve, expected)
    assert evaluate.classification_metrics(
        labels, scores, reliability=curve
    ) == evaluate.classification_metrics(labels, scores)


def test_segment_metrics_levels_sorted_with_unknown_and_row_order_sums() -> None:
    segments = pl.DataFrame({"segment": ["b", None, "a", "b", None, "a", "b"]})
    labels = np.array([1, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.3, 0.2, 0.1, 0.7, 0.9, 0.4, 0.6])
    result = evaluate.segment_metrics(segments, labels, scores)
    assert result["level"].to_list() == ["a", "b", "unknown"]
    assert result["n"].to_list() == [2, 3, 2]
    assert result["mean_score"].to_list() == [
        float(scores[[2, 5]].mean()),
        float(scores[[0, 3, 6]].mean()),
        float(scores[[1, 4]].mean()),
    ]


def test_roc_and_gains_points_are_thinned_aggregates() -> None:
    from sklearn.metrics import auc, roc_curve

    rng = np.random.default_rng(5)
    labels = (rng.random(20_000) < 0.1).astype(float)
    scores = rng.random(20_000) + 0.3 * labels
    roc = evaluate.roc_points(labels, scores, max_points=101)
    fpr, tpr, _ = roc_curve(labels, scores)
    assert roc.height <= 101 and fpr.size > 101
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    assert auc(roc["fpr"], roc["tpr"]) == pytest.approx(evaluate.roc_auc(labels, scores), abs=1e-2)
    gains = evaluate.gains_points(labels, scores, max_points=11)
    assert gains["share"].to_list() == pytest.approx([i / 10 for i in range(11)])
    assert gains["capture"][0] == 0.0 and gains["capture"][-1] == 1.0
    top = evaluate.top_fraction(labels, scores, fraction=0.1)
    assert gains["capture"][1] == pytest.approx(top["capture"])
    assert evaluate.roc_points(np.ones(3), np.array([0.1, 0.2, 0.3])).height == 0

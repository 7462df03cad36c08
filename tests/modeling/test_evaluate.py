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


# --- one shared descending order: the fast paths against scikit-learn ------------------------


def _tied_sample(n: int, decimals: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.05).astype(np.float64)
    scores = np.clip(rng.beta(2, 20, n) + 0.1 * labels * rng.random(n), 0.0, 1.0)
    return labels, scores if decimals is None else np.round(scores, decimals)


def _bits(value: float) -> bytes:
    return np.float64(value).tobytes()


@pytest.mark.parametrize(("decimals", "seed"), [(2, 0), (1, 1), (0, 2), (None, 3)])
def test_ranked_metrics_equal_sklearn_bit_for_bit(decimals: int | None, seed: int) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    labels, scores = _tied_sample(50_000, decimals, seed)
    ranked = evaluate.rank_scores(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    auc = float(roc_auc_score(labels, scores))
    ap = float(average_precision_score(labels, scores))
    for kwargs in ({}, {"ranked": ranked}):  # ranked per call and ranked once
        assert _bits(evaluate.roc_auc(labels, scores, **kwargs)) == _bits(auc)
        assert _bits(evaluate.average_precision(labels, scores, **kwargs)) == _bits(ap)
        full_fpr, full_tpr = evaluate.roc_curve_full(labels, scores, **kwargs)
        assert np.array_equal(full_fpr.view(np.uint64), fpr.view(np.uint64))
        assert np.array_equal(full_tpr.view(np.uint64), tpr.view(np.uint64))
        roc = evaluate.roc_points(labels, scores, max_points=101, **kwargs)
        keep = evaluate._thin(fpr.size, 101)
        assert roc["fpr"].to_list() == fpr[keep].tolist()
        assert roc["tpr"].to_list() == tpr[keep].tolist()
        metrics = evaluate.classification_metrics(labels, scores, **kwargs)
        assert _bits(metrics["auc"]) == _bits(auc)
        assert _bits(metrics["average_precision"]) == _bits(ap)


@pytest.mark.parametrize("decimals", [2, 0, None])
def test_ranked_order_paths_equal_their_own_sorts(decimals: int | None) -> None:
    labels, scores = _tied_sample(20_000, decimals, 7)
    ranked = evaluate.rank_scores(labels, scores)
    order = np.argsort(-scores, kind="stable")
    assert np.array_equal(ranked.order, order)
    # Gains and top fraction: the cumulative sum over the same stable order.
    captured = np.concatenate([[0.0], np.cumsum(labels[order])])
    captured /= captured[-1]
    keep = evaluate._thin(captured.size, 11)
    gains = evaluate.gains_points(labels, scores, max_points=11, ranked=ranked)
    assert gains["capture"].to_list() == captured[keep].tolist()
    found = labels[order[:2000]].sum()
    assert evaluate.top_fraction(labels, scores, ranked=ranked) == {
        "lift": float((found / 2000) / (labels.sum() / labels.size)),
        "capture": float(found / labels.sum()),
    }
    # Reliability: ranks read off the descending order = inverse of the ascending stable sort.
    ranks = np.empty(scores.size, dtype=np.int64)
    ranks[np.argsort(scores, kind="stable")] = np.arange(scores.size)
    assert np.array_equal(evaluate._ascending_ranks(ranked), ranks)
    # Quantiles from the sorted scores: the same values as from the unsorted ones.
    expected = np.quantile(scores, np.linspace(0.0, 1.0, 101))
    for kwargs in ({}, {"ranked": ranked}):
        quantiles = np.array(evaluate.score_quantiles(scores, **kwargs))
        assert np.array_equal(quantiles.view(np.uint64), expected.view(np.uint64))


def test_ascending_ranks_and_quantiles_with_signed_zeros() -> None:
    scores = np.array([0.0, -0.0, 0.5, -0.0, 0.0, 0.5, -1.0])
    labels = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    ranked = evaluate.rank_scores(labels, scores)
    ranks = np.empty(scores.size, dtype=np.int64)
    ranks[np.argsort(scores, kind="stable")] = np.arange(scores.size)
    assert np.array_equal(evaluate._ascending_ranks(ranked), ranks)
    assert not ranked.quantile_safe  # -0.0 present: quantiles come from the unsorted scores
    expected = np.quantile(scores, np.linspace(0.0, 1.0, 101))
    quantiles = np.array(evaluate.score_quantiles(scores, ranked=ranked))
    assert np.array_equal(quantiles.view(np.uint64), expected.view(np.uint64))


def test_segment_aucs_equal_sklearn_per_level() -> None:
    from sklearn.metrics import roc_auc_score

    labels, scores = _tied_sample(50_000, 2, 11)
    rng = np.random.default_rng(12)
    language = np.array(["nl", "fr", "de", "en"])[rng.integers(0, 4, labels.size)].astype(object)
    language[rng.random(labels.size) < 0.1] = None
    band = np.array([f"b{i}" for i in range(7)])[rng.integers(0, 7, labels.size)]
    rare = np.where(rng.random(labels.size) < 0.001, "rare", "common")
    labels[rare == "rare"] = 0.0  # one class only: NaN AUC
    segments = pl.DataFrame({"language": language, "band": band, "rare": rare})
    ranked = evaluate.rank_scores(labels, scores)
    for kwargs in ({}, {"ranked": ranked}):
        result = evaluate.segment_metrics(segments, labels, scores, min_rows=20, **kwargs)
        expected = []
        for column in segments.columns:
            values = segments[column].fill_null("unknown").to_numpy()
            for level in sorted(set(values.tolist())):
                index = np.flatnonzero(values == level)
                if index.size < 20:
                    continue
                y, s = labels[index], scores[index]
                auc = float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else float("nan")
                expected.append(
                    (column, level, index.size, int(y.sum()), float(y.mean()), float(s.mean()), auc)
                )
        for row, want in zip(result.iter_rows(), expected, strict=True):
            assert row[:4] == want[:4]
            assert [_bits(v) for v in row[4:]] == [_bits(v) for v in want[4:]]
    assert np.isnan(result.filter(pl.col("level") == "rare")["auc"][0])


def test_fast_paths_on_tiny_edge_cases() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    cases = [
        (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.3, 0.3, 0.3, 0.3])),  # all tied
        (np.array([1.0, 0.0]), np.array([0.2, 0.9])),
        (np.array([1.0, 1.0, 1.0]), np.array([0.1, 0.5, 0.5])),  # positives only
        (np.array([0.0, 0.0]), np.array([0.1, 0.2])),  # negatives only
        (np.array([1.0]), np.array([0.4])),  # a single row
        (np.array([0.0]), np.array([0.4])),
    ]
    for labels, scores in cases:
        both = 0 < labels.sum() < labels.size
        auc = evaluate.roc_auc(labels, scores)
        assert (auc == roc_auc_score(labels, scores)) if both else np.isnan(auc)
        ap = evaluate.average_precision(labels, scores)
        if labels.sum() > 0:
            assert ap == average_precision_score(labels, scores)
        else:
            assert np.isnan(ap)
        roc = evaluate.roc_points(labels, scores)
        if both:
            fpr, tpr, _ = roc_curve(labels, scores)
            assert roc["fpr"].to_list() == fpr.tolist()
            assert roc["tpr"].to_list() == tpr.tolist()
        else:
            assert roc.height == 0
        assert evaluate.segment_metrics(pl.DataFrame({"s": ["a"] * labels.size}), labels, scores)[
            "auc"
        ].to_list() == pytest.approx([auc], nan_ok=True)
    empty = np.array([])
    assert np.isnan(evaluate.roc_auc(empty, empty))
    assert np.isnan(evaluate.average_precision(empty, empty))
    assert evaluate.roc_points(empty, empty).height == 0
    assert evaluate.roc_curve_full(empty, empty)[0].size == 0
    assert evaluate.gains_points(empty, empty).rows() == [(0.0, 0.0)]
    assert evaluate.reliability_curve(empty, empty).height == 0
    assert (
        evaluate.segment_metrics(
            pl.DataFrame({"s": []}, schema={"s": pl.String}), empty, empty
        ).height
        == 0
    )
    metrics = evaluate.classification_metrics(empty, empty)
    assert all(np.isnan(metrics[k]) for k in ("auc", "average_precision", "top_decile_lift"))


def test_inputs_outside_the_fast_paths_go_to_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    labels = np.array([0.0, 2.0, 0.0, 2.0, 2.0])  # not 0/1: scikit-learn's own handling
    scores = np.array([0.1, 0.7, 0.4, 0.4, 0.9])
    assert evaluate.roc_auc(labels, scores) == roc_auc_score(labels, scores)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        evaluate.average_precision(labels, scores)
    with_nan = np.array([0.1, np.nan, 0.4, 0.4, 0.9])
    binary = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        evaluate.roc_auc(binary, with_nan)
    with pytest.raises(ValueError, match="NaN"):
        evaluate.segment_metrics(pl.DataFrame({"s": ["a"] * 5}), binary, with_nan)
    # Orders that do not need scikit-learn still match the stable sorts.
    curve = evaluate.reliability_curve(binary, with_nan, n_bins=5)
    assert curve["n"].to_list() == [1] * 5
    assert np.isnan(curve["mean_score"][-1])  # NaN ranks last in the ascending sort


def test_ranked_must_be_built_from_the_same_labels_and_scores() -> None:
    labels, scores = _tied_sample(5_000, 2, 21)
    ranked = evaluate.rank_scores(labels, scores)
    with pytest.raises(ValueError, match="`ranked` was built from other labels or scores"):
        evaluate.roc_auc(1.0 - labels, scores, ranked=ranked)
    with pytest.raises(ValueError, match="`ranked` was built from other scores"):
        evaluate.score_quantiles(scores + 1.0, ranked=ranked)
    with pytest.raises(ValueError, match="read-only"):
        ranked.order[0] = 1
    changed = scores.copy()
    changed[:2500] = changed[:2500][::-1].copy()  # same shape, other contents
    with pytest.raises(ValueError, match="`ranked` was built from other labels or scores"):
        evaluate.roc_auc(labels, changed, ranked=ranked)

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from interestlab.modeling.train import (
    SPLIT_COLUMN,
    SkipFamily,
    assign_split,
    check_training_set,
    family_rows,
    feature_columns,
    group_families,
    resolve_params,
    train_family,
)


@pytest.fixture
def split_frame(training_set, policy):
    return assign_split(training_set, n_test_months=2, policy=policy)


def test_feature_columns_exclude_keys_and_labels(training_set) -> None:
    features = feature_columns(training_set)
    assert "customer_id" not in features and "as_of" not in features
    assert not any(c.startswith("label__") for c in features)
    assert "fam_mortgage__simulation_90d" in features


def test_out_of_time_split_has_no_overlap(split_frame) -> None:
    frame, info = split_frame
    assert info.train_months == ("2026-03", "2026-04", "2026-05")
    assert info.valid_month == "2026-06"
    assert info.test_months == ("2026-07", "2026-08")
    dates = frame.group_by(SPLIT_COLUMN).agg(
        pl.col("as_of").min().alias("first"), pl.col("as_of").max().alias("last")
    )
    bounds = {row[SPLIT_COLUMN]: (row["first"], row["last"]) for row in dates.iter_rows(named=True)}
    assert bounds["train"][1] < bounds["valid"][0] <= bounds["valid"][1] < bounds["test"][0]


def test_split_uses_bank_local_months(policy, make_set) -> None:
    # 2026-05-31 22:00 UTC is 2026-06-01 00:00 in Brussels: a June snapshot.
    dates = [datetime(2026, m, 1, tzinfo=UTC) for m in (3, 4, 5)] + [
        datetime(2026, 5, 31, 22, tzinfo=UTC)
    ]
    frame = make_set(20, as_of_dates=dates)
    _, info = assign_split(frame, n_test_months=1, policy=policy)
    assert info.test_months == ("2026-06",)


def test_split_needs_enough_months(training_set, policy) -> None:
    with pytest.raises(ValueError, match="needs at least 7 as-of months .* found 6"):
        assign_split(training_set, n_test_months=5, policy=policy)
    with pytest.raises(ValueError, match="`n_test_months` must be a positive integer, got 0"):
        assign_split(training_set, n_test_months=0, policy=policy)


def test_check_training_set_errors(training_set) -> None:
    with pytest.raises(ValueError, match="missing label column `label__car_loan`"):
        check_training_set(training_set, families=["car_loan"])
    with pytest.raises(ValueError, match="unknown family `boats`"):
        check_training_set(training_set, families=["boats"])
    with pytest.raises(ValueError, match="`families` is empty"):
        check_training_set(training_set, families=[])
    with pytest.raises(ValueError, match="missing column `customer_id`"):
        check_training_set(training_set.drop("customer_id"), families=["savings"])
    with pytest.raises(ValueError, match="column `as_of` has type Datetime\\(time_unit='ms'"):
        check_training_set(
            training_set.with_columns(pl.col("as_of").dt.cast_time_unit("ms")),
            families=["mortgage", "savings"],
        )
    with pytest.raises(
        ValueError, match="feature columns must be numeric, found \\[\\('note', 'String'\\)"
    ):
        check_training_set(
            training_set.with_columns(note=pl.lit("x")), families=["mortgage", "savings"]
        )


def test_resolve_params_merges_and_validates() -> None:
    params = resolve_params({"lightgbm": {"num_leaves": 15}, "gates": {"min_auc": 0.7}})
    assert params["lightgbm"]["num_leaves"] == 15 and params["lightgbm"]["max_depth"] == 6
    assert params["gates"]["min_auc"] == 0.7 and params["gates"]["max_psi"] == 0.25
    with pytest.raises(ValueError, match="unknown key `num_trees`"):
        resolve_params({"num_trees": 3})
    with pytest.raises(ValueError, match="unknown gate\\(s\\) \\['min_gini'\\]"):
        resolve_params({"gates": {"min_gini": 0.3}})
    with pytest.raises(ValueError, match="`lightgbm.max_depth` must be in 1..12"):
        resolve_params({"lightgbm": {"max_depth": -1}})
    with pytest.raises(ValueError, match="`lightgbm.num_leaves` must be in 2..255"):
        resolve_params({"lightgbm": {"num_leaves": 1000}})
    with pytest.raises(ValueError, match="`negative_rate` must be in \\(0, 1\\]"):
        resolve_params({"negative_rate": 0})


def test_negative_sampling_weights_and_test_months_untouched(split_frame) -> None:
    frame, _ = split_frame
    full = family_rows(frame, "savings", negative_rate=1.0, seed=1)
    sampled = family_rows(frame, "savings", negative_rate=0.5, seed=1)
    test_full = full.filter(pl.col(SPLIT_COLUMN) == "test")
    test_sampled = sampled.filter(pl.col(SPLIT_COLUMN) == "test")
    assert test_sampled.height == test_full.height and (test_sampled["weight"] == 1).all()
    negatives = sampled.filter((pl.col(SPLIT_COLUMN) != "test") & (pl.col("label__savings") == 0))
    assert (negatives["weight"] == 2.0).all()
    positives = sampled.filter((pl.col(SPLIT_COLUMN) != "test") & (pl.col("label__savings") == 1))
    assert (positives["weight"] == 1.0).all()
    n_negatives = full.filter(
        (pl.col(SPLIT_COLUMN) != "test") & (pl.col("label__savings") == 0)
    ).height
    assert 0.4 < negatives.height / n_negatives < 0.6


def test_family_rows_excludes_holders(split_frame) -> None:
    frame, _ = split_frame
    rows = family_rows(frame, "mortgage", negative_rate=1.0, seed=1)
    assert rows.height == frame["label__mortgage"].is_not_null().sum() < frame.height


@pytest.fixture(scope="module")
def mortgage_result(make_set, small_params):
    from interestlab.policy import load_policy

    frame, _ = assign_split(make_set(), n_test_months=2, policy=load_policy())
    features = feature_columns(make_set())
    params = resolve_params(small_params)
    return (
        frame,
        features,
        params,
        train_family(frame, "mortgage", features=features, params=params, seed=5),
    )


def test_planted_signal_is_learned(mortgage_result) -> None:
    *_, result = mortgage_result
    assert result.metrics["auc"] > 0.7
    assert result.importance["feature"][0].startswith("fam_mortgage__")
    assert result.shap["feature"][0].startswith("fam_mortgage__")
    assert result.challenger_metrics["auc"] > 0.6  # challenger computed on the same test set
    assert result.categorical == ["id__language", "id__age_band", "id__segment"]
    assert set(result.segments["segment"]) == {"language", "age band", "segment"}
    assert result.shap_values.shape == (100, len(result.features) + 1)
    assert len(result.score_quantiles) == 101


def test_retraining_is_bit_identical(mortgage_result) -> None:
    frame, features, params, first = mortgage_result
    again = train_family(frame, "mortgage", features=features, params=params, seed=5)
    assert again.booster.model_to_string() == first.booster.model_to_string()
    other_seed = train_family(frame, "mortgage", features=features, params=params, seed=6)
    assert other_seed.booster.model_to_string() != first.booster.model_to_string()


def test_family_without_enough_positives_is_skipped(split_frame, small_params) -> None:
    frame, _ = split_frame
    frame = frame.with_columns(pl.lit(0, dtype=pl.Int8).alias("label__savings"))
    with pytest.raises(SkipFamily, match="0 positives in the training months"):
        train_family(
            frame,
            "savings",
            features=feature_columns(frame),
            params=resolve_params(small_params),
            seed=1,
        )


def test_group_families_in_contract_order() -> None:
    products = pl.DataFrame(
        {
            "family": ["savings", "mortgage", "travel_insurance"],
            "provider_in_group": [True, True, False],
        }
    )
    assert group_families(products) == ["mortgage", "savings"]


def test_challenger_alone() -> None:
    from interestlab.modeling.challenger import LogisticChallenger

    rng = np.random.default_rng(1)
    x = np.column_stack([rng.normal(size=400), rng.integers(0, 3, 400), np.full(400, np.nan)])
    x[::7, 0] = np.nan
    y = (np.nan_to_num(x[:, 0]) + (x[:, 1] == 2) > 0.5).astype(float)
    model = LogisticChallenger(categorical=(1,)).fit(x, y)
    scores = model.predict(x)
    assert scores.shape == (400,) and np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(ValueError, match="must hold both classes, found only \\[0.0\\]"):
        LogisticChallenger().fit(x, np.zeros(400))


def test_gather_matrix_equals_matrix_of_gathered_rows(split_frame) -> None:
    from interestlab.modeling.train import gather_matrix, matrix

    frame, _ = split_frame
    features = feature_columns(frame)
    positions = np.random.default_rng(2).choice(frame.height, 333, replace=False)
    gathered = gather_matrix(frame, positions, features)
    assert gathered.dtype == np.float32 and gathered.flags["F_CONTIGUOUS"]
    np.testing.assert_array_equal(gathered, matrix(frame[positions], features))
    # A set stacked from parts (many chunks), with nulls, booleans and sorted positions.
    parts = [
        frame.slice(start, 97).with_columns(
            pl.when(pl.int_range(pl.len()) % 5 == 0).then(pl.col(features[0])).alias(features[0]),
            (pl.col(features[1]) > 0).alias(features[1]),
        )
        for start in range(0, frame.height, 97)
    ]
    stacked = pl.concat(parts, rechunk=False)
    assert stacked[features[0]].n_chunks() > 1 and stacked[features[0]].null_count() > 0
    for rows in (np.sort(positions), positions, np.array([], dtype=np.int64)):
        np.testing.assert_array_equal(
            gather_matrix(stacked, rows, features), matrix(stacked[rows], features)
        )
    with pytest.raises(IndexError, match="positions must lie in"):
        gather_matrix(stacked, np.array([stacked.height]), features)


def test_gather_matrix_into_a_reused_buffer_and_in_threads(split_frame) -> None:
    from interestlab.modeling.train import gather_matrix, matrix

    frame, _ = split_frame
    features = feature_columns(frame)
    # Tall enough for the threaded path, with nulls in many chunks (gathered before numpy).
    tall = pl.concat(
        [
            frame.with_columns(
                pl.when(pl.int_range(pl.len()) % 3 == k)
                .then(pl.col(features[2]))
                .alias(features[2])
            )
            for k in range(3)
        ]
        * 5,
        rechunk=False,
    )
    assert tall.height >= 10_000 and tall[features[2]].null_count() > 0
    buffer = np.full(12_000 * len(features), np.nan, dtype=np.float32)
    rng = np.random.default_rng(4)
    for n in (12_000, 400, 11_000):  # the whole buffer, a little of it, most of it again
        rows = np.sort(rng.choice(tall.height, n, replace=False))
        got = gather_matrix(tall, rows, features, out=buffer)
        assert got.shape == (n, len(features)) and got.flags["F_CONTIGUOUS"]
        assert np.shares_memory(got, buffer)
        np.testing.assert_array_equal(got, matrix(tall[rows], features))
    with pytest.raises(ValueError, match="flat float32 array of at least 6 elements, got float64"):
        gather_matrix(tall, np.arange(3), features[:2], out=np.empty(6))


def test_test_months_above_the_cap_are_a_uniform_sample_shared_by_families(split_frame) -> None:
    from interestlab.modeling.train import TEST, TEST_SAMPLE_STREAM, select_family_rows

    frame, _ = split_frame
    full = {
        f: select_family_rows(frame, f, negative_rate=1.0, seed=3) for f in ("savings", "mortgage")
    }
    cap = full["savings"].counts()["n_test"] // 2
    capped = {
        f: select_family_rows(frame, f, negative_rate=1.0, seed=3, test_max_rows=cap) for f in full
    }
    for family, rows in capped.items():
        counts = rows.counts()
        assert counts["n_test"] == cap
        assert counts["n_test_eligible"] == full[family].counts()["n_test"] > cap
        positions = rows.positions[TEST]
        assert np.all(np.diff(positions) != 0)
        assert np.isin(positions, full[family].positions[TEST]).all()
        assert np.all(rows.weights[TEST] == 1.0)  # uniform sample: no reweighting
        # Training and validation rows are not touched by the test cap.
        for name in ("train", "valid"):
            np.testing.assert_array_equal(rows.positions[name], full[family].positions[name])
    # One draw per frame row, the same for every family: each family keeps its eligible rows
    # with the smallest draws, so the family with the smaller sampling fraction has, among
    # the rows the other may use, only rows the other also kept.
    draws = np.random.default_rng([3, TEST_SAMPLE_STREAM]).random(frame.height)
    threshold = {f: draws[rows.positions[TEST]].max() for f, rows in capped.items()}
    low, high = sorted(capped, key=threshold.get)
    shared = np.intersect1d(capped[low].positions[TEST], full[high].positions[TEST])
    assert shared.size > 0
    assert np.isin(shared, capped[high].positions[TEST]).all()
    again = select_family_rows(frame, "savings", negative_rate=1.0, seed=3, test_max_rows=cap)
    np.testing.assert_array_equal(again.positions[TEST], capped["savings"].positions[TEST])
    other = select_family_rows(frame, "savings", negative_rate=1.0, seed=4, test_max_rows=cap)
    assert not np.array_equal(other.positions[TEST], capped["savings"].positions[TEST])
    # Below the cap every eligible test row is used.
    below = select_family_rows(frame, "savings", negative_rate=1.0, seed=3, test_max_rows=10**9)
    np.testing.assert_array_equal(below.positions[TEST], full["savings"].positions[TEST])
    assert below.counts()["n_test_eligible"] == below.counts()["n_test"]


def test_params_reject_a_bad_test_cap() -> None:
    assert resolve_params({"test_max_rows": None})["test_max_rows"] is None
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="`test_max_rows` must be a positive integer or None"):
            resolve_params({"test_max_rows": bad})


def test_select_family_rows_sorts_keys_once_whatever_the_input_order(split_frame) -> None:
    from interestlab.modeling.train import row_order, select_family_rows

    frame, _ = split_frame
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    for source in (frame, shuffled):
        order = row_order(source)
        keys = source.select("as_of", "customer_id")[order.positions]
        assert_frame_equal(keys, source.select("as_of", "customer_id").sort("as_of", "customer_id"))
    rows = select_family_rows(shuffled, "savings", negative_rate=0.5, seed=1)
    expected = family_rows(frame, "savings", negative_rate=0.5, seed=1)
    got = pl.concat(
        [
            shuffled[rows.positions[name]].with_columns(pl.Series("weight", rows.weights[name]))
            for name in ("train", "valid", "test")
        ]
    )
    assert_frame_equal(got, expected)
    assert rows.counts()["n_test"] == expected.filter(pl.col(SPLIT_COLUMN) == "test").height


def test_scoring_in_chunks_gives_the_same_results(mortgage_result) -> None:
    frame, features, params, first = mortgage_result
    chunked = train_family(
        frame, "mortgage", features=features, params=params, seed=5, chunk_rows=37
    )
    assert chunked.booster.model_to_string() == first.booster.model_to_string()
    assert chunked.metrics == first.metrics
    assert chunked.challenger_metrics == first.challenger_metrics
    assert chunked.score_quantiles == first.score_quantiles
    for name in ("segments", "reliability", "challenger_reliability", "roc", "gains", "shap"):
        assert_frame_equal(getattr(chunked, name), getattr(first, name))
    np.testing.assert_array_equal(chunked.shap_values, first.shap_values)


def test_shared_scoring_pass_gives_each_family_its_own_scores(mortgage_result) -> None:
    # One pass over the test months for several families (chunks shared, challenger
    # preprocessing shared) gives every family the scores it gets alone, in its row order.
    from interestlab.modeling.train import TEST, fit_family, gather_matrix, score_test_months

    frame, features, params, _ = mortgage_result
    fits = [
        fit_family(frame, family, features=features, params=params, seed=5)
        for family in ("mortgage", "savings")
    ]
    together = score_test_months(frame, fits, features, chunk_rows=37)
    for fit in fits:
        x = gather_matrix(frame, fit.rows.positions[TEST], features)
        model, challenger = together[fit.family]
        np.testing.assert_array_equal(model, fit.booster.predict(x, num_iteration=fit.best))
        np.testing.assert_array_equal(challenger, fit.challenger.predict(x))
        alone = score_test_months(frame, [fit], features)[fit.family]
        np.testing.assert_array_equal(alone[0], model)
    assert together["mortgage"][0].size != together["savings"][0].size  # holders differ


def test_score_test_months_rejects_bad_chunk(split_frame) -> None:
    from interestlab.modeling.train import score_test_months

    frame, _ = split_frame
    with pytest.raises(ValueError, match="`chunk_rows` must be a positive integer, got 0"):
        score_test_months(frame, [], feature_columns(frame), chunk_rows=0)


def test_result_keeps_aggregates_of_the_test_set_only(mortgage_result) -> None:
    from interestlab.modeling.evaluate import CURVE_POINTS

    *_, result = mortgage_result
    assert set(result.roc["model"]) == {"lightgbm", "logistic_regression"}
    assert result.roc.height <= 2 * CURVE_POINTS and result.gains.height <= 2 * CURVE_POINTS
    assert not hasattr(result, "test_scores")


def test_challenger_design_equals_blockwise_reference() -> None:
    from interestlab.modeling.challenger import LogisticChallenger

    rng = np.random.default_rng(8)
    x = np.column_stack(
        [rng.poisson(2, 500), rng.normal(size=500), rng.integers(0, 4, 500), rng.normal(size=500)]
    ).astype(np.float32)
    x[::5, 1] = np.nan
    x[::9, 2] = np.nan
    y = (rng.random(500) < 0.4).astype(float)
    model = LogisticChallenger(categorical=(2,)).fit(np.asfortranarray(x), y)
    # The blocks as `np.hstack` assembled them before the design was built in place.
    values = x.astype(np.float64)
    numeric = values[:, [0, 1, 3]]
    numeric = np.sign(numeric) * np.log1p(np.abs(numeric))
    missing = np.isnan(numeric)
    numeric = np.where(missing, model.medians_, numeric)
    reference = np.hstack(
        [
            (numeric - model.means_) / model.scales_,
            missing[:, model.gaps_].astype(np.float64),
            (values[:, [2]] == model.levels_[2][None, :]).astype(np.float64),
        ]
    )
    np.testing.assert_array_equal(model._design(np.asfortranarray(x)), reference)
    assert model.gaps_.tolist() == [1]
    # `predict` folds the preprocessing into the coefficients: the same probabilities as the
    # fitted regression on the design matrix, for unseen and missing levels too.
    x[::7, 2] = 9.0  # a level never seen in training
    expected = model.model_.predict_proba(model._design(x))[:, 1]
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-12)


def test_split_column_is_chunked_like_the_training_set(make_set, policy) -> None:
    # A column chunked unlike the others makes polars copy every column at the frame's first
    # `select` (8.6 GB at full size): the split column follows the set's chunks.
    stacked = pl.concat([make_set(50, seed=s) for s in (1, 2, 3)], rechunk=False)
    assert len(stacked["as_of"].chunk_lengths()) > 1
    frame, _ = assign_split(stacked, n_test_months=2, policy=policy)
    assert frame[SPLIT_COLUMN].chunk_lengths() == stacked["as_of"].chunk_lengths()
    assert_frame_equal(
        frame.select(SPLIT_COLUMN),
        assign_split(stacked.rechunk(), n_test_months=2, policy=policy)[0].select(SPLIT_COLUMN),
    )


def test_one_family_on_shared_bins_equals_lightgbm_on_its_own_matrices(mortgage_result) -> None:
    # Alone, a family's union is its own rows: the shared Dataset and its subset hold exactly
    # the bins LightGBM finds in the family's matrices, so the trees are bit-identical.
    from interestlab.modeling.train import (
        BIN_LAYOUT,
        TRAIN,
        VALID,
        categorical_features,
        fit_booster,
        fit_family,
        gather_matrix,
        select_family_rows,
    )

    frame, features, params, _ = mortgage_result
    params = {**params, "negative_rate": 0.5}
    fit = fit_family(frame, "mortgage", features=features, params=params, seed=5)
    rows = select_family_rows(frame, "mortgage", negative_rate=0.5, seed=5)
    direct = fit_booster(
        *(
            (
                gather_matrix(frame, rows.positions[name], features),
                rows.labels[name],
                rows.weights[name],
            )
            for name in (TRAIN, VALID)
        ),
        features=features,
        categorical=categorical_features(features),
        params=params,
        seed=5,
    )
    # The same trees, feature infos and importances; the parameters differ only by the
    # shared Datasets' layout (dense, unbundled: `BIN_LAYOUT`), which changes no bin.
    ours, theirs = (
        booster.model_to_string().partition("\nparameters:\n") for booster in (fit.booster, direct)
    )
    assert ours[0] == theirs[0]
    assert ours[2].partition("end of parameters")[2] == theirs[2].partition("end of parameters")[2]
    differing = set(ours[2].splitlines()) ^ set(theirs[2].splitlines())
    assert {line.strip("[]").split(":")[0] for line in differing} == set(BIN_LAYOUT)


def test_families_fitted_together_get_their_own_rows_and_labels(make_set, small_params) -> None:
    # Each family's label is copied into a feature of its own: a family trained on the
    # right rows with the right labels separates its validation month perfectly; a
    # misaligned subset (other rows, other family's labels) would not.
    from interestlab.modeling.train import fit_families, row_order
    from interestlab.policy import load_policy

    training_set = make_set().with_columns(
        pl.col(f"label__{f}").fill_null(0).cast(pl.Float32).alias(f"all__leak_{f}")
        for f in ("mortgage", "savings")
    )
    frame, _ = assign_split(training_set, n_test_months=2, policy=load_policy())
    features = feature_columns(frame)
    params = resolve_params({**small_params, "negative_rate": 0.5})
    fitted, skipped = fit_families(
        frame, ["mortgage", "savings"], features=features, params=params, seed=5
    )
    assert not skipped and [f.family for f in fitted] == ["mortgage", "savings"]
    for fit in fitted:
        assert fit.valid_auc == 1.0, fit.family
        gains = dict(
            zip(
                fit.booster.feature_name(),
                fit.booster.feature_importance("gain"),
                strict=True,
            )
        )
        assert max(gains, key=gains.get) == f"all__leak_{fit.family}"
    # Deterministic, and independent of the frame's row order.
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=9)
    for source in (frame, shuffled):
        again, _ = fit_families(
            source,
            ["mortgage", "savings"],
            features=features,
            params=params,
            seed=5,
            order=row_order(source),
        )
        for first, second in zip(fitted, again, strict=True):
            assert first.booster.model_to_string() == second.booster.model_to_string()
            assert first.counts == second.counts


def test_fit_families_reports_skipped_families(make_set, small_params) -> None:
    from interestlab.modeling.train import SkipFamily, fit_families, fit_family
    from interestlab.policy import load_policy

    frame, _ = assign_split(make_set(), n_test_months=2, policy=load_policy())
    features = feature_columns(frame)
    params = resolve_params({**small_params, "min_positives": 10**6})
    fitted, skipped = fit_families(
        frame, ["mortgage", "savings"], features=features, params=params, seed=5
    )
    assert fitted == [] and set(skipped) == {"mortgage", "savings"}
    assert "fewer than min_positives=1000000" in skipped["mortgage"]
    with pytest.raises(SkipFamily, match="fewer than min_positives"):
        fit_family(frame, "savings", features=features, params=params, seed=5)


def test_families_are_binned_in_groups_below_the_union_cap(
    make_set, small_params, monkeypatch
) -> None:
    from interestlab.modeling import train
    from interestlab.policy import load_policy

    frame, _ = assign_split(make_set(), n_test_months=2, policy=load_policy())
    features = feature_columns(frame)
    params = resolve_params({**small_params, "negative_rate": 0.5})
    order = train.row_order(frame)
    rows = {
        f: train.select_family_rows(frame, f, negative_rate=0.5, seed=5, order=order)
        for f in ("mortgage", "savings")
    }
    assert train._binning_groups(order, dict(rows)) == [["mortgage", "savings"]]
    monkeypatch.setattr(train, "BIN_UNION_MAX_ROWS", 1)
    assert train._binning_groups(order, dict(rows)) == [["mortgage"], ["savings"]]
    # Binned alone, each family gets exactly the model it gets when fitted alone.
    together, _ = train.fit_families(
        frame, ["mortgage", "savings"], features=features, params=params, seed=5
    )
    for fit in together:
        alone = train.fit_family(frame, fit.family, features=features, params=params, seed=5)
        assert fit.booster.model_to_string() == alone.booster.model_to_string()
        assert fit.valid_auc == alone.valid_auc


def test_challengers_fitted_side_by_side_equal_one_at_a_time(
    make_set, small_params, monkeypatch
) -> None:
    from threadpoolctl import threadpool_info

    from interestlab.modeling import train
    from interestlab.policy import load_policy

    frame, _ = assign_split(make_set(), n_test_months=2, policy=load_policy())
    features = feature_columns(frame)
    params = resolve_params({**small_params, "negative_rate": 0.5})
    families = [c.removeprefix("label__") for c in frame.columns if c.startswith("label__")][:3]

    def blas() -> list:
        return [
            (i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"
        ]

    import sklearn.linear_model  # noqa: F401 - its BLAS loaded before the limits are read

    blas_before = blas()
    together, _ = train.fit_families(frame, families, features=features, params=params, seed=5)
    assert blas() == blas_before  # the one-thread limit is lifted after the fits
    monkeypatch.setattr(train, "CHALLENGER_THREADS", 1)
    alone, _ = train.fit_families(frame, families, features=features, params=params, seed=5)
    assert [fit.family for fit in together] == families
    for side_by_side, one_at_a_time in zip(together, alone, strict=True):
        for name in ("coef_", "intercept_"):
            np.testing.assert_array_equal(
                getattr(side_by_side.challenger.model_, name),
                getattr(one_at_a_time.challenger.model_, name),
            )
        assert side_by_side.booster.model_to_string() == one_at_a_time.booster.model_to_string()


@pytest.mark.parametrize("block_rows", [64, 1_000_000])
def test_streamed_dataset_is_lightgbms_own_binning_byte_for_byte(
    split_frame, tmp_path, monkeypatch, block_rows
) -> None:
    # Two threads push their halves of the rows block by block through LightGBM's streaming
    # API: the Dataset must be the one LightGBM builds from the whole matrix at once, with
    # bins found from the rows themselves (all of them sampled) or taken from a reference.
    import ctypes

    import lightgbm as lgb
    from lightgbm.basic import _LIB

    from interestlab.modeling import train

    frame, _ = split_frame
    features = feature_columns(frame)
    categorical = train.categorical_features(features)
    rng = np.random.default_rng(4)
    positions = np.sort(rng.choice(frame.height, frame.height * 2 // 3, replace=False))
    assert positions.size <= train.BIN_SAMPLE_ROWS  # LightGBM then samples every row too

    def own(rows, params, reference=None):
        return lgb.Dataset(
            train.gather_matrix(frame, rows, features),
            label=np.zeros(rows.size, dtype=np.float32),
            reference=reference,
            feature_name=features,
            categorical_feature=categorical,
            params=params,
        ).construct()

    def same(streamed, expected, name):
        streamed.save_binary(tmp_path / f"{name}-streamed.bin")
        expected.save_binary(tmp_path / f"{name}-expected.bin")
        assert (tmp_path / f"{name}-streamed.bin").read_bytes() == (
            tmp_path / f"{name}-expected.bin"
        ).read_bytes()
        assert streamed.get_params() == expected.get_params()
        assert streamed.num_data() == expected.num_data()

    def max_threads():
        found = ctypes.c_int(0)
        _LIB.LGBM_GetMaxThreads(ctypes.byref(found))
        return found.value

    threads_before = max_threads()
    monkeypatch.setattr(train, "BIN_BLOCK_ROWS", block_rows)
    base = train.lightgbm_params(resolve_params({}), seed=3)
    for params in (base, {**base, **train.BIN_LAYOUT}):
        same(
            train._streamed_dataset(frame, positions, features, sample=positions, params=params),
            own(positions, params),
            "sampled",
        )
        bins = own(positions[::3], params)
        same(
            train._streamed_dataset(frame, positions, features, reference=bins, params=params),
            own(positions, params, reference=bins),
            "reference",
        )
    assert max_threads() == threads_before  # LightGBM's thread cap is restored
    with pytest.raises(ValueError, match="at least one row"):
        train._streamed_dataset(
            frame, np.array([], dtype=np.int64), features, reference=bins, params=base
        )
    with pytest.raises(ValueError, match="exactly one of `sample` rows and a `reference`"):
        train._streamed_dataset(frame, positions, features, params=base)


def _reference_rows(frame, family, *, negative_rate, seed, test_max_rows=None):
    # The plain form of `select_family_rows`: masks over every eligible row in key order.
    from interestlab.modeling.train import (
        NEGATIVE_SAMPLE_STREAM,
        SPLIT_CODES,
        TEST,
        TEST_SAMPLE_STREAM,
        row_order,
    )

    order = row_order(frame)
    values = frame[f"label__{family}"]
    eligible = values.is_not_null().to_numpy()[order.positions]
    positions = order.positions[eligible]
    split = order.split[eligible]
    labels = values.cast(pl.Float32).to_numpy()[positions]
    keep = np.ones(positions.size, dtype=bool)
    weight = np.ones(positions.size, dtype=np.float32)
    sampled = (split != SPLIT_CODES[TEST]) & (labels == 0)
    draw = np.random.default_rng([seed, NEGATIVE_SAMPLE_STREAM]).random(
        order.positions.size, dtype=np.float32
    )[eligible]
    if negative_rate < 1.0:
        keep = ~sampled | (draw < negative_rate)
        weight[sampled] = 1.0 / negative_rate
    parts = {name: keep & (split == code) for name, code in SPLIT_CODES.items()}
    if test_max_rows is not None and parts[TEST].sum() > test_max_rows:
        candidates = np.flatnonzero(parts[TEST])
        test_draw = np.random.default_rng([seed, TEST_SAMPLE_STREAM]).random(
            order.positions.size, dtype=np.float32
        )[eligible][candidates]
        parts[TEST] = np.zeros_like(parts[TEST])
        parts[TEST][candidates[np.argpartition(test_draw, test_max_rows - 1)[:test_max_rows]]] = (
            True
        )
    return {name: (positions[mask], labels[mask], weight[mask]) for name, mask in parts.items()}


@pytest.mark.parametrize("negative_rate", [1.0, 0.3])
@pytest.mark.parametrize("shuffled", [False, True])
def test_select_family_rows_equals_the_plain_masks(split_frame, negative_rate, shuffled) -> None:
    # The split runs and eligible-only label conversion select exactly the rows, labels and
    # weights of plain masks over every row.
    from interestlab.modeling.train import select_family_rows

    frame, _ = split_frame
    if shuffled:
        frame = frame.sample(fraction=1.0, shuffle=True, seed=11)
    for family in ("mortgage", "savings"):
        for cap in (None, 50):
            rows = select_family_rows(
                frame, family, negative_rate=negative_rate, seed=9, test_max_rows=cap
            )
            expected = _reference_rows(
                frame, family, negative_rate=negative_rate, seed=9, test_max_rows=cap
            )
            for name, (positions, labels, weights) in expected.items():
                np.testing.assert_array_equal(rows.positions[name], positions)
                np.testing.assert_array_equal(rows.labels[name], labels)
                np.testing.assert_array_equal(rows.weights[name], weights)


def test_select_family_rows_rejects_an_order_whose_splits_are_not_in_time_order(
    split_frame,
) -> None:
    from interestlab.modeling.train import RowOrder, row_order, select_family_rows

    frame, _ = split_frame
    order = row_order(frame)
    reversed_order = RowOrder(order.positions[::-1].copy(), order.split[::-1].copy())
    with pytest.raises(ValueError, match="`order.split` must follow the as-of order"):
        select_family_rows(frame, "savings", negative_rate=1.0, seed=1, order=reversed_order)


@pytest.mark.parametrize("metric", ["auc", "binary_logloss"])
def test_validation_auc_is_the_weighted_auc_of_the_best_iteration(mortgage_result, metric) -> None:
    # With `metric: auc` it is LightGBM's own early-stopping value; with another metric it
    # is computed from the scores: both the weighted AUC at the best iteration.
    from sklearn.metrics import roc_auc_score

    from interestlab.modeling.train import VALID, fit_family, gather_matrix

    frame, features, params, _ = mortgage_result
    params = {
        **params,
        "negative_rate": 0.5,
        "lightgbm": {**params["lightgbm"], "metric": metric},
    }
    fit = fit_family(frame, "mortgage", features=features, params=params, seed=5)
    assert ("auc" in fit.booster.best_score["valid"]) == (metric == "auc")
    from interestlab.modeling.train import select_family_rows

    rows = select_family_rows(frame, "mortgage", negative_rate=0.5, seed=5)
    x = gather_matrix(frame, rows.positions[VALID], features)
    scores = fit.booster.predict(x, num_iteration=fit.best)
    expected = roc_auc_score(rows.labels[VALID], scores, sample_weight=rows.weights[VALID])
    assert fit.valid_auc == pytest.approx(expected, abs=1e-9)
    assert np.any(rows.weights[VALID] != 1.0)  # the weights matter here

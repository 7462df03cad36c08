"""Training core (R4): out-of-time split, per-family LightGBM, challenger, evaluation.

Everything in this module is a transform over frames and arrays: no files, no MLflow. The
edge that logs and registers (`interestlab.modeling.pipeline.train_all`) calls
`train_family` once per family and hands the `FamilyResult` to the tracking code.

Split (per training set, shared by every family): the as-of dates are grouped by bank-local
month; the latest `n_test_months` months are the test set (never used for training, early
stopping or tuning), the latest remaining month is the validation slice for early stopping,
all earlier months are training months.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from interestlab.contract import FAMILIES
from interestlab.modeling import evaluate
from interestlab.modeling.challenger import CHALLENGER_NAME, LogisticChallenger
from interestlab.policy import Policy

KEY_COLUMNS = ("customer_id", "as_of")
LABEL_PREFIX = "label__"
SPLIT_COLUMN = "split"
TRAIN, VALID, TEST = "train", "valid", "test"
# Identity features whose levels define the segments of the per-segment evaluation.
SEGMENT_FEATURES = {
    "language": "id__language",
    "age band": "id__age_band",
    "segment": "id__segment",
}
DEFAULT_N_TEST_MONTHS = 2

DEFAULT_PARAMS: dict[str, Any] = {
    # Bounded complexity: TreeSHAP cost grows with leaves x depth^2 (PITFALLS), and explanations
    # are computed for every planned contact.
    "lightgbm": {
        "objective": "binary",
        "metric": "auc",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": 6,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "max_bin": 255,
        "num_threads": 2,
    },
    "num_boost_round": 400,
    "early_stopping_rounds": 30,
    # Share of negative rows kept in training and validation months (weight 1/rate keeps the
    # scores calibrated); the test months are never sampled.
    "negative_rate": 1.0,
    "min_positives": 20,
    "shap_rows": 2000,
    "challenger_max_rows": 200_000,
    "segment_min_rows": 20,
    "gates": {
        "min_auc": 0.65,
        "min_top_decile_lift": 2.0,
        "min_auc_gain_over_challenger": 0.0,
        "max_psi": 0.25,
    },
}
# Fixed for bit-identical retraining (PITFALLS); not overridable through `params`.
REPRODUCIBILITY = {"deterministic": True, "force_row_wise": True, "verbosity": -1}
MAX_NUM_LEAVES = 255
MAX_DEPTH = 12


def resolve_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Deep-merge `params` over `DEFAULT_PARAMS`, rejecting unknown keys and unbounded trees.

    Examples
    --------
    >>> resolve_params({"lightgbm": {"num_leaves": 15}})["lightgbm"]["num_leaves"]
    15
    """
    resolved = copy.deepcopy(DEFAULT_PARAMS)
    for key, value in (params or {}).items():
        if key not in resolved:
            msg = f"params: unknown key `{key}`; expected one of {sorted(resolved)}"
            raise ValueError(msg)
        if key == "lightgbm":
            resolved[key].update(value)
        elif key == "gates":
            unknown = sorted(set(value) - set(resolved[key]))
            if unknown:
                msg = f"params: unknown gate(s) {unknown}; expected some of {sorted(resolved[key])}"
                raise ValueError(msg)
            resolved[key].update(value)
        else:
            resolved[key] = value
    lgb = resolved["lightgbm"]
    if not 2 <= int(lgb["num_leaves"]) <= MAX_NUM_LEAVES:
        msg = (
            f"params: `lightgbm.num_leaves` must be in 2..{MAX_NUM_LEAVES},"
            f" got {lgb['num_leaves']!r}"
        )
        raise ValueError(msg)
    if not 1 <= int(lgb["max_depth"]) <= MAX_DEPTH:
        msg = (
            f"params: `lightgbm.max_depth` must be in 1..{MAX_DEPTH} (bounded for TreeSHAP),"
            f" got {lgb['max_depth']!r}"
        )
        raise ValueError(msg)
    if not 0 < float(resolved["negative_rate"]) <= 1:
        msg = f"params: `negative_rate` must be in (0, 1], got {resolved['negative_rate']!r}"
        raise ValueError(msg)
    return resolved


def feature_columns(training_set: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """Every column that is not `customer_id`, `as_of`, `split` or a `label__*` column."""
    names = training_set.collect_schema().names()
    return [
        c
        for c in names
        if c not in KEY_COLUMNS and c != SPLIT_COLUMN and not c.startswith(LABEL_PREFIX)
    ]


def check_training_set(training_set: pl.DataFrame, *, families: list[str]) -> list[str]:
    """Check keys, label columns and numeric features; return the feature columns."""
    schema = training_set.schema
    for column, dtype in (("customer_id", pl.String()), ("as_of", pl.Datetime("us", "UTC"))):
        if column not in schema:
            msg = (
                f"training set: missing column `{column}` (expected {dtype});"
                f" found {schema.names()[:8]}..."
            )
            raise ValueError(msg)
        if schema[column] != dtype:
            msg = f"training set: column `{column}` has type {schema[column]}, expected {dtype}"
            raise ValueError(msg)
    if not families:
        msg = "`families` is empty; expected at least one product family offered by the group"
        raise ValueError(msg)
    for family in families:
        if family not in FAMILIES:
            msg = f"unknown family `{family}`; expected one of {list(FAMILIES)}"
            raise ValueError(msg)
        label = f"{LABEL_PREFIX}{family}"
        if label not in schema:
            msg = f"training set: missing label column `{label}` for family `{family}`"
            raise ValueError(msg)
    features = feature_columns(training_set)
    if not features:
        msg = "training set: no feature columns (every column is a key or a label)"
        raise ValueError(msg)
    wrong = [(c, str(schema[c])) for c in features if not schema[c].is_numeric()]
    if wrong:
        msg = f"training set: feature columns must be numeric, found {wrong}"
        raise ValueError(msg)
    return features


@dataclass(frozen=True)
class SplitInfo:
    """Which bank-local as-of months went where."""

    train_months: tuple[str, ...]
    valid_month: str
    test_months: tuple[str, ...]
    as_of_dates: tuple[str, ...]

    @property
    def data_window(self) -> str:
        return f"{self.as_of_dates[0]}..{self.as_of_dates[-1]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_months": list(self.train_months),
            "valid_month": self.valid_month,
            "test_months": list(self.test_months),
            "as_of_dates": list(self.as_of_dates),
        }


def assign_split(
    training_set: pl.DataFrame, *, n_test_months: int, policy: Policy
) -> tuple[pl.DataFrame, SplitInfo]:
    """Add a `split` column (train / valid / test) by bank-local as-of month, out of time.

    Examples
    --------
    >>> frame, info = assign_split(training_set, n_test_months=2, policy=policy)  # doctest: +SKIP
    >>> info.test_months
    ('2026-09', '2026-10')
    """
    if not isinstance(n_test_months, int) or n_test_months < 1:
        msg = f"`n_test_months` must be a positive integer, got {n_test_months!r}"
        raise ValueError(msg)
    month = pl.col("as_of").dt.convert_time_zone(policy.timezone).dt.strftime("%Y-%m")
    months = sorted(training_set.select(month.unique()).to_series().to_list())
    if len(months) < n_test_months + 2:
        msg = (
            f"training set: the out-of-time split needs at least {n_test_months + 2} as-of months"
            f" ({n_test_months} test, 1 validation, 1+ training), found {len(months)}: {months}"
        )
        raise ValueError(msg)
    test_months = tuple(months[-n_test_months:])
    valid_month = months[-n_test_months - 1]
    split = (
        pl.when(month.is_in(list(test_months)))
        .then(pl.lit(TEST))
        .when(month == valid_month)
        .then(pl.lit(VALID))
        .otherwise(pl.lit(TRAIN))
        .alias(SPLIT_COLUMN)
    )
    local_dates = (
        training_set.select(
            pl.col("as_of").dt.convert_time_zone(policy.timezone).dt.date().unique().sort()
        )
        .to_series()
        .cast(pl.String)
        .to_list()
    )
    info = SplitInfo(
        tuple(months[: -n_test_months - 1]), valid_month, test_months, tuple(local_dates)
    )
    return training_set.with_columns(split), info


def feature_catalogue() -> dict[str, Any]:
    """`interestlab.features.FEATURE_CATALOGUE` (names -> specs with description, kind, levels)."""
    from interestlab.features import FEATURE_CATALOGUE

    return FEATURE_CATALOGUE


def categorical_features(features: list[str]) -> list[str]:
    """Features the catalogue declares categorical (integer codes, split as categories)."""
    catalogue = feature_catalogue()
    return [f for f in features if f in catalogue and catalogue[f].kind == "categorical"]


def segment_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Readable segment levels (language, age band, segment) from the identity feature codes."""
    catalogue = feature_catalogue()
    columns = []
    for label, feature in SEGMENT_FEATURES.items():
        if feature not in frame.columns:
            continue
        levels = getattr(catalogue.get(feature), "levels", None)
        code = pl.col(feature).cast(pl.Int64)
        if levels:
            expr = code.replace_strict(
                list(range(len(levels))), list(levels), default=None, return_dtype=pl.String
            )
        else:
            expr = code.cast(pl.String)
        columns.append(expr.fill_null("unknown").alias(label))
    return frame.select(columns) if columns else pl.DataFrame()


def family_rows(
    frame: pl.DataFrame, family: str, *, negative_rate: float, seed: int
) -> pl.DataFrame:
    """Eligible rows of one family (label not null), sorted, with a `weight` column.

    Negatives of the training and validation months are kept with probability
    `negative_rate` (seeded, order-independent) and weighted 1/rate; the test months are
    never sampled.
    """
    label = f"{LABEL_PREFIX}{family}"
    # Sort and sample on the key columns only, then gather the kept rows once: the wide
    # feature columns are copied for the kept rows, not for every eligible row (twice).
    keys = (
        frame.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            "as_of",
            "customer_id",
            label,
            SPLIT_COLUMN,
        )
        .filter(pl.col(label).is_not_null())
        .sort(["as_of", "customer_id"])
    )
    keep = np.ones(keys.height, dtype=bool)
    weight = np.ones(keys.height, dtype=np.float32)
    if negative_rate < 1.0:
        sampled = (keys[SPLIT_COLUMN] != TEST).to_numpy() & (keys[label] == 0).to_numpy()
        draw = np.random.default_rng([seed, FAMILIES.index(family)]).random(keys.height)
        keep = ~sampled | (draw < negative_rate)
        weight[sampled] = 1.0 / negative_rate
    rows = keys["_row"].to_numpy()[keep]
    return frame[rows].with_columns(pl.Series("weight", weight[keep]))


def matrix(frame: pl.DataFrame, features: list[str]) -> np.ndarray:
    """Float32 feature matrix in `features` order; nulls become NaN (LightGBM's missing)."""
    return frame.select(pl.col(features).cast(pl.Float32)).to_numpy().astype(np.float32, copy=False)


def lightgbm_params(params: dict[str, Any], *, seed: int) -> dict[str, Any]:
    """The exact parameter dict passed to `lightgbm.train` (seeded, deterministic)."""
    return {**params["lightgbm"], "seed": seed, **REPRODUCIBILITY}


def fit_booster(
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    features: list[str],
    categorical: list[str],
    params: dict[str, Any],
    seed: int,
) -> Any:
    """`lightgbm.train` with early stopping on the validation slice; returns the Booster."""
    import lightgbm as lgb

    x_train, y_train, w_train = train
    x_valid, y_valid, w_valid = valid
    train_set = lgb.Dataset(
        x_train,
        label=y_train,
        weight=w_train,
        feature_name=features,
        categorical_feature=categorical,
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(x_valid, label=y_valid, weight=w_valid, reference=train_set)
    return lgb.train(
        lightgbm_params(params, seed=seed),
        train_set,
        num_boost_round=int(params["num_boost_round"]),
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(int(params["early_stopping_rounds"]), verbose=False)],
    )


@dataclass
class FamilyResult:
    """Everything one family's training produced (arrays stay in memory, never logged raw)."""

    family: str
    booster: Any
    features: list[str]
    categorical: list[str]
    counts: dict[str, int]
    metrics: dict[str, float]
    challenger_metrics: dict[str, float]
    valid_metrics: dict[str, float]
    segments: pl.DataFrame
    reliability: pl.DataFrame
    challenger_reliability: pl.DataFrame
    importance: pl.DataFrame
    shap: pl.DataFrame
    score_quantiles: list[float]
    truth: dict[str, float] = field(default_factory=dict)
    test_labels: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    test_scores: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    challenger_scores: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    shap_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    shap_features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)

    @property
    def best_iteration(self) -> int:
        return int(self.booster.best_iteration or self.booster.current_iteration())

    @property
    def earns_its_place(self) -> bool:
        """LightGBM beats the challenger on test AUC."""
        return bool(self.metrics["auc"] > self.challenger_metrics["auc"])


class SkipFamily(Exception):  # noqa: N818 - a signal, not an error
    """Not enough positives to train or evaluate a family's model; carries the reason."""


def _sample(n_rows: int, n_keep: int, *, seed: int) -> np.ndarray:
    if n_rows <= n_keep:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=n_keep, replace=False))


def train_family(
    frame: pl.DataFrame,
    family: str,
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    truth: pl.DataFrame | None = None,
) -> FamilyResult:
    """Train and evaluate one family's LightGBM model and its challenger.

    Parameters
    ----------
    frame : training set with the `split` column of `assign_split`.
    params : resolved parameters (`resolve_params`).

    Raises
    ------
    SkipFamily : fewer than `min_positives` positives in the training months, or a test set
        without both classes.
    """
    label = f"{LABEL_PREFIX}{family}"
    rows = family_rows(frame, family, negative_rate=float(params["negative_rate"]), seed=seed)
    parts = {name: rows.filter(pl.col(SPLIT_COLUMN) == name) for name in (TRAIN, VALID, TEST)}
    counts = {f"n_{name}": parts[name].height for name in parts}
    counts |= {f"positives_{name}": int(parts[name][label].sum() or 0) for name in parts}
    if counts["positives_train"] < int(params["min_positives"]):
        msg = (
            f"{counts['positives_train']} positives in the training months,"
            f" fewer than min_positives={params['min_positives']}"
        )
        raise SkipFamily(msg)
    for name in (VALID, TEST):
        if counts[f"positives_{name}"] == 0 or counts[f"positives_{name}"] == counts[f"n_{name}"]:
            msg = f"the {name} months hold only one class ({counts[f'positives_{name}']} positives)"
            raise SkipFamily(msg)

    categorical = categorical_features(features)

    def xyw(part: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            matrix(part, features),
            part[label].cast(pl.Float32).to_numpy(),
            part["weight"].to_numpy(),
        )

    train, valid, test = xyw(parts[TRAIN]), xyw(parts[VALID]), xyw(parts[TEST])
    booster = fit_booster(
        train, valid, features=features, categorical=categorical, params=params, seed=seed
    )
    best = booster.best_iteration or None
    test_scores = booster.predict(test[0], num_iteration=best)
    valid_scores = booster.predict(valid[0], num_iteration=best)

    challenger_rows = _sample(train[0].shape[0], int(params["challenger_max_rows"]), seed=seed)
    challenger = LogisticChallenger(categorical=tuple(features.index(c) for c in categorical)).fit(
        train[0][challenger_rows], train[1][challenger_rows], train[2][challenger_rows]
    )
    challenger_scores = challenger.predict(test[0])

    shap_rows = _sample(test[0].shape[0], int(params["shap_rows"]), seed=seed)
    shap_features = test[0][shap_rows]
    shap_values = booster.predict(shap_features, num_iteration=best, pred_contrib=True)

    labels = test[1].astype(np.float64)
    metrics = evaluate.classification_metrics(labels, test_scores)
    result = FamilyResult(
        family=family,
        booster=booster,
        features=features,
        categorical=categorical,
        counts=counts,
        metrics=metrics,
        challenger_metrics=evaluate.classification_metrics(labels, challenger_scores),
        valid_metrics={"auc": evaluate.roc_auc(valid[1], valid_scores)},
        segments=evaluate.segment_metrics(
            segment_frame(parts[TEST]),
            labels,
            test_scores,
            min_rows=int(params["segment_min_rows"]),
        ),
        reliability=evaluate.reliability_curve(labels, test_scores),
        challenger_reliability=evaluate.reliability_curve(labels, challenger_scores),
        importance=evaluate.gain_importance(booster),
        shap=evaluate.shap_summary(shap_values, shap_features, features),
        score_quantiles=evaluate.score_quantiles(test_scores),
        test_labels=labels,
        test_scores=test_scores,
        challenger_scores=challenger_scores,
        shap_values=shap_values,
        shap_features=shap_features,
    )
    if truth is not None:
        scored = (
            parts[TEST].select("customer_id", "as_of").with_columns(pl.Series("score", test_scores))
        )
        result.truth = evaluate.truth_recovery(scored, truth, family=family)
    return result


__all__ = [
    "CHALLENGER_NAME",
    "DEFAULT_N_TEST_MONTHS",
    "DEFAULT_PARAMS",
    "FamilyResult",
    "SkipFamily",
    "SplitInfo",
    "assign_split",
    "check_training_set",
    "feature_columns",
    "group_families",
    "resolve_params",
    "train_family",
]


def group_families(products: pl.DataFrame) -> list[str]:
    """Families with at least one product of a group provider (R11), in contract order.

    Examples
    --------
    >>> group_families(pl.DataFrame({"family": ["savings", "mortgage"],
    ...                              "provider_in_group": [False, True]}))
    ['mortgage']
    """
    offered = set(products.filter(pl.col("provider_in_group"))["family"].to_list())
    return [family for family in FAMILIES if family in offered]

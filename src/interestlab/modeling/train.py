"""Training core (R4): out-of-time split, per-family LightGBM, challenger, evaluation.

Everything in this module is a transform over frames and arrays: no files, no MLflow. The
edge that logs and registers (`interestlab.modeling.pipeline.train_all`) calls `fit_family`
once per family, `score_test_months` once for all of them (one pass over the test months) and
`evaluate_family` per family, and hands each `FamilyResult` to the tracking code;
`train_family` chains the three for one family.

Split (per training set, shared by every family): the as-of dates are grouped by bank-local
month; the latest `n_test_months` months are the test set (never used for training, early
stopping or tuning), the latest remaining month is the validation slice for early stopping,
all earlier months are training months.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from interestlab.contract import FAMILIES
from interestlab.memory import release_memory
from interestlab.modeling import evaluate
from interestlab.modeling.challenger import CHALLENGER_NAME, LogisticChallenger
from interestlab.policy import Policy
from interestlab.progress import step

KEY_COLUMNS = ("customer_id", "as_of")
MODEL_NAME = "lightgbm"
LABEL_PREFIX = "label__"
SPLIT_COLUMN = "split"
TRAIN, VALID, TEST = "train", "valid", "test"
SPLIT_CODES = {TRAIN: 0, VALID: 1, TEST: 2}  # small integer codes of `split`, in time order
# The `split` column: one byte a row (a string column is ~450 MB at 12M rows).
SPLIT_DTYPE = pl.Enum(list(SPLIT_CODES))
# Identity features whose levels define the segments of the per-segment evaluation.
SEGMENT_FEATURES = {
    "language": "id__language",
    "age band": "id__age_band",
    "segment": "id__segment",
}
DEFAULT_N_TEST_MONTHS = 2
# Test rows scored per chunk (LightGBM and challenger): bounds the feature matrix held while
# scoring the out-of-time test set (100k rows x 183 features: 73 MB float32).
SCORE_CHUNK_ROWS = 100_000
# Seed streams of the sampling draws (`RowOrder.draws`): one draw per row shared by every
# family, so the families keep the same negatives and evaluate the same test rows where their
# eligibility allows (one shared matrix, one shared LightGBM binning: `fit_families`).
NEGATIVE_SAMPLE_STREAM = 1
TEST_SAMPLE_STREAM = 2

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
    # scores calibrated); the test months are never class-sampled (see `test_max_rows`).
    "negative_rate": 1.0,
    "min_positives": 20,
    "shap_rows": 2000,
    # Eligible test rows evaluated per family: above it, a seeded uniform sample of this many
    # (stated in the model card with the eligible count); None evaluates every test row. The
    # sampling error is small next to the gates: an AUC of 0.75 on 500k rows with 5,000
    # positives has a standard error of ~0.004 (Hanley-McNeil).
    "test_max_rows": 500_000,
    # The challenger (~200 coefficients) is fitted on a seeded sample of at most this many
    # training rows (stated in the model card): on the 1M-customer bench set its test AUC is
    # within 0.001 of a 200k-row fit for three families, at a quarter of the ~3 s per family.
    "challenger_max_rows": 50_000,
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
    cap = resolved["test_max_rows"]
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        msg = f"params: `test_max_rows` must be a positive integer or None, got {cap!r}"
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
    # Months and local dates of the few distinct as-of moments, not of every row.
    moments = training_set.select(pl.col("as_of").unique().sort()).to_series()
    local = moments.dt.convert_time_zone(policy.timezone)
    month_of = dict(zip(moments.to_list(), local.dt.strftime("%Y-%m").to_list(), strict=True))
    months = sorted(set(month_of.values()))
    if len(months) < n_test_months + 2:
        msg = (
            f"training set: the out-of-time split needs at least {n_test_months + 2} as-of months"
            f" ({n_test_months} test, 1 validation, 1+ training), found {len(months)}: {months}"
        )
        raise ValueError(msg)
    test_months = tuple(months[-n_test_months:])
    valid_month = months[-n_test_months - 1]
    in_test = [moment for moment, month in month_of.items() if month in test_months]
    in_valid = [moment for moment, month in month_of.items() if month == valid_month]
    as_of = pl.col("as_of")
    split = (
        pl.when(as_of.is_in(pl.Series(in_test, dtype=moments.dtype).implode()))
        .then(pl.lit(TEST))
        .when(as_of.is_in(pl.Series(in_valid, dtype=moments.dtype).implode()))
        .then(pl.lit(VALID))
        .otherwise(pl.lit(TRAIN))
        .cast(SPLIT_DTYPE)
        .alias(SPLIT_COLUMN)
    )
    local_dates = sorted({str(day) for day in local.dt.date().to_list()})
    info = SplitInfo(
        tuple(months[: -n_test_months - 1]), valid_month, test_months, tuple(local_dates)
    )
    return training_set.with_columns(
        _aligned(training_set.select(split).to_series(), training_set)
    ), info


def _aligned(column: pl.Series, frame: pl.DataFrame) -> pl.Series:
    """`column` cut into the chunks of `frame`'s columns.

    A frame whose columns are chunked differently is rechunked whole by its first `select`
    (polars aligns the chunks: a copy of every column, 8.6 GB for the full-size training
    set, kept as long as the frame lives); a new column chunked like the others avoids it.
    """
    lengths = frame.get_column(frame.columns[0]).chunk_lengths()
    if column.chunk_lengths() == lengths:
        return column
    column = column.rechunk()
    offsets = np.cumsum([0, *lengths[:-1]]).tolist()
    return pl.concat(
        [column.slice(offset, length) for offset, length in zip(offsets, lengths, strict=True)],
        rechunk=False,
    )


def _narrow(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """The columns `names` of `frame` as a frame of their own (zero copy).

    Selecting through the narrow frame aligns (and, if ever needed, rechunks) only these
    columns, never the whole training set.
    """
    return pl.DataFrame([frame.get_column(name) for name in names])


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


@dataclass(frozen=True)
class RowOrder:
    """Row positions of a split frame in `(as_of, customer_id)` order, with each row's split.

    Computed once per training set and shared by every family (the sort is the same for all).
    A row's *rank* is its index in this order; the sampling draws are one number per rank
    (`draws`), so every family sees the same draw for the same row, whatever the order of
    the frame's rows.
    """

    positions: np.ndarray
    split: np.ndarray  # `SPLIT_CODES` of the rows at `positions`
    identity: bool = False  # the frame is already in key order (rank == position)
    # Draws per (seed, stream) and the inverse permutation, computed once when first needed.
    _cache: dict[Any, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def draws(self, seed: int, stream: int) -> np.ndarray:
        """Uniform float32 draws in [0, 1), one per rank, seeded by `(seed, stream)`
        (computed once per pair and kept: 4 bytes a row)."""
        key = ("draws", int(seed), int(stream))
        if key not in self._cache:
            rng = np.random.default_rng([key[1], key[2]])
            self._cache[key] = rng.random(self.positions.size, dtype=np.float32)
        return self._cache[key]

    def ranks(self, positions: np.ndarray) -> np.ndarray:
        """Ranks of frame `positions`."""
        if self.identity:
            return np.asarray(positions, dtype=np.int64)
        if "inverse" not in self._cache:
            inverse = np.empty(self.positions.size, dtype=np.int64)
            inverse[self.positions] = np.arange(self.positions.size)
            self._cache["inverse"] = inverse
        return self._cache["inverse"][positions]


def row_order(frame: pl.DataFrame) -> RowOrder:
    """Positions of `frame`'s rows sorted by `as_of, customer_id` (keys only; no wide copy).

    A training set written by `features.write_snapshot` is already in that order; the check
    costs one pass over the two key columns and skips the sort.
    """
    keys = _narrow(frame, ["as_of", "customer_id", SPLIT_COLUMN]).select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
        "as_of",
        "customer_id",
        pl.col(SPLIT_COLUMN).cast(SPLIT_DTYPE).to_physical().cast(pl.Int8).alias("_split"),
    )
    in_order = keys.select(
        (
            (pl.col("as_of") > pl.col("as_of").shift(1))
            | (
                (pl.col("as_of") == pl.col("as_of").shift(1))
                & (pl.col("customer_id") > pl.col("customer_id").shift(1))
            )
        )
        .fill_null(True)
        .all()
    ).item()
    if not in_order:
        keys = keys.sort(["as_of", "customer_id"])
    return RowOrder(keys["_row"].to_numpy(), keys["_split"].to_numpy(), identity=bool(in_order))


@dataclass(frozen=True)
class FamilyRows:
    """One family's rows per split: positions into the split frame (in `(as_of,
    customer_id)` order), float32 labels and float32 weights."""

    family: str
    positions: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    # Eligible rows of the test months before the evaluation sample (`test_max_rows`).
    test_eligible: int = -1

    def counts(self) -> dict[str, int]:
        """`n_<split>` and `positives_<split>` of train, valid and test (the rows used), and
        `n_test_eligible` (every eligible test row, evaluated or not)."""
        counts = {f"n_{name}": int(self.positions[name].size) for name in SPLIT_CODES}
        eligible = self.test_eligible if self.test_eligible >= 0 else counts["n_test"]
        return (
            counts
            | {
                f"positives_{name}": int(self.labels[name].sum(dtype=np.float64))
                for name in SPLIT_CODES
            }
            | {"n_test_eligible": int(eligible)}
        )


def select_family_rows(
    frame: pl.DataFrame,
    family: str,
    *,
    negative_rate: float,
    seed: int,
    order: RowOrder | None = None,
    test_max_rows: int | None = None,
) -> FamilyRows:
    """Eligible rows of one family (label not null) per split, with their weights.

    Negatives of the training and validation months are kept with probability
    `negative_rate` and weighted 1/rate. The test months are never class-sampled: when they
    hold more than `test_max_rows` eligible rows, a seeded **uniform** sample of exactly
    `test_max_rows` of them is evaluated (weight 1, so every metric is an unbiased estimate
    without reweighting). Both draws are one number per row (`RowOrder.draws`: seeded,
    independent of the frame's row order), the same for every family: the families' samples
    overlap as much as their eligible rows allow, so their union stays small. Only positions,
    labels and weights are built here: the wide feature columns are gathered later, one
    matrix at a time (`gather_matrix`).

    Examples
    --------
    >>> rows = select_family_rows(frame, "savings", negative_rate=0.1, seed=42)  # doctest: +SKIP
    >>> rows.counts()["n_test"]  # every eligible test row (below `test_max_rows`)
    171728
    """
    label = f"{LABEL_PREFIX}{family}"
    order = order if order is not None else row_order(frame)
    values = frame[label]
    eligible = values.is_not_null().to_numpy()
    if not order.identity:
        eligible = eligible[order.positions]
    ranks = np.flatnonzero(eligible)
    positions = ranks if order.identity else order.positions[ranks]
    # Only the eligible labels are converted (no nulls: no float copy of the whole column).
    labels = values.gather(positions).cast(pl.Float32).to_numpy()
    weight = np.ones(positions.size, dtype=np.float32)
    # Ranks follow `as_of`, so each split is one contiguous run of the eligible rows.
    codes = order.split[ranks]
    if np.any(codes[1:] < codes[:-1]):
        msg = "select_family_rows: `order.split` must follow the as-of order (see `row_order`)"
        raise ValueError(msg)
    bounds = np.searchsorted(codes, [*SPLIT_CODES.values(), len(SPLIT_CODES)])
    runs = {name: slice(bounds[k], bounds[k + 1]) for k, name in enumerate(SPLIT_CODES)}
    keep = {name: np.ones(run.stop - run.start, dtype=bool) for name, run in runs.items()}
    if negative_rate < 1.0:
        draws = order.draws(seed, NEGATIVE_SAMPLE_STREAM)
        for name in (TRAIN, VALID):
            run = runs[name]
            negative = labels[run] == 0
            keep[name] = ~negative | (draws[ranks[run]] < negative_rate)
            weight[run][negative] = 1.0 / negative_rate
    test = runs[TEST]
    n_eligible_test = test.stop - test.start
    if test_max_rows is not None and n_eligible_test > test_max_rows:
        draw = order.draws(seed, TEST_SAMPLE_STREAM)[ranks[test]]
        chosen = np.argpartition(draw, test_max_rows - 1)[:test_max_rows]
        keep[TEST] = np.zeros(n_eligible_test, dtype=bool)
        keep[TEST][chosen] = True
    return FamilyRows(
        family=family,
        positions={name: positions[run][keep[name]] for name, run in runs.items()},
        labels={name: labels[run][keep[name]] for name, run in runs.items()},
        weights={name: weight[run][keep[name]] for name, run in runs.items()},
        test_eligible=int(n_eligible_test),
    )


def family_rows(
    frame: pl.DataFrame, family: str, *, negative_rate: float, seed: int
) -> pl.DataFrame:
    """Eligible rows of one family (label not null), sorted, with a `weight` column.

    The rows `select_family_rows` selects, gathered into one frame (every column): handy to
    inspect a family's sample; training never builds it (it gathers float32 matrices).
    """
    rows = select_family_rows(frame, family, negative_rate=negative_rate, seed=seed)
    positions = np.concatenate([rows.positions[name] for name in SPLIT_CODES])
    weights = np.concatenate([rows.weights[name] for name in SPLIT_CODES])
    return frame[positions].with_columns(pl.Series("weight", weights))


def matrix(frame: pl.DataFrame, features: list[str]) -> np.ndarray:
    """Float32 feature matrix in `features` order; nulls become NaN (LightGBM's missing)."""
    return frame.select(pl.col(features).cast(pl.Float32)).to_numpy().astype(np.float32, copy=False)


# Columns gathered in parallel: numpy's fancy indexing releases the GIL.
GATHER_THREADS = 2
# Families whose rows are selected at a time (`fit_families`).
SELECT_THREADS = 2


def _chunk_values(chunk: pl.Series, rows: np.ndarray) -> np.ndarray:
    # A chunk with nulls converts to a float copy of the whole chunk: gather the wanted
    # rows first (5x cheaper at 1M-row chunks); a chunk without nulls is a zero-copy view.
    if chunk.null_count():
        return chunk.gather(rows).to_numpy()
    return chunk.to_numpy()[rows]


def gather_matrix(
    frame: pl.DataFrame,
    positions: np.ndarray,
    features: list[str],
    *,
    out: np.ndarray | None = None,
    threads: int = GATHER_THREADS,
) -> np.ndarray:
    """`matrix(frame[positions], features)` without the intermediate wide frame.

    Filled column by column into one float32 Fortran-order array (the layout LightGBM reads
    without a copy), straight from each column's chunks (a training set read from parquet
    parts has dozens), two columns at a time: one copy of the gathered values, 3.6x faster
    than a polars gather per column block at 1.3M x 183. Nulls become NaN.

    `out`: a flat float32 buffer of at least `len(positions) * len(features)` elements
    that the matrix is written into and returned as a view of (a scoring pass reuses one
    buffer for every chunk instead of page-faulting a fresh array each time).
    `threads`: columns gathered at a time (1 where the caller runs gathers in threads).
    """
    positions = np.asarray(positions, dtype=np.int64)
    shape = (positions.size, len(features))
    if out is None:
        out = np.empty(shape, dtype=np.float32, order="F")
    else:
        size = shape[0] * shape[1]
        if out.dtype != np.float32 or out.ndim != 1 or out.size < size:
            msg = (
                f"gather_matrix: `out` must be a flat float32 array of at least {size:,}"
                f" elements, got {out.dtype} of shape {out.shape}"
            )
            raise ValueError(msg)
        out = out[:size].reshape(shape, order="F")
    if positions.size == 0 or not features:
        return out
    if positions.min() < 0 or positions.max() >= frame.height:
        msg = f"gather_matrix: positions must lie in 0..{frame.height - 1}"
        raise IndexError(msg)
    # Sorted positions meet each chunk in one contiguous run; other orders are scattered back.
    ordering = (
        None if np.all(positions[1:] >= positions[:-1]) else np.argsort(positions, kind="stable")
    )
    wanted = positions if ordering is None else positions[ordering]

    def fill(j: int) -> None:
        column = frame.get_column(features[j])
        if not (column.dtype.is_numeric() and column.dtype != pl.Decimal):
            column = column.cast(pl.Float32)
        bounds = np.cumsum([0, *column.chunk_lengths()])
        cuts = np.searchsorted(wanted, bounds)
        for k, chunk in enumerate(column.get_chunks()):
            lo, hi = cuts[k], cuts[k + 1]
            if lo == hi:
                continue
            values = _chunk_values(chunk, wanted[lo:hi] - bounds[k])
            if ordering is None:
                out[lo:hi, j] = values
            else:
                out[ordering[lo:hi], j] = values

    if threads <= 1 or len(features) == 1 or positions.size < 10_000:
        for j in range(len(features)):
            fill(j)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(fill, range(len(features))))
    return out


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
    """`lightgbm.train` on one family's own matrices (binned for this family alone), early
    stopping on the validation slice; returns the Booster. `fit_families` bins the rows of
    all families once instead and trains on subsets of that binning."""
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
    return train_booster(train_set, valid_set, params=params, seed=seed)


def train_booster(train_set: Any, valid_set: Any, *, params: dict[str, Any], seed: int) -> Any:
    """The one `lightgbm.train` call: `train_set` with early stopping on `valid_set`."""
    import lightgbm as lgb

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
    """Everything one family's training produced (arrays stay in memory, never logged raw).

    Only aggregates of the test set are kept (metrics, curves of at most
    `evaluate.CURVE_POINTS` points, quantiles, the SHAP sample), not one value per test row:
    a report of every family stays small whatever the size of the test set.
    """

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
    roc: pl.DataFrame
    gains: pl.DataFrame
    truth: dict[str, float] = field(default_factory=dict)
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


@dataclass
class FittedFamily:
    """One family's fitted models and rows, before the test months are scored."""

    family: str
    rows: FamilyRows  # the test months' rows only (the training rows are dropped once fitted)
    counts: dict[str, int]  # `FamilyRows.counts()` of every split
    booster: Any
    best: int | None
    challenger: LogisticChallenger
    categorical: list[str]
    valid_auc: float


def _check_positives(counts: dict[str, int], params: dict[str, Any]) -> None:
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


# Rows gathered and pushed into LightGBM per call by each thread binning the families'
# training union (`_streamed_dataset`): two float32 blocks per thread (48 MB each at 183
# features), one column-major as gathered, one row-major as pushed.
BIN_BLOCK_ROWS = 65_536
# Threads pushing rows into one union Dataset, each its own contiguous share of the rows.
BIN_PUSH_THREADS = 2
# Rows LightGBM samples to find bin boundaries (its `bin_construct_sample_cnt` default).
BIN_SAMPLE_ROWS = 200_000
# Layout of the shared union Datasets: one dense column of bins per feature (no sparse
# storage, no feature bundles). The bins and so the models are the same as in LightGBM's
# default layout (tests); pushing, finishing and copying each family's subset out of it
# are 1.6-3x faster (3.2M rows: 10.4 s against 17.0 pushed, 0.23 s against 0.68 per
# 1.23M-row subset), and it holds ~220 bytes a row with no push buffers to release (the
# sparse layout held ~430 until copied into a compact Dataset).
BIN_LAYOUT = {"enable_bundle": False, "is_enable_sparse": False}
# Largest union of training rows binned at once (`fit_families` bins the families in
# groups below it): ~220 bytes a row, 1.0 GB at 4.7M rows (all 11 families at full size).
BIN_UNION_MAX_ROWS = 6_000_000


def _streamed_dataset(
    frame: pl.DataFrame,
    positions: np.ndarray,
    features: list[str],
    *,
    params: dict[str, Any],
    sample: np.ndarray | None = None,
    reference: Any = None,
) -> Any:
    """The rows `positions` of `frame` binned into a new LightGBM Dataset (labels are zero
    placeholders), never one float32 matrix of them all.

    Bins: those of `reference`, or found by LightGBM from the rows `sample` of `frame`
    (every one of them: at most `BIN_SAMPLE_ROWS`), with `params` (its layout and binning
    parameters). `BIN_PUSH_THREADS` threads each gather their contiguous share of the rows
    block by block (`BIN_BLOCK_ROWS`) and push it through LightGBM's streaming API, one
    LightGBM thread per push, then the Dataset is finished once. Each thread's pushes land
    in their own buffers in row order, so LightGBM finishes sparse features on sorted
    entries; its own `Dataset(Sequence)` pushes every block on two threads, which
    interleaves them, and its final sort ran serially for 7.4 s of a 3.3M-row union. The
    Dataset is byte-identical to LightGBM's own construction from one matrix of the rows
    (`save_binary`, tests).
    """
    import ctypes

    import lightgbm as lgb
    from lightgbm.basic import _LIB, _c_str, _param_dict_to_str, _safe_call

    if (sample is None) == (reference is None):
        msg = "binning: expected exactly one of `sample` rows and a `reference` Dataset"
        raise ValueError(msg)
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size == 0:
        msg = "binning: expected at least one row to push, got none"
        raise ValueError(msg)
    categorical = categorical_features(features)
    # The parameters `Dataset.construct` would pass and record (subsets and boosters
    # inherit them).
    if categorical:
        params = {**params, "categorical_column": sorted(features.index(c) for c in categorical)}
    handle = ctypes.c_void_p()
    if reference is not None:
        _safe_call(
            _LIB.LGBM_DatasetCreateByReference(
                reference.construct()._handle, ctypes.c_int64(positions.size), ctypes.byref(handle)
            )
        )
    else:
        # Each column's non-zero (or missing) sampled values and their rows, as LightGBM
        # samples a matrix (`LGBM_DatasetCreateFromMat`) before it finds the bins.
        values = gather_matrix(frame, np.asarray(sample, dtype=np.int64), features)
        sampled = np.arange(values.shape[0], dtype=np.int32)
        columns, indices = [], []
        for j in range(values.shape[1]):
            column = values[:, j].astype(np.float64)
            kept = (np.abs(column) > 1e-35) | np.isnan(column)  # LightGBM's kZeroThreshold
            columns.append(np.ascontiguousarray(column[kept]))
            indices.append(np.ascontiguousarray(sampled[kept]))
        del values
        column_pointers = (ctypes.POINTER(ctypes.c_double) * len(columns))(
            *(c.ctypes.data_as(ctypes.POINTER(ctypes.c_double)) for c in columns)
        )
        index_pointers = (ctypes.POINTER(ctypes.c_int32) * len(indices))(
            *(i.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)) for i in indices)
        )
        counts = np.array([i.size for i in indices], dtype=np.int32)
        _safe_call(
            _LIB.LGBM_DatasetCreateFromSampledColumn(
                column_pointers,
                index_pointers,
                ctypes.c_int32(len(columns)),
                counts.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                ctypes.c_int32(sampled.size),
                ctypes.c_int32(positions.size),
                ctypes.c_int64(positions.size),
                _c_str(_param_dict_to_str(params)),
                ctypes.byref(handle),
            )
        )
        del columns, indices
    workers = min(BIN_PUSH_THREADS, positions.size)
    bounds = np.linspace(0, positions.size, workers + 1).astype(np.int64)
    previous = ctypes.c_int(0)
    try:
        # has weights / init scores / queries: no; one class; `workers` pushing threads of
        # one LightGBM thread each (a thread's buffer index is its `tid`).
        _safe_call(_LIB.LGBM_DatasetInitStreaming(handle, 0, 0, 0, 1, workers, 1))
        _safe_call(_LIB.LGBM_GetMaxThreads(ctypes.byref(previous)))
        _safe_call(_LIB.LGBM_SetMaxThreads(1))
        try:

            def push(tid: int) -> None:
                lo, hi = int(bounds[tid]), int(bounds[tid + 1])
                block = min(BIN_BLOCK_ROWS, max(hi - lo, 1))
                tile = np.empty(block * len(features), dtype=np.float32)
                rows = np.empty((block, len(features)), dtype=np.float32)
                labels = np.zeros(block, dtype=np.float32)
                for start in range(lo, hi, block):
                    stop = min(start + block, hi)
                    gathered = gather_matrix(
                        frame, positions[start:stop], features, out=tile, threads=1
                    )
                    np.copyto(rows[: stop - start], gathered)
                    _safe_call(
                        _LIB.LGBM_DatasetPushRowsWithMetadata(
                            handle,
                            rows.ctypes.data_as(ctypes.c_void_p),
                            ctypes.c_int(0),  # C_API_DTYPE_FLOAT32, row-major
                            ctypes.c_int32(stop - start),
                            ctypes.c_int32(len(features)),
                            ctypes.c_int32(start),
                            labels.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                            None,
                            None,
                            None,
                            ctypes.c_int32(tid),
                        )
                    )

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(push, range(workers)))
        finally:
            _safe_call(_LIB.LGBM_SetMaxThreads(previous))
        _safe_call(_LIB.LGBM_DatasetMarkFinished(handle))
    except BaseException:
        _safe_call(_LIB.LGBM_DatasetFree(handle))
        raise
    dataset = lgb.Dataset(
        None,
        reference=reference,
        feature_name=features,
        categorical_feature=categorical,
        params=params,
        free_raw_data=True,
    )
    dataset._handle = handle  # constructed here: `construct()` now returns it as is
    dataset.set_feature_name(features)
    return dataset


def _union(order: RowOrder, parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Frame positions of the union of `parts` in key order, and the union's ranks."""
    mask = np.zeros(order.positions.size, dtype=bool)
    for positions in parts:
        mask[order.ranks(positions)] = True
    ranks = np.flatnonzero(mask)
    return order.positions[ranks], ranks


def fit_families(
    frame: pl.DataFrame,
    families: list[str],
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    order: RowOrder | None = None,
    on_fitted: Callable[[str], None] | None = None,
) -> tuple[list[FittedFamily], dict[str, str]]:
    """Fit every family's LightGBM model (early stopping on the validation month) and its
    challenger; nothing of the test months is read. Returns the fitted families (in
    `families` order) and `{family: reason}` of the skipped ones (`SkipFamily`: fewer than
    `min_positives` training positives, or a validation or test set of one class).

    The families share their rows (one sampling draw per row, `select_family_rows`), so the
    union of their training rows is **binned by LightGBM once** (bin boundaries from a
    seeded sample of at most `BIN_SAMPLE_ROWS` union rows, every row pushed block by block
    into one `Dataset` by `_streamed_dataset`; families in groups whose union stays within
    `BIN_UNION_MAX_ROWS`, one binning per group); each family trains on a `Dataset.subset`
    of it with its own labels and weights (likewise for the validation month). Results are
    deterministic for a given set, parameters and seed, and do not depend on the frame's
    row order; they do depend on which families are fitted together (the binning sample),
    so `fit_family` (one family) can differ from this.

    Memory: one group's binned union at a time (~220 bytes a row in `BIN_LAYOUT`, pushed
    in blocks of `BIN_BLOCK_ROWS` gathered rows, two blocks per pushing thread), and one
    family's subset.
    `on_fitted(family)` is called after each family (e.g. progress, heap release).
    """

    order = order if order is not None else row_order(frame)
    rows: dict[str, FamilyRows] = {}
    skipped: dict[str, str] = {}

    def select(family: str) -> FamilyRows:
        return select_family_rows(
            frame,
            family,
            negative_rate=float(params["negative_rate"]),
            seed=seed,
            order=order,
            test_max_rows=params["test_max_rows"],
        )

    # Two families selected at a time (numpy and polars release the GIL: 12M-row masks and
    # gathers; 4.5 -> 2.6 s for 11 families at full size). The negative-sampling draws are
    # made once before; the test sample's, when needed, may be drawn by both threads at
    # once (the same numbers: the one kept does not matter).
    if float(params["negative_rate"]) < 1.0:
        order.draws(seed, NEGATIVE_SAMPLE_STREAM)
    with ThreadPoolExecutor(SELECT_THREADS) as pool:
        selected = list(pool.map(select, families))
    for family, chosen in zip(families, selected, strict=True):
        try:
            _check_positives(chosen.counts(), params)
        except SkipFamily as reason:
            skipped[family] = str(reason)
            continue
        rows[family] = chosen
    if not rows:
        return [], skipped
    release_memory()  # the selection's temporaries (12M-row masks) before LightGBM bins
    fitted = []
    for group in _binning_groups(order, rows):
        fitted += _fit_group(
            frame,
            {family: rows.pop(family) for family in group},
            features=features,
            params=params,
            seed=seed,
            order=order,
            on_fitted=on_fitted,
        )
        release_memory()  # the group's binned rows before the next group is binned
    return fitted, skipped


def _binning_groups(order: RowOrder, rows: dict[str, FamilyRows]) -> list[list[str]]:
    """Families in order, grouped so that each group's union of training rows stays within
    `BIN_UNION_MAX_ROWS` (a family whose own rows exceed it forms a group alone)."""
    groups: list[list[str]] = []
    mask = np.zeros(order.positions.size, dtype=bool)
    for family, chosen in rows.items():
        ranks = order.ranks(chosen.positions[TRAIN])
        grown = mask.copy()
        grown[ranks] = True
        if groups and np.count_nonzero(grown) > BIN_UNION_MAX_ROWS:
            mask[:] = False
            mask[ranks] = True
            groups.append([family])
        else:
            mask = grown
            if groups:
                groups[-1].append(family)
            else:
                groups.append([family])
    return groups


def _fit_group(
    frame: pl.DataFrame,
    rows: dict[str, FamilyRows],
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    order: RowOrder,
    on_fitted: Callable[[str], None] | None,
) -> list[FittedFamily]:
    # One binning of the group's union of training (and validation) rows, then each family
    # trained on its subset (see `fit_families`).
    categorical = categorical_features(features)
    lgb_params = lightgbm_params(params, seed=seed)
    union, union_ranks, shared = {}, {}, {}
    for name in (TRAIN, VALID):
        union[name], union_ranks[name] = _union(order, [r.positions[name] for r in rows.values()])

    # Bin boundaries from a seeded sample of the training union (all of it up to
    # `BIN_SAMPLE_ROWS` rows: then exactly LightGBM's own binning of the union), then every
    # union row pushed through them block by block (`_streamed_dataset`): never one float32
    # matrix of the union (3.4 GB at full size). Labels of the shared Datasets are
    # placeholders: each family's subset gets its own.
    layout = {**lgb_params, **BIN_LAYOUT}
    sample = union[TRAIN][_sample(union[TRAIN].size, BIN_SAMPLE_ROWS, seed=seed)]
    shared[TRAIN] = _streamed_dataset(frame, union[TRAIN], features, sample=sample, params=layout)
    shared[VALID] = _streamed_dataset(
        frame, union[VALID], features, reference=shared[TRAIN], params=layout
    )
    step(
        f"train: {len(rows)} families binned together: {union[TRAIN].size:,} training and"
        f" {union[VALID].size:,} validation rows"
    )

    boosters = {}
    for family, chosen in rows.items():
        subsets = {}
        for name in (TRAIN, VALID):
            where = np.searchsorted(union_ranks[name], order.ranks(chosen.positions[name]))
            # A list: `subset` sorts its indices in Python (a numpy array sorts 3x slower).
            subset = shared[name].subset(where.tolist(), params=layout).construct()
            subset.set_label(chosen.labels[name])
            subset.set_weight(chosen.weights[name])
            subsets[name] = subset
        booster = train_booster(subsets[TRAIN], subsets[VALID], params=params, seed=seed)
        booster.free_dataset()  # the boosters live until every family is evaluated
        del subsets
        best = booster.best_iteration or None
        valid_auc = _valid_auc(booster, frame, chosen, features=features, best=best)
        boosters[family] = (booster, best, valid_auc)
        if on_fitted is not None:
            on_fitted(family)
    challengers = _fit_challengers(
        frame, rows, features=features, categorical=categorical, params=params, seed=seed
    )
    fitted = []
    for family, chosen in rows.items():
        booster, best, valid_auc = boosters[family]
        # Keep the test rows only: every family stays fitted until the shared scoring pass.
        test_rows = FamilyRows(
            family,
            *({TEST: part[TEST]} for part in (chosen.positions, chosen.labels, chosen.weights)),
            test_eligible=chosen.test_eligible,
        )
        fitted.append(
            FittedFamily(
                family,
                test_rows,
                chosen.counts(),
                booster,
                best,
                challengers[family],
                categorical,
                valid_auc,
            )
        )
    return fitted


# Challengers fitted at a time (`_fit_challengers`), each on one BLAS thread.
CHALLENGER_THREADS = 2


def _fit_challengers(
    frame: pl.DataFrame,
    rows: dict[str, FamilyRows],
    *,
    features: list[str],
    categorical: list[str],
    params: dict[str, Any],
    seed: int,
) -> dict[str, LogisticChallenger]:
    """Each family's challenger, fitted on a seeded sample of at most `challenger_max_rows`
    of its training rows, `CHALLENGER_THREADS` families at a time.

    A fit runs on one thread throughout (its gather and one BLAS thread, limited here for
    the whole pool: the limit is process-wide), so its coefficients do not depend on what
    runs beside it; the solver's numpy and BLAS work releases the GIL (11 fits at full
    size: 5.0 s two at a time, 7.3 s one after another)."""
    from threadpoolctl import threadpool_limits

    positions = tuple(features.index(c) for c in categorical)

    def fit(chosen: FamilyRows) -> LogisticChallenger:
        picked = _sample(
            chosen.positions[TRAIN].size, int(params["challenger_max_rows"]), seed=seed
        )
        return LogisticChallenger(categorical=positions).fit(
            gather_matrix(frame, chosen.positions[TRAIN][picked], features, threads=1),
            chosen.labels[TRAIN][picked],
            chosen.weights[TRAIN][picked],
        )

    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(CHALLENGER_THREADS) as pool,
    ):
        return dict(zip(rows, pool.map(fit, rows.values()), strict=True))


def _valid_auc(
    booster: Any, frame: pl.DataFrame, chosen: FamilyRows, *, features: list[str], best: Any
) -> float:
    """AUC on the validation month at the best iteration: the one LightGBM computed for
    early stopping when its metric is `auc` (weighted: sampled negatives count 1/rate, an
    estimate of the AUC on every eligible row), else computed from the model's scores."""
    found = booster.best_score.get("valid", {}).get("auc")
    if found is not None:
        return float(found)
    x_valid = gather_matrix(frame, chosen.positions[VALID], features)
    scores = booster.predict(x_valid, num_iteration=best)
    if np.unique(chosen.labels[VALID]).size < 2:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(chosen.labels[VALID], scores, sample_weight=chosen.weights[VALID]))


def fit_family(
    frame: pl.DataFrame,
    family: str,
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    order: RowOrder | None = None,
) -> FittedFamily:
    """`fit_families` for one family.

    Raises
    ------
    SkipFamily : fewer than `min_positives` positives in the training months, or a
        validation or test set without both classes.
    """
    fitted, skipped = fit_families(
        frame, [family], features=features, params=params, seed=seed, order=order
    )
    if skipped:
        raise SkipFamily(skipped[family])
    return fitted[0]


def score_test_months(
    frame: pl.DataFrame,
    fitted: list[FittedFamily],
    features: list[str],
    *,
    chunk_rows: int = SCORE_CHUNK_ROWS,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """LightGBM and challenger scores of every family's test rows: `{family: (model,
    challenger)}`, aligned with `rows.positions[TEST]`.

    One pass over the test months for all families: each chunk of `chunk_rows` rows is
    gathered once (and the challengers' shared preprocessing computed once) and scored by
    every family's models; a family keeps the scores of its eligible rows. Every test row
    is scored; the scores do not depend on `chunk_rows` or on which families share the pass.
    """
    if chunk_rows < 1:
        msg = f"`chunk_rows` must be a positive integer, got {chunk_rows!r}"
        raise ValueError(msg)
    if not fitted:
        return {}
    # Sorted union of the families' test rows (a mask over the frame: no sort, no hashing).
    in_union = np.zeros(frame.height, dtype=bool)
    for fit in fitted:
        in_union[fit.rows.positions[TEST]] = True
    union = np.flatnonzero(in_union)
    del in_union
    # Each family's rows as positions in the (sorted, unique) union, visited in union order:
    # a chunk of the union is a contiguous run of them.
    where, order = {}, {}
    for fit in fitted:
        index = np.searchsorted(union, fit.rows.positions[TEST])
        order[fit.family] = np.argsort(index, kind="stable")
        where[fit.family] = index[order[fit.family]]
    model = {fit.family: np.empty(fit.rows.positions[TEST].size) for fit in fitted}
    challenger = {fit.family: np.empty(fit.rows.positions[TEST].size) for fit in fitted}
    buffer = np.empty(min(chunk_rows, union.size) * len(features), dtype=np.float32)
    # The chunk in row-major order once: LightGBM copies any other layout before predicting.
    rows_major = np.empty((min(chunk_rows, union.size), len(features)), dtype=np.float32)
    for start in range(0, union.size, chunk_rows):
        x = gather_matrix(frame, union[start : start + chunk_rows], features, out=buffer)
        x_rows = rows_major[: x.shape[0]]
        np.copyto(x_rows, x)
        prepared = fitted[0].challenger.prepare(x)
        end = start + x.shape[0]
        for fit in fitted:
            family = fit.family
            lo, hi = np.searchsorted(where[family], [start, end])
            if lo == hi:
                continue
            rows, targets = where[family][lo:hi] - start, order[family][lo:hi]
            # LightGBM scores the family's rows only (copied out of the chunk: cheaper than
            # scoring rows it does not keep), or the whole chunk when they are nearly all of
            # it; scores are row-wise, so either gives the same numbers.
            if rows.size < 0.9 * x.shape[0]:
                model[family][targets] = fit.booster.predict(x_rows[rows], num_iteration=fit.best)
            else:
                model[family][targets] = fit.booster.predict(x_rows, num_iteration=fit.best)[rows]
            challenger[family][targets] = fit.challenger.predict(x, prepared=prepared)[rows]
        del x, x_rows, prepared
    return {fit.family: (model[fit.family], challenger[fit.family]) for fit in fitted}


def evaluate_family(
    frame: pl.DataFrame,
    fit: FittedFamily,
    scores: tuple[np.ndarray, np.ndarray],
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    truth: pl.DataFrame | None = None,
) -> FamilyResult:
    """Every metric, curve and summary of one family on its out-of-time test rows, from the
    scores of `score_test_months` (only the SHAP summary uses a sample of the rows)."""
    test_scores, challenger_scores = scores
    booster, best, rows = fit.booster, fit.best, fit.rows
    test_positions = rows.positions[TEST]
    shap_rows = _sample(test_positions.size, int(params["shap_rows"]), seed=seed)
    shap_features = gather_matrix(frame, test_positions[shap_rows], features)
    shap_values = booster.predict(shap_features, num_iteration=best, pred_contrib=True)

    labels = rows.labels[TEST].astype(np.float64)
    # One sort per score vector, shared by every metric, curve and segment below.
    ranked = evaluate.rank_scores(labels, test_scores)
    other = evaluate.rank_scores(labels, challenger_scores)
    reliability = evaluate.reliability_curve(labels, test_scores, ranked=ranked)
    challenger_reliability = evaluate.reliability_curve(labels, challenger_scores, ranked=other)
    segment_columns = [c for c in SEGMENT_FEATURES.values() if c in frame.columns]

    def curves(curve: Callable[..., pl.DataFrame]) -> pl.DataFrame:
        # One curve of both models, stacked with a `model` column.
        both = ((MODEL_NAME, test_scores, ranked), (CHALLENGER_NAME, challenger_scores, other))
        return pl.concat(
            curve(labels, values, ranked=order).select(pl.lit(name).alias("model"), pl.all())
            for name, values, order in both
        )

    result = FamilyResult(
        family=fit.family,
        booster=booster,
        features=features,
        categorical=fit.categorical,
        counts=fit.counts,
        metrics=evaluate.classification_metrics(
            labels, test_scores, reliability=reliability, ranked=ranked
        ),
        challenger_metrics=evaluate.classification_metrics(
            labels, challenger_scores, reliability=challenger_reliability, ranked=other
        ),
        valid_metrics={"auc": fit.valid_auc},
        segments=evaluate.segment_metrics(
            segment_frame(_narrow(frame, segment_columns)[test_positions]),
            labels,
            test_scores,
            min_rows=int(params["segment_min_rows"]),
            ranked=ranked,
        ),
        reliability=reliability,
        challenger_reliability=challenger_reliability,
        importance=evaluate.gain_importance(booster),
        shap=evaluate.shap_summary(shap_values, shap_features, features),
        score_quantiles=evaluate.score_quantiles(test_scores, ranked=ranked),
        roc=curves(evaluate.roc_points),
        gains=curves(evaluate.gains_points),
        shap_values=shap_values,
        shap_features=shap_features,
    )
    if truth is not None:
        scored = _narrow(frame, ["customer_id", "as_of"])[test_positions].with_columns(
            pl.Series("score", test_scores)
        )
        result.truth = evaluate.truth_recovery(scored, truth, family=fit.family)
    return result


def train_family(
    frame: pl.DataFrame,
    family: str,
    *,
    features: list[str],
    params: dict[str, Any],
    seed: int,
    truth: pl.DataFrame | None = None,
    order: RowOrder | None = None,
    chunk_rows: int = SCORE_CHUNK_ROWS,
) -> FamilyResult:
    """Train and evaluate one family's LightGBM model and its challenger: `fit_family`,
    `score_test_months` for this family alone, `evaluate_family`.

    Memory scales with the family's sampled training rows, not with the training set or the
    test set: the wide frame is never copied (float32 matrices are gathered from it), and the
    out-of-time test set is scored `chunk_rows` rows at a time by both models (every eligible
    test row up to `test_max_rows`, then a seeded uniform sample of that many; the SHAP
    summary uses a smaller sample).

    Parameters
    ----------
    frame : training set with the `split` column of `assign_split`.
    params : resolved parameters (`resolve_params`).
    order : `row_order(frame)`, shared by the families of one training (computed if None).
    chunk_rows : test rows per scoring chunk; the results do not depend on it.

    Raises
    ------
    SkipFamily : fewer than `min_positives` positives in the training months, or a test set
        without both classes.
    """
    fit = fit_family(frame, family, features=features, params=params, seed=seed, order=order)
    scores = score_test_months(frame, [fit], features, chunk_rows=chunk_rows)[family]
    return evaluate_family(
        frame, fit, scores, features=features, params=params, seed=seed, truth=truth
    )


__all__ = [
    "CHALLENGER_NAME",
    "DEFAULT_N_TEST_MONTHS",
    "DEFAULT_PARAMS",
    "FamilyResult",
    "FamilyRows",
    "FittedFamily",
    "RowOrder",
    "SkipFamily",
    "SplitInfo",
    "assign_split",
    "check_training_set",
    "evaluate_family",
    "feature_columns",
    "fit_families",
    "fit_family",
    "gather_matrix",
    "group_families",
    "resolve_params",
    "row_order",
    "score_test_months",
    "select_family_rows",
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

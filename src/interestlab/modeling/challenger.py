"""The challenger: a logistic regression on standardized, log-compressed features.

It is deliberately simple and transparent. When LightGBM does not beat it clearly on the same
out-of-time test set, the complex model has not earned its place (a promotion gate).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

CHALLENGER_NAME = "logistic_regression"


@dataclass
class LogisticChallenger:
    """Logistic regression with its own preprocessing, fitted on a numpy matrix.

    Numeric columns: signed log1p (counts are heavy-tailed), median imputation plus a
    missing-indicator where training data had gaps, standardization. Categorical columns
    (integer codes): one-hot over the levels seen in training.

    Parameters
    ----------
    categorical : column positions holding integer category codes.
    regularization : inverse regularization strength `C` of scikit-learn.
    max_iter : iterations of the lbfgs solver (deterministic).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 2))
    >>> y = (x[:, 0] > 0).astype(float)
    >>> model = LogisticChallenger().fit(x, y)
    >>> bool(model.predict(np.array([[2.0, 0.0]]))[0] > 0.5)
    True
    """

    categorical: tuple[int, ...] = ()
    regularization: float = 1.0
    max_iter: int = 300
    medians_: np.ndarray = field(init=False, repr=False)
    gaps_: np.ndarray = field(init=False, repr=False)
    means_: np.ndarray = field(init=False, repr=False)
    scales_: np.ndarray = field(init=False, repr=False)
    levels_: dict[int, np.ndarray] = field(init=False, repr=False)
    model_: object = field(init=False, repr=False)

    def _numeric_positions(self, n_columns: int) -> np.ndarray:
        return np.array([j for j in range(n_columns) if j not in self.categorical], dtype=np.int64)

    def _compressed(self, features: np.ndarray) -> np.ndarray:
        """Signed log1p of the numeric columns as a new float64 array (NaN kept).

        sign(x) * log1p(|x|), computed in place on one copy: negating where the sign bit is
        set gives the same values as multiplying by sign(x), without a float64 temporary.
        """
        numeric = features[:, self._numeric_positions(features.shape[1])].astype(np.float64)
        negative = np.signbit(numeric)
        np.abs(numeric, out=numeric)
        np.log1p(numeric, out=numeric)
        np.negative(numeric, out=numeric, where=negative)
        return numeric

    def _design(self, features: np.ndarray, numeric: np.ndarray | None = None) -> np.ndarray:
        """Design matrix: standardized numeric block, missing indicators, one-hot levels.

        Built in one preallocated float64 array (the values of the block-by-block `hstack`
        it replaces, with a fraction of its temporaries); `numeric` is `_compressed(features)`
        when the caller has it (it is overwritten).
        """
        if numeric is None:
            numeric = self._compressed(features)
        missing = np.isnan(numeric)
        np.copyto(numeric, np.broadcast_to(self.medians_, numeric.shape), where=missing)
        widths = [numeric.shape[1], self.gaps_.size, *(v.size for v in self.levels_.values())]
        design = np.empty((numeric.shape[0], sum(widths)), dtype=np.float64)
        block = design[:, : widths[0]]
        np.subtract(numeric, self.means_, out=block)
        block /= self.scales_
        start = widths[0]
        design[:, start : start + self.gaps_.size] = missing[:, self.gaps_]
        start += self.gaps_.size
        for j, levels in self.levels_.items():
            design[:, start : start + levels.size] = features[:, [j]] == levels[None, :]
            start += levels.size
        return design

    def fit(
        self, features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None
    ) -> LogisticChallenger:
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits

        features = np.asarray(features)
        labels = np.asarray(labels, dtype=np.float64)
        if np.unique(labels).size < 2:
            found = np.unique(labels).tolist()
            msg = f"challenger: `labels` must hold both classes, found only {found}"
            raise ValueError(msg)
        numeric = self._compressed(features)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing column -> median 0
            medians = np.nanmedian(numeric, axis=0) if numeric.size else np.zeros(0)
        self.medians_ = np.nan_to_num(medians, nan=0.0)
        self.gaps_ = np.flatnonzero(np.isnan(numeric).any(axis=0))
        filled = np.where(np.isnan(numeric), self.medians_, numeric)
        self.means_ = filled.mean(axis=0)
        scales = filled.std(axis=0)
        del filled
        self.scales_ = np.where(scales > 0, scales, 1.0)
        self.levels_ = {
            j: np.unique(features[~np.isnan(features[:, j]), j].astype(np.float64))
            for j in self.categorical
        }
        design = self._design(features, numeric)
        del numeric  # filled into `design`; free it before the solver runs
        self.model_ = LogisticRegression(C=self.regularization, max_iter=self.max_iter)
        # One BLAS thread: the coefficients then do not depend on the machine's core count
        # (a threaded BLAS sums in another order), and at ~50k x 230 the threads cost more
        # than they gain (11 fits at full size: 6.9 s instead of 8.9, bench_train).
        with threadpool_limits(limits=1, user_api="blas"):
            self.model_.fit(design, labels, sample_weight=weights)
        return self

    def prepare(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(values, missing)`: the compressed numeric columns with NaN as 0, and their NaN
        mask. It depends on the column layout only (not on the fit), so challengers of the
        same features share it (`predict(..., prepared=)`)."""
        values = self._compressed(features)
        missing = np.isnan(values)
        np.copyto(values, 0.0, where=missing)
        return values, missing

    def predict(
        self, features: np.ndarray, *, prepared: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """Propensity (probability of the positive class) per row.

        The fitted coefficients are folded into the preprocessing (standardization and
        median imputation become weights on the compressed values and their missing mask,
        one-hot levels a lookup per categorical column), so no design matrix is built: the
        same probabilities as `predict_proba` on `_design` (up to float rounding, < 1e-12),
        3x faster. `prepared`: `prepare(features)` when the caller has it.
        """
        from scipy.special import expit

        values, missing = prepared if prepared is not None else self.prepare(features)
        coef = np.asarray(self.model_.coef_, dtype=np.float64)[0]
        n_numeric = self.means_.size
        weights = coef[:n_numeric] / self.scales_
        # A missing value stands for the median, plus its indicator's weight where training
        # had gaps.
        missing_weights = self.medians_ * weights
        missing_weights[self.gaps_] += coef[n_numeric : n_numeric + self.gaps_.size]
        # Row by row sums (einsum, not BLAS, whose blocking depends on the number of rows): a
        # row's score does not depend on the batch it is scored in.
        logit = np.einsum("ij,j->i", values, weights)
        logit += np.einsum("ij,j->i", missing, missing_weights)
        logit += float(self.model_.intercept_[0]) - self.means_ @ weights
        start = n_numeric + self.gaps_.size
        for j, levels in self.levels_.items():
            level_weights = coef[start : start + levels.size]
            start += levels.size
            if levels.size == 0:
                continue
            column = features[:, j].astype(np.float64)
            index = np.minimum(np.searchsorted(levels, column), levels.size - 1)
            logit += np.where(levels[index] == column, level_weights[index], 0.0)
        return expit(logit)

"""Plain-language reasons for planned model contacts, from LightGBM feature contributions.

TreeSHAP (`pred_contrib`) is ~200x dearer than scoring (see PITFALLS), so only the planned
contacts are explained, family by family. Reasons are the features that pushed the score up
most, rendered through the feature catalogue (`describe_feature`). Rendering is done once per
distinct (feature, value) pair and joined back: counts repeat a lot, rows do not loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from interestlab.planning.candidates import ScoringModel

Describe = Callable[[str, float | None], str]
Explainer = Callable[[pl.DataFrame], pl.DataFrame]

REASONS_SCHEMA = {
    "customer_id": pl.String(),
    "family": pl.String(),
    "reasons": pl.List(pl.String()),
}


def _default_describe() -> Describe:
    from interestlab.features.catalogue import describe_feature

    return describe_feature


def top_reasons(
    contributions: np.ndarray,
    values: np.ndarray,
    *,
    feature_names: Sequence[str],
    max_reasons: int,
    describe: Describe | None = None,
) -> list[list[str]]:
    """The `max_reasons` features with the largest positive contribution, per row, in words.

    Parameters
    ----------
    contributions : (rows x (features + 1)) LightGBM `pred_contrib` output; the last column is
        the bias and never a reason.
    values : (rows x features) feature values in the same column order.
    feature_names : names of the feature columns.
    max_reasons : at most this many reasons per row (features that lowered the score are never
        given as reasons, so a row may get fewer).
    describe : renders (feature, value) in plain language (default `describe_feature`).

    Examples
    --------
    >>> top_reasons(np.array([[0.4, -0.1, 0.2, 0.0]]), np.array([[3.0, 1.0, 6.0]]),
    ...             feature_names=["a", "b", "c"], max_reasons=2,
    ...             describe=lambda name, value: f"{name}={value:g}")
    [['a=3', 'c=6']]
    """
    n_features = len(feature_names)
    if contributions.ndim != 2 or contributions.shape[1] != n_features + 1:
        msg = (
            f"`contributions`: expected shape (rows, {n_features + 1}) (features + bias),"
            f" found {contributions.shape}"
        )
        raise ValueError(msg)
    if values.shape != (contributions.shape[0], n_features):
        msg = (
            f"`values`: expected shape {(contributions.shape[0], n_features)}, found {values.shape}"
        )
        raise ValueError(msg)
    describe = describe or _default_describe()
    n_rows = contributions.shape[0]
    if n_rows == 0:
        return []
    k = min(max_reasons, n_features)
    effects = contributions[:, :n_features]
    # Stable order: equal contributions keep catalogue order.
    order = np.argsort(-effects, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(effects, order, axis=1)
    long = pl.DataFrame(
        {
            "row": np.repeat(np.arange(n_rows), k),
            "rank": np.tile(np.arange(k), n_rows),
            "feature": np.asarray(feature_names, dtype=object)[order.ravel()].astype(str),
            "value": np.take_along_axis(values.astype(float), order, axis=1).ravel(),
            "effect": top.ravel(),
        }
    ).filter(pl.col("effect") > 0)
    pairs = long.select("feature", "value").unique().sort("feature", "value", nulls_last=True)
    texts = pairs.with_columns(
        pl.Series(
            "text",
            [describe(f, None if np.isnan(v) else v) for f, v in pairs.iter_rows()],
            dtype=pl.String(),
        )
    )
    grouped = (
        long.join(texts, on=["feature", "value"], how="left", nulls_equal=True)
        .sort("row", "rank")
        .group_by("row", maintain_order=True)
        .agg("text")
    )
    out: list[list[str]] = [[] for _ in range(n_rows)]
    for row, text in grouped.iter_rows():
        out[row] = text
    return out


def model_explainer(
    models: Mapping[str, ScoringModel],
    features: pl.DataFrame,
    *,
    max_reasons: int,
    describe: Describe | None = None,
) -> Explainer:
    """An explainer for `plan_contacts`: reasons for the planned (customer, family) rows only.

    The returned callable takes `customer_id, family` rows and returns `customer_id, family,
    reasons`; it runs `model.contributions` once per family on exactly those customers.
    """

    def explain(planned: pl.DataFrame) -> pl.DataFrame:
        parts = [pl.DataFrame(schema=REASONS_SCHEMA)]
        for family in sorted(planned["family"].unique().to_list()):
            if family not in models:
                msg = f"explain: no model loaded for family `{family}`; loaded {sorted(models)}"
                raise ValueError(msg)
            model = models[family]
            ids = (
                planned.filter(pl.col("family") == family).select("customer_id").sort("customer_id")
            )
            rows = ids.join(features, on="customer_id", how="left").sort("customer_id")
            matrix = rows.select(model.feature_names)
            contributions = np.asarray(model.contributions(matrix), dtype=float)
            reasons = top_reasons(
                contributions,
                matrix.cast(pl.Float64()).to_numpy(),
                feature_names=list(model.feature_names),
                max_reasons=max_reasons,
                describe=describe,
            )
            parts.append(
                ids.with_columns(
                    pl.lit(family).alias("family"),
                    pl.Series("reasons", reasons, dtype=pl.List(pl.String())),
                )
            )
        return pl.concat(parts).sort("customer_id", "family")

    return explain

"""Scoring API for the planner: load the registered models under an alias and score frames.

Examples
--------
>>> models = load_models(["mortgage", "savings"])  # doctest: +SKIP
>>> scores = models["mortgage"].predict(features)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from interestlab.modeling import tracking
from interestlab.modeling.registry import CHAMPION, RegistryError, version_by_alias


@dataclass(frozen=True)
class LoadedModel:
    """One family's registered LightGBM model, resolved from an alias to a fixed version."""

    family: str
    name: str
    version: str
    alias: str
    feature_names: list[str]
    booster: Any

    def _matrix(self, features: pl.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names if c not in features.columns]
        if missing:
            msg = (
                f"model `{self.name}` version {self.version}: feature frame lacks {len(missing)}"
                f" column(s) the model needs, e.g. {missing[:5]}"
            )
            raise ValueError(msg)
        return (
            features.select(pl.col(self.feature_names).cast(pl.Float32))
            .to_numpy()
            .astype(np.float32, copy=False)
        )

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """Propensity per row of `features` (columns by name; extra columns ignored)."""
        return self.booster.predict(self._matrix(features))

    def contributions(self, features: pl.DataFrame) -> np.ndarray:
        """TreeSHAP contributions, shape (n, n_features + 1); the last column is the bias.

        Costly (PITFALLS: ~200x `predict`): call it on the rows that must be explained only.
        """
        return self.booster.predict(self._matrix(features), pred_contrib=True)


def families_with_alias(families: list[str], *, alias: str = CHAMPION) -> list[str]:
    """The subset of `families` whose registered model has a version under `alias`."""
    client = tracking.client()
    return [f for f in families if version_by_alias(client, f, alias) is not None]


def load_models(families: list[str], *, alias: str = CHAMPION) -> dict[str, LoadedModel]:
    """Load `interest-<family>@<alias>` for every family.

    Raises
    ------
    RegistryError : a family has no registered version under `alias` (names all of them).
    """
    import mlflow

    client = tracking.client()
    versions = {family: version_by_alias(client, family, alias) for family in families}
    missing = [family for family, version in versions.items() if version is None]
    if missing:
        msg = (
            f"no version under alias `{alias}` for"
            f" {', '.join(tracking.model_name(f) for f in missing)};"
            " expected a trained (and, for `champion`, approved and promoted) model per family"
        )
        raise RegistryError(msg)
    models = {}
    for family, version in versions.items():
        name = tracking.model_name(family)
        booster = mlflow.lightgbm.load_model(f"models:/{name}/{version.version}")
        models[family] = LoadedModel(
            family=family,
            name=name,
            version=str(version.version),
            alias=alias,
            feature_names=list(booster.feature_name()),
            booster=booster,
        )
    return models

"""Interest models (R4): training, evaluation, the MLflow registry and the scoring API.

Examples
--------
>>> from interestlab.modeling import load_models
>>> models = load_models(["mortgage"], alias="champion")  # doctest: +SKIP
>>> models["mortgage"].predict(features)  # doctest: +SKIP
"""

from __future__ import annotations

import os

# Before anything imports mlflow (PITFALLS: telemetry is on by default and reaches out).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from interestlab.modeling.pipeline import (  # noqa: E402
    FamilyReport,
    TrainingReport,
    snapshot_lineage,
    train_all,
)
from interestlab.modeling.promote import (  # noqa: E402
    PromotionDecision,
    PromotionRefusedError,
    evaluate_gates,
    promote,
)
from interestlab.modeling.registry import (  # noqa: E402
    CANDIDATE,
    CHAMPION,
    RegistryError,
    alias_history,
    record_approval,
)
from interestlab.modeling.scoring import LoadedModel, families_with_alias, load_models  # noqa: E402
from interestlab.modeling.train import DEFAULT_N_TEST_MONTHS, DEFAULT_PARAMS, resolve_params  # noqa: E402

__all__ = [
    "CANDIDATE",
    "CHAMPION",
    "DEFAULT_N_TEST_MONTHS",
    "DEFAULT_PARAMS",
    "FamilyReport",
    "LoadedModel",
    "PromotionDecision",
    "PromotionRefusedError",
    "RegistryError",
    "TrainingReport",
    "alias_history",
    "evaluate_gates",
    "families_with_alias",
    "load_models",
    "promote",
    "record_approval",
    "resolve_params",
    "snapshot_lineage",
    "train_all",
]

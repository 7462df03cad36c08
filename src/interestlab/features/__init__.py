"""Point-in-time features, labels and training snapshots (issue 4; rules R3, R4, R5, R13).

Public API::

    from interestlab.features import (FEATURE_CATALOGUE, FeatureSpec, build_features,
                                      build_training_set, build_labels, iter_snapshots,
                                      monthly_as_ofs, describe_feature, write_snapshot,
                                      write_training_set)
"""

from interestlab.features.catalogue import (
    CATEGORICAL_FEATURES,
    FEATURE_CATALOGUE,
    FEATURE_NAMES,
    FeatureSpec,
    describe_feature,
)
from interestlab.features.labels import build_labels, monthly_as_ofs
from interestlab.features.snapshots import (
    LABEL_COLUMNS,
    build_features,
    build_training_set,
    content_hash,
    iter_snapshots,
    write_snapshot,
    write_training_set,
)

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_CATALOGUE",
    "FEATURE_NAMES",
    "LABEL_COLUMNS",
    "FeatureSpec",
    "build_features",
    "build_labels",
    "build_training_set",
    "content_hash",
    "describe_feature",
    "iter_snapshots",
    "monthly_as_ofs",
    "write_snapshot",
    "write_training_set",
]

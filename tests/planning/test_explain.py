from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from interestlab.planning.explain import model_explainer, top_reasons

from .inputs import FakeModel

NAMES = [
    "fam_mortgage__simulation_90d",
    "theme_home__visits_30d",
    "fam_mortgage__days_since_simulation",
]


def test_top_positive_contributions_in_plain_language() -> None:
    contributions = np.array([[0.9, 0.1, 0.5, -2.0], [-0.3, -0.2, -0.1, -2.0]])
    values = np.array([[3.0, 4.0, 6.0], [0.0, 0.0, np.nan]])
    out = top_reasons(contributions, values, feature_names=NAMES, max_reasons=2)
    assert out == [
        [
            "completed a mortgage simulation 3 times in the last 90 days",
            "completed a mortgage simulation 6 days ago",
        ],
        [],  # nothing pushed the score up: no invented reasons
    ]


def test_equal_contributions_keep_catalogue_order() -> None:
    out = top_reasons(
        np.array([[0.2, 0.2, 0.2, 0.0]]),
        np.array([[1.0, 1.0, 1.0]]),
        feature_names=NAMES,
        max_reasons=2,
        describe=lambda n, v: n,
    )
    assert out == [NAMES[:2]]


@pytest.mark.parametrize(
    ("contributions", "values", "match"),
    [
        (np.zeros((1, 3)), np.zeros((1, 3)), r"`contributions`: expected shape \(rows, 4\)"),
        (np.zeros((1, 4)), np.zeros((2, 3)), r"`values`: expected shape \(1, 3\)"),
    ],
)
def test_shape_errors(contributions: np.ndarray, values: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        top_reasons(contributions, values, feature_names=NAMES, max_reasons=2)


def test_explainer_runs_contributions_on_planned_rows_only() -> None:
    features = pl.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            NAMES[0]: [3.0, 0.0, 1.0],
            NAMES[1]: [0.0, 2.0, 0.0],
            NAMES[2]: [6.0, None, 1.0],
        }
    )
    mortgage = FakeModel("mortgage", NAMES, [0.5, 0.0, 0.1])
    savings = FakeModel("savings", NAMES, [0.0, 1.0, 0.0])
    explain = model_explainer({"mortgage": mortgage, "savings": savings}, features, max_reasons=3)
    planned = pl.DataFrame(
        {"customer_id": ["C3", "C1", "C2"], "family": ["mortgage", "mortgage", "savings"]}
    )
    out = explain(planned)
    assert mortgage.calls == [2] and savings.calls == [1]
    assert out["customer_id"].to_list() == ["C1", "C2", "C3"]
    assert out.filter(pl.col("customer_id") == "C2")["reasons"].to_list() == [
        ["visited the Home theme twice in the last 30 days"]
    ]
    with pytest.raises(ValueError, match=r"no model loaded for family `car_loan`"):
        explain(pl.DataFrame({"customer_id": ["C1"], "family": ["car_loan"]}))

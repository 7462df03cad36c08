"""The feature catalogue: coverage, width, plain-language rendering."""

from __future__ import annotations

import math

import pytest

from interestlab.features import FEATURE_CATALOGUE, describe_feature
from interestlab.features.catalogue import CATEGORICAL_FEATURES


def test_width_is_bounded_and_every_feature_is_documented() -> None:
    assert 100 <= len(FEATURE_CATALOGUE) <= 200
    for name, spec in FEATURE_CATALOGUE.items():
        assert spec.name == name
        assert "R4" in spec.rule
        assert spec.source in {"click_events", "holdings", "customers"}
        if spec.source == "click_events":
            assert "R3" in spec.rule
            assert spec.window_days is not None and spec.window_days <= 365


def test_categoricals_carry_their_levels() -> None:
    assert set(CATEGORICAL_FEATURES) == {
        "id__age_band",
        "id__language",
        "id__region",
        "id__segment",
    }
    assert all(FEATURE_CATALOGUE[name].levels for name in CATEGORICAL_FEATURES)


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("fam_mortgage__days_since_simulation", 6, "completed a mortgage simulation 6 days ago"),
        ("theme_home__visits_30d", 4, "visited the Home theme 4 times in the last 30 days"),
        (
            "theme_savings_goal__visits_90d",
            1,
            "visited the Savings goal theme once in the last 90 days",
        ),
        (
            "fam_car_loan__procedure_abandoned_365d",
            2,
            "abandoned a car loan application twice in the last 365 days",
        ),
        (
            "fam_savings__trend_30_90",
            0.5,
            "50% of the savings activity of the last 90 days fell in the last 30 days",
        ),
        ("all__days_since_event", 1, "was last active on the website or app 1 day ago"),
        ("hold_mortgage", 1, "holds a mortgage product"),
        ("hold_mortgage", 0, "holds no mortgage product"),
        ("id__language", 1, "corresponds in language 'fr'"),
        (
            "fam_mortgage__days_since_simulation",
            None,
            "no mortgage simulation event in the available click history",
        ),
        (
            "fam_mortgage__days_since_simulation",
            math.nan,
            "no mortgage simulation event in the available click history",
        ),
    ],
)
def test_describe_feature_renders(name, value, text) -> None:
    assert describe_feature(name, value) == text


def test_every_feature_renders_without_leftover_fields() -> None:
    for name, spec in FEATURE_CATALOGUE.items():
        for value in (0, 1, 3):
            if spec.levels is not None and value >= len(spec.levels):
                continue
            text = describe_feature(name, value)
            assert text and "{" not in text, name


def test_describe_feature_errors() -> None:
    with pytest.raises(KeyError, match="unknown feature `nope`"):
        describe_feature("nope", 1)
    with pytest.raises(ValueError, match=r"`id__region`: expected a code in 0\.\.3, found 9"):
        describe_feature("id__region", 9)

import numpy as np
import polars as pl
import pytest

from interestlab.modeling import CANDIDATE, RegistryError, load_models


def test_load_models_predict_and_contributions(trained, trained_home) -> None:
    _, report = trained
    models = load_models(["mortgage", "savings"], alias=CANDIDATE)
    model = models["mortgage"]
    assert (model.name, model.version, model.alias) == ("interest-mortgage", "1", CANDIDATE)
    result = report.results["mortgage"]
    assert model.feature_names == result.features
    assert model.booster.model_to_string() == result.booster.model_to_string()
    features = pl.DataFrame(
        result.shap_features, schema=result.features, orient="row"
    ).with_columns(pl.lit("extra").alias("customer_id"))  # extra columns are ignored
    scores = model.predict(features)
    assert scores.shape == (features.height,) and np.all((scores > 0) & (scores < 1))
    contributions = model.contributions(features)
    assert contributions.shape == (features.height, len(model.feature_names) + 1)
    # SHAP values add up to the raw score (log-odds).
    np.testing.assert_allclose(
        contributions.sum(axis=1), np.log(scores / (1 - scores)), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(scores, result.booster.predict(result.shap_features), rtol=1e-6)


def test_load_models_without_alias_names_every_missing_family(trained_home) -> None:
    with pytest.raises(
        RegistryError, match="alias `champion` for interest-mortgage, interest-car_loan"
    ):
        load_models(["mortgage", "car_loan"])


def test_predict_names_missing_columns(trained_home) -> None:
    model = load_models(["savings"], alias=CANDIDATE)["savings"]
    with pytest.raises(
        ValueError, match="lacks 1 column\\(s\\) the model needs, e.g. \\['id__segment'\\]"
    ):
        model.predict(pl.DataFrame({c: [0.0] for c in model.feature_names if c != "id__segment"}))

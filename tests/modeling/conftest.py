"""Fixtures of the modeling tests: a tmp MLflow workspace and a small training set with a
planted signal (random, seeded; names from the feature catalogue)."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

FAMILIES = ["mortgage", "savings"]
AS_OF_DATES = [datetime(2026, m, 1, tzinfo=UTC) for m in range(3, 9)]  # 6 monthly snapshots
SMALL_PARAMS = {
    "lightgbm": {"num_leaves": 7, "max_depth": 3, "min_data_in_leaf": 10, "learning_rate": 0.2},
    "num_boost_round": 30,
    "early_stopping_rounds": 10,
    "min_positives": 5,
    "shap_rows": 100,
    "segment_min_rows": 5,
}


def make_training_set(
    n_customers: int = 300, *, seed: int = 7, as_of_dates: list[datetime] | None = None
) -> pl.DataFrame:
    """Stacked snapshots; labels driven by `fam_<family>__simulation_90d` (planted signal)."""
    rng = np.random.default_rng(seed)
    dates = as_of_dates or AS_OF_DATES
    frames = []
    for as_of in dates:
        n = n_customers
        mortgage_sim = rng.poisson(0.6, n).astype(np.float32)
        savings_events = rng.poisson(1.0, n).astype(np.float32)
        noise = rng.normal(size=n).astype(np.float32)
        days_since = np.where(mortgage_sim > 0, rng.integers(1, 90, n), np.nan).astype(np.float32)
        p_mortgage = 1 / (1 + np.exp(-(-2.8 + 1.4 * mortgage_sim)))
        p_savings = 1 / (1 + np.exp(-(-2.5 + 0.9 * savings_events)))
        held = rng.random(n) < 0.15
        frames.append(
            pl.DataFrame(
                {
                    "customer_id": [f"CUST{i:05d}" for i in range(n)],
                    "as_of": [as_of] * n,
                    "fam_mortgage__simulation_90d": mortgage_sim,
                    "fam_mortgage__days_since_simulation": days_since,
                    "fam_savings__events_30d": savings_events,
                    "all__events_30d": (mortgage_sim + savings_events + rng.poisson(2, n)).astype(
                        np.float32
                    ),
                    "all__trend_30_90": noise,
                    "id__language": rng.integers(0, 4, n).astype(np.uint8),
                    "id__age_band": rng.integers(0, 7, n).astype(np.uint8),
                    "id__segment": rng.integers(0, 5, n).astype(np.uint8),
                    "label__mortgage": pl.Series((rng.random(n) < p_mortgage).astype(np.int8))
                    .to_frame()
                    .select(pl.when(pl.Series(held)).then(None).otherwise(pl.first()))
                    .to_series(),
                    "label__savings": (rng.random(n) < p_savings).astype(np.int8),
                },
                schema_overrides={"as_of": pl.Datetime("us", "UTC")},
            )
        )
    return pl.concat(frames)


def install_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use `interestlab.features` when it exports the catalogue, else a stand-in built from
    `interestlab.features.catalogue` (the features package is built in parallel)."""
    try:
        from interestlab.features import FEATURE_CATALOGUE  # noqa: F401
    except ImportError:
        from interestlab.features import catalogue

        stub = types.ModuleType("interestlab.features")
        stub.FEATURE_CATALOGUE = catalogue.FEATURE_CATALOGUE
        stub.describe_feature = catalogue.describe_feature
        monkeypatch.setitem(sys.modules, "interestlab.features", stub)


@pytest.fixture(autouse=True)
def _catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    install_catalogue(monkeypatch)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """INTERESTLAB_HOME in tmp: the MLflow store lands in `<tmp>/home/mlruns`."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("INTERESTLAB_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def make_set():
    """The `make_training_set` factory (n_customers, *, seed, as_of_dates)."""
    return make_training_set


@pytest.fixture(scope="session")
def small_params() -> dict:
    return SMALL_PARAMS


@pytest.fixture
def training_set() -> pl.DataFrame:
    return make_training_set()


@pytest.fixture
def lineage() -> list[dict]:
    return [
        {
            "as_of": d.date().isoformat(),
            "policy_version": "test",
            "content_hash": f"{i:064x}",
            "n_rows": 300,
            "oldest_input_ts": "2025-03-01T00:00:00+00:00",
        }
        for i, d in enumerate(AS_OF_DATES)
    ]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """One `train_all` (both families, with a truth table) in its own workspace, shared by the
    read-only tests of the pipeline and the scoring API: yields (home, report)."""
    from interestlab.modeling import train_all
    from interestlab.policy import load_policy

    home = tmp_path_factory.mktemp("trained-home")
    training_set = make_training_set()
    truth = pl.DataFrame(
        {
            "customer_id": [f"CUST{i:05d}" for i in range(300)] * 2,
            "family": ["mortgage"] * 300 + ["savings"] * 300,
            "latent_interest": np.random.default_rng(3).random(600),
        }
    )
    lineage = [
        {
            "as_of": d.date().isoformat(),
            "policy_version": "test",
            "content_hash": f"{i:064x}",
            "n_rows": 300,
            "oldest_input_ts": "2025-03-01T00:00:00+00:00",
        }
        for i, d in enumerate(AS_OF_DATES)
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERESTLAB_HOME", str(home))
        mp.setenv("INTERESTLAB_QUIET", "1")
        install_catalogue(mp)
        report = train_all(
            training_set,
            families=FAMILIES,
            params=SMALL_PARAMS,
            seed=11,
            n_test_months=2,
            lineage=lineage,
            gx_summary={"success": True, "n_expectations": 12},
            policy=load_policy(),
            trainer="alice",
            truth=truth,
            output_dir=home / "out",
        )
    return home, report


@pytest.fixture
def trained_home(trained, monkeypatch: pytest.MonkeyPatch) -> Path:
    home, _ = trained
    monkeypatch.setenv("INTERESTLAB_HOME", str(home))
    return home

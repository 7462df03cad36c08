"""Shared fixtures: a quiet environment, the default policy and a tiny literal bank."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from literal_bank import write_bank

from interestlab.policy import Policy, load_policy


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERESTLAB_QUIET", "1")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def make_bank(tmp_path: Path):
    def _make(**tables: list[dict] | pl.DataFrame) -> Path:
        return write_bank(tmp_path / "bank", **tables)

    return _make

"""One small synthetic bank per test session (about half a second to generate)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from interestlab.synth import generate_bank

N_CUSTOMERS = 3_000
SEED = 11


@pytest.fixture(scope="session")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "bank"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERESTLAB_QUIET", "1")
        generate_bank(out, n_customers=N_CUSTOMERS, seed=SEED)
    return out


@pytest.fixture(scope="session")
def summary(bank: Path) -> dict:
    return json.loads((bank / "_summary.json").read_text())


@pytest.fixture(scope="session")
def clicks(bank: Path) -> pl.DataFrame:
    from interestlab.storage import read_table

    return read_table(bank, "click_events")


@pytest.fixture(scope="session")
def tables(bank: Path) -> dict[str, pl.DataFrame]:
    from interestlab.contract import TABLES
    from interestlab.storage import read_table

    return {name: read_table(bank, name) for name in TABLES if name != "click_events"}

"""Fixtures for feature tests: the demo as-of moment and a tiny literal bank as lazy frames."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from literal_bank import frame, utc

from interestlab.features import build_features
from interestlab.policy import Policy, as_of_moment

from .frames import AS_OF_DAY, PRODUCTS, customers_rows, grant


@pytest.fixture
def as_of(policy: Policy) -> datetime:
    """2026-11-15 00:00 Europe/Brussels = 2026-11-14 23:00 UTC."""
    return as_of_moment(AS_OF_DAY, policy)


@pytest.fixture
def retention_start(policy: Policy, as_of: datetime) -> datetime:
    return policy.retention_cutoff(as_of)


@pytest.fixture
def click(as_of: datetime) -> Callable[..., dict[str, Any]]:
    """A click row `days_before` the as-of moment (plus `hours` later), identified."""
    counter = iter(range(1, 10_000))

    def _click(
        customer_id: str = "C1",
        *,
        days_before: float = 0.0,
        event_type: str = "info_consult",
        family: str | None = None,
        theme: str | None = None,
        session_id: int = 1,
        ts: datetime | None = None,
    ) -> dict[str, Any]:
        moment = ts or as_of - timedelta(days=days_before)
        return {
            "event_id": next(counter),
            "session_id": session_id,
            "customer_id": customer_id,
            "identified_at": moment - timedelta(minutes=1),
            "ts": moment,
            "event_type": event_type,
            "theme": theme,
            "product_family": family,
            "channel": "web",
        }

    return _click


@pytest.fixture
def tables() -> Callable[..., dict[str, pl.LazyFrame]]:
    """Keyword tables for `build_features`: two consented customers C1, C2 by default."""

    def _tables(
        clicks: list[dict[str, Any]] | pl.DataFrame,
        *,
        customers: list[dict[str, Any]] | None = None,
        holdings: list[dict[str, Any]] | None = None,
        consent: list[dict[str, Any]] | None = None,
    ) -> dict[str, pl.LazyFrame]:
        click_frame = clicks if isinstance(clicks, pl.DataFrame) else frame("click_events", clicks)
        return {
            "clicks": click_frame.lazy(),
            "customers": frame("customers", customers or customers_rows("C1", "C2")).lazy(),
            "holdings": frame("holdings", holdings or []).lazy(),
            "products": frame("products", PRODUCTS).lazy(),
            "consent_events": frame(
                "consent_events",
                consent or [grant("C1", utc(2024, 1, 1)), grant("C2", utc(2024, 1, 1))],
            ).lazy(),
        }

    return _tables


@pytest.fixture
def features(
    tables: Callable[..., dict[str, pl.LazyFrame]],
    policy: Policy,
    as_of: datetime,
    retention_start: datetime,
) -> Callable[..., pl.DataFrame]:
    """`build_features` at the demo as-of over literal rows."""

    def _features(clicks: list[dict[str, Any]] | pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
        at = kwargs.pop("at", as_of)
        start = kwargs.pop("retention_start", retention_start)
        return build_features(
            **tables(clicks, **kwargs), as_of=at, policy=policy, retention_start=start
        )

    return _features

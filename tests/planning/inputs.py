"""Literal planning inputs: a few customers, products of and outside the group, fake models."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from literal_bank import frame, utc

from interestlab.planning.params import PlanParams, load_plan_params
from interestlab.planning.planner import PlanResult, plan_contacts
from interestlab.policy import Policy, as_of_moment

AS_OF_DAY = date(2026, 11, 15)

PRODUCT_ROWS = [
    {
        "product_id": "P-MORT",
        "family": "mortgage",
        "name": "Home Loan",
        "provider": "Bank",
        "provider_in_group": True,
    },
    {
        "product_id": "P-MORT-B",
        "family": "mortgage",
        "name": "Green Loan",
        "provider": "Bank",
        "provider_in_group": True,
    },
    {
        "product_id": "P-SAV",
        "family": "savings",
        "name": "Saver",
        "provider": "Bank",
        "provider_in_group": True,
    },
    {
        "product_id": "P-TRAV",
        "family": "travel_insurance",
        "name": "Trip",
        "provider": "Bank Insurance",
        "provider_in_group": True,
    },
    {
        "product_id": "P-TRAV-X",
        "family": "travel_insurance",
        "name": "Trip Cover",
        "provider": "Partner Travel Cover",
        "provider_in_group": False,
    },
    # Flagged in-group but the provider is not on the policy's list: never planned either.
    {
        "product_id": "P-CARD-X",
        "family": "credit_card",
        "name": "Card",
        "provider": "Other Card Co",
        "provider_in_group": True,
    },
]


def as_of(policy: Policy) -> datetime:
    return as_of_moment(AS_OF_DAY, policy)


def grant(
    customer_id: str,
    purpose: str = "web_data_commercial",
    at: datetime | None = None,
    *,
    granted: bool = True,
    source: str = "internet_banking",
) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "purpose": purpose,
        "granted": granted,
        "recorded_at": at or utc(2025, 1, 1),
        "source": source,
    }


def comm(
    customer_id: str,
    sent_at: datetime,
    channel: str = "letter",
    category: str = "commercial",
    comm_id: str | None = None,
) -> dict[str, Any]:
    return {
        "comm_id": comm_id or f"M-{customer_id}-{sent_at.isoformat()}-{channel}-{category}",
        "customer_id": customer_id,
        "sent_at": sent_at,
        "channel": channel,
        "category": category,
        "product_id": None,
    }


def scores(rows: list[tuple[str, str, float]], *, alias: str = "champion") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "family": [r[1] for r in rows],
            "score": [float(r[2]) for r in rows],
            "model_name": [f"interest-{r[1]}" for r in rows],
            "model_version": ["3"] * len(rows),
            "alias": [alias] * len(rows),
        },
        schema={
            "customer_id": pl.String(),
            "family": pl.String(),
            "score": pl.Float64(),
            "model_name": pl.String(),
            "model_version": pl.String(),
            "alias": pl.String(),
        },
    )


def customers(ids: list[str]) -> pl.DataFrame:
    return frame(
        "customers",
        [
            {
                "customer_id": c,
                "birth_year": 1980,
                "language": "nl",
                "region": "flanders",
                "segment": "mass",
                "customer_since": date(2015, 1, 1),
            }
            for c in ids
        ],
    )


def activity(rows: list[tuple[str, datetime]] | None = None) -> pl.DataFrame:
    rows = rows or []
    return pl.DataFrame(
        {"customer_id": [r[0] for r in rows], "last_login_at": [r[1] for r in rows]},
        schema={"customer_id": pl.String(), "last_login_at": pl.Datetime("us", "UTC")},
    )


def inputs(
    *,
    ids: list[str] | None = None,
    products: list[dict] | None = None,
    holdings: list[dict] | None = None,
    theme_links: list[dict] | None = None,
    consent: list[dict] | None = None,
    communications: list[dict] | None = None,
    logins: list[tuple[str, datetime]] | None = None,
) -> dict[str, pl.DataFrame]:
    ids = ids or ["C1", "C2", "C3"]
    return {
        "customers": customers(ids),
        "products": frame("products", PRODUCT_ROWS if products is None else products),
        "holdings": frame("holdings", holdings or []),
        "theme_links": frame("theme_links", theme_links or []),
        "consent_events": frame(
            "consent_events", [grant(c) for c in ids] if consent is None else consent
        ),
        "communications": frame("communications", communications or []),
        "activity": activity(logins),
    }


def params(**changes: Any) -> PlanParams:
    return replace(load_plan_params(), **changes)


def run(
    score_frame: pl.DataFrame,
    policy: Policy,
    *,
    plan_params: PlanParams | None = None,
    frames: dict[str, pl.DataFrame] | None = None,
    explain: Any = None,
    at: datetime | None = None,
) -> PlanResult:
    frames = frames or inputs()
    return plan_contacts(
        score_frame,
        **frames,
        as_of=at or as_of(policy),
        policy=policy,
        params=plan_params or load_plan_params(),
        explain=explain,
    )


def reasons_of(
    result: PlanResult, customer_id: str, product_id: str | None, source: str = "model"
) -> list[str]:
    rows = result.suppression_log.filter(
        (pl.col("customer_id") == customer_id)
        & (pl.col("source") == source)
        & (pl.col("product_id") == product_id if product_id else pl.col("product_id").is_null())
    )
    assert rows.height == 1, rows
    return rows["reasons"][0].to_list()


@dataclass
class FakeModel:
    """Same attributes as `interestlab.modeling.LoadedModel`: a logistic model with exact
    additive contributions (like TreeSHAP's: they sum to the raw score)."""

    family: str
    feature_names: list[str]
    weights: list[float]
    name: str = ""
    version: str = "1"
    alias: str = "champion"
    booster: Any = None
    calls: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or f"interest-{self.family}"

    def _x(self, features: pl.DataFrame) -> np.ndarray:
        return features.select(self.feature_names).cast(pl.Float64).fill_null(0).to_numpy()

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        raw = self._x(features) @ np.asarray(self.weights) - 2.0
        return 1 / (1 + np.exp(-raw))

    def contributions(self, features: pl.DataFrame) -> np.ndarray:
        x = self._x(features)
        self.calls.append(x.shape[0])
        return np.column_stack([x * np.asarray(self.weights), np.full(x.shape[0], -2.0)])

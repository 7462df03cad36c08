"""Golden tests of holding features at the as-of moment (R4)."""

from __future__ import annotations

from datetime import date

from literal_bank import frame
from polars.testing import assert_frame_equal

from interestlab.features.holdings import holding_features, holding_features_many

from .frames import PRODUCTS, one


def account(account_id: str, family: str, opened: date, closed: date | None = None) -> dict:
    return {
        "customer_id": "C1",
        "account_id": account_id,
        "product_id": f"P-{family}",
        "opened_on": opened,
        "closed_on": closed,
    }


def test_held_families_tenure_openings_and_closings(features) -> None:
    holdings = [
        account("A1", "mortgage", date(2016, 11, 15)),
        account("A2", "savings", date(2026, 10, 1)),
        account("A3", "savings", date(2026, 11, 1)),
        account("A4", "car_loan", date(2020, 1, 1), closed=date(2026, 9, 1)),
        # Closed on the as-of day itself: still held at the as-of moment (midnight).
        account("A5", "credit_card", date(2025, 1, 1), closed=date(2026, 11, 15)),
        # Opened on the as-of day: the future, unknown at as-of.
        account("A6", "car_loan", date(2026, 11, 15)),
    ]
    row = one(features([], holdings=holdings))
    assert (row["hold_mortgage"], row["hold_savings"], row["hold_credit_card"]) == (1, 1, 1)
    assert row["hold_car_loan"] == 0
    assert row["hold__accounts_open"] == 4
    assert row["hold__families_held"] == 3
    assert row["hold__tenure_days"] == (date(2026, 11, 15) - date(2016, 11, 15)).days
    assert row["hold__openings_90d"] == 2
    assert row["hold__openings_365d"] == 2
    assert row["hold__closings_90d"] == 1
    assert row["hold__closings_365d"] == 1


def test_customer_without_accounts_holds_nothing(features) -> None:
    row = one(features([]), "C2")
    assert row["hold_mortgage"] == 0
    assert row["hold__accounts_open"] == 0
    assert row["hold__tenure_days"] is None


def test_features_of_many_as_of_days_equal_one_day_at_a_time() -> None:
    # One group-by for several as-of days gives each day's `holding_features` exactly:
    # same customers (those with an account opened before the day), columns and dtypes.
    rows = [
        account("A1", "mortgage", date(2016, 11, 15)),
        account("A2", "savings", date(2026, 10, 1)),
        account("A3", "savings", date(2026, 11, 1), closed=date(2026, 11, 10)),
        account("A4", "car_loan", date(2020, 1, 1), closed=date(2026, 9, 1)),
        account("A5", "credit_card", date(2025, 1, 1), closed=date(2026, 11, 15)),
        {**account("B1", "car_loan", date(2026, 9, 30)), "customer_id": "C2"},
        {**account("B2", "credit_card", date(2026, 9, 30)), "customer_id": "C2"},
        {**account("D1", "savings", date(2027, 1, 1)), "customer_id": "C3"},  # future only
    ]
    holdings, products = frame("holdings", rows).lazy(), frame("products", PRODUCTS).lazy()
    days = [(date(2026, m, d) - date(1970, 1, 1)).days for m, d in ((9, 1), (10, 1), (11, 15))]
    many = holding_features_many(holdings, products, as_of_days=days)
    assert len(many) == len(days)
    for day, got in zip(days, many, strict=True):
        expected = holding_features(holdings, products, as_of_day=day).collect()
        assert_frame_equal(got.sort("customer_id"), expected.sort("customer_id"))
    assert many[0]["customer_id"].sort().to_list() == ["C1"]
    assert many[2]["customer_id"].sort().to_list() == ["C1", "C2"]

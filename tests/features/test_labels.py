"""Labels (opened within the horizon, not held at as-of) and monthly as-of moments."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from literal_bank import frame
from polars.testing import assert_frame_equal

from interestlab.features import build_labels, monthly_as_ofs
from interestlab.features.clicks import local_day
from interestlab.features.labels import label_columns, label_columns_many
from interestlab.policy import as_of_moment

from .frames import PRODUCTS


def holding(customer_id: str, family: str, opened: date, closed: date | None = None) -> dict:
    return {
        "customer_id": customer_id,
        "account_id": f"{customer_id}-{family}-{opened}",
        "product_id": f"P-{family}",
        "opened_on": opened,
        "closed_on": closed,
    }


def labels_of(rows: list[dict], as_of, policy, horizon_days: int = 60) -> dict:
    out = build_labels(
        frame("holdings", rows).lazy(),
        frame("products", PRODUCTS).lazy(),
        as_ofs=[as_of],
        horizon_days=horizon_days,
        policy=policy,
    )
    return {(c, f): label for c, _, f, label in out.iter_rows()}


def test_held_is_not_eligible_opened_within_horizon_is_one(policy, as_of) -> None:
    rows = [
        holding("C1", "mortgage", date(2020, 1, 1)),  # held -> null
        holding("C1", "mortgage", date(2026, 12, 1)),  # held anyway
        holding("C1", "savings", date(2026, 11, 15)),  # day D -> 1
        holding("C1", "car_loan", date(2027, 1, 13)),  # D+59 -> 1
        holding("C1", "credit_card", date(2027, 1, 14)),  # D+60 -> 0
        holding("C2", "savings", date(2019, 1, 1), closed=date(2026, 1, 1)),  # closed -> 0
    ]
    labels = labels_of(rows, as_of, policy)
    assert labels[("C1", "mortgage")] is None
    assert labels[("C1", "savings")] == 1
    assert labels[("C1", "car_loan")] == 1
    assert labels[("C1", "credit_card")] == 0
    assert labels[("C2", "savings")] == 0
    assert labels[("C2", "life_insurance")] == 0
    assert len(labels) == 2 * 11


def test_label_frame_shape_and_types(policy, as_of) -> None:
    out = build_labels(
        frame("holdings", [holding("C1", "savings", date(2026, 12, 1))]).lazy(),
        frame("products", PRODUCTS).lazy(),
        as_ofs=[as_of_moment(date(2026, 10, 16), policy), as_of],
        horizon_days=30,
        policy=policy,
    )
    assert out.columns == ["customer_id", "as_of", "family", "label"]
    assert out.schema["label"] == pl.Int8
    savings = out.filter(pl.col("family") == "savings")["label"].to_list()
    assert savings == [0, 1]


@pytest.mark.parametrize("horizon", [0, -5, 1.5, True])
def test_horizon_must_be_a_positive_integer(policy, as_of, horizon) -> None:
    with pytest.raises(ValueError, match="`horizon_days` must be a positive integer"):
        build_labels(
            pl.LazyFrame(), pl.LazyFrame(), as_ofs=[as_of], horizon_days=horizon, policy=policy
        )


def test_empty_as_ofs_rejected(policy) -> None:
    with pytest.raises(ValueError, match="`as_ofs` must hold at least one"):
        build_labels(pl.LazyFrame(), pl.LazyFrame(), as_ofs=[], horizon_days=60, policy=policy)


def test_monthly_as_ofs_end_a_horizon_before_the_run(policy, as_of) -> None:
    moments = monthly_as_ofs(as_of, n_snapshots=12, horizon_days=60, policy=policy)
    days = [local_day(t, policy) for t in moments]
    assert days[-1] == date(2026, 9, 15)
    assert days[0] == date(2025, 10, 15)
    assert all(t + timedelta(days=60) <= as_of for t in moments)
    assert moments == [as_of_moment(d, policy) for d in days]


def test_monthly_as_ofs_clamp_to_month_end(policy) -> None:
    run = as_of_moment(date(2026, 5, 31), policy)
    days = [
        local_day(t, policy)
        for t in monthly_as_ofs(run, n_snapshots=3, horizon_days=30, policy=policy)
    ]
    assert days == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]


def test_monthly_as_ofs_validates(policy, as_of) -> None:
    with pytest.raises(ValueError, match="`n_snapshots` must be a positive integer"):
        monthly_as_ofs(as_of, n_snapshots=0, horizon_days=60, policy=policy)
    with pytest.raises(ValueError, match="must be a local midnight"):
        monthly_as_ofs(as_of + timedelta(hours=1), n_snapshots=1, horizon_days=60, policy=policy)
    with pytest.raises(ValueError, match="must be time-zone aware"):
        monthly_as_ofs(as_of.replace(tzinfo=None), n_snapshots=1, horizon_days=60, policy=policy)


def test_label_columns_are_build_labels_pivoted(policy, as_of) -> None:
    rows = [
        holding("C1", "savings", date(2026, 11, 20)),
        holding("C1", "mortgage", date(2010, 1, 1)),
        holding("C2", "mortgage", date(2010, 1, 1), closed=date(2026, 11, 1)),
        holding("C2", "mortgage", date(2026, 12, 1)),
        holding("C3", "credit_card", date(2027, 3, 1)),
        holding("C3", "credit_card", date(2026, 11, 15)),
    ]
    tables = (frame("holdings", rows).lazy(), frame("products", PRODUCTS).lazy())
    long = build_labels(*tables, as_ofs=[as_of], horizon_days=30, policy=policy)
    expected = long.pivot("family", index="customer_id", values="label").sort("customer_id")
    wide = label_columns(*tables, as_of=as_of, horizon_days=30, policy=policy).collect()
    wide = wide.sort("customer_id").rename(lambda c: c.removeprefix("label__"))
    assert_frame_equal(wide, expected.select(wide.columns))
    assert wide.filter(pl.col("customer_id") == "C2")["mortgage"].to_list() == [1]


def test_label_columns_of_many_as_ofs_equal_one_as_of_at_a_time(policy, as_of) -> None:
    rows = [
        holding("C1", "savings", date(2026, 11, 20)),
        holding("C1", "mortgage", date(2010, 1, 1)),
        holding("C2", "mortgage", date(2010, 1, 1), closed=date(2026, 10, 1)),
        holding("C2", "mortgage", date(2026, 12, 1)),
        holding("C3", "credit_card", date(2026, 10, 20)),
        holding("C3", "car_loan", date(2026, 9, 16)),
    ]
    tables = (frame("holdings", rows).lazy(), frame("products", PRODUCTS).lazy())
    as_ofs = monthly_as_ofs(as_of, n_snapshots=3, horizon_days=30, policy=policy) + [as_of]
    many = label_columns_many(*tables, as_ofs=as_ofs, horizon_days=30, policy=policy)
    assert len(many) == len(as_ofs)
    for moment, got in zip(as_ofs, many, strict=True):
        one_as_of = label_columns(*tables, as_of=moment, horizon_days=30, policy=policy)
        assert_frame_equal(got.sort("customer_id"), one_as_of.collect().sort("customer_id"))
    with pytest.raises(ValueError, match="`horizon_days` must be a positive integer"):
        label_columns_many(*tables, as_ofs=as_ofs, horizon_days=0, policy=policy)

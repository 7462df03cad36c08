"""Pure polars helpers of the gate: cross-batch duplicates, flags, pandas conversion."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from literal_bank import utc
from polars.testing import assert_frame_equal

from interestlab.quality.checks import (
    CONSENT_FLAG,
    cross_batch_duplicates,
    flag_not_in,
    to_validation_pandas,
    with_consent_flag,
)


def parts(*ids: list[int]) -> list[pl.LazyFrame]:
    return [pl.LazyFrame({"event_id": i}, schema={"event_id": pl.Int64}) for i in ids]


def test_duplicates_across_parts_only() -> None:
    found = cross_batch_duplicates(parts([1, 2, 2], [2, 3], [10, 11]), ["event_id"])
    assert_frame_equal(found, pl.DataFrame({"event_id": [2]}))


def test_duplicates_in_several_buckets_match_one_pass() -> None:
    lots = parts(list(range(0, 40, 2)), list(range(0, 40, 3)), [5, 7, 39])
    one = cross_batch_duplicates(lots, ["event_id"])
    many = cross_batch_duplicates(lots, ["event_id"], max_rows_per_pass=4)
    assert_frame_equal(one, many)
    assert one["event_id"].to_list() == [0, 6, 12, 18, 24, 30, 36, 39]


def test_non_overlapping_ranges_have_no_duplicates() -> None:
    found = cross_batch_duplicates(parts([1, 2], [3, 4], [5, 5]), ["event_id"])
    assert found.height == 0
    assert found.schema == pl.Schema({"event_id": pl.Int64})


def test_compound_key_duplicates() -> None:
    a = pl.LazyFrame({"c": ["x", "y"], "t": [1, 1]})
    b = pl.LazyFrame({"c": ["x", "x"], "t": [1, 2]})
    assert_frame_equal(
        cross_batch_duplicates([a, b], ["c", "t"]), pl.DataFrame({"c": ["x"], "t": [1]})
    )


def test_single_part_and_bad_pass_size() -> None:
    assert cross_batch_duplicates(parts([1, 1]), ["event_id"]).height == 0
    with pytest.raises(ValueError, match=r"`max_rows_per_pass` must be a positive integer, got 0"):
        cross_batch_duplicates(parts([1]), ["event_id"], max_rows_per_pass=0)


def test_flag_not_in() -> None:
    df = pl.DataFrame({"event_id": [1, 2, 3]})
    flagged = flag_not_in(df, pl.DataFrame({"event_id": [2]}), ["event_id"], flag="ok").sort(
        "event_id"
    )
    assert flagged["ok"].to_list() == [True, False, True]
    empty = flag_not_in(df, pl.DataFrame(schema={"event_id": pl.Int64}), ["event_id"], flag="ok")
    assert empty["ok"].to_list() == [True, True, True]


def test_with_consent_flag() -> None:
    feed = pl.DataFrame({"customer_id": ["A", "B", None]})
    flagged = with_consent_flag(feed, pl.DataFrame({"customer_id": ["A", "A"]})).collect()
    assert flagged.sort("customer_id", nulls_last=True)[CONSENT_FLAG].to_list() == [
        True,
        False,
        False,
    ]


def test_to_validation_pandas_uses_nanoseconds() -> None:
    df = pl.DataFrame(
        {"ts": [utc(2026, 1, 1)], "d": [date(2026, 1, 1)], "s": ["x"]},
        schema={"ts": pl.Datetime("us", "UTC"), "d": pl.Date, "s": pl.String},
    )
    dtypes = to_validation_pandas(df).dtypes
    assert str(dtypes["ts"]) == "datetime64[ns, UTC]"
    assert str(dtypes["d"]) == "datetime64[ns]"
    assert str(dtypes["s"]) == "str"

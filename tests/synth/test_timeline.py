from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from interestlab.synth.timeline import (
    child_rng,
    lookup,
    make_span,
    shift_months,
    to_us,
    ts_series,
    uniform_between,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 15), -15, date(2025, 8, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
    ],
)
def test_shift_months_keeps_the_day_clamped_to_the_month_end(day, months, expected) -> None:
    assert shift_months(day, months) == expected


def test_span_ends_at_local_midnight_and_months_tile_it(policy) -> None:
    span = make_span(date(2026, 11, 15), 15, policy)
    assert span.end == datetime(2026, 11, 14, 23, tzinfo=UTC)  # CET midnight
    assert span.start_date == date(2025, 8, 15)
    assert span.start_us == to_us(datetime(2025, 8, 14, 22, tzinfo=UTC))  # CEST midnight
    for chunks in (span.utc_months, span.local_months):
        assert chunks[0].start_us == span.start_us
        assert chunks[-1].end_us == span.end_us
        assert all(a.end_us == b.start_us for a, b in zip(chunks, chunks[1:], strict=False))
    assert [c.label for c in span.utc_months][:2] == ["2025-08", "2025-09"]
    # The UTC month feed ends at the as-of moment: Nov 14 23:00 UTC is still November.
    assert span.utc_months[-1].label == "2026-11"
    # A local month starts at local midnight: 2025-09-01 00:00 CEST = 2025-08-31 22:00 UTC.
    assert span.local_months[1].start_us == to_us(datetime(2025, 8, 31, 22, tzinfo=UTC))
    assert span.utc_months[1].start_us == to_us(datetime(2025, 9, 1, tzinfo=UTC))


def test_span_rejects_a_non_positive_number_of_months(policy) -> None:
    with pytest.raises(ValueError, match="`n_months` must be a positive integer, got 0"):
        make_span(date(2026, 11, 15), 0, policy)


def test_child_generators_are_reproducible_and_independent() -> None:
    a = child_rng(7, "clicks", 3).random(5)
    assert np.array_equal(a, child_rng(7, "clicks", 3).random(5))
    assert not np.array_equal(a, child_rng(7, "clicks", 4).random(5))
    assert not np.array_equal(a, child_rng(7, "holdings", 3).random(5))
    assert not np.array_equal(a, child_rng(8, "clicks", 3).random(5))


def test_uniform_between_stays_in_the_half_open_interval_and_handles_empty_ones() -> None:
    rng = child_rng(1, "test")
    lo = np.array([0, 10, 5], dtype=np.int64)
    hi = np.array([3, 11, 5], dtype=np.int64)
    drawn = np.stack([uniform_between(rng, lo, hi) for _ in range(200)])
    assert drawn[:, 0].min() == 0 and drawn[:, 0].max() == 2
    assert set(drawn[:, 1]) == {10}
    assert set(drawn[:, 2]) == {5}  # empty interval: its lower bound


def test_lookup_maps_negative_indices_to_null_and_ts_series_is_utc_microseconds() -> None:
    got = lookup(("a", "b"), np.array([1, -1, 0]), "x")
    assert got.to_list() == ["b", None, "a"]
    ts = ts_series("ts", np.array([0, 1_000_000], dtype=np.int64))
    assert ts.dtype == pl.Datetime("us", "UTC")
    assert ts.to_list()[1] == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)

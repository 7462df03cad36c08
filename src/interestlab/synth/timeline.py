"""Random streams, the generated time span and array <-> polars time conversions.

Every part of the bank draws from its own generator derived from `(seed, part, index)`,
so one part (or one month) can change without shifting the random numbers of the others,
and the same seed always gives the same bytes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from interestlab.contract import UTC_TS
from interestlab.policy import Policy, as_of_moment

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
EPOCH = date(1970, 1, 1)


def child_rng(seed: int, part: str, index: int = 0) -> np.random.Generator:
    """Generator for one named part (and index, e.g. a month) of the bank."""
    return np.random.default_rng([seed, zlib.crc32(part.encode()), index])


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def to_days(day: date) -> int:
    return (day - EPOCH).days


def shift_months(day: date, months: int) -> date:
    """Same day of the month `months` later (earlier when negative), clamped to month end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


@dataclass(frozen=True)
class Chunk:
    """A half-open slice `[start_us, end_us)` of the history labelled `YYYY-MM`."""

    label: str
    index: int
    start_us: int
    end_us: int


@dataclass(frozen=True)
class Span:
    """The generated history: local midnight of `start_date` up to local midnight of `end`."""

    start_date: date
    end_date: date
    end: datetime  # the as-of moment of `end_date` (UTC)
    start_us: int
    end_us: int
    utc_months: tuple[Chunk, ...]  # partition of the click feed (UTC month of `ts`)
    local_months: tuple[Chunk, ...]  # the policy's calendar months (R6)

    @property
    def days(self) -> float:
        return (self.end_us - self.start_us) / US_PER_DAY


def _chunks(start: datetime, end: datetime, zone) -> tuple[Chunk, ...]:
    chunks = []
    local = start.astimezone(zone)
    month_start = datetime(local.year, local.month, 1, tzinfo=zone)
    index = 0
    while month_start.astimezone(UTC) < end:
        following = shift_months(month_start.date(), 1)
        month_end = datetime(following.year, following.month, 1, tzinfo=zone)
        lo = max(month_start.astimezone(UTC), start)
        hi = min(month_end.astimezone(UTC), end)
        if lo < hi:
            label = f"{month_start.year:04d}-{month_start.month:02d}"
            chunks.append(Chunk(label, index, to_us(lo), to_us(hi)))
            index += 1
        month_start = month_end
    return tuple(chunks)


def make_span(end: date, n_months: int, policy: Policy) -> Span:
    """History of `n_months` months before `end` (ts < local midnight of `end`)."""
    if n_months < 1:
        msg = f"`n_months` must be a positive integer, got {n_months!r}"
        raise ValueError(msg)
    start_date = shift_months(end, -n_months)
    start = as_of_moment(start_date, policy)
    stop = as_of_moment(end, policy)
    return Span(
        start_date=start_date,
        end_date=end,
        end=stop,
        start_us=to_us(start),
        end_us=to_us(stop),
        utc_months=_chunks(start, stop, UTC),
        local_months=_chunks(start, stop, policy.zone),
    )


def ts_series(name: str, values: np.ndarray) -> pl.Series:
    """`Datetime("us", "UTC")` series from int64 microseconds."""
    return (
        pl.Series(name, values, dtype=pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .cast(UTC_TS)
    )


def date_series(name: str, days: np.ndarray) -> pl.Series:
    """`Date` series from int days since the epoch."""
    return pl.Series(name, days, dtype=pl.Int32).cast(pl.Date)


def local_midnight_us(days: np.ndarray, policy: Policy) -> np.ndarray:
    """UTC microseconds of local midnight (policy zone) of each day (days since epoch)."""
    if len(days) == 0:
        return np.empty(0, dtype=np.int64)
    local = (
        date_series("d", days)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone(policy.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return local.dt.epoch("us").to_numpy().astype(np.int64)


def uniform_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One integer per row drawn uniformly from `[lo, hi)` (`lo` where the interval is empty)."""
    width = np.maximum(hi - lo, 0)
    return lo + np.floor(rng.random(len(lo)) * width).astype(np.int64)


def pick(rng: np.random.Generator, shares, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) shares."""
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int8)


def lookup(values, indices: np.ndarray, name: str) -> pl.Series:
    """String series `values[i]`; a negative index gives null."""
    table = pl.Series(name, [*values, None], dtype=pl.String)
    idx = np.where(indices < 0, len(values), indices).astype(np.uint32)
    return table.gather(pl.Series(idx, dtype=pl.UInt32)).alias(name)

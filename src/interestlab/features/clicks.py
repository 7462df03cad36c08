"""Click-behaviour features (R4) from the curated store, point in time, inside retention (R3).

The raw events are read **once** and reduced to three compact, integer-coded tables
(`compact_tables`): `daily` (customer code, local day, event type, family, theme, count),
`sessions` (customer code, local day of a session's first usable event, count) and
`active_days` (customer code, local day). Every window of every as-of snapshot is then
derived from these tables (`ClickWindows`: per snapshot, the rows of its 365-day span are
added into a few cells per customer, one snapshot at a time), so a 12-snapshot training set
reads the raw events once, not 12 times. The read itself materialises only one UInt64 key per
event (customer code, day, event type, family and theme packed in bits) and its session
id: the tables are counted by sorting these keys, not by hash group-bys on wide rows.

Customers are integer codes (`code`, UInt32, given by the caller's `codes` table) and event
type, family and theme are the physical codes of the contract's enums: counting on small
integers instead of strings is what makes the windows cheap (bench/bench_features.py).

Days are calendar days in the policy's zone, as are as-of moments (local midnight) and the
retention cutoff: "the last 7 days" before an as-of on day D are days D-7 .. D-1. Events at
or after the as-of moment never count; events before the run's retention cutoff were
filtered out before aggregation, so every window is clipped at that cutoff.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

from interestlab.contract import EVENT_TYPES, FAMILIES, THEMES
from interestlab.features.catalogue import (
    FAMILY_DAYS_SINCE_TYPES,
    FAMILY_TYPE_WINDOWS,
    GLOBAL_TYPE_WINDOW,
    HISTORY_DAYS_MAX,
    THEME_WINDOWS,
    WINDOWS,
)
from interestlab.policy import Policy

_EPOCH = date(1970, 1, 1)

_EVENT_TYPES_GLOBAL = (
    "theme_visit",
    "info_consult",
    "simulation",
    "procedure_started",
    "procedure_abandoned",
    "procedure_completed",
)
_ET = {name: code for code, name in enumerate(EVENT_TYPES)}


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the Int32 day key of the compact tables)."""
    return (day - _EPOCH).days


def local_day(moment: datetime, policy: Policy) -> date:
    """Bank-local calendar date of an aware moment."""
    return moment.astimezone(policy.zone).date()


def utc_offsets(policy: Policy, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """The zone's UTC offsets between `start` and `end`: `[(from_epoch_second, offset_s)]`.

    The first entry starts at `start`; one entry per offset change (DST) after it, located
    to the second (hourly scan, then bisection).
    """

    def offset(epoch: int) -> int:
        moment = datetime.fromtimestamp(epoch, UTC).astimezone(policy.zone)
        return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]

    first, last = int(start.timestamp()), int(end.timestamp())
    changes = [(first, offset(first))]
    hour = first
    while hour < last:
        nxt = min(hour + 3600, last)
        if offset(nxt) != changes[-1][1]:
            lo, hi = hour, nxt  # offset(lo) is the current one, offset(hi) the new one
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == changes[-1][1] else (lo, mid)
            changes.append((hi, offset(hi)))
        hour = nxt
    return changes


def local_day_expr(column: str, policy: Policy, *, start: datetime, end: datetime) -> pl.Expr:
    """Int32 bank-local day number of a UTC timestamp column whose values lie in [start, end].

    Adds the zone's offset (looked up from the few DST changes in the range) to the epoch
    seconds instead of converting every value through the time-zone database: the same
    result (tested against `dt.convert_time_zone`) at a fraction of the cost.
    """
    changes = utc_offsets(policy, start - timedelta(days=1), end + timedelta(days=1))
    epoch = pl.col(column).dt.epoch("s")
    offset: pl.Expr = pl.lit(changes[0][1], dtype=pl.Int64)
    for since, seconds in changes[1:]:
        offset = pl.when(epoch >= since).then(pl.lit(seconds, dtype=pl.Int64)).otherwise(offset)
    return ((epoch + offset) // 86_400).cast(pl.Int32).alias("day")


def _code(column: str, levels: tuple[str, ...], name: str) -> pl.Expr:
    return pl.col(column).cast(pl.Enum(list(levels))).to_physical().cast(pl.UInt8).alias(name)


def compact_events(
    events: pl.LazyFrame, *, policy: Policy, start: datetime, end: datetime
) -> pl.LazyFrame:
    """Usable events in [start, end) as small integers: `code, session_id, day, et, fam, th`.

    `events` must carry `code` (UInt32 customer code) instead of `customer_id`; `et`, `fam`
    and `th` are the positions of the event type, family and theme in the contract's
    domains (`fam`/`th` null when the event has none).
    """
    return events.filter((pl.col("ts") >= start) & (pl.col("ts") < end)).select(
        pl.col("code"),
        pl.col("session_id"),
        local_day_expr("ts", policy, start=start, end=end),
        _code("event_type", EVENT_TYPES, "et"),
        _code("product_family", FAMILIES, "fam"),
        _code("theme", THEMES, "th"),
    )


def daily_activity(compact: pl.LazyFrame) -> pl.LazyFrame:
    """Events counted per customer code, local day, event type, family and theme (`n`)."""
    return compact.group_by("code", "day", "et", "fam", "th").agg(
        pl.len().cast(pl.UInt32).alias("n")
    )


def session_starts(compact: pl.LazyFrame) -> pl.LazyFrame:
    """Sessions counted per customer code and local day of their first usable event (`n`).

    A session is dated by its first event that survived the consent and retention filters,
    so a session is counted in a window iff that first event lies in the window (exactly
    what a per-as-of count would give, since later events cannot move the first one).
    """
    return (
        compact.group_by("code", "session_id")
        .agg(pl.col("day").min())
        .group_by("code", "day")
        .agg(pl.len().cast(pl.UInt32).alias("n"))
    )


def active_days(compact: pl.LazyFrame) -> pl.LazyFrame:
    """Distinct (customer code, local day) pairs with at least one event."""
    return compact.select("code", "day").unique()


# `compact_tables` counts by sorting one UInt64 per event instead of hash group-bys on five
# columns. The key packs, from the high bits down, code (32 bits) | day + _DAY_OFFSET |
# et | fam + 1 | th + 1 (a null fam/th is 0), so the key order is the order of
# `sort("code", "day", "et", "fam", "th")` (nulls first) and a run of equal keys is one row
# of `daily`. The widths of et/fam/th follow the contract's domains; the day gets the rest.
_ET_BITS = (len(EVENT_TYPES) - 1).bit_length()
_FAM_BITS = len(FAMILIES).bit_length()  # one value more: 0 stands for null
_TH_BITS = len(THEMES).bit_length()
_KIND_BITS = _ET_BITS + _FAM_BITS + _TH_BITS
_CODE_BITS = 32  # every UInt32 customer code
_DAY_BITS = 64 - _CODE_BITS - _KIND_BITS
_DAY_OFFSET = 1 << (_DAY_BITS - 1)  # days before 1970 are negative
_KEY_LIMITS = {  # column: (smallest, largest) value the key can hold
    "code": (0, (1 << _CODE_BITS) - 1),
    "day": (-_DAY_OFFSET, _DAY_OFFSET - 1),
    "et": (0, (1 << _ET_BITS) - 1),
    "fam": (0, (1 << _FAM_BITS) - 2),
    "th": (0, (1 << _TH_BITS) - 2),
}


def _u64(value: int) -> pl.Expr:
    return pl.lit(value, dtype=pl.UInt64)


_UNSIGNED_MAX = {
    pl.UInt8: 2**8 - 1,
    pl.UInt16: 2**16 - 1,
    pl.UInt32: 2**32 - 1,
    pl.UInt64: 2**64 - 1,
}


def _field(column: str, bits_below: int, dtype: pl.DataType, *, offset: int = 0) -> pl.Expr:
    # polars has no bit shift: multiplying by a power of two is the shift. Values outside
    # the limits become null or wrap here; `_fits_key` masks them. An unsigned column goes
    # to UInt64 directly (the common case: the codes of `compact_events`).
    if dtype in _UNSIGNED_MAX:
        value = pl.col(column).cast(pl.UInt64) + _u64(offset)
    else:
        value = pl.col(column).cast(pl.Int64, strict=False) + offset
        value = value.cast(pl.UInt64, strict=False)
    return value * _u64(1 << bits_below)


def _fits_key(schema: pl.Schema) -> pl.Expr:
    checks = []
    for column, (low, high) in _KEY_LIMITS.items():
        top = _UNSIGNED_MAX.get(schema[column])
        if top is None or low > 0:
            within = pl.col(column).is_between(low, high)
        elif top <= high:  # whatever the column holds fits
            continue
        else:
            within = pl.col(column) <= high
        checks.append(pl.col(column).is_null() | within)
    return pl.all_horizontal(pl.col("code").is_not_null(), pl.col("day").is_not_null(), *checks)


def packed_events(compact: pl.LazyFrame) -> pl.DataFrame:
    """`key, session_id`: each compact event as one UInt64 key and its session id.

    The key (code | day | et | fam | th, see `_KEY_LIMITS`) is built inside the lazy query,
    so the events are only ever materialised as these two columns (16 bytes an event).

    Raises
    ------
    ValueError
        When `code` or `day` is null or a value lies outside what its field of the key can
        hold (checked in the same pass; the values found are read again only then).
    """
    schema = compact.collect_schema()
    key = (
        _field("code", _DAY_BITS + _KIND_BITS, schema["code"])
        + _field("day", _KIND_BITS, schema["day"], offset=_DAY_OFFSET)
        + _field("et", _FAM_BITS + _TH_BITS, schema["et"])
        + _field("fam", _TH_BITS, schema["fam"], offset=1).fill_null(0)
        + _field("th", 0, schema["th"], offset=1).fill_null(0)
    )
    packed = compact.select(
        pl.when(_fits_key(schema)).then(key).alias("key"), pl.col("session_id")
    ).collect()
    if packed.get_column("key").null_count():
        found = compact.select(
            *[pl.col(column).min().alias(f"{column}_min") for column in _KEY_LIMITS],
            *[pl.col(column).max().alias(f"{column}_max") for column in _KEY_LIMITS],
            *[pl.col(column).null_count().alias(f"{column}_nulls") for column in ("code", "day")],
        ).collect()
        found = found.row(0, named=True)
        expected = ", ".join(f"`{c}` in [{lo}, {hi}]" for c, (lo, hi) in _KEY_LIMITS.items())
        got = ", ".join(f"`{c}` in [{found[f'{c}_min']}, {found[f'{c}_max']}]" for c in _KEY_LIMITS)
        msg = (
            "compact events do not fit the packed UInt64 key: expected non-null `code` and"
            f" `day`, {expected}; found {found['code_nulls']} null `code`,"
            f" {found['day_nulls']} null `day`, {got}"
        )
        raise ValueError(msg)
    return packed


def _bits(values: np.ndarray, below: int, width: int, dtype: type) -> np.ndarray:
    # The field of `width` bits `below` bits up in UInt64 `values`, as `dtype` (wide enough
    # for it). numpy has the bit shift polars lacks: polars' UInt64 division and modulo by
    # powers of two decoded `daily` in ~0.17 s at 10M events, the shifts in ~0.03. Shifted
    # straight into `dtype`, numpy casts a buffer at a time: no temporary as large as
    # `values` (its fresh pages cost more than the arithmetic: 2-3x faster, measured).
    out = np.right_shift(values, below, out=np.empty(values.size, dtype), casting="unsafe")
    if width < 8 * out.itemsize:
        out &= (1 << width) - 1
    return out


def _code_day(values: np.ndarray, below: int) -> tuple[np.ndarray, np.ndarray]:
    # UInt32 code and Int32 day of UInt64 `values` holding code | day + _DAY_OFFSET from
    # `below` bits up (a key: _KIND_BITS; a code_day: 0).
    day = _bits(values, below, _DAY_BITS, np.int32)  # _DAY_BITS < 32
    day -= _DAY_OFFSET
    return _bits(values, below + _DAY_BITS, _CODE_BITS, np.uint32), day


def _starts(*sorted_columns: np.ndarray) -> np.ndarray:
    # The rows where the values of the sorted columns change (and row 0): the first row of
    # each distinct combination. Row numbers, not a mask: finding and gathering with them
    # took 0.008 s instead of 0.03 with the mask (3M of 7.9M rows).
    n = sorted_columns[0].size
    starts = np.zeros(n, dtype=bool)
    starts[:1] = True
    changed = np.empty(max(n - 1, 0), dtype=bool)
    for column in sorted_columns:
        np.not_equal(column[1:], column[:-1], out=changed)
        starts[1:] |= changed
    return np.flatnonzero(starts)


def _level(field: str) -> pl.Expr:
    # A family or theme field of the key (UInt8): its code + 1, 0 for null. (A when/then:
    # ~15x faster than going through Int16 with a non-strict cast back, measured.)
    value = pl.col(field)
    return pl.when(value > 0).then(value - pl.lit(1, dtype=pl.UInt8)).alias(field)


def _runs(values: pl.Series) -> pl.DataFrame:
    # `value, len` of each run of equal values of the sorted values.
    return values.sort().rle().struct.unnest()


def _event_chunks(packed: pl.DataFrame) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    # `start, key, session_id` of the packed events a chunk of rows at a time, as numpy
    # views of polars' chunks where they line up (converting whole columns copied them).
    session_id, start = packed.get_column("session_id"), 0
    for chunk in packed.get_column("key").get_chunks():
        key = chunk.to_numpy()
        session = session_id.slice(start, key.size).to_numpy()
        for at in range(0, key.size, _CHUNK_ROWS):
            rows = slice(at, at + _CHUNK_ROWS)
            yield start + at, key[rows], session[rows]
        start += key.size


def _session_bounds(packed: pl.DataFrame) -> dict[str, int]:
    # Largest code, smallest and largest session_id and day field of the packed events
    # (no null key, session_id integers without nulls).
    found: dict[str, list[int]] = {name: [] for name in ("code", "session", "day")}
    for _, key, session in _event_chunks(packed):
        day = _bits(key, _KIND_BITS, _DAY_BITS, np.uint32)
        found["code"].append(int(key.max()) >> (_DAY_BITS + _KIND_BITS))
        found["session"] += [int(session.min()), int(session.max())]
        found["day"] += [int(day.min()), int(day.max())]
    return {
        "code_max": max(found["code"]),
        "session_min": min(found["session"]),
        "session_max": max(found["session"]),
        "day_min": min(found["day"]),
        "day_max": max(found["day"]),
    }


def _session_keys(
    packed: pl.DataFrame, bounds: dict[str, int], session_bits: int, day_bits: int
) -> np.ndarray:
    # code | session_id - smallest | day - earliest per event, in session_bits and day_bits
    # bits (a chunk of rows at a time: the temporaries of a chunk are reused).
    keys = np.empty(packed.height, dtype=np.uint64)
    signed = packed.schema["session_id"].is_signed_integer()
    for start, key, session in _event_chunks(packed):
        out = keys[start : start + key.size]
        np.right_shift(key, _DAY_BITS + _KIND_BITS, out=out)
        out <<= session_bits + day_bits
        # In 64 bits, modulo 2**64: exact, the difference fits.
        wide = session.astype(np.int64 if signed else np.uint64, copy=False)
        relative = np.subtract(wide, bounds["session_min"]).view(np.uint64)
        relative <<= day_bits
        out |= relative
        day = _bits(key, _KIND_BITS, _DAY_BITS, np.uint32)
        day -= bounds["day_min"]
        out |= day
    return keys


def _session_code_days(packed: pl.DataFrame) -> pl.Series:
    """The code_day of each (code, session_id)'s earliest day: one value per session.

    Sort-based when (code, session_id - smallest, day - earliest) fits one UInt64 (2.5x
    faster than the streaming group-by at 15M sessions, measured): once sorted, the first
    row of a session holds its earliest day. Otherwise a streaming group-by. The bounds
    and keys are made with numpy's bit shifts (0.05 s at 10M events instead of 0.17 with
    polars' divisions) and sorted by polars (0.2 s on 10M UInt64, `np.sort` 0.65).
    """
    session_id = packed.get_column("session_id")
    if packed.height and not session_id.null_count() and session_id.dtype.is_integer():
        bounds = _session_bounds(packed)
        code_bits = bounds["code_max"].bit_length()
        session_bits = (bounds["session_max"] - bounds["session_min"]).bit_length()
        day_bits = (bounds["day_max"] - bounds["day_min"]).bit_length()
        if code_bits + session_bits + day_bits <= 64:
            keys = _session_keys(packed, bounds, session_bits, day_bits)
            keys = pl.Series(keys).sort().to_numpy()
            first = keys[_starts(keys >> day_bits)]
            del keys
            code_day = first >> (session_bits + day_bits)
            code_day <<= _DAY_BITS
            first &= (1 << day_bits) - 1
            first += bounds["day_min"]
            code_day |= first
            return pl.Series(code_day)
    # The streaming engine: in memory, this group-by took 3.5x the time and 2.5x the memory.
    code = pl.col("key") // _u64(1 << (_DAY_BITS + _KIND_BITS))
    code_day = pl.col("key") // _u64(1 << _KIND_BITS)
    return (
        packed.lazy()
        .group_by(code.alias("code"), "session_id")
        .agg(code_day.min().alias("code_day"))
        .collect(engine="streaming")
        .get_column("code_day")
    )


def _session_runs(packed: pl.DataFrame) -> pl.DataFrame:
    # `value, len`: each session start's code_day and how many sessions start on it.
    return _runs(_session_code_days(packed))


def compact_tables(compact: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """`(daily, sessions, active_days)` from one scan of the compact events.

    The same tables as `daily_activity`, `session_starts` and `active_days`, sorted by
    customer code and day (`daily` then by `et`, `fam`, `th`, nulls first), from the packed
    keys (`packed_events`): sort, count the runs of equal keys, decode the fields. At 48M
    events (1M customers) the tables cost ~8 CPU seconds after the scan instead of ~61 for
    three hash group-bys on the materialised events, and the phase peaks at 2.9 GB instead
    of 4.4 (bench/profile_features.py). The tables come sorted by customer code: every later
    group-by then meets each customer's rows together (4x faster windows at 1M customers
    than on hash-ordered rows).
    """
    packed = packed_events(compact)
    # The sessions' sort in a second thread while this one sorts the keys (numpy and polars
    # release the GIL; each is partly single-threaded): on 10M events 0.42-0.76 s instead
    # of 0.56-1.35 s for both, the same tables. Both sorts' arrays are held at once.
    with ThreadPoolExecutor(1) as pool:
        session_runs = pool.submit(_session_runs, packed)
        runs = _runs(packed.get_column("key"))
        sessions = session_runs.result()
    del packed
    code, day = _code_day(sessions.get_column("value").to_numpy(), 0)
    sessions = pl.DataFrame(
        [pl.Series("code", code), pl.Series("day", day), sessions.get_column("len").alias("n")]
    )
    # Decoded with numpy's bit shifts (`_bits`); a null family or theme was 0.
    value = runs.get_column("value").to_numpy()
    code, day = _code_day(value, _KIND_BITS)
    daily = pl.DataFrame(
        [
            pl.Series("code", code),
            pl.Series("day", day),
            pl.Series("et", _bits(value, _FAM_BITS + _TH_BITS, _ET_BITS, np.uint8)),
            pl.Series("fam", _bits(value, _TH_BITS, _FAM_BITS, np.uint8)),
            pl.Series("th", _bits(value, 0, _TH_BITS, np.uint8)),
            runs.get_column("len").alias("n"),
        ]
    ).with_columns(_level("fam"), _level("th"))
    del runs, value
    # The rows are sorted by code and day: where either changes starts a distinct active day.
    new_day = _starts(code, day)
    active = pl.DataFrame([pl.Series("code", code[new_day]), pl.Series("day", day[new_day])])
    return daily, sessions, active


# The windows end at the as-of day and are nested, so a row of age a (days before the as-of
# day, 1..365) lies in exactly one *ring*: ages 1..7, 8..30, 31..90, 91..365, one per window
# of `WINDOWS`; a window's count is the sum of its ring and the rings inside it. Every other
# window of the catalogue is one of `WINDOWS`.
_RINGS = len(WINDOWS)
_RING_OF_AGE = np.searchsorted(np.array(WINDOWS), np.arange(HISTORY_DAYS_MAX + 1))


def _rings_within(window: int) -> int:
    # How many rings, from the innermost, make up `window`.
    if window not in WINDOWS:
        msg = f"click windows must be one of {WINDOWS} days, got {window!r}"
        raise ValueError(msg)
    return WINDOWS.index(window) + 1


# A daily row's event type, family and theme as one small integer, its *kind* (a null family
# or theme is the code after the last level).
_N_FAM, _N_TH = len(FAMILIES) + 1, len(THEMES) + 1
_N_KINDS = len(EVENT_TYPES) * _N_FAM * _N_TH
_FAMILY_TYPES = tuple(event_type for event_type, _ in FAMILY_TYPE_WINDOWS)
if len(set(_FAMILY_TYPES)) < len(_FAMILY_TYPES):  # one cell per (family, event type)
    _msg = f"one window per counted event type expected, got {FAMILY_TYPE_WINDOWS}"
    raise ValueError(_msg)
_NO_AGE = np.iinfo(np.uint16).max  # the smallest age of a cell without rows


def _groups() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The measure groups, `(sums, recent)`: per group, `cell[kind, ring]` is the cell a daily
    row counts in among the group's cells of its customer, -1 where it does not count."""
    kind = np.arange(_N_KINDS)[:, None]  # kinds x rings
    ring = np.arange(_RINGS)[None, :]
    et, fam, th = kind // (_N_FAM * _N_TH), kind // _N_TH % _N_FAM, kind % _N_TH
    in_family = fam < len(FAMILIES)
    visit = (et == _ET["theme_visit"]) & (th < len(THEMES))

    def cells(*cases: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        out = np.full((_N_KINDS, _RINGS), -1)
        for where, cell in cases:  # disjoint
            out = np.where(where, cell, out)
        return out

    family_types = [
        (
            in_family & (et == _ET[name]) & (ring < _rings_within(window)),
            fam * len(_FAMILY_TYPES) + i,
        )
        for i, (name, window) in enumerate(FAMILY_TYPE_WINDOWS)
    ]
    n_since = len(FAMILY_DAYS_SINCE_TYPES)
    family_since = [
        (in_family & (et == _ET[name]), fam * n_since + i)
        for i, name in enumerate(FAMILY_DAYS_SINCE_TYPES)
    ]
    sums = {
        "family_ring": cells((in_family, fam * _RINGS + ring)),
        "family_type": cells(*family_types),
        "theme_ring": cells((visit, th * _RINGS + ring)),
        "type_ring": cells((et >= 0, et * _RINGS + ring)),
    }
    recent = {"family_recent": cells(*family_since), "theme_recent": cells((visit, th))}
    return sums, recent


class _Layout:
    """Groups of cells as planes of one buffer (`(n_planes, customers)`, one plane per cell,
    so a column is a contiguous plane), and the scatter passes that fill it: groups that no
    row counts in together share a pass (one `ufunc.at` over the rows instead of two). The
    last plane is the spare one, where the rows a pass does not count go."""

    def __init__(self, groups: dict[str, np.ndarray], extra_planes: int = 0) -> None:
        self.planes: dict[str, slice] = {}
        offset = 0
        for name, cell in groups.items():
            width = int(cell.max()) + 1
            self.planes[name] = slice(offset, offset + width)
            offset += width
        self.extra = offset  # planes filled otherwise (`ClickWindows._fill`)
        self.spare = offset + extra_planes
        self.n_planes = self.spare + 1
        passes: list[np.ndarray] = []
        for name, cell in groups.items():
            plane = np.where(cell >= 0, cell + self.planes[name].start, -1)
            for i, table in enumerate(passes):
                if not ((table >= 0) & (plane >= 0)).any():
                    passes[i] = np.maximum(table, plane)
                    break
            else:
                passes.append(plane)
        # `pass[kind * _RINGS + ring]`: the plane of a row in that pass.
        self.passes = [np.where(t >= 0, t, self.spare).reshape(-1) for t in passes]


_SUMS, _RECENT = (_Layout(groups, extra) for groups, extra in zip(_groups(), (0, 1), strict=True))
# Sessions and active days: counted by age only.
_BY_AGE = _Layout({"ring": np.broadcast_to(np.arange(_RINGS), (1, _RINGS))})


def _scatter(ufunc, planes: np.ndarray, layout: _Layout, rank, at, *, values) -> None:
    # Every pass of `layout` over the rows: `values` added into (np.add) or the smallest kept
    # in (np.minimum) the plane of each row's cell, at the row's customer.
    flat, width = planes.reshape(-1), planes.shape[1]
    values = np.asarray(values, dtype=planes.dtype)  # ufunc.at is fast on one dtype only
    for table in layout.passes:
        at_plane = (table * width)[at]  # the small table multiplied, not the rows
        at_plane += rank
        ufunc.at(flat, at_plane, values)


def _ranks(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # The distinct values of sorted `codes`, each row's index among them and the rows where
    # a value starts. Codes 0 .. k-1 (a caller's codes all with rows) are their own index.
    starts = _starts(codes)
    distinct = codes[starts]
    if not distinct.size or distinct[-1] == distinct.size - 1:
        return distinct, codes, starts
    rank = np.zeros(codes.size, dtype=np.int32)
    rank[starts[1:]] = 1
    np.cumsum(rank, out=rank)
    return distinct, rank, starts


def _totals_fit(values: np.ndarray, starts: np.ndarray, limit: int) -> bool:
    # Whether no sum of `values` over the runs beginning at `starts` exceeds `limit`. The
    # longest run times the largest value bounds the sums (5 ms at 10M events instead of 22
    # for the sums, measured); the sums are made only when the bound exceeds `limit`.
    if not values.size:
        return True
    longest = int(np.diff(starts, append=values.size).max())
    if longest * int(values.max()) <= limit:
        return True
    return int(np.add.reduceat(values, starts, dtype=np.uint64).max()) <= limit


def _age(day: np.ndarray, as_of_day: int) -> np.ndarray:
    # as_of_day - day of Int32 `day`, in 32 bits unless as_of_day is far from day 0.
    wide = np.int64 if abs(as_of_day) >= 1 << 30 else np.int32
    return np.subtract(wide(as_of_day), day, dtype=wide)


def _in_span(day: np.ndarray, as_of_day: int) -> np.ndarray:
    # Local days as_of_day - 365 .. as_of_day - 1 (ages 1..365), in one unsigned comparison:
    # a 32-bit age wraps modulo 2**32, but with |as_of_day| below 2**30 (`_age`) no wrapped
    # value falls below 365 unless the true one does.
    age = _age(day, as_of_day - 1)
    return age.view(np.uint64 if age.dtype == np.int64 else np.uint32) < HISTORY_DAYS_MAX


def _span_rows(day: np.ndarray, as_of_day: int) -> slice | np.ndarray:
    # The rows of `day` in the span (`_in_span`): a slice when all of them are (the latest
    # as-of: no copy of the columns, ~0.03 s less a snapshot at 10M events), else their row
    # numbers (gathering with them is faster than with the mask, see `_starts`).
    keep = _in_span(day, as_of_day)
    return slice(None) if keep.all() else np.flatnonzero(keep)


def _consecutive(index: np.ndarray) -> slice | None:
    # `index` as a slice when it is start, start + 1, ... (None otherwise).
    if not index.size:
        return None
    start = int(index[0])
    if not np.array_equal(index, np.arange(start, start + index.size)):
        return None
    return slice(start, start + index.size)


# Rows are scattered a chunk at a time: the temporaries of a chunk (a few MB) are reused by
# the allocator from one chunk to the next, whereas arrays of a whole span were fresh pages
# every time (page faults cost more than the arithmetic, measured at 1M customers).
_CHUNK_ROWS = 1 << 20


class ClickWindows:
    """The compact tables (`compact_tables`) made ready for the click windows of any as-of.

    Built once (a few passes over the tables); each snapshot then costs a few passes over
    the rows of its 365-day span and no group-by, join or sort: `np.add.at` adds the rows
    into cells per customer, one per (family, ring), (family, counted event type), (theme,
    ring) and (event type, ring), and `np.minimum.at` keeps the smallest age per (family,
    event type) and theme. A window's count is a sum of rings (`_RINGS`). The cells are
    planes of buffers kept from one snapshot to the next (`_Layout`); polars gathers the
    wanted customers' values from them (slices them when the customers are consecutive) and
    makes the Float32 columns. The values, nulls and dtypes equal the group-by
    formulation's (tests/features/reference_clicks.py).

    Parameters
    ----------
    daily, sessions, active : `compact_tables`, sorted by customer code and day.

    Examples
    --------
    >>> windows = ClickWindows(*compact_tables(compact))  # doctest: +SKIP
    >>> windows.features(as_of_day)  # click_features  # doctest: +SKIP
    >>> windows.columns(as_of_day, codes)  # a snapshot's click columns  # doctest: +SKIP
    """

    def __init__(self, daily: pl.DataFrame, sessions: pl.DataFrame, active: pl.DataFrame):
        ranked = [
            _ranks(table.get_column("code").to_numpy()) for table in (daily, sessions, active)
        ]
        codes = ranked[0][0]
        for own, *_ in ranked[1:]:  # a code without daily rows: not from compact_tables
            if np.array_equal(own, codes):
                continue
            at = np.searchsorted(codes, own)
            if at.size and (at[-1] >= codes.size or not np.array_equal(codes[at], own)):
                codes = np.union1d(codes, own)
        rank = [
            local
            if np.array_equal(own, codes)
            else np.searchsorted(codes, own).astype(np.int32)[local]
            for own, local, _ in ranked
        ]
        kind = (
            pl.col("et").cast(pl.UInt16) * _N_FAM + pl.col("fam").fill_null(len(FAMILIES))
        ) * _N_TH + pl.col("th").fill_null(len(THEMES))
        self.codes = codes
        self._daily = (
            rank[0],
            daily.get_column("day").to_numpy(),
            daily.select(kind.cast(pl.UInt16)).to_series().to_numpy(),
            daily.get_column("n").to_numpy(),
        )
        self._sessions = (
            rank[1],
            sessions.get_column("day").to_numpy(),
            sessions.get_column("n").to_numpy(),
        )
        self._active = (rank[2], active.get_column("day").to_numpy())
        self._buffers: dict[str, np.ndarray] = {}
        # Counts in 16 bits when no customer has more events or sessions (half the memory
        # the cells sweep): a cell never holds more than its customer's total.
        limit = np.iinfo(np.uint16).max
        fits = _totals_fit(self._daily[3], ranked[0][2], limit) and _totals_fit(
            self._sessions[2], ranked[1][2], limit
        )
        self._count_dtype = np.uint16 if fits else np.uint32

    def columns(self, as_of_day: int, codes: pl.Series) -> pl.DataFrame:
        """The click columns of the catalogue at `as_of_day` for `codes` (any codes, in their
        order), as a snapshot holds them: counts 0, days-since and trends null where the
        customer had no event."""
        wanted = codes.to_numpy()
        index = np.searchsorted(self.codes, wanted)
        found = index < self.codes.size
        found[found] = self.codes[index[found]] == wanted[found]
        index[~found] = self.codes.size  # the empty column of every plane
        planes = self._fill(as_of_day)
        return self._assemble(as_of_day, planes, index, absent_as_null=False)

    def features(self, as_of_day: int) -> pl.DataFrame:
        """`click_features` at `as_of_day`."""
        planes = self._fill(as_of_day)
        index = np.flatnonzero(planes["events"][-1, :-1])  # an event in the last 365 days
        code = pl.Series("code", self.codes[index], dtype=pl.UInt32).set_sorted()
        frame = self._assemble(as_of_day, planes, index, absent_as_null=True)
        return frame.insert_column(0, code)

    def _buffer(self, name: str, n_planes: int, dtype, empty: int) -> np.ndarray:
        # The buffer `name`, (n_planes, customers + 1), filled with `empty`.
        buffer = self._buffers.get(name)
        if buffer is None and empty == 0:  # zeroed pages, touched only where written
            shape = (n_planes, self.codes.size + 1)
            buffer = self._buffers[name] = np.zeros(shape, dtype=dtype)
            return buffer
        if buffer is None:
            shape = (n_planes, self.codes.size + 1)
            buffer = self._buffers[name] = np.empty(shape, dtype=dtype)
        buffer.fill(empty)
        return buffer

    def _fill(self, d: int) -> dict[str, np.ndarray]:
        # The planes of every measure at as-of day `d`: rings made windows (cumulative),
        # and the smallest age (days since) instead of the latest day.
        sums = self._buffer("sums", _SUMS.n_planes, self._count_dtype, 0)
        recent = self._buffer("recent", _RECENT.n_planes, np.uint16, _NO_AGE)
        sessions = self._buffer("sessions", _BY_AGE.n_planes, self._count_dtype, 0)
        active = self._buffer("active", _BY_AGE.n_planes, np.uint16, 0)
        width = sums.shape[1]
        rank, day, kind, n = self._daily
        for start in range(0, rank.size, _CHUNK_ROWS):
            rows = slice(start, start + _CHUNK_ROWS)
            keep = _span_rows(day[rows], d)
            chunk_rank = rank[rows][keep].astype(np.intp)
            age = _age(day[rows][keep], d)
            chunk_kind = kind[rows][keep].astype(np.intp) * _RINGS  # ring 0: no ring
            at = chunk_kind + _RING_OF_AGE[age]
            _scatter(np.add, sums, _SUMS, chunk_rank, at, values=n[rows][keep])
            age = age.astype(np.uint16)
            _scatter(np.minimum, recent, _RECENT, chunk_rank, chunk_kind, values=age)
            # A customer's most recent row: its last (rows sorted by code and day; a later
            # chunk holds later days).
            last = _starts(chunk_rank[::-1])  # from the end: the last rows of the runs
            last = chunk_rank.size - 1 - last
            recent.reshape(-1)[_RECENT.extra * width + chunk_rank[last]] = age[last]
        for planes, (rank, day, *n) in ((sessions, self._sessions), (active, self._active)):
            for start in range(0, rank.size, _CHUNK_ROWS):
                rows = slice(start, start + _CHUNK_ROWS)
                keep = _span_rows(day[rows], d)
                at = _RING_OF_AGE[_age(day[rows][keep], d)]
                values = n[0][rows][keep] if n else 1
                chunk_rank = rank[rows][keep].astype(np.intp)
                _scatter(np.add, planes, _BY_AGE, chunk_rank, at, values=values)
        blocks = {
            "family": sums[_SUMS.planes["family_ring"]].reshape(len(FAMILIES), _RINGS, -1),
            "theme": sums[_SUMS.planes["theme_ring"]].reshape(len(THEMES), _RINGS, -1),
            "by_type": sums[_SUMS.planes["type_ring"]].reshape(len(EVENT_TYPES), _RINGS, -1),
            "sessions": sessions[:_RINGS][None],
            "active": active[:_RINGS][None],
        }
        for block in blocks.values():  # in place: a window is its ring and those inside
            for ring in range(1, _RINGS):
                block[:, ring] += block[:, ring - 1]
        planes = {name: block for name, block in blocks.items()}
        planes["events"] = blocks["by_type"].sum(axis=0, dtype=self._count_dtype)
        planes["family_type"] = sums[_SUMS.planes["family_type"]].reshape(
            len(FAMILIES), len(_FAMILY_TYPES), -1
        )
        planes["family_recent"] = recent[_RECENT.planes["family_recent"]].reshape(
            len(FAMILIES), len(FAMILY_DAYS_SINCE_TYPES), -1
        )
        planes["theme_recent"] = recent[_RECENT.planes["theme_recent"]]
        planes["recent"] = recent[_RECENT.extra]
        return planes

    def _assemble(
        self, d: int, planes: dict[str, np.ndarray], index: np.ndarray, *, absent_as_null: bool
    ) -> pl.DataFrame:
        # The click columns of the customers `index` (columns of the planes; the last one
        # for a code without rows). With `absent_as_null` (click_features) the columns of a
        # family, theme or the sessions without a row in the span are null. The planes are
        # wrapped without a copy (the buffers are reused: every output is cast into new
        # memory), and each column is gathered and cast in one expression. When `index` is
        # a run of consecutive columns (usually all of them: `features` when every customer
        # had an event in the span, `columns` on the codes in order) the planes are sliced
        # instead of gathered: at 10M events (747K customers) the select took ~0.1 s
        # instead of ~0.3.
        raw: dict[str, np.ndarray] = {}
        out: list[pl.Expr] = []
        rows = _consecutive(index)
        at = pl.Series("index", index, dtype=pl.Int64)

        def w(window: int) -> int:
            return _rings_within(window) - 1

        def hold(name: str, plane: np.ndarray) -> None:
            raw[name] = plane if rows is None else plane[rows]

        def column(name: str, plane: np.ndarray | None = None) -> pl.Expr:
            if plane is not None:
                hold(name, plane)
            return pl.col(name) if rows is not None else pl.col(name).gather(at)

        def count(name: str, plane: np.ndarray, present: str | None = None) -> None:
            value = column(name, plane).cast(pl.Float32)
            if absent_as_null and present is not None:
                value = pl.when(column(present) > 0).then(value)
            out.append(value.alias(name))

        def since(name: str, plane: np.ndarray) -> None:
            age = column(name, plane)
            out.append(pl.when(age != _NO_AGE).then(age.cast(pl.Float32)).alias(name))

        def trend(name: str, recent: str, longer: str) -> None:
            recent_f, longer_f = column(recent).cast(pl.Float32), column(longer).cast(pl.Float32)
            out.append(pl.when(longer_f > 0).then(recent_f / longer_f).alias(name))

        events, by_type = planes["events"], planes["by_type"]
        for window in WINDOWS:
            count(f"all__events_{window}d", events[w(window)])
        for event_type in _EVENT_TYPES_GLOBAL:
            plane = by_type[_ET[event_type], w(GLOBAL_TYPE_WINDOW)]
            count(f"all__{event_type}_{GLOBAL_TYPE_WINDOW}d", plane)
        since("all__days_since_event", planes["recent"])
        trend("all__trend_30_90", "all__events_30d", "all__events_90d")
        for name, windows in (("sessions", (30, 90, 365)), ("active_days", (30, 90))):
            block = planes["sessions" if name == "sessions" else "active"][0]
            hold(f"_{name}", block[-1])
            for window in windows:
                count(f"all__{name}_{window}d", block[w(window)], f"_{name}")
        for f, level in enumerate(FAMILIES):
            prefix, family = f"fam_{level}__", planes["family"][f]
            present = f"{prefix}events_365d"
            hold(present, family[w(365)])
            for window in WINDOWS:
                count(f"{prefix}events_{window}d", family[w(window)], present)
            for t, (event_type, window) in enumerate(FAMILY_TYPE_WINDOWS):
                count(f"{prefix}{event_type}_{window}d", planes["family_type"][f, t], present)
            for q, event_type in enumerate(FAMILY_DAYS_SINCE_TYPES):
                since(f"{prefix}days_since_{event_type}", planes["family_recent"][f, q])
            trend(f"{prefix}trend_30_90", f"{prefix}events_30d", f"{prefix}events_90d")
        for t, level in enumerate(THEMES):
            prefix = f"theme_{level}__"
            hold(f"_{prefix}visits", planes["theme"][t, -1])
            for window in THEME_WINDOWS:
                plane = planes["theme"][t, w(window)]
                count(f"{prefix}visits_{window}d", plane, f"_{prefix}visits")
            since(f"{prefix}days_since_visit", planes["theme_recent"][t])
        frame = pl.DataFrame([pl.Series(name, plane) for name, plane in raw.items()])
        return frame.select(out)


def click_features_many(
    daily: pl.DataFrame,
    sessions: pl.DataFrame,
    active: pl.DataFrame,
    *,
    as_of_days: Sequence[int],
) -> Iterator[pl.DataFrame]:
    """`click_features` at each of `as_of_days`, in that order, one DataFrame at a time (the
    tables are prepared once, see `ClickWindows`)."""
    windows = ClickWindows(daily, sessions, active)
    for as_of_day in as_of_days:
        yield windows.features(as_of_day)


def click_features(
    daily: pl.DataFrame,
    sessions: pl.DataFrame,
    active: pl.DataFrame,
    *,
    as_of_day: int,
) -> pl.DataFrame:
    """Click features of every customer code with activity in the 365 days before `as_of_day`.

    Parameters
    ----------
    daily, sessions, active : `compact_tables` of the consent- and retention-filtered events.
    as_of_day : Int32 local day number of the as-of moment (a local midnight).

    Returns
    -------
    DataFrame `code` and the click columns of the catalogue, sorted by `code`; customers
    without any event in the last 365 days are absent (the caller fills their counts with 0).
    A family, theme or the sessions without a row in those days are null.
    """
    return ClickWindows(daily, sessions, active).features(as_of_day)


def history_days(as_of: datetime, retention_start: datetime) -> int:
    """Whole days of click history available before `as_of` (0..365), given the cutoff."""
    seconds = (as_of - retention_start).total_seconds()
    return int(min(max(seconds // 86_400, 0), HISTORY_DAYS_MAX))

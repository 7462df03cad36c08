"""Golden tests of the click features (R4) on tiny literal frames: windows, days since, trends."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from literal_bank import frame
from polars.testing import assert_frame_equal

from interestlab.contract import EVENT_TYPES, FAMILIES, THEMES
from interestlab.features import clicks
from interestlab.features.catalogue import FEATURE_CATALOGUE
from interestlab.features.clicks import (
    ClickWindows,
    _in_span,
    active_days,
    click_features,
    click_features_many,
    compact_events,
    compact_tables,
    daily_activity,
    history_days,
    local_day_expr,
    packed_events,
    session_starts,
    utc_offsets,
)

from .frames import one
from .reference_clicks import click_features_grouped


def test_family_counts_per_window_days_since_and_trend(features, click) -> None:
    rows = [
        click(days_before=1, event_type="simulation", family="mortgage"),
        click(days_before=6.5, event_type="simulation", family="mortgage"),
        click(days_before=20, event_type="procedure_abandoned", family="mortgage"),
        click(days_before=60, event_type="info_consult", family="mortgage"),
        click(days_before=200, event_type="procedure_completed", family="mortgage"),
        click(days_before=3, event_type="info_consult", family="savings"),
    ]
    row = one(features(rows))
    assert row["fam_mortgage__events_7d"] == 2
    assert row["fam_mortgage__events_30d"] == 3
    assert row["fam_mortgage__events_90d"] == 4
    assert row["fam_mortgage__events_365d"] == 5
    assert row["fam_mortgage__simulation_90d"] == 2
    assert row["fam_mortgage__info_consult_90d"] == 1
    assert row["fam_mortgage__procedure_abandoned_365d"] == 1
    assert row["fam_mortgage__procedure_completed_365d"] == 1
    assert row["fam_mortgage__days_since_simulation"] == 1
    assert row["fam_mortgage__days_since_procedure_abandoned"] == 20
    assert row["fam_mortgage__trend_30_90"] == pytest.approx(3 / 4)
    assert row["fam_savings__events_7d"] == 1
    assert row["fam_savings__days_since_simulation"] is None
    # A family never touched: zero counts, missing days-since and trend.
    assert row["fam_car_loan__events_365d"] == 0
    assert row["fam_car_loan__days_since_procedure_abandoned"] is None
    assert row["fam_car_loan__trend_30_90"] is None


def test_window_edges_are_local_calendar_days(features, click, as_of) -> None:
    # 7-day window = local days D-7 .. D-1: an event at 00:00 local on D-7 counts, one a
    # microsecond earlier (D-8) does not; nothing at or after the as-of moment counts.
    rows = [
        click(ts=as_of - timedelta(days=7), family="savings"),
        click(ts=as_of - timedelta(days=7, microseconds=1), family="savings"),
        click(ts=as_of - timedelta(microseconds=1), family="savings"),
        click(ts=as_of, family="savings"),
        click(ts=as_of + timedelta(days=2), family="savings"),
    ]
    row = one(features(rows))
    assert row["fam_savings__events_7d"] == 2
    assert row["fam_savings__events_30d"] == 3
    assert row["fam_savings__days_since_simulation"] is None
    assert row["all__days_since_event"] == 1


def test_theme_visits_and_days_since(features, click) -> None:
    rows = [
        click(days_before=2, event_type="theme_visit", theme="home"),
        click(days_before=10, event_type="theme_visit", theme="home"),
        click(days_before=45, event_type="theme_visit", theme="home"),
        click(days_before=5, event_type="theme_visit", theme="vacation"),
        # Not a visit: a simulation under a theme dossier counts for the family only.
        click(days_before=1, event_type="simulation", theme="home", family="mortgage"),
    ]
    row = one(features(rows))
    assert row["theme_home__visits_30d"] == 2
    assert row["theme_home__visits_90d"] == 3
    assert row["theme_home__days_since_visit"] == 2
    assert row["theme_vacation__visits_30d"] == 1
    assert row["theme_car__visits_90d"] == 0
    assert row["theme_car__days_since_visit"] is None


def test_global_activity_sessions_and_active_days(features, click) -> None:
    rows = [
        click(days_before=1, session_id=1, event_type="theme_visit", theme="car"),
        click(days_before=1, session_id=1, event_type="simulation", family="car_loan"),
        click(days_before=1, session_id=2, event_type="info_consult"),
        click(days_before=40, session_id=3, event_type="procedure_started", family="car_loan"),
        click(days_before=100, session_id=4, event_type="procedure_abandoned", family="car_loan"),
    ]
    row = one(features(rows))
    assert row["all__events_7d"] == 3
    assert row["all__events_30d"] == 3
    assert row["all__events_90d"] == 4
    assert row["all__events_365d"] == 5
    assert row["all__sessions_30d"] == 2
    assert row["all__sessions_90d"] == 3
    assert row["all__sessions_365d"] == 4
    assert row["all__active_days_30d"] == 1
    assert row["all__active_days_90d"] == 2
    assert row["all__theme_visit_90d"] == 1
    assert row["all__simulation_90d"] == 1
    assert row["all__procedure_started_90d"] == 1
    assert row["all__procedure_abandoned_90d"] == 0
    assert row["all__days_since_event"] == 1
    assert row["all__trend_30_90"] == pytest.approx(3 / 4)
    assert row["all__history_days"] == 365


def test_customer_without_clicks_has_zero_counts_and_missing_recency(features, click) -> None:
    row = one(features([click("C1", days_before=3)]), "C2")
    assert row["all__events_365d"] == 0
    assert row["all__sessions_365d"] == 0
    assert row["all__days_since_event"] is None
    assert row["all__trend_30_90"] is None


def _compact(rows: pl.LazyFrame, policy, *, start, end) -> pl.LazyFrame:
    coded = rows.with_columns(pl.lit(0, dtype=pl.UInt32).alias("code")).drop("customer_id")
    return compact_events(coded, policy=policy, start=start, end=end)


def test_session_is_dated_by_its_first_usable_event(policy, click, as_of) -> None:
    rows = frame(
        "click_events",
        [click(days_before=31, session_id=7), click(days_before=29, session_id=7)],
    ).lazy()
    compact = _compact(rows, policy, start=as_of - timedelta(days=400), end=as_of)
    daily, sessions, active = compact_tables(compact)
    assert sessions["n"].to_list() == [1]
    assert daily["n"].sum() == 2
    assert active.height == 2
    as_of_day = sessions["day"][0] + 31
    out = click_features(daily, sessions, active, as_of_day=as_of_day).row(0, named=True)
    assert out["all__sessions_30d"] == 0
    assert out["all__sessions_90d"] == 1
    assert out["all__events_30d"] == 1


def test_history_days_is_clipped_to_the_longest_window(as_of) -> None:
    assert history_days(as_of, as_of - timedelta(days=400)) == 365
    assert history_days(as_of, as_of - timedelta(days=30, hours=12)) == 30
    assert history_days(as_of, as_of + timedelta(days=3)) == 0


def test_compact_events_use_bank_local_days(policy, as_of) -> None:
    # 23:30 UTC on 14 Nov is already 15 Nov in Brussels: the as-of day itself, excluded.
    late = {
        "event_id": 1,
        "session_id": 1,
        "customer_id": "C1",
        "identified_at": as_of,
        "ts": as_of + timedelta(minutes=30),
        "event_type": "info_consult",
        "theme": None,
        "product_family": None,
        "channel": "app",
    }
    rows = frame("click_events", [late]).lazy()
    compact = _compact(rows, policy, start=as_of, end=as_of + timedelta(days=1)).collect()
    assert compact.get_column("day").cast(pl.Date).to_list() == [as_of.date() + timedelta(days=1)]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # A year with both DST changes (last Sunday of March and October, 01:00 UTC).
        (datetime(2025, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)),
        # No change inside the range.
        (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),
    ],
)
def test_local_day_expr_equals_the_time_zone_conversion(policy, start, end) -> None:
    # Every minute around both changes and local midnights, plus random moments.
    changes = [c for c, _ in utc_offsets(policy, start, end)[1:]]
    around = [
        datetime.fromtimestamp(c, UTC) + timedelta(minutes=m)
        for c in changes
        for m in range(-180, 181)
    ]
    rng = random.Random(7)
    span = int((end - start).total_seconds())
    moments = around + [start + timedelta(seconds=rng.randrange(span)) for _ in range(5000)]
    moments += [start, end - timedelta(microseconds=1)]
    ts = pl.DataFrame({"ts": moments}, schema={"ts": pl.Datetime("us", "UTC")})
    fast = ts.select(local_day_expr("ts", policy, start=start, end=end)).get_column("day")
    slow = ts.select(
        pl.col("ts").dt.convert_time_zone(policy.timezone).dt.date().cast(pl.Int32)
    ).get_column("ts")
    assert fast.to_list() == slow.to_list()
    assert len(changes) == (2 if start.month == 11 else 0)


def test_click_features_match_a_plain_per_event_reference(policy, as_of) -> None:
    # Random events of 40 customers over 400 days; a few features recomputed the slow,
    # obvious way (time-zone conversion per event, filters per window) must agree exactly.
    rng = random.Random(11)
    start = as_of - timedelta(days=400)
    rows = [
        {
            "code": rng.randrange(40),
            "session_id": rng.randrange(600),
            "ts": start + timedelta(seconds=rng.randrange(400 * 86_400)),
            "event_type": rng.choice(EVENT_TYPES),
            "product_family": rng.choice([None, *FAMILIES]),
            "theme": rng.choice([None, *THEMES]),
        }
        for _ in range(3000)
    ]
    events = pl.DataFrame(rows).with_columns(
        pl.col("code").cast(pl.UInt32), pl.col("ts").cast(pl.Datetime("us", "UTC"))
    )
    # Sessions belong to one customer.
    events = events.with_columns((pl.col("session_id") * 100 + pl.col("code")).alias("session_id"))
    as_of_day = (as_of.astimezone(policy.zone).date() - date(1970, 1, 1)).days
    tables = compact_tables(compact_events(events.lazy(), policy=policy, start=start, end=as_of))
    fast = click_features(*tables, as_of_day=as_of_day)

    day = pl.col("ts").dt.convert_time_zone(policy.timezone).dt.date().cast(pl.Int32)
    ref = events.filter(pl.col("ts") < as_of).with_columns((as_of_day - day).alias("age"))
    sessions = ref.group_by("code", "session_id").agg(pl.col("age").max())
    ref = ref.filter(pl.col("age") <= 365)
    checks = {}
    for code in fast["code"].to_list():
        mine = ref.filter(pl.col("code") == code)
        fam = mine.filter(pl.col("product_family") == "mortgage")
        visits = mine.filter((pl.col("event_type") == "theme_visit") & (pl.col("theme") == "car"))
        abandoned = fam.filter(pl.col("event_type") == "procedure_abandoned")["age"]
        checks[code] = {
            "fam_mortgage__events_30d": fam.filter(pl.col("age") <= 30).height,
            "fam_mortgage__simulation_90d": fam.filter(
                (pl.col("event_type") == "simulation") & (pl.col("age") <= 90)
            ).height,
            "fam_mortgage__days_since_procedure_abandoned": abandoned.min(),
            "theme_car__visits_30d": visits.filter(pl.col("age") <= 30).height,
            "theme_car__days_since_visit": visits["age"].min(),
            "all__events_7d": mine.filter(pl.col("age") <= 7).height,
            "all__sessions_90d": sessions.filter(
                (pl.col("code") == code) & (pl.col("age") <= 90)
            ).height,
            "all__active_days_30d": mine.filter(pl.col("age") <= 30)["age"].n_unique(),
        }
    got = {
        row["code"]: {name: row[name] for name in checks[row["code"]]}
        for row in fast.iter_rows(named=True)
    }
    zero_when_absent = {"fam_mortgage__events_30d", "fam_mortgage__simulation_90d"}
    zero_when_absent |= {"theme_car__visits_30d"}
    for values in got.values():
        for name in zero_when_absent:
            values[name] = values[name] or 0
    assert got == checks
    assert fast["code"].to_list() == sorted(ref["code"].unique().to_list())


def _events(n_events: int, *, seed: int, sessions: list[int] | None = None) -> pl.DataFrame:
    rng = random.Random(seed)
    sessions = sessions or list(range(50))
    return pl.DataFrame(
        {
            "code": [rng.choice([0, 7, 2**20 + 3, 2**32 - 1]) for _ in range(n_events)],
            "session_id": [rng.choice(sessions) for _ in range(n_events)],
            "day": [20_000 + rng.randrange(400) for _ in range(n_events)],
            "et": [rng.randrange(len(EVENT_TYPES)) for _ in range(n_events)],
            "fam": [rng.choice([None, *range(len(FAMILIES))]) for _ in range(n_events)],
            "th": [rng.choice([None, *range(len(THEMES))]) for _ in range(n_events)],
        },
        schema={
            "code": pl.UInt32,
            "session_id": pl.Int64,
            "day": pl.Int32,
            "et": pl.UInt8,
            "fam": pl.UInt8,
            "th": pl.UInt8,
        },
    )


@pytest.mark.parametrize("n_events", [0, 1, 5_000])
@pytest.mark.parametrize(
    "sessions",
    [
        None,
        # Session ids too far apart to pack with code and day: the group-by path.
        [-(2**62), -5, 0, 3, 2**62],
    ],
)
def test_compact_tables_equal_the_plain_group_bys(n_events, sessions) -> None:
    # The tables of the plain group-bys, sorted by code and day (daily then by et, fam, th,
    # nulls first), nulls kept, whatever the codes (full customer code range) and session
    # ids, and also without any event.
    events = _events(n_events, seed=n_events, sessions=sessions)
    daily, sessions, active = compact_tables(events.lazy())
    keys = ["code", "day", "et", "fam", "th"]
    assert_frame_equal(daily, daily_activity(events.lazy()).collect().sort(keys))
    assert_frame_equal(sessions, session_starts(events.lazy()).collect().sort("code", "day"))
    assert_frame_equal(active, active_days(events.lazy()).collect().sort("code", "day"))
    assert daily["n"].sum() == n_events


@pytest.mark.parametrize(
    ("dtype", "ids"),
    [
        (pl.Int8, [-128, -1, 0, 127]),
        (pl.Int32, [-(2**31), -7, 2**31 - 1]),
        (pl.Int64, [-(2**63), -(2**63) + 9, -(2**63) + 2**40]),
        (pl.UInt16, [0, 5, 2**16 - 1]),
        (pl.UInt64, [2**64 - 1, 2**64 - 9, 2**64 - 2**40]),
    ],
)
def test_compact_tables_take_session_ids_of_any_integer_dtype(dtype, ids, monkeypatch) -> None:
    # Session ids at the ends of their dtype's range (packed with the code and day: the
    # codes are small), from an input in several chunks, a few rows at a time.
    monkeypatch.setattr(clicks, "_CHUNK_ROWS", 7)
    events = _events(600, seed=len(ids), sessions=list(range(len(ids))))
    events = events.with_columns(
        (pl.col("code") % 50).cast(pl.UInt32),
        pl.col("session_id").replace_strict(dict(enumerate(ids)), return_dtype=dtype),
    )
    events = pl.concat([events.slice(0, 250), events.slice(250)], rechunk=False)
    daily, sessions, active = compact_tables(events.lazy())
    keys = ["code", "day", "et", "fam", "th"]
    assert_frame_equal(daily, daily_activity(events.lazy()).collect().sort(keys))
    assert_frame_equal(sessions, session_starts(events.lazy()).collect().sort("code", "day"))
    assert_frame_equal(active, active_days(events.lazy()).collect().sort("code", "day"))


def test_session_days_of_packed_events_chunked_unlike_their_keys(monkeypatch) -> None:
    # The session ids read along the keys' chunks whatever their own chunks.
    monkeypatch.setattr(clicks, "_CHUNK_ROWS", 11)
    packed = packed_events(_events(500, seed=8).lazy())
    key, session_id = packed.get_column("key"), packed.get_column("session_id")
    chunked = pl.DataFrame(
        [
            pl.concat([key.slice(0, 100), key.slice(100)], rechunk=False),
            pl.concat([session_id.slice(i, 37) for i in range(0, 500, 37)], rechunk=False),
        ]
    )
    assert chunked.get_column("session_id").n_chunks() > 2
    expected = clicks._session_code_days(packed.rechunk()).sort()
    assert clicks._session_code_days(chunked).sort().equals(expected)
    code = pl.col("key") // 2 ** (clicks._DAY_BITS + clicks._KIND_BITS)
    code_day = (pl.col("key") // 2**clicks._KIND_BITS).min().alias("code_day")
    grouped = packed.group_by(code.alias("code"), "session_id").agg(code_day)
    assert expected.to_list() == sorted(grouped.get_column("code_day").to_list())


def test_compact_tables_keep_null_families_and_themes_apart_from_codes() -> None:
    # Null fam/th are stored as 0 inside the key: they must come back null, not as code 0,
    # and sort before every code; the extreme values of each field survive the packing.
    events = pl.DataFrame(
        {
            "code": [2**32 - 1, 2**32 - 1, 2**32 - 1, 0, 0],
            "session_id": [1, 1, 1, 2, 2],
            "day": [2**21 - 1, 2**21 - 1, 2**21 - 1, -(2**21), -(2**21)],
            "et": [7, 7, 0, 0, 0],
            "fam": [14, None, 0, None, 0],
            "th": [None, 6, 0, 0, None],
        },
        schema={
            "code": pl.UInt32,
            "session_id": pl.Int64,
            "day": pl.Int32,
            "et": pl.UInt8,
            "fam": pl.UInt8,
            "th": pl.UInt8,
        },
    )
    daily, sessions, active = compact_tables(events.lazy())
    expected = events.drop("session_id").with_columns(pl.lit(1, dtype=pl.UInt32).alias("n"))
    assert_frame_equal(daily, expected.sort("code", "day", "et", "fam", "th"))
    assert daily.row(1) == (0, -(2**21), 0, 0, None, 1)
    assert sessions.rows() == [(0, -(2**21), 1), (2**32 - 1, 2**21 - 1, 1)]
    assert active.rows() == [(0, -(2**21)), (2**32 - 1, 2**21 - 1)]


@pytest.mark.parametrize(
    ("column", "value", "found"),
    [
        ("day", 2**21, r"`day` in \[\d+, 2097152\]"),
        ("day", -(2**21) - 1, r"`day` in \[-2097153, \d+\]"),
        ("et", 8, r"`et` in \[\d, 8\]"),
        ("fam", 15, r"`fam` in \[\d, 15\]"),
        ("th", 7, r"`th` in \[\d, 7\]"),
        ("code", None, r"found 1 null `code`"),
        ("day", None, r"1 null `day`"),
    ],
)
def test_packed_events_reject_values_the_key_cannot_hold(column, value, found) -> None:
    # The first event gets the value (in a dtype wide enough for it), the others fit.
    events = _events(20, seed=3)
    dtype = pl.Int32 if column == "day" else pl.Int64
    events = events.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value, dtype=dtype))
        .otherwise(pl.col(column).cast(dtype))
        .alias(column)
    )
    events = events.with_columns(pl.col("fam").fill_null(0), pl.col("th").fill_null(0))
    expected = r"expected non-null `code` and `day`, `code` in \[0, 4294967295\], `day` in "
    expected += r"\[-2097152, 2097151\], `et` in \[0, 7\], `fam` in \[0, 14\], `th` in \[0, 6\]"
    with pytest.raises(ValueError, match=expected) as error:
        packed_events(events.lazy())
    assert re.search(found, str(error.value))


def _tables(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return compact_tables(events.lazy())


# Days around the edges of the events' days (20_000 .. 20_399): before any event, the first
# day, inside, one window past the end and a year past it.
_AS_OF_DAYS = [19_990, 20_000, 20_001, 20_008, 20_031, 20_200, 20_365, 20_366, 20_400, 20_430]
_AS_OF_DAYS += [20_765, 20_766, 21_000]


@pytest.mark.parametrize("n_events", [0, 1, 40, 5_000])
def test_click_windows_equal_the_group_by_reference(n_events) -> None:
    # Every column, null and dtype of the scatter-add windows equals the group-by
    # formulation (the previous implementation), at as-of days around every window edge.
    events = _events(n_events, seed=n_events).with_columns(
        (pl.col("code") % 50).cast(pl.UInt32), pl.col("session_id") * 100 + pl.col("code") % 50
    )
    tables = _tables(events)
    windows = ClickWindows(*tables)
    for as_of_day in _AS_OF_DAYS:
        expected = click_features_grouped(*tables, as_of_day=as_of_day)
        assert_frame_equal(windows.features(as_of_day), expected)
        assert_frame_equal(click_features(*tables, as_of_day=as_of_day), expected)
    many = click_features_many(*tables, as_of_days=_AS_OF_DAYS[:3])
    for as_of_day, got in zip(_AS_OF_DAYS[:3], many, strict=True):
        assert_frame_equal(got, windows.features(as_of_day))


def test_click_windows_take_any_code() -> None:
    # The full UInt32 code range: the same features as the same events on small codes.
    events = _events(3_000, seed=5)
    small = events.with_columns(pl.col("code").rank("dense").cast(pl.UInt32))
    big, little = ClickWindows(*_tables(events)), ClickWindows(*_tables(small))
    assert big.codes.tolist() == [0, 7, 2**20 + 3, 2**32 - 1]
    for as_of_day in _AS_OF_DAYS:
        got, expected = big.features(as_of_day), little.features(as_of_day)
        assert_frame_equal(got.drop("code"), expected.drop("code"))
        codes = {1: 0, 2: 7, 3: 2**20 + 3, 4: 2**32 - 1}
        assert got["code"].to_list() == [codes[c] for c in expected["code"]]


@pytest.mark.parametrize("n_events", [0, 2_000])
def test_click_columns_are_the_features_as_a_snapshot_holds_them(n_events) -> None:
    # `columns` for any codes, in their order (codes without events, unknown codes): the
    # features of those codes with counts 0 instead of null; days-since and trends null.
    events = _events(n_events, seed=2).with_columns((pl.col("code") % 50).cast(pl.UInt32))
    tables = _tables(events)
    windows = ClickWindows(*tables)
    codes = pl.Series("code", [49, 3, 1000, 0, 7, 2**32 - 1, 12, 48], dtype=pl.UInt32)
    counts = [
        name
        for name, spec in FEATURE_CATALOGUE.items()
        if spec.kind == "count" and spec.source == "click_events"
    ]
    for as_of_day in _AS_OF_DAYS:
        rows = codes.to_frame().join(
            windows.features(as_of_day), on="code", how="left", maintain_order="left"
        )
        expected = rows.drop("code").with_columns(pl.col(name).fill_null(0) for name in counts)
        got = windows.columns(as_of_day, codes)
        assert_frame_equal(got, expected)
        assert got.null_count().select(pl.sum_horizontal(counts)).item() == 0


def test_click_windows_keep_sessions_and_active_days_of_their_own() -> None:
    # Sessions and active days whose codes have no daily row (not what compact_tables
    # gives, but allowed): counted for their own codes all the same.
    daily = pl.DataFrame(
        {"code": [5], "day": [100], "et": [0], "fam": [None], "th": [None], "n": [2]},
        schema={
            "code": pl.UInt32,
            "day": pl.Int32,
            "et": pl.UInt8,
            "fam": pl.UInt8,
            "th": pl.UInt8,
            "n": pl.UInt32,
        },
    )
    sessions = pl.DataFrame(
        {"code": [3, 5], "day": [90, 99], "n": [4, 1]},
        schema={"code": pl.UInt32, "day": pl.Int32, "n": pl.UInt32},
    )
    active = pl.DataFrame(
        {"code": [3, 5], "day": [90, 100]}, schema={"code": pl.UInt32, "day": pl.Int32}
    )
    windows = ClickWindows(daily, sessions, active)
    got = windows.columns(101, pl.Series([3, 5], dtype=pl.UInt32))
    assert got["all__sessions_30d"].to_list() == [4, 1]
    assert got["all__active_days_30d"].to_list() == [1, 1]
    assert got["all__events_7d"].to_list() == [0, 2]
    assert_frame_equal(
        windows.features(101), click_features_grouped(daily, sessions, active, as_of_day=101)
    )


def test_span_holds_the_365_days_before_the_as_of_day_whatever_the_day_numbers() -> None:
    day = np.array([-(2**31), -(2**31) + 5, 0, 99, 100, 2**31 - 300, 2**31 - 1], dtype=np.int32)
    for as_of_day in [100, 101, 465, -(2**29), 2**31 - 1, 2**31 + 100, -(2**31) + 200]:
        expected = [as_of_day - 365 <= d < as_of_day for d in day.tolist()]
        assert _in_span(day, as_of_day).tolist() == expected


def test_click_windows_count_beyond_16_bits() -> None:
    # Cells are 16-bit while no customer has more than 65,535 events or sessions; a customer
    # with more is counted in 32 bits, exactly.
    events = _events(2_000, seed=9).with_columns((pl.col("code") % 20).cast(pl.UInt32))
    daily, sessions, active = _tables(events)
    daily = daily.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(70_000).otherwise(pl.col("n")).alias("n")
    )
    sessions = sessions.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(66_000).otherwise(pl.col("n")).alias("n")
    )
    windows = ClickWindows(daily, sessions, active)
    for as_of_day in _AS_OF_DAYS:
        expected = click_features_grouped(daily, sessions, active, as_of_day=as_of_day)
        assert_frame_equal(windows.features(as_of_day), expected)
    assert windows.features(20_200)["all__events_365d"].max() > 70_000


@pytest.mark.parametrize(("column", "value"), [("et", 8), ("fam", 15), ("th", 7), ("th", 255)])
def test_packed_events_reject_unsigned_values_the_key_cannot_hold(column, value) -> None:
    # Unsigned columns (as compact_events gives them) are checked against the field's limit.
    events = _events(20, seed=4).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(value, dtype=pl.UInt8))
        .otherwise(pl.col(column))
        .alias(column)
    )
    assert events.schema[column] == pl.UInt8
    with pytest.raises(ValueError, match=rf"found .*`{column}` in \[\d+, {value}\]"):
        packed_events(events.lazy())
    assert packed_events(events.slice(1).lazy()).get_column("key").null_count() == 0

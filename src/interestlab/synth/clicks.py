"""The web-analytics feed of one UTC month, generated with vectorised numpy.

Sessions come from four sources: baseline browsing (every web user, at a personal activity
level), interest surges around life events (theme visits, simulations, started and abandoned
procedures on the event's theme and families), conversion sessions (a completed procedure on
the day of an online acquisition) and anonymous sessions. An identified session logs in at
`identified_at`; some of its first events came before the login (R1 must drop them). A tiny
share of sessions carries a customer id unknown to `customers`, and a tiny share of events
is delivered twice: both are for the quarantine and the dedupe to catch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from interestlab.contract import CLICK_CHANNELS, EVENT_TYPES, FAMILIES, TABLES, THEMES
from interestlab.synth import params
from interestlab.synth.life_events import FAMILY_INDEX, THEME_INDEX, Acquisitions, LifeEvents
from interestlab.synth.population import Population
from interestlab.synth.timeline import (
    US_PER_DAY,
    US_PER_SECOND,
    Chunk,
    child_rng,
    lookup,
    pick,
    ts_series,
    uniform_between,
)

BASELINE, SURGE, CONVERSION, ANONYMOUS = 0, 1, 2, 3
KINDS = ("baseline", "surge", "conversion", "anonymous")
ANONYMOUS_CUSTOMER = -1
STARTED = EVENT_TYPES.index("procedure_started")
ABANDONED = EVENT_TYPES.index("procedure_abandoned")
COMPLETED = EVENT_TYPES.index("procedure_completed")
THEME_VISIT = EVENT_TYPES.index("theme_visit")
AVERAGE_DAYS_PER_MONTH = 365.25 / 12
# Families a theme dossier talks about (for baseline browsing), and the dossier of a family.
THEME_FAMILIES = {
    "vacation": ("travel_insurance", "credit_card"),
    "home": ("mortgage", "home_insurance"),
    "car": ("car_loan", "car_insurance"),
    "studies": ("consumer_loan", "savings"),
    "retirement": ("pension_savings", "life_insurance"),
    "family": ("life_insurance", "savings"),
    "savings_goal": ("investment_fund", "savings"),
}
FAMILY_THEME = {
    "mortgage": "home",
    "home_insurance": "home",
    "car_loan": "car",
    "car_insurance": "car",
    "travel_insurance": "vacation",
    "pension_savings": "retirement",
    "life_insurance": "family",
    "investment_fund": "savings_goal",
}


@dataclass
class Sessions:
    """Sessions to generate: who, the window their start falls in, what they are about."""

    customer: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    kind: np.ndarray
    theme: np.ndarray
    family_a: np.ndarray
    family_b: np.ndarray

    @staticmethod
    def concat(parts: list[Sessions]) -> Sessions:
        return Sessions(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Sessions.__dataclass_fields__)
        )

    def __len__(self) -> int:
        return len(self.customer)


def _sessions(customer, lo, hi, *, kind, theme, family_a, family_b) -> Sessions:
    n = len(customer)
    full = lambda v: np.full(n, v, dtype=np.int8) if np.isscalar(v) else v.astype(np.int8)  # noqa: E731
    return Sessions(
        customer.astype(np.int64),
        lo.astype(np.int64),
        hi.astype(np.int64),
        full(kind),
        full(theme),
        full(family_a),
        full(family_b),
    )


def _baseline_topics(rng: np.random.Generator, n: int, chunk: Chunk) -> tuple[np.ndarray, ...]:
    # Holiday dossiers draw more visitors in spring and summer, like trips themselves.
    weights = np.ones(len(THEMES))
    weights[THEME_INDEX["vacation"]] = params.TRIP_MONTH_WEIGHTS[int(chunk.label[5:]) - 1]
    theme = pick(rng, weights, n)
    pairs = np.array([[FAMILY_INDEX[f] for f in THEME_FAMILIES[t]] for t in THEMES], dtype=np.int8)
    family_a, family_b = pairs[theme, 0], pairs[theme, 1]
    # Product pages outside the theme dossiers: no theme, one family of any kind.
    loose = rng.random(n) < params.BASELINE_THEMELESS_SHARE
    theme[loose] = -1
    family_a[loose] = rng.integers(0, len(FAMILIES), int(loose.sum()))
    family_b[loose] = -1
    return theme, family_a, family_b


def baseline_sessions(rng, population: Population, chunk: Chunk) -> Sessions:
    lo = np.maximum(population.since_us, chunk.start_us)
    days = np.maximum(chunk.end_us - lo, 0) / US_PER_DAY
    lam = params.BASELINE_SESSIONS_PER_MONTH * population.activity * days / AVERAGE_DAYS_PER_MONTH
    counts = rng.poisson(lam)
    customer = np.repeat(np.arange(population.n), counts)
    theme, family_a, family_b = _baseline_topics(rng, len(customer), chunk)
    return _sessions(
        customer,
        lo[customer],
        np.full(len(customer), chunk.end_us),
        kind=BASELINE,
        theme=theme,
        family_a=family_a,
        family_b=family_b,
    )


def surge_sessions(rng, events: LifeEvents, population: Population, chunk: Chunk) -> Sessions:
    lo = np.maximum.reduce(
        [
            events.surge_start_us,
            np.full(len(events.customer), chunk.start_us),
            population.since_us[events.customer],
        ]
    )
    hi = np.minimum(events.surge_end_us, chunk.end_us)
    days = np.maximum(hi - lo, 0) / US_PER_DAY
    counts = rng.poisson(events.sessions_per_week * days / 7)
    row = np.repeat(np.arange(len(events.customer)), counts)
    return _sessions(
        events.customer[row],
        lo[row],
        hi[row],
        kind=SURGE,
        theme=events.theme[row],
        family_a=events.primary[row],
        family_b=events.secondary[row],
    )


def conversion_sessions(
    acquisitions: Acquisitions, day_start_us: np.ndarray, chunk: Chunk
) -> Sessions:
    """One session per online acquisition whose (local) day starts in this chunk."""
    rows = np.flatnonzero(
        acquisitions.online & (day_start_us >= chunk.start_us) & (day_start_us < chunk.end_us)
    )
    family = acquisitions.family[rows]
    theme_of = np.array(
        [THEME_INDEX.get(FAMILY_THEME.get(f, ""), -1) for f in FAMILIES], dtype=np.int8
    )
    lo = day_start_us[rows]
    hi = np.minimum(lo + US_PER_DAY, chunk.end_us)
    return _sessions(
        acquisitions.customer[rows],
        lo,
        hi,
        kind=CONVERSION,
        theme=theme_of[family],
        family_a=family,
        family_b=-1,
    )


def anonymous_sessions(rng, n_identified_events: int, chunk: Chunk) -> Sessions:
    mean_events = 1 + params.EXTRA_EVENTS["anonymous"]
    n = rng.poisson(params.ANONYMOUS_EVENT_RATIO * n_identified_events / mean_events)
    theme, family_a, family_b = _baseline_topics(rng, n, chunk)
    return _sessions(
        np.full(n, ANONYMOUS_CUSTOMER),
        np.full(n, chunk.start_us),
        np.full(n, chunk.end_us),
        kind=ANONYMOUS,
        theme=theme,
        family_a=family_a,
        family_b=family_b,
    )


@dataclass(frozen=True)
class MonthFeed:
    """One month of the delivered feed as compact arrays, in delivery (time) order.

    Strings are built only per slice (`to_frame`), so memory stays near 40 bytes per event
    plus one slice of string columns.
    """

    event_id: np.ndarray
    session_id: np.ndarray
    customer: np.ndarray  # index into the id lookup; ANONYMOUS_CUSTOMER when anonymous
    identified_at: np.ndarray
    ts: np.ndarray
    event_type: np.ndarray
    theme: np.ndarray
    family: np.ndarray
    channel: np.ndarray
    n_sessions: int
    next_event_id: int
    next_session_id: int

    def __len__(self) -> int:
        return len(self.event_id)

    def to_frame(
        self, id_lookup: pl.Series, start: int = 0, stop: int | None = None
    ) -> pl.DataFrame:
        """Rows `[start, stop)` as a `click_events` frame (contract columns and types)."""
        rows = slice(start, stop)
        customer = self.customer[rows]
        anonymous = customer == ANONYMOUS_CUSTOMER
        with_null = pl.concat([id_lookup, pl.Series([None], dtype=pl.String)])
        return (
            pl.DataFrame(
                [
                    pl.Series("event_id", self.event_id[rows], dtype=pl.Int64),
                    pl.Series("session_id", self.session_id[rows], dtype=pl.Int64),
                    with_null.gather(np.where(anonymous, len(id_lookup), customer)).alias(
                        "customer_id"
                    ),
                    ts_series("identified_at", self.identified_at[rows]),
                    ts_series("ts", self.ts[rows]),
                    lookup(EVENT_TYPES, self.event_type[rows], "event_type"),
                    lookup(THEMES, self.theme[rows], "theme"),
                    lookup(FAMILIES, self.family[rows], "product_family"),
                    lookup(CLICK_CHANNELS, self.channel[rows], "channel"),
                ]
            )
            .with_columns(
                pl.when(pl.Series(~anonymous)).then(pl.col("identified_at")).alias("identified_at")
            )
            .select(TABLES["click_events"].schema.names())
        )


def _event_layout(rng, sessions: Sessions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events per session, and per event: its session and its position in the session."""
    extra = np.array([params.EXTRA_EVENTS[k] for k in KINDS])[sessions.kind]
    n_events = 1 + rng.poisson(extra)
    n_events[sessions.kind == CONVERSION] += 1  # started + completed at least
    first = np.cumsum(n_events) - n_events
    session = np.repeat(np.arange(len(sessions), dtype=np.int32), n_events)
    position = (np.arange(len(session), dtype=np.int32) - first[session]).astype(np.int32)
    return n_events, session, position


def month_feed(
    chunk: Chunk,
    *,
    seed: int,
    population: Population,
    events: LifeEvents,
    acquisitions: Acquisitions,
    acquisition_day_start_us: np.ndarray,
    first_event_id: int,
    first_session_id: int,
) -> MonthFeed:
    """Every delivered click event with `ts` in `chunk` (one UTC month), sorted by ts."""
    rng = child_rng(seed, "clicks", chunk.index)
    identified = Sessions.concat(
        [
            baseline_sessions(rng, population, chunk),
            surge_sessions(rng, events, population, chunk),
            conversion_sessions(acquisitions, acquisition_day_start_us, chunk),
        ]
    )
    # Anonymous traffic in proportion to the expected number of identified events.
    expected = (1 + np.array([params.EXTRA_EVENTS[k] for k in KINDS]))[identified.kind].sum()
    sessions = Sessions.concat([identified, anonymous_sessions(rng, int(expected), chunk)])
    n_sessions = len(sessions)

    n_events, session, position = _event_layout(rng, sessions)
    kind = sessions.kind[session]
    last = position == n_events[session] - 1

    # Event types, then procedures made consistent: an abandon follows a start.
    event_type = np.empty(len(session), dtype=np.int8)
    u = rng.random(len(session))
    for k, name in enumerate(KINDS):
        rows = np.flatnonzero(kind == k)
        p = np.asarray(params.EVENT_TYPE_PROBABILITIES[name])
        cumulative = np.cumsum(p / p.sum())
        event_type[rows] = np.minimum(
            np.searchsorted(cumulative, u[rows], side="right"), len(p) - 1
        )
    abandoned = np.flatnonzero((event_type == ABANDONED) & (position > 0))
    event_type[abandoned - 1] = STARTED
    conversion = kind == CONVERSION
    event_type[conversion & last] = COMPLETED
    event_type[np.flatnonzero(conversion & last) - 1] = STARTED

    theme = sessions.theme[session]
    family_a, family_b = sessions.family_a[session], sessions.family_b[session]
    use_b = (family_b >= 0) & (rng.random(len(session)) > params.SURGE_PRIMARY_FAMILY_SHARE)
    family = np.where(use_b, family_b, family_a)
    no_family = rng.random(len(session)) < params.THEME_VISIT_WITHOUT_FAMILY
    family[(event_type == THEME_VISIT) & no_family] = -1

    # Times: gaps of at least a second between events, the session placed inside its window.
    gap = US_PER_SECOND + rng.exponential(
        params.MEAN_GAP_SECONDS * US_PER_SECOND, len(session)
    ).astype(np.int64)
    gap[position == 0] = 0
    offset = np.cumsum(gap)
    offset -= np.repeat(offset[np.cumsum(n_events) - n_events], n_events)
    duration = offset[np.cumsum(n_events) - 1]
    start = uniform_between(rng, sessions.lo, np.maximum(sessions.hi - duration, sessions.lo))
    ts = np.minimum(start[session] + offset, chunk.end_us - 1)

    # Login: after `n_pre` events of pre-login browsing (always at least one event after it).
    anonymous = sessions.customer == ANONYMOUS_CUSTOMER
    pre = (rng.random(n_sessions) < params.PRE_LOGIN_SESSION_SHARE) & (n_events > 1) & ~anonymous
    extra_pre = rng.poisson(params.PRE_LOGIN_EXTRA_EVENTS, n_sessions)
    n_pre = np.where(pre, np.minimum(1 + extra_pre, n_events - 1), 0)
    login_event = np.cumsum(n_events) - n_events + n_pre
    before = np.where(n_pre > 0, gap[login_event], 20 * US_PER_SECOND)
    identified_at = ts[login_event] - np.floor(rng.random(n_sessions) * before).astype(np.int64)

    # Quarantine bait: a few identified sessions of customers unknown to `customers`.
    customer = sessions.customer.copy()
    unknown = ~anonymous & (rng.random(n_sessions) < params.UNKNOWN_CUSTOMER_SESSION_SHARE)
    customer[unknown] = population.n + rng.integers(0, population.n_unknown, int(unknown.sum()))
    channel = (rng.random(n_sessions) < params.APP_SHARE).astype(np.int8)

    # Session ids in order of session start; event ids in order of time.
    session_order = np.lexsort((np.arange(n_sessions), start))
    session_rank = np.empty(n_sessions, dtype=np.int64)
    session_rank[session_order] = np.arange(n_sessions)
    session_id = first_session_id + session_rank
    order = np.lexsort((position, session_id[session], ts))
    del position, offset, gap, kind, last, family_a, family_b, use_b, no_family, u
    # Delivery: each event once in time order, a tiny share twice (same event_id).
    rank = np.repeat(
        np.arange(len(order), dtype=np.int64),
        1 + (rng.random(len(order)) < params.DUPLICATE_EVENT_SHARE),
    )
    row = order[rank]
    n_delivered_once = len(order)
    del order
    row_session = session[row]
    customer[anonymous] = ANONYMOUS_CUSTOMER
    return MonthFeed(
        event_id=first_event_id + rank,
        session_id=session_id[row_session],
        customer=customer[row_session],
        identified_at=identified_at[row_session],
        ts=ts[row],
        event_type=event_type[row],
        theme=theme[row],
        family=family[row],
        channel=channel[row_session],
        n_sessions=n_sessions,
        next_event_id=first_event_id + n_delivered_once,
        next_session_id=first_session_id + n_sessions,
    )

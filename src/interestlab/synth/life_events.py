"""Latent interests: life events, their interest surges and the acquisitions they lead to.

A life event (moving house, a new car, a trip, ...) has a date; its interest surge runs
from `lead_days` before to `lag_days` after it and drives extra web sessions on the event's
theme and two product families. Each family converts with its own probability into an
acquisition a few days to weeks after the surge ends (possibly after the history, i.e. in
the future the models should predict). Acquisitions without any life event are drawn too.
The truth table (one row per customer x life event x family) is for evaluation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from interestlab.contract import FAMILIES, SEGMENTS, THEMES
from interestlab.synth import params
from interestlab.synth.population import Population
from interestlab.synth.timeline import (
    US_PER_DAY,
    Span,
    child_rng,
    date_series,
    lookup,
    to_days,
    ts_series,
    uniform_between,
)

FAMILY_INDEX = {name: i for i, name in enumerate(FAMILIES)}
THEME_INDEX = {name: i for i, name in enumerate(THEMES)}
SEGMENT_INDEX = {name: i for i, name in enumerate(SEGMENTS)}


@dataclass(frozen=True)
class LifeEvents:
    """One row per life event (arrays aligned by position)."""

    customer: np.ndarray
    kind: np.ndarray  # index into params.LIFE_EVENTS
    theme: np.ndarray
    primary: np.ndarray
    secondary: np.ndarray
    event_day: np.ndarray
    surge_start_us: np.ndarray
    surge_end_us: np.ndarray
    sessions_per_week: np.ndarray


@dataclass(frozen=True)
class Acquisitions:
    """Products acquired during the history (life-event driven or baseline)."""

    customer: np.ndarray
    family: np.ndarray
    day: np.ndarray
    online: np.ndarray  # completed through a web/app procedure (a conversion session)
    from_life_event: np.ndarray


def _age_segment_factor(kind: params.LifeEvent, age: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Relative likelihood of a life event given age and segment (1 = the base rate)."""
    f = np.ones(len(age))
    between = lambda lo, hi: (age >= lo) & (age <= hi)  # noqa: E731
    if kind.name == "moving_house":
        f = np.where(between(25, 45), 1.8, np.where(age > 65, 0.3, 1.0))
    elif kind.name == "renovation":
        f = np.where(between(30, 65), 1.3, 0.6)
    elif kind.name == "new_car":
        f = np.where(age < 21, 0.5, np.where(age > 80, 0.3, 1.0))
    elif kind.name == "trip":
        rich = (segment == SEGMENT_INDEX["affluent"]) | (segment == SEGMENT_INDEX["private"])
        f = np.where(rich, 1.3, 1.0)
    elif kind.name == "child":
        f = np.where(between(25, 42), 3.0, np.where(between(20, 47), 0.5, 0.0))
    elif kind.name == "retirement":
        f = np.where(between(55, 66), 5.0, np.where(between(50, 54), 1.0, 0.0))
    elif kind.name == "investing":
        f = np.select(
            [
                segment == SEGMENT_INDEX["private"],
                segment == SEGMENT_INDEX["affluent"],
                segment == SEGMENT_INDEX["young"],
            ],
            [3.0, 2.0, 0.5],
            1.0,
        )
    elif kind.name == "studies":
        f = np.where(between(18, 24), 2.5, np.where(between(42, 55), 2.0, 0.3))
    return f


def _event_days(rng: np.random.Generator, kind: params.LifeEvent, lo: int, hi: int, size: int):
    days = np.arange(lo, hi, dtype=np.int64)
    if kind.name == "trip":
        months = date_series("d", days).dt.month().to_numpy() - 1
        weights = np.asarray(params.TRIP_MONTH_WEIGHTS)[months]
        return rng.choice(days, size=size, p=weights / weights.sum())
    return rng.integers(lo, hi, size=size)


def make_life_events(population: Population, *, seed: int, span: Span) -> LifeEvents:
    rng = child_rng(seed, "life_events")
    lo = to_days(span.start_date) - params.LOOK_BACK_DAYS
    hi = to_days(span.end_date) + params.LOOK_AHEAD_DAYS
    parts: list[tuple[np.ndarray, ...]] = []
    for k, kind in enumerate(params.LIFE_EVENTS):
        p = np.clip(
            kind.probability * _age_segment_factor(kind, population.age, population.segment), 0, 1
        )
        who = np.flatnonzero(rng.random(population.n) < p)
        day = _event_days(rng, kind, lo, hi, len(who))
        keep = day >= population.since_days[who]
        who, day = who[keep], day[keep]
        parts.append((who, np.full(len(who), k, dtype=np.int8), day))
    customer = np.concatenate([p[0] for p in parts])
    kind_index = np.concatenate([p[1] for p in parts])
    event_day = np.concatenate([p[2] for p in parts])
    order = np.lexsort((kind_index, event_day, customer))
    customer, kind_index, event_day = customer[order], kind_index[order], event_day[order]

    lead = np.array([k.lead_days for k in params.LIFE_EVENTS])[kind_index]
    lag = np.array([k.lag_days for k in params.LIFE_EVENTS])[kind_index]
    sigma = params.SURGE_INTENSITY_LOG_SIGMA
    engagement = rng.lognormal(-sigma * sigma / 2, sigma, len(customer))
    web = population.activity[customer] > 0
    rate = (
        params.SURGE_SESSIONS_PER_WEEK
        * engagement
        * np.where(web, np.sqrt(population.activity[customer]) + 0.3, params.NO_WEB_SURGE_FACTOR)
    )
    return LifeEvents(
        customer=customer,
        kind=kind_index,
        theme=np.array([THEME_INDEX[k.theme] for k in params.LIFE_EVENTS], dtype=np.int8)[
            kind_index
        ],
        primary=np.array([FAMILY_INDEX[k.primary] for k in params.LIFE_EVENTS], dtype=np.int8)[
            kind_index
        ],
        secondary=np.array([FAMILY_INDEX[k.secondary] for k in params.LIFE_EVENTS], dtype=np.int8)[
            kind_index
        ],
        event_day=event_day,
        surge_start_us=(event_day - lead) * US_PER_DAY,
        surge_end_us=(event_day + lag) * US_PER_DAY,
        sessions_per_week=rate,
    )


def interest_truth(
    events: LifeEvents, population: Population, *, seed: int
) -> tuple[pl.DataFrame, Acquisitions]:
    """Truth per customer x life event x family, and the life-event acquisitions it implies.

    Returns the truth frame (acquisitions may fall after the history: `acquired_on` is the
    latent date, whatever the history's end) and all those acquisitions as arrays.
    """
    rng = child_rng(seed, "conversions")
    n = len(events.customer)
    convert_p = np.array([[k.convert_primary, k.convert_secondary] for k in params.LIFE_EVENTS])[
        events.kind
    ]  # (n, 2)
    # More intense surges convert a bit more often: real but imperfect signal.
    relative = events.sessions_per_week / params.SURGE_SESSIONS_PER_WEEK
    boost = np.clip(0.6 + 0.3 * relative, 0.5, 1.5)[:, None]
    probability = np.clip(convert_p * boost, 0, 1)
    converts = rng.random((n, 2)) < probability
    surge_end_day = events.surge_end_us // US_PER_DAY
    delay = np.ceil(rng.gamma(*params.ACQUISITION_DELAY_GAMMA, (n, 2))).astype(np.int64)
    acquired = surge_end_day[:, None] + delay
    online = rng.random((n, 2)) < params.ONLINE_ACQUISITION_SHARE

    role = np.tile(np.array([0, 1], dtype=np.int8), n)
    row_event = np.repeat(np.arange(n), 2)
    family = np.stack([events.primary, events.secondary], axis=1).ravel()
    flat_converts = converts.ravel()
    flat_acquired = acquired.ravel()
    names = [k.name for k in params.LIFE_EVENTS]
    truth = pl.DataFrame(
        [
            population.id_lookup.gather(events.customer[row_event]),
            lookup(names, events.kind[row_event], "life_event"),
            lookup(THEMES, events.theme[row_event], "theme"),
            lookup(FAMILIES, family, "family"),
            lookup(("primary", "secondary"), role, "role"),
            date_series("event_date", events.event_day[row_event]),
            ts_series("surge_start", events.surge_start_us[row_event]),
            ts_series("surge_end", events.surge_end_us[row_event]),
            pl.Series("surge_sessions_per_week", events.sessions_per_week[row_event]),
            pl.Series("convert_probability", probability.ravel()),
            pl.Series("converts", flat_converts),
            date_series("acquired_on", np.where(flat_converts, flat_acquired, 0)),
        ]
    ).with_columns(pl.when(pl.col("converts")).then(pl.col("acquired_on")).alias("acquired_on"))
    acquisitions = Acquisitions(
        customer=events.customer[row_event][flat_converts],
        family=family[flat_converts],
        day=flat_acquired[flat_converts],
        online=online.ravel()[flat_converts]
        & (population.activity[events.customer[row_event][flat_converts]] > 0),
        from_life_event=np.ones(int(flat_converts.sum()), dtype=bool),
    )
    return truth, acquisitions


def baseline_acquisitions(population: Population, *, seed: int, span: Span) -> Acquisitions:
    """Acquisitions without a life event: the noise the models must live with."""
    rng = child_rng(seed, "baseline_acquisitions")
    start_day, end_day = to_days(span.start_date), to_days(span.end_date)
    first_day = np.maximum(population.since_days, start_day)
    years = np.maximum(end_day - first_day, 0) / 365.25
    parts = []
    for f, family in enumerate(FAMILIES):
        who = np.flatnonzero(
            rng.random(population.n) < params.BASELINE_ACQUISITION_RATE[family] * years
        )
        day = uniform_between(rng, first_day[who], np.full(len(who), end_day))
        parts.append((who, np.full(len(who), f, dtype=np.int8), day))
    customer = np.concatenate([p[0] for p in parts])
    online = (rng.random(len(customer)) < params.ONLINE_ACQUISITION_SHARE) & (
        population.activity[customer] > 0
    )
    return Acquisitions(
        customer=customer,
        family=np.concatenate([p[1] for p in parts]),
        day=np.concatenate([p[2] for p in parts]),
        online=online,
        from_life_event=np.zeros(len(customer), dtype=bool),
    )


def within_history(acquisitions: Acquisitions, population: Population, span: Span) -> Acquisitions:
    """Acquisitions on a day inside the history, on or after the relationship start."""
    keep = (
        (acquisitions.day >= to_days(span.start_date))
        & (acquisitions.day < to_days(span.end_date))
        & (acquisitions.day >= population.since_days[acquisitions.customer])
    )
    return Acquisitions(
        customer=acquisitions.customer[keep],
        family=acquisitions.family[keep],
        day=acquisitions.day[keep],
        online=acquisitions.online[keep],
        from_life_event=acquisitions.from_life_event[keep],
    )


def concat_acquisitions(*parts: Acquisitions) -> Acquisitions:
    return Acquisitions(
        customer=np.concatenate([p.customer for p in parts]),
        family=np.concatenate([p.family for p in parts]),
        day=np.concatenate([p.day for p in parts]),
        online=np.concatenate([p.online for p in parts]),
        from_life_event=np.concatenate([p.from_life_event for p in parts]),
    )


# A surge counts as "in flight" at a moment from this long before it starts to this long after.
IN_FLIGHT_BEFORE_DAYS = 30
IN_FLIGHT_AFTER_DAYS = 45


def latent_interest_at(
    truth: pl.DataFrame, customer_ids: pl.Series, *, at: datetime
) -> pl.DataFrame:
    """`customer_id, family, latent_interest` for every customer x family at moment `at`.

    The latent interest is the conversion probability of a life-event surge in flight at
    `at` (starting within 30 days after it, or ended at most 45 days before it), the largest
    if several; 0 without one. For evaluation only (e.g. truth AUC of model scores).
    """
    in_flight = (
        truth.filter(
            pl.col("surge_start") < at + timedelta(days=IN_FLIGHT_BEFORE_DAYS),
            pl.col("surge_end") > at - timedelta(days=IN_FLIGHT_AFTER_DAYS),
        )
        .group_by("customer_id", "family")
        .agg(pl.col("convert_probability").max().alias("latent_interest"))
    )
    grid = customer_ids.to_frame("customer_id").join(
        pl.DataFrame({"family": list(FAMILIES)}), how="cross"
    )
    return (
        grid.join(in_flight, on=["customer_id", "family"], how="left")
        .with_columns(pl.col("latent_interest").fill_null(0.0))
        .sort("customer_id", "family")
    )

"""Product holdings (older products, acquisitions during the history, closings) and the
theme links customers made on their accounts (R5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from interestlab.contract import FAMILIES, TABLES, THEMES
from interestlab.synth import params
from interestlab.synth.life_events import THEME_INDEX, Acquisitions, LifeEvents
from interestlab.synth.population import Population
from interestlab.synth.timeline import (
    US_PER_DAY,
    Span,
    child_rng,
    date_series,
    lookup,
    pick,
    to_days,
    ts_series,
    uniform_between,
)

PRODUCT_IDS = tuple(p[0] for p in params.PRODUCTS)
NO_CLOSING = 10_000_000  # a day far beyond any history (days since epoch), still safe in us


@dataclass(frozen=True)
class Holdings:
    """The holdings table and, aligned with its rows, the internal customer and product index."""

    frame: pl.DataFrame
    customer: np.ndarray
    product: np.ndarray
    family: np.ndarray
    opened_day: np.ndarray
    closed_day: np.ndarray  # NO_CLOSING while open


def _age_factor(family: str, age: np.ndarray) -> np.ndarray:
    if family == "mortgage":
        return np.where(age < 25, 0.2, np.where((age >= 30) & (age <= 60), 1.4, 0.6))
    if family == "pension_savings":
        return np.where(age < 25, 0.3, np.where(age >= 65, 0.5, 1.2))
    if family in ("car_loan", "consumer_loan"):
        return np.where(age > 75, 0.3, 1.0)
    return np.ones(len(age))


def _choose_products(rng: np.random.Generator, family: np.ndarray) -> np.ndarray:
    product = np.zeros(len(family), dtype=np.int16)
    for f, name in enumerate(FAMILIES):
        rows = np.flatnonzero(family == f)
        options = [i for i, p in enumerate(params.PRODUCTS) if p[1] == name]
        weights = [params.PRODUCTS[i][4] for i in options]
        product[rows] = np.asarray(options, dtype=np.int16)[pick(rng, weights, len(rows))]
    return product


def make_holdings(
    population: Population, acquisitions: Acquisitions, *, seed: int, span: Span
) -> Holdings:
    rng = child_rng(seed, "holdings")
    start_day, end_day = to_days(span.start_date), to_days(span.end_date)
    # Products opened before the history, some of them closed since.
    earlier = np.flatnonzero(population.since_days < start_day)
    prior_customer, prior_family = [], []
    for f, family in enumerate(FAMILIES):
        p = params.PRIOR_HOLDING_SHARE[family] * _age_factor(family, population.age[earlier])
        who = earlier[rng.random(len(earlier)) < p]
        prior_customer.append(who)
        prior_family.append(np.full(len(who), f, dtype=np.int8))
    p_customer = np.concatenate(prior_customer)
    p_family = np.concatenate(prior_family)
    p_opened = uniform_between(
        rng, population.since_days[p_customer], np.full(len(p_customer), start_day)
    )
    u = rng.random(len(p_customer))
    closed_before = u < params.PRIOR_CLOSED_SHARE
    closed_during = (u >= params.PRIOR_CLOSED_SHARE) & (
        u < params.PRIOR_CLOSED_SHARE + params.CLOSED_DURING_HISTORY_SHARE
    )
    p_closed = np.full(len(p_customer), NO_CLOSING)
    p_closed[closed_before] = uniform_between(
        rng, p_opened[closed_before] + 1, np.full(int(closed_before.sum()), start_day)
    )
    p_closed[closed_during] = uniform_between(
        rng,
        np.full(int(closed_during.sum()), start_day),
        np.full(int(closed_during.sum()), end_day),
    )
    # A product opened the day before the history cannot close before it: keep it open.
    p_closed[p_closed <= p_opened] = NO_CLOSING

    a_closed = np.full(len(acquisitions.customer), NO_CLOSING)
    quick = rng.random(len(a_closed)) < 0.01  # cooling-off cancellations
    a_closed[quick] = acquisitions.day[quick] + rng.integers(1, 15, int(quick.sum()))
    a_closed[a_closed >= end_day] = NO_CLOSING

    customer = np.concatenate([p_customer, acquisitions.customer])
    family = np.concatenate([p_family, acquisitions.family])
    opened = np.concatenate([p_opened, acquisitions.day])
    closed = np.concatenate([p_closed, a_closed])
    product = _choose_products(rng, family)

    order = np.lexsort((closed, product, opened, customer))
    customer, family, opened, closed, product = (
        a[order] for a in (customer, family, opened, closed, product)
    )
    account = pl.Series("account_id", np.arange(1, len(customer) + 1, dtype=np.int64))
    frame = (
        pl.DataFrame(
            [
                population.id_lookup.gather(customer),
                ("A" + account.cast(pl.String).str.zfill(10)).alias("account_id"),
                lookup(PRODUCT_IDS, product, "product_id"),
                date_series("opened_on", opened),
                date_series("closed_on", np.where(closed == NO_CLOSING, 0, closed)),
            ]
        )
        .with_columns(
            pl.when(pl.Series(closed != NO_CLOSING)).then(pl.col("closed_on")).alias("closed_on")
        )
        .select(TABLES["holdings"].schema.names())
    )
    return Holdings(frame, customer, product, family, opened, closed)


def make_theme_links(
    holdings: Holdings, events: LifeEvents, population: Population, *, seed: int, span: Span
) -> pl.DataFrame:
    """Accounts linked to themes: some at random, more around a life event; some unlinked."""
    rng = child_rng(seed, "theme_links")
    end_us = span.end_us
    rows_holding, rows_theme, rows_linked = [], [], []
    open_at_end = holdings.closed_day == NO_CLOSING
    for f, family in enumerate(FAMILIES):
        themes = params.LINKABLE_THEMES.get(family)
        if not themes:
            continue
        rows = np.flatnonzero((holdings.family == f) & open_at_end)
        rows = rows[rng.random(len(rows)) < params.THEME_LINK_SHARE]
        theme = np.asarray([THEME_INDEX[t] for t in themes], dtype=np.int8)[
            rng.integers(0, len(themes), len(rows))
        ]
        lo = holdings.opened_day[rows] * US_PER_DAY
        rows_holding.append(rows)
        rows_theme.append(theme)
        rows_linked.append(uniform_between(rng, lo, np.full(len(rows), end_us)))

    # Around a life event, a customer often links a savings account to its theme.
    savings = np.flatnonzero((holdings.family == FAMILIES.index("savings")) & open_at_end)
    first_savings = np.full(population.n, -1, dtype=np.int64)
    owners, first = np.unique(holdings.customer[savings], return_index=True)
    first_savings[owners] = savings[first]  # rows are sorted by customer, opening day
    holding = first_savings[events.customer]
    eligible = np.flatnonzero(
        (holding >= 0)
        & (events.surge_start_us < end_us)
        & (rng.random(len(holding)) < params.LIFE_EVENT_THEME_LINK_SHARE)
    )
    rows = holding[eligible]
    lo = np.maximum(events.surge_start_us[eligible], holdings.opened_day[rows] * US_PER_DAY)
    hi = np.minimum(events.surge_end_us[eligible], end_us)
    ok = lo < hi
    rows_holding.append(rows[ok])
    rows_theme.append(events.theme[eligible][ok])
    rows_linked.append(uniform_between(rng, lo[ok], hi[ok]))

    rows = np.concatenate(rows_holding)
    theme = np.concatenate(rows_theme)
    linked = np.concatenate(rows_linked)
    unlinks = rng.random(len(rows)) < params.THEME_UNLINK_SHARE
    unlinked = uniform_between(rng, linked + 1, np.full(len(rows), end_us))
    unlinks &= unlinked < end_us
    order = np.lexsort((theme, linked, holdings.customer[rows]))
    rows, theme, linked, unlinked, unlinks = (
        a[order] for a in (rows, theme, linked, unlinked, unlinks)
    )
    return (
        pl.DataFrame(
            [
                population.id_lookup.gather(holdings.customer[rows]),
                holdings.frame["account_id"].gather(rows),
                lookup(THEMES, theme, "theme"),
                ts_series("linked_at", linked),
                ts_series("unlinked_at", unlinked),
            ]
        )
        .with_columns(pl.when(pl.Series(unlinks)).then(pl.col("unlinked_at")).alias("unlinked_at"))
        .unique(
            subset=["customer_id", "account_id", "theme", "linked_at"],
            keep="first",
            maintain_order=True,
        )
        .select(TABLES["theme_links"].schema.names())
    )

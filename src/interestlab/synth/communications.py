"""The communication log of one local (policy) month: every channel and category (R6-R8).

Commercial contacts (letters, e-mails to consented customers, internet-banking messages,
calls, branch and contact-centre proposals) reach about a fifth of the customers a month,
a small share twice (customer-months already above the cap of R6); banners, newsletters
(subscribed), operational messages about held products and legal notices are exempt.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from interestlab.contract import COMM_CATEGORIES, COMM_CHANNELS, TABLES
from interestlab.synth import params
from interestlab.synth.consent import ConsentHistory
from interestlab.synth.holdings import PRODUCT_IDS, Holdings
from interestlab.synth.population import Population
from interestlab.synth.timeline import (
    US_PER_DAY,
    Chunk,
    child_rng,
    lookup,
    pick,
    ts_series,
    uniform_between,
)

AVERAGE_DAYS_PER_MONTH = 365.25 / 12
CHANNEL = {name: i for i, name in enumerate(COMM_CHANNELS)}
CATEGORY = {name: i for i, name in enumerate(COMM_CATEGORIES)}


def _channels(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    codes = np.array([CHANNEL[c] for c in shares], dtype=np.int8)
    return codes[pick(rng, list(shares.values()), n)]


def newsletter_subscribers(population: Population, *, seed: int) -> np.ndarray:
    rng = child_rng(seed, "communications/subscribers")
    return rng.random(population.n) < params.NEWSLETTER_SUBSCRIBER_SHARE


def month_communications(
    chunk: Chunk,
    *,
    seed: int,
    population: Population,
    holdings: Holdings,
    email_consent: ConsentHistory,
    subscribers: np.ndarray,
    group_products: np.ndarray,
    first_number: int,
) -> pl.DataFrame:
    """Every communication sent in `chunk` (one local month), sorted by `sent_at`."""
    rng = child_rng(seed, "communications", chunk.index)
    lo = np.maximum(population.since_us, chunk.start_us)
    active = lo < chunk.end_us
    share = np.maximum(chunk.end_us - lo, 0) / US_PER_DAY / AVERAGE_DAYS_PER_MONTH
    n = population.n
    customers, channels, categories, products = [], [], [], []

    def add(who: np.ndarray, channel: np.ndarray, category: str, product: np.ndarray) -> None:
        customers.append(who)
        channels.append(channel)
        categories.append(np.full(len(who), CATEGORY[category], dtype=np.int8))
        products.append(product)

    # Commercial (capped): one for some customers, two for a few (already above the cap).
    commercial = active & (rng.random(n) < params.COMMERCIAL_SHARE * share)
    over_cap = active & (rng.random(n) < params.OVER_CAP_SHARE)
    who = np.repeat(np.arange(n), np.where(over_cap, 2, commercial.astype(np.int64)))
    add(
        who,
        _channels(rng, params.COMMERCIAL_CHANNEL_SHARES, len(who)),
        "commercial",
        group_products[rng.integers(0, len(group_products), len(who))],
    )
    # Banners on the bank's own sites (exempt channel, R7).
    who = np.repeat(np.arange(n), rng.poisson(params.BANNERS_PER_MONTH * share * active))
    add(
        who,
        np.full(len(who), CHANNEL["banner"], dtype=np.int8),
        "commercial",
        group_products[rng.integers(0, len(group_products), len(who))],
    )
    # Newsletters the customer subscribed to (R7).
    who = np.flatnonzero(active & subscribers)
    add(
        who, np.full(len(who), CHANNEL["email"], dtype=np.int8), "subscribed", np.full(len(who), -1)
    )
    # Operational messages about a product held during the month (R8).
    open_rows = np.flatnonzero(
        (holdings.opened_day * US_PER_DAY < chunk.end_us)
        & (holdings.closed_day * US_PER_DAY > chunk.start_us)
    )
    owners, first, count = np.unique(
        holdings.customer[open_rows], return_index=True, return_counts=True
    )
    n_messages = rng.poisson(params.OPERATIONAL_PER_MONTH * share[owners])
    who = np.repeat(owners, n_messages)
    picked = np.repeat(first, n_messages) + np.floor(
        rng.random(len(who)) * np.repeat(count, n_messages)
    ).astype(np.int64)
    add(
        who,
        _channels(rng, params.OPERATIONAL_CHANNEL_SHARES, len(who)),
        "operational",
        holdings.product[open_rows[picked]],
    )
    # Legal notices (R8).
    who = np.flatnonzero(active & (rng.random(n) < params.LEGAL_SHARE))
    add(who, _channels(rng, params.LEGAL_CHANNEL_SHARES, len(who)), "legal", np.full(len(who), -1))

    customer = np.concatenate(customers)
    channel = np.concatenate(channels)
    category = np.concatenate(categories)
    product = np.concatenate(products)
    sent = uniform_between(rng, lo[customer], np.full(len(customer), chunk.end_us))
    # Commercial e-mail only to customers with explicit consent at that moment (R9).
    no_consent = (
        (channel == CHANNEL["email"])
        & (category == CATEGORY["commercial"])
        & ~email_consent.granted_at(customer, sent)
    )
    channel[no_consent] = CHANNEL["letter"]

    order = np.lexsort((product, category, channel, customer, sent))
    number = pl.Series("comm_id", first_number + np.arange(len(order), dtype=np.int64))
    return pl.DataFrame(
        [
            ("M" + number.cast(pl.String).str.zfill(11)).alias("comm_id"),
            population.id_lookup.gather(customer[order]),
            ts_series("sent_at", sent[order]),
            lookup(COMM_CHANNELS, channel[order], "channel"),
            lookup(COMM_CATEGORIES, category[order], "category"),
            lookup(PRODUCT_IDS, product[order], "product_id"),
        ]
    ).select(TABLES["communications"].schema.names())

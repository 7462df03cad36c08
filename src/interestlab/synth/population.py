"""Customers and the product catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from interestlab.contract import LANGUAGES, SEGMENTS, TABLES
from interestlab.policy import Policy
from interestlab.synth import params
from interestlab.synth.timeline import (
    US_PER_DAY,
    Span,
    child_rng,
    date_series,
    lookup,
    pick,
    to_days,
)


@dataclass(frozen=True)
class Population:
    """Customers as arrays (index = position) plus their contract frame.

    `id_lookup` holds the customer ids followed by ids unknown to `customers` (quarantine
    bait in the click feed); index `n + k` is the k-th unknown id.
    """

    frame: pl.DataFrame
    id_lookup: pl.Series
    n_unknown: int
    age: np.ndarray
    segment: np.ndarray
    since_days: np.ndarray
    since_us: np.ndarray  # max(relationship start, history start), as UTC microseconds
    activity: np.ndarray  # mean-one web activity; zero for customers without web use

    @property
    def n(self) -> int:
        return self.frame.height


def customer_ids(start: int, count: int, width: int) -> pl.Series:
    """`C` + zero-padded numbers `start .. start+count-1` (sortable, pseudonymous)."""
    numbers = pl.Series("customer_id", np.arange(start, start + count, dtype=np.int64))
    return ("C" + numbers.cast(pl.String).str.zfill(width)).alias("customer_id")


def make_population(n_customers: int, *, seed: int, span: Span) -> Population:
    if n_customers < 1:
        msg = f"`n_customers` must be a positive integer, got {n_customers!r}"
        raise ValueError(msg)
    rng = child_rng(seed, "customers")
    n = n_customers
    n_unknown = max(3, n // 10_000)
    width = max(7, len(str(n + n_unknown)))
    ids = customer_ids(1, n, width)

    regions = list(params.REGION_SHARES)
    region = pick(rng, list(params.REGION_SHARES.values()), n)
    language = np.zeros(n, dtype=np.int8)
    for r, name in enumerate(regions):
        rows = np.flatnonzero(region == r)
        language[rows] = pick(rng, params.LANGUAGE_BY_REGION[name], len(rows))

    age = params.MIN_AGE + np.floor(
        rng.beta(*params.AGE_BETA, n) * (params.MAX_AGE - params.MIN_AGE)
    ).astype(np.int16)
    birth_year = (span.end_date.year - age).astype(np.int16)

    seg = {name: i for i, name in enumerate(SEGMENTS)}
    u = rng.random(n)
    segment = np.full(n, seg["mass"], dtype=np.int8)
    segment[u < 0.07] = seg["small_business"]
    segment[(u >= 0.07) & (u < 0.22)] = seg["affluent"]
    segment[(u >= 0.22) & (u < 0.25) & (age >= 35)] = seg["private"]
    segment[(age < 28) & (rng.random(n) < 0.7)] = seg["young"]

    # Relationship start: uniform between the 18th birthday (not before 1985) and the end.
    end_days = to_days(span.end_date)
    first = np.maximum(
        (birth_year.astype(np.int64) + 18 - 1970) * 365.25,
        (params.OLDEST_RELATIONSHIP_YEAR - 1970) * 365.25,
    ).astype(np.int64)
    first = np.minimum(first, end_days - 1)
    since_days = first + np.floor(rng.random(n) * (end_days - first)).astype(np.int64)
    since_us = np.maximum(since_days * US_PER_DAY, span.start_us)

    web = rng.random(n) >= params.NO_WEB_SHARE
    sigma = params.ACTIVITY_LOG_SIGMA
    activity = np.where(web, rng.lognormal(-sigma * sigma / 2, sigma, n), 0.0)

    columns = TABLES["customers"].schema
    frame = pl.DataFrame(
        [
            ids,
            pl.Series("birth_year", birth_year, dtype=pl.Int16),
            lookup(LANGUAGES, language, "language"),
            lookup(regions, region, "region"),
            lookup(SEGMENTS, segment, "segment"),
            date_series("customer_since", since_days),
        ]
    ).select(columns.names())
    all_ids = pl.concat([ids, customer_ids(n + 1, n_unknown, width)])
    return Population(
        frame=frame,
        id_lookup=all_ids,
        n_unknown=n_unknown,
        age=age,
        segment=segment,
        since_days=since_days,
        since_us=since_us,
        activity=activity,
    )


def make_products(policy: Policy) -> pl.DataFrame:
    """The catalogue: 2-3 products per family, group providers from the policy, partners."""
    providers = policy.group_providers
    rows = []
    for product_id, family, name, role, _weight in params.PRODUCTS:
        if role in params.PROVIDER_ROLES:
            provider = providers[params.PROVIDER_ROLES.index(role) % len(providers)]
            in_group = True
        else:
            provider, in_group = role, False
        rows.append((product_id, family, name, provider, in_group))
    return pl.DataFrame(rows, schema=TABLES["products"].schema, orient="row").sort("product_id")

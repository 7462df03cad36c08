"""Consent histories (R9, R13): grants, withdrawals and re-grants per purpose.

Each customer has at most three records per purpose (grant, withdrawal, re-grant); a share
never consents (some of them with an explicit refusal on record, most with no record at
all, which the policy reads as "not consented").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from interestlab.contract import CONSENT_SOURCES, TABLES
from interestlab.policy import Policy
from interestlab.synth import params
from interestlab.synth.population import Population
from interestlab.synth.timeline import (
    US_PER_DAY,
    Span,
    child_rng,
    lookup,
    pick,
    ts_series,
    uniform_between,
)

NEVER = np.iinfo(np.int64).max
REFUSAL_SHARE = 0.3  # of never-consenting customers, an explicit "no" is on record


@dataclass(frozen=True)
class ConsentHistory:
    """Per customer: moments (UTC us) of first grant, withdrawal, re-grant; NEVER if none."""

    grant: np.ndarray
    withdraw: np.ndarray
    regrant: np.ndarray
    refusal: np.ndarray

    def granted_at(self, customer: np.ndarray, moment: np.ndarray) -> np.ndarray:
        """Whether each customer's consent is granted at the given moment."""
        g, w, r = self.grant[customer], self.withdraw[customer], self.regrant[customer]
        return ((g <= moment) & (moment < w)) | (r <= moment)


def make_history(
    population: Population, *, seed: int, span: Span, purpose: str, never_share: float
) -> ConsentHistory:
    rng = child_rng(seed, f"consent/{purpose}")
    n = population.n
    since = population.since_days * US_PER_DAY
    end = np.full(n, span.end_us)
    never = rng.random(n) < never_share
    before = (rng.random(n) < params.GRANT_BEFORE_HISTORY_SHARE) & (since < span.start_us)
    grant = np.where(
        before,
        uniform_between(rng, since, np.full(n, span.start_us)),
        uniform_between(rng, np.maximum(since, span.start_us), end),
    )
    grant[never] = NEVER
    withdraw = uniform_between(rng, np.maximum(grant, span.start_us) + US_PER_DAY, end)
    withdraws = ~never & (rng.random(n) < params.WITHDRAW_SHARE) & (withdraw < span.end_us)
    withdraw[~withdraws] = NEVER
    regrant = uniform_between(rng, np.minimum(withdraw, span.end_us) + US_PER_DAY, end)
    regrants = withdraws & (rng.random(n) < params.REGRANT_SHARE) & (regrant < span.end_us)
    regrant[~regrants] = NEVER
    refusal = uniform_between(rng, since, end)
    refusal[~(never & (rng.random(n) < REFUSAL_SHARE))] = NEVER
    return ConsentHistory(grant, withdraw, regrant, refusal)


def consent_frame(
    histories: dict[str, ConsentHistory], population: Population, *, seed: int
) -> pl.DataFrame:
    """The `consent_events` table from the histories, sorted by customer, purpose, time."""
    rng = child_rng(seed, "consent/sources")
    customers, purposes, granted, moments = [], [], [], []
    purpose_names = list(histories)
    for p, history in enumerate(histories.values()):
        for moments_of, value in (
            (history.grant, True),
            (history.withdraw, False),
            (history.regrant, True),
            (history.refusal, False),
        ):
            who = np.flatnonzero(moments_of != NEVER)
            customers.append(who)
            purposes.append(np.full(len(who), p, dtype=np.int8))
            granted.append(np.full(len(who), value))
            moments.append(moments_of[who])
    customer = np.concatenate(customers)
    purpose = np.concatenate(purposes)
    grant = np.concatenate(granted)
    moment = np.concatenate(moments)
    order = np.lexsort((moment, purpose, customer))
    customer, purpose, grant, moment = (a[order] for a in (customer, purpose, grant, moment))
    source = pick(rng, params.CONSENT_SOURCE_SHARES, len(customer))
    return pl.DataFrame(
        [
            population.id_lookup.gather(customer),
            lookup(purpose_names, purpose, "purpose"),
            pl.Series("granted", grant, dtype=pl.Boolean),
            ts_series("recorded_at", moment),
            lookup(CONSENT_SOURCES, source, "source"),
        ]
    ).select(TABLES["consent_events"].schema.names())


def make_consent(
    population: Population, *, seed: int, span: Span, policy: Policy
) -> tuple[pl.DataFrame, dict[str, ConsentHistory]]:
    """Consent events for the web-data and e-mail purposes of the policy."""
    histories = {
        policy.web_data_purpose: make_history(
            population,
            seed=seed,
            span=span,
            purpose=policy.web_data_purpose,
            never_share=params.WEB_NEVER_CONSENT_SHARE,
        ),
        policy.email_purpose: make_history(
            population,
            seed=seed,
            span=span,
            purpose=policy.email_purpose,
            never_share=params.EMAIL_NEVER_CONSENT_SHARE,
        ),
    }
    return consent_frame(histories, population, seed=seed), histories

"""`generate_bank`: build the synthetic bank and write it atomically, month by month.

Static tables (customers, products, holdings, theme links, consent) are built first from
per-customer arrays; click events are then generated and written one UTC month at a time and
communications one local month at a time (a row group each), so memory stays bounded by one
month of events. Everything goes into a temporary folder that replaces `out_dir` only once
complete (`storage.atomic_dir`): a crash never leaves half a bank.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from interestlab.config import DEFAULT_AS_OF
from interestlab.contract import FAMILIES, TABLES
from interestlab.policy import Policy, load_policy
from interestlab.progress import fmt_count, step
from interestlab.storage import PARQUET_COMPRESSION, atomic_dir, write_json
from interestlab.synth import params
from interestlab.synth.clicks import ANONYMOUS_CUSTOMER, MonthFeed, month_feed
from interestlab.synth.communications import month_communications, newsletter_subscribers
from interestlab.synth.consent import NEVER, make_consent
from interestlab.synth.holdings import NO_CLOSING, make_holdings, make_theme_links
from interestlab.synth.life_events import (
    baseline_acquisitions,
    concat_acquisitions,
    interest_truth,
    latent_interest_at,
    make_life_events,
    within_history,
)
from interestlab.synth.population import make_population, make_products
from interestlab.synth.timeline import (
    Span,
    local_midnight_us,
    make_span,
    to_days,
    to_us,
)

SUMMARY_FILE = "_summary.json"
SLICE_ROWS = 1_000_000  # click rows per parquet row group (bounds the string columns in memory)
LATENT_BLOCK_CUSTOMERS = 100_000
TRUTH_DIR = "truth"


def write_table(df: pl.DataFrame, path: Path) -> None:
    """Write one parquet file (the bank folder as a whole is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, compression=PARQUET_COMPRESSION, statistics=True)


def _click_counts(feed: MonthFeed, *, cutoff_us: int, n_known: int) -> dict[str, int]:
    """Governance counts over delivered rows (they overlap: a row can be several things)."""
    anonymous = feed.customer == ANONYMOUS_CUSTOMER
    return {
        "events": len(feed),
        "anonymous": int(anonymous.sum()),
        "pre_identification": int(((feed.ts < feed.identified_at) & ~anonymous).sum()),
        "older_than_retention": int((feed.ts < cutoff_us).sum()),
        "unknown_customer": int((feed.customer >= n_known).sum()),
        "duplicate_deliveries": int((np.diff(feed.event_id) == 0).sum()),
        "sessions": feed.n_sessions,
    }


def _over_cap(frame: pl.DataFrame, policy: Policy) -> int:
    counted = frame.filter(
        pl.col("channel").is_in(list(policy.capped_channels))
        & pl.col("category").is_in(list(policy.counted_categories))
    )
    per_customer = counted.group_by("customer_id").len()
    return int((per_customer["len"] > policy.monthly_commercial_cap).sum())


def generate_bank(
    out_dir: Path,
    *,
    n_customers: int,
    seed: int,
    end: date = DEFAULT_AS_OF,
    n_months: int = params.DEFAULT_N_MONTHS,
) -> dict[str, Any]:
    """Generate a complete synthetic bank in the data contract and write it to `out_dir`.

    Parameters
    ----------
    out_dir
        Bank folder to create (replaced atomically if it exists).
    n_customers
        Number of customers; about 110 click events each are generated over 15 months.
    seed
        Same seed, same arguments: identical bytes.
    end
        The history ends just before local midnight (policy zone) of this date.
    n_months
        Months of history before `end`.

    Returns
    -------
    dict
        Non-personal summary (row counts, governance counts), also `out_dir/_summary.json`.

    Examples
    --------
    >>> summary = generate_bank(Path("/tmp/bank"), n_customers=1_000, seed=7)  # doctest: +SKIP
    >>> summary["rows"]["customers"]  # doctest: +SKIP
    1000
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        msg = f"`seed` must be a non-negative integer, got {seed!r}"
        raise ValueError(msg)
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        msg = f"`n_customers` must be a positive integer, got {n_customers!r}"
        raise ValueError(msg)
    if isinstance(n_months, bool) or not isinstance(n_months, int) or n_months < 1:
        msg = f"`n_months` must be a positive integer, got {n_months!r}"
        raise ValueError(msg)
    policy = load_policy()
    span = make_span(end, n_months, policy)
    step(f"synth: {fmt_count(n_customers)} customers, {span.start_date} to {end}, seed {seed}")

    population = make_population(n_customers, seed=seed, span=span)
    products = make_products(policy)
    events = make_life_events(population, seed=seed, span=span)
    truth, life_acquisitions = interest_truth(events, population, seed=seed)
    acquisitions = within_history(
        concat_acquisitions(
            life_acquisitions, baseline_acquisitions(population, seed=seed, span=span)
        ),
        population,
        span,
    )
    holdings = make_holdings(population, acquisitions, seed=seed, span=span)
    theme_links = make_theme_links(holdings, events, population, seed=seed, span=span)
    consent, histories = make_consent(population, seed=seed, span=span, policy=policy)
    step(
        f"synth: {fmt_count(holdings.frame.height)} holdings,"
        f" {fmt_count(len(events.customer))} life events,"
        f" {fmt_count(consent.height)} consent events"
    )

    summary: dict[str, Any] = {
        "n_customers": n_customers,
        "seed": seed,
        "end": end.isoformat(),
        "n_months": n_months,
        "history_start": span.start_date.isoformat(),
        "policy_version": policy.version,
    }
    with atomic_dir(Path(out_dir)) as tmp:
        static = {
            "customers": population.frame,
            "products": products,
            "holdings": holdings.frame,
            "theme_links": theme_links,
            "consent_events": consent,
        }
        rows = {name: frame.height for name, frame in static.items()}
        for name, frame in static.items():
            write_table(frame, tmp / name / "part-0.parquet")
        summary["holdings"] = _holdings_summary(holdings, products, acquisitions, span)
        summary["life_events"] = _life_event_summary(events, truth)
        # Only arrays are needed from here on: release the frames before the big writes.
        del static, theme_links, consent
        holdings = replace(holdings, frame=holdings.frame.clear())
        _write_truth(tmp / TRUTH_DIR, truth, population, span)
        del truth

        clicks = _write_clicks(
            tmp,
            span,
            policy=policy,
            seed=seed,
            population=population,
            events=events,
            acquisitions=acquisitions,
        )
        comms = _write_communications(
            tmp,
            span,
            policy=policy,
            seed=seed,
            population=population,
            holdings=holdings,
            histories=histories,
            products=products,
        )
        rows |= {"click_events": clicks["events"], "communications": comms["rows"]}
        summary["rows"] = {name: rows[name] for name in TABLES}
        summary["click_events"] = clicks
        summary["communications"] = comms
        summary["consent"] = _consent_summary(histories, span, policy)
        write_json(summary, tmp / SUMMARY_FILE)
    return summary


def _write_truth(folder: Path, truth: pl.DataFrame, population, span: Span) -> None:
    """Latent interests and activity, for evaluation only (the pipeline never reads them)."""
    write_table(truth, folder / "interests.parquet")
    # Customer x family grid, written in blocks of customers to bound memory.
    ids = population.frame["customer_id"]
    blocks = (
        latent_interest_at(
            truth.filter(pl.col("customer_id").is_in(block.implode())), block, at=span.end
        )
        for block in (
            ids.slice(start, LATENT_BLOCK_CUSTOMERS)
            for start in range(0, len(ids), LATENT_BLOCK_CUSTOMERS)
        )
    )
    _write_row_groups(blocks, folder / "latent_interest.parquet")
    activity = pl.DataFrame(
        [
            population.frame["customer_id"],
            pl.Series("web_user", population.activity > 0),
            pl.Series("web_activity", population.activity),
        ]
    )
    write_table(activity, folder / "activity.parquet")


def _write_clicks(
    tmp: Path, span: Span, *, policy: Policy, seed: int, population, events, acquisitions
) -> dict:
    # Online acquisitions complete on their local day; the conversion session falls in it.
    day_start_us = local_midnight_us(acquisitions.day, policy)
    cutoff = policy.retention_cutoff(span.end)
    cutoff_us = to_us(cutoff)
    totals: dict[str, int] = {}
    next_event_id, next_session_id = 1, 1
    for chunk in span.utc_months:
        feed = month_feed(
            chunk,
            seed=seed,
            population=population,
            events=events,
            acquisitions=acquisitions,
            acquisition_day_start_us=day_start_us,
            first_event_id=next_event_id,
            first_session_id=next_session_id,
        )
        next_event_id, next_session_id = feed.next_event_id, feed.next_session_id
        path = tmp / "click_events" / f"month={chunk.label}" / "part-0.parquet"
        _write_slices(feed, population.id_lookup, path)
        counts = _click_counts(feed, cutoff_us=cutoff_us, n_known=population.n)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        step(
            f"synth: click_events {chunk.label}: {fmt_count(counts['events'])} events,"
            f" {fmt_count(counts['sessions'])} sessions,"
            f" {fmt_count(counts['anonymous'])} anonymous,"
            f" {fmt_count(counts['pre_identification'])} before login"
        )
        del feed
    totals["months"] = len(span.utc_months)
    totals["first_month"] = span.utc_months[0].label
    totals["last_month"] = span.utc_months[-1].label
    totals["retention_cutoff"] = cutoff.isoformat()
    return totals


def _write_slices(feed: MonthFeed, id_lookup: pl.Series, path: Path) -> None:
    """Write one month as row groups built slice by slice (bounded string memory)."""
    slices = (
        feed.to_frame(id_lookup, start, start + SLICE_ROWS)
        for start in range(0, max(len(feed), 1), SLICE_ROWS)
    )
    _write_row_groups(slices, path)


def _write_row_groups(frames: Iterable[pl.DataFrame], path: Path) -> int:
    """Write frames (same schema) as consecutive row groups of one parquet file; return rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer, rows = None, 0
    try:
        for frame in frames:
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression=PARQUET_COMPRESSION)
            writer.write_table(table)
            rows += frame.height
    finally:
        if writer is not None:
            writer.close()
    return rows


def _write_communications(
    tmp: Path, span: Span, *, policy: Policy, seed: int, population, holdings, histories, products
) -> dict:
    group = products["provider_in_group"].to_numpy()
    catalogue = [p[0] for p in params.PRODUCTS]
    group_ids = set(products.filter(pl.Series(group))["product_id"].to_list())
    group_products = np.array(
        [i for i, p in enumerate(catalogue) if p in group_ids], dtype=np.int16
    )
    subscribers = newsletter_subscribers(population, seed=seed)
    path = tmp / "communications" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, over_cap, by_category, writer = 0, [], {}, None
    next_number = 1
    try:
        for chunk in span.local_months:
            frame = month_communications(
                chunk,
                seed=seed,
                population=population,
                holdings=holdings,
                email_consent=histories[policy.email_purpose],
                subscribers=subscribers,
                group_products=group_products,
                first_number=next_number,
            )
            next_number += frame.height
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression=PARQUET_COMPRESSION)
            writer.write_table(table)
            rows += frame.height
            over_cap.append(_over_cap(frame, policy))
            for (category,), part in frame.group_by("category"):
                by_category[category] = by_category.get(category, 0) + part.height
            step(
                f"synth: communications {chunk.label}: {fmt_count(frame.height)} sent,"
                f" {fmt_count(over_cap[-1])} customers above the cap"
            )
    finally:
        if writer is not None:
            writer.close()
    return {
        "rows": rows,
        "by_category": dict(sorted(by_category.items())),
        "customer_months_over_cap": int(sum(over_cap)),
        "customer_months_over_cap_current_month": int(over_cap[-1]),
        "current_month": span.local_months[-1].label,
    }


def _consent_summary(histories, span: Span, policy: Policy) -> dict:
    out = {}
    for purpose, history in histories.items():
        n = len(history.grant)
        everyone = np.arange(n)
        out[purpose] = {
            "never_consented": int((history.grant == NEVER).sum()),
            "explicit_refusals": int((history.refusal != NEVER).sum()),
            "withdrawals": int((history.withdraw != NEVER).sum()),
            "regrants": int((history.regrant != NEVER).sum()),
            "consented_at_end": int(
                history.granted_at(everyone, np.full(n, span.end_us - 1)).sum()
            ),
        }
    out["default_when_no_record"] = policy.default_consent
    return out


def _holdings_summary(holdings, products: pl.DataFrame, acquisitions, span: Span) -> dict:
    non_group = set(products.filter(~pl.col("provider_in_group"))["product_id"].to_list())
    start_day, end_day = to_days(span.start_date), to_days(span.end_date)
    closed = holdings.closed_day != NO_CLOSING
    return {
        "non_group_products": len(non_group),
        "non_group_holdings": int(holdings.frame["product_id"].is_in(list(non_group)).sum()),
        "opened_during_history": int((holdings.opened_day >= start_day).sum()),
        "opened_after_life_event": int(acquisitions.from_life_event.sum()),
        "opened_online": int(acquisitions.online.sum()),
        "closed_during_history": int((closed & (holdings.closed_day >= start_day)).sum()),
        "closed_before_history": int((closed & (holdings.closed_day < start_day)).sum()),
        "open_at_end": int((~closed | (holdings.closed_day >= end_day)).sum()),
        "families": len(FAMILIES),
    }


def _life_event_summary(events, truth: pl.DataFrame) -> dict:
    names = [k.name for k in params.LIFE_EVENTS]
    counts = np.bincount(events.kind, minlength=len(names))
    return {
        "events": len(events.customer),
        "by_kind": {name: int(c) for name, c in zip(names, counts, strict=True)},
        "truth_rows": truth.height,
        "converting_rows": int(truth["converts"].sum()),
    }

"""Point-in-time feature snapshots and training sets (R3, R4, R13), and their lineage.

`build_features` gives one row per customer consented for commercial use of web data at
the as-of moment (R13); `build_training_set` stacks monthly snapshots and adds one label
column per product family. Both aggregate the raw events once (see `features.clicks`).

Retention (R3): `retention_start` is the **run's** retention cutoff
(`policy.retention_cutoff(run_as_of)`); no event before it is read, so windows of
historical snapshots are clipped there and `all__history_days` tells the model how many
days of click history its snapshot had.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.click_store import DERIVED
from interestlab.consent import consented_ids, events_in_granted_periods, usable_click_events
from interestlab.contract import FAMILIES, UTC_TS
from interestlab.features.catalogue import FEATURE_CATALOGUE, FEATURE_NAMES
from interestlab.features.clicks import (
    click_features_many,
    daily_activity,
    day_number,
    history_days,
    session_starts,
)
from interestlab.features.holdings import holding_features
from interestlab.features.identity import identity_features
from interestlab.features.labels import build_labels, check_as_of
from interestlab.policy import Policy
from interestlab.storage import atomic_dir, write_json

SNAPSHOT_FILE = "part-0.parquet"
LINEAGE_FILE = "_lineage.json"
KEY_COLUMNS = ("as_of", "customer_id")
LABEL_PREFIX = "label__"
LABEL_COLUMNS = tuple(f"{LABEL_PREFIX}{family}" for family in FAMILIES)

# Columns that are 0, not missing, when nothing was observed.
_ZERO_WHEN_ABSENT = tuple(
    name for name, spec in FEATURE_CATALOGUE.items() if spec.kind in ("count", "flag")
)


def _check_retention(retention_start: datetime) -> None:
    if retention_start.tzinfo is None:
        msg = f"`retention_start` must be time-zone aware (UTC), got naive {retention_start!r}"
        raise ValueError(msg)


def _snapshot(
    click_rows: pl.DataFrame,
    universe: pl.DataFrame,
    *,
    customers: pl.LazyFrame,
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    as_of: datetime,
    policy: Policy,
    retention_start: datetime,
) -> pl.LazyFrame:
    day = check_as_of(as_of, policy)
    as_of_day = day_number(day)
    clicks = click_rows.lazy().filter(pl.col("as_of_day") == as_of_day).drop("as_of_day")
    held = holding_features(holdings, products, as_of_day=as_of_day)
    identity = identity_features(customers, as_of_day=as_of_day, as_of_year=day.year)
    return (
        identity.join(universe.lazy(), on="customer_id", how="semi")
        .join(clicks, on="customer_id", how="left")
        .join(held, on="customer_id", how="left")
        .with_columns(
            pl.lit(as_of, dtype=UTC_TS).alias("as_of"),
            pl.lit(history_days(as_of, retention_start), dtype=pl.Float32).alias(
                "all__history_days"
            ),
            *[pl.col(name).fill_null(0) for name in _ZERO_WHEN_ABSENT],
        )
        .select(
            "customer_id",
            "as_of",
            *[pl.col(name).cast(spec.dtype) for name, spec in FEATURE_CATALOGUE.items()],
        )
    )


def _aggregate_once(events: pl.LazyFrame, policy: Policy) -> tuple[pl.DataFrame, pl.DataFrame]:
    daily, sessions = pl.collect_all(
        [daily_activity(events, policy=policy), session_starts(events, policy=policy)]
    )
    return daily, sessions


def _stack(
    events: pl.LazyFrame,
    universes: Sequence[pl.DataFrame],
    *,
    customers: pl.LazyFrame,
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    as_ofs: Sequence[datetime],
    policy: Policy,
    retention_start: datetime,
) -> pl.DataFrame:
    kept = events.filter((pl.col("ts") >= retention_start) & (pl.col("ts") < max(as_ofs)))
    daily, sessions = _aggregate_once(kept, policy)
    as_of_days = [day_number(check_as_of(as_of, policy)) for as_of in as_ofs]
    click_rows = click_features_many(daily, sessions, as_of_days=as_of_days)
    frames = [
        _snapshot(
            click_rows,
            universe,
            customers=customers.lazy(),
            holdings=holdings.lazy(),
            products=products.lazy(),
            as_of=as_of,
            policy=policy,
            retention_start=retention_start,
        )
        for as_of, universe in zip(as_ofs, universes, strict=True)
    ]
    return pl.concat(frames).collect().sort("as_of", "customer_id")


def build_features(
    clicks: pl.LazyFrame,
    *,
    customers: pl.LazyFrame,
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    consent_events: pl.LazyFrame,
    as_of: datetime,
    policy: Policy,
    retention_start: datetime,
) -> pl.DataFrame:
    """Feature snapshot at `as_of`: one row per customer consented (web data) at `as_of`.

    Parameters
    ----------
    clicks : curated click store (`click_store.scan_clicks`).
    customers, holdings, products, consent_events : contract tables.
    as_of : as-of moment, a local midnight of the policy zone (`policy.as_of_moment`).
    policy : the loaded policy.
    retention_start : the run's retention cutoff; older events never count (R3).

    Returns
    -------
    DataFrame `customer_id, as_of, <FEATURE_CATALOGUE columns>` sorted by `customer_id`;
    features are Float32 (counts, days, trends) or UInt8 (flags, categorical codes).

    Examples
    --------
    >>> run = as_of_moment(date(2026, 11, 15), policy)
    >>> build_features(scan_clicks(store), customers=..., holdings=..., products=...,
    ...                consent_events=..., as_of=run, policy=policy,
    ...                retention_start=policy.retention_cutoff(run))  # doctest: +SKIP
    """
    check_as_of(as_of, policy)
    _check_retention(retention_start)
    ids = customers.lazy().select("customer_id")
    universe = consented_ids(ids, consent_events, at=as_of, policy=policy)
    events = usable_click_events(clicks.lazy(), consent_events, ids, as_of=as_of, policy=policy)
    return _stack(
        events,
        [universe],
        customers=customers,
        holdings=holdings,
        products=products,
        as_ofs=[as_of],
        policy=policy,
        retention_start=retention_start,
    ).sort("customer_id")


def build_training_set(
    clicks: pl.LazyFrame,
    *,
    customers: pl.LazyFrame,
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    consent_events: pl.LazyFrame,
    as_ofs: list[datetime],
    policy: Policy,
    retention_start: datetime,
    horizon_days: int,
) -> pl.DataFrame:
    """Stacked feature snapshots at `as_ofs` with one label column per product family.

    Each snapshot equals `build_features` at its as-of (only data known then, customers
    consented then). `label__<family>` is Int8: 1 opened a product of the family within
    `horizon_days` after as-of, 0 did not, null already held one (not eligible).

    Returns
    -------
    DataFrame `customer_id, as_of, <features>, label__<family>...` sorted by `as_of,
    customer_id`.
    """
    if not as_ofs:
        msg = "`as_ofs` must hold at least one as-of moment, got an empty list"
        raise ValueError(msg)
    if len(set(as_ofs)) != len(as_ofs):
        msg = f"`as_ofs` must be distinct, got {[t.isoformat() for t in as_ofs]}"
        raise ValueError(msg)
    as_ofs = sorted(as_ofs)
    for as_of in as_ofs:
        check_as_of(as_of, policy)
    _check_retention(retention_start)
    ids = customers.lazy().select("customer_id")
    universes = [consented_ids(ids, consent_events, at=t, policy=policy) for t in as_ofs]
    everyone = pl.concat(universes).unique().lazy()
    # The as-of-dependent half of the R13 filter (consented at each as-of, ts < as-of) is
    # applied per snapshot; a test checks the stack equals `build_features` at every as-of.
    events = events_in_granted_periods(
        clicks.lazy().join(everyone, on="customer_id", how="semi"), consent_events, policy=policy
    )
    features = _stack(
        events,
        universes,
        customers=customers,
        holdings=holdings,
        products=products,
        as_ofs=as_ofs,
        policy=policy,
        retention_start=retention_start,
    )
    labels = build_labels(
        holdings, products, as_ofs=as_ofs, horizon_days=horizon_days, policy=policy
    )
    wide = (
        labels.pivot(
            "family", on_columns=list(FAMILIES), index=["customer_id", "as_of"], values="label"
        )
        .rename({family: f"{LABEL_PREFIX}{family}" for family in FAMILIES})
        .with_columns(pl.lit(True).alias("_graded"))
    )
    # Customers without any account are absent from the label grid: eligible, label 0.
    return (
        features.join(wide, on=["customer_id", "as_of"], how="left")
        .with_columns(
            pl.when(pl.col("_graded")).then(pl.col(name)).otherwise(0).cast(pl.Int8).alias(name)
            for name in LABEL_COLUMNS
        )
        .drop("_graded")
        .sort("as_of", "customer_id")
    )


def content_hash(df: pl.DataFrame) -> str:
    """sha256 of a canonical serialisation: column names, dtypes and values, row order kept.

    Each column is hashed through an uncompressed Arrow IPC stream, one column at a time
    to bound the extra memory; identical frames give identical hashes.
    """
    digest = hashlib.sha256()
    for name in df.columns:
        column = df.get_column(name)
        digest.update(f"{name}\x00{column.dtype}\x00".encode())
        buffer = io.BytesIO()
        column.to_frame().rechunk().write_ipc_stream(buffer, compression="uncompressed")
        digest.update(buffer.getvalue())
    return digest.hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def write_snapshot(
    df: pl.DataFrame,
    out_dir: Path,
    *,
    as_of: datetime | Sequence[datetime],
    policy: Policy,
    oldest_input_ts: datetime | None,
) -> dict[str, Any]:
    """Write a feature snapshot or training set atomically with its `_lineage.json`.

    The folder `out_dir` is replaced whole (`storage.atomic_dir`): `part-0.parquet` sorted by
    `as_of, customer_id`, and the lineage `{as_of, policy_version, content_hash, n_rows,
    n_features, oldest_input_ts, ...}` that MLflow logs and the retention purge reads
    (a derived table whose `oldest_input_ts` is older than the cutoff is deleted).

    Returns
    -------
    The lineage dict.
    """
    missing = [name for name in KEY_COLUMNS if name not in df.columns]
    if missing:
        msg = f"snapshot: expected key columns {list(KEY_COLUMNS)}, missing {missing}"
        raise ValueError(msg)
    canonical = df.sort(*KEY_COLUMNS)
    features = [name for name in canonical.columns if name in FEATURE_CATALOGUE]
    as_ofs = [as_of] if isinstance(as_of, datetime) else sorted(as_of)
    lineage: dict[str, Any] = {
        "as_of": _iso(as_ofs[0]) if isinstance(as_of, datetime) else [_iso(t) for t in as_ofs],
        "policy_version": policy.version,
        "policy_sha256": policy.sha256[:12],
        "content_hash": content_hash(canonical),
        "n_rows": canonical.height,
        "n_features": len(features),
        "labels": [name for name in canonical.columns if name.startswith(LABEL_PREFIX)],
        "oldest_input_ts": None if oldest_input_ts is None else _iso(oldest_input_ts),
        "catalogue_version": hashlib.sha256("\n".join(FEATURE_NAMES).encode()).hexdigest()[:12],
    }
    with atomic_dir(Path(out_dir)) as tmp:
        canonical.write_parquet(tmp / SNAPSHOT_FILE, compression="zstd", statistics=True)
        write_json(lineage, tmp / LINEAGE_FILE)
    return lineage


def derived_dir(store_dir: Path, kind: str, as_of: date) -> Path:
    """`<store>/derived/<kind>-YYYY-MM-DD/`: under the store so the retention purge reaches it.

    Derived tables hold customer rows; they live beside the click store (never in run folders)
    so that they cannot outlive the events they were built from (R3).
    """
    return Path(store_dir) / DERIVED / f"{kind}-{as_of.isoformat()}"


def read_snapshot(
    out_dir: Path, *, as_of: datetime | Sequence[datetime], policy: Policy
) -> pl.DataFrame | None:
    """The table `write_snapshot` wrote to `out_dir`, if it was built for exactly `as_of` under
    the same policy and feature catalogue; None otherwise (the caller rebuilds)."""
    lineage_file = Path(out_dir) / LINEAGE_FILE
    if not lineage_file.is_file():
        return None
    lineage = json.loads(lineage_file.read_text())
    as_ofs = [as_of] if isinstance(as_of, datetime) else sorted(as_of)
    expected = _iso(as_ofs[0]) if isinstance(as_of, datetime) else [_iso(t) for t in as_ofs]
    catalogue = hashlib.sha256("\n".join(FEATURE_NAMES).encode()).hexdigest()[:12]
    if (
        lineage.get("as_of") != expected
        or lineage.get("policy_sha256") != policy.sha256[:12]
        or lineage.get("catalogue_version") != catalogue
    ):
        return None
    frame = pl.read_parquet(Path(out_dir) / SNAPSHOT_FILE)
    if content_hash(frame) != lineage.get("content_hash"):
        return None
    return frame

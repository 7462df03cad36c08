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
import json
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.click_store import DERIVED
from interestlab.consent import consented_ids, events_in_granted_periods
from interestlab.contract import FAMILIES, UTC_TS
from interestlab.features.catalogue import FEATURE_CATALOGUE, FEATURE_NAMES
from interestlab.features.clicks import (
    ClickWindows,
    compact_events,
    compact_tables,
    day_number,
    history_days,
)
from interestlab.features.holdings import holding_features_many
from interestlab.features.identity import identity_features
from interestlab.features.labels import check_as_of, check_horizon, label_columns_many
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
_ZERO_WHEN_ABSENT_SET = frozenset(_ZERO_WHEN_ABSENT)


# How many as-of snapshots `iter_snapshots` groups the holdings and labels of in one pass
# (`holdings.holding_features_many`, `labels.label_columns_many`; the click windows are
# computed one snapshot at a time, `clicks.ClickWindows`). At 1M customers a pass of 4 costs 0.76
# CPU-s a snapshot instead of 1.15 one at a time, and holds ~160 MB more (12 at once: 0.72
# CPU-s, ~600 MB more).
SNAPSHOTS_PER_PASS = 4


def _check_retention(retention_start: datetime) -> None:
    if retention_start.tzinfo is None:
        msg = f"`retention_start` must be time-zone aware (UTC), got naive {retention_start!r}"
        raise ValueError(msg)


def customer_codes(universes: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """`customer_id, code`: every customer of the universes once, sorted, coded 0..n-1 (UInt32).

    The click features group on these small integers; codes follow the sorted ids, so a
    frame sorted by code is sorted by customer id.
    """
    ids = pl.concat([u.select("customer_id") for u in universes]).unique().sort("customer_id")
    return ids.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("code"))


def _compact_tables(
    clicks: pl.LazyFrame,
    consent_events: pl.LazyFrame,
    codes: pl.DataFrame,
    *,
    end: datetime,
    policy: Policy,
    retention_start: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    # The inner join on the codes keeps only customers of some universe (R13) and swaps the
    # string id for its code; the as-of-dependent half of R13 (consented at each as-of,
    # ts < as-of) is applied per snapshot.
    events = clicks.lazy().join(codes.lazy(), on="customer_id", how="inner").drop("customer_id")
    events = events_in_granted_periods(events, consent_events, policy=policy, codes=codes)
    compact = compact_events(events, policy=policy, start=retention_start, end=end)
    return compact_tables(compact)


def _consented_codes(
    customers: pl.DataFrame,
    consent_events: pl.LazyFrame,
    as_ofs: Sequence[datetime],
    *,
    policy: Policy,
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """`customer_codes` of the universes consented at `as_ofs` (R13), and each universe's
    `code`s (sorted).

    Consent is looked up on each customer's position among the sorted customer ids instead
    of the string id (`consented_ids` sorts and joins on it once per as-of): the same
    universes at a fraction of the cost for a 12-snapshot training set.
    """
    ids = customers.get_column("customer_id").unique().sort()
    position = pl.int_range(pl.len(), dtype=pl.UInt32).alias("position")
    positions = ids.to_frame().with_columns(position)
    consent = (
        consent_events.lazy()
        .join(positions.lazy(), on="customer_id", how="inner")
        .drop("customer_id")
        .rename({"position": "customer_id"})
        .collect()
    )
    everyone = positions.select(pl.col("position").alias("customer_id"))
    universes = [
        consented_ids(everyone, consent, at=t, policy=policy).get_column("customer_id")
        for t in as_ofs
    ]
    # Codes follow the sorted ids as `customer_codes` gives them: the union's positions, sorted.
    union = pl.concat(universes).unique().sort()
    codes = pl.DataFrame(
        {
            "customer_id": ids.gather(union),
            "code": pl.int_range(union.len(), dtype=pl.UInt32, eager=True),
        }
    )
    coded = [
        pl.Series("code", union.search_sorted(u.sort()), dtype=pl.UInt32).to_frame()
        for u in universes
    ]
    return codes, coded


def _aligned(rows: pl.DataFrame, codes: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """The columns of `rows` (one row per `code`) gathered onto `codes`, and which codes had
    a row: a left join that looks up the codes once for all the columns (null where absent).
    """
    row = pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row")
    index = (
        codes.to_frame("code")
        .join(rows.select("code", row), on="code", how="left", maintain_order="left")
        .get_column("_row")
    )
    return rows.drop("code").select(pl.all().gather(index)), index.is_not_null()


def _snapshot(
    windows: ClickWindows,
    universe: pl.DataFrame,
    *,
    people: pl.DataFrame,
    held: pl.DataFrame,
    labels: pl.DataFrame | None,
    as_of: datetime,
    policy: Policy,
    retention_start: datetime,
) -> pl.DataFrame:
    """One snapshot, `code, as_of, <features>[, <labels>]`, sorted by code.

    Everything is keyed by the integer `code` (customer_codes): the identity rows of the
    universe, sorted by code, the click columns computed for these codes
    (`ClickWindows.columns`) and the holding and label columns gathered onto them.
    """
    day = check_as_of(as_of, policy)
    as_of_day = day_number(day)
    identity = identity_features(
        people.lazy(), as_of_day=as_of_day, as_of_year=day.year, key="code"
    ).filter(pl.col("code").is_in(universe.get_column("code").implode()))
    base = identity.collect(engine="in-memory").sort("code")  # `people` come sorted: cheap
    codes = base.get_column("code")
    frame = pl.concat(
        [base, windows.columns(as_of_day, codes), _aligned(held, codes)[0]], how="horizontal"
    ).select(
        "code",
        pl.lit(as_of, dtype=UTC_TS).alias("as_of"),
        *[
            (
                pl.col(name).fill_null(0)
                if name in _ZERO_WHEN_ABSENT_SET
                else pl.lit(history_days(as_of, retention_start), dtype=pl.Float32)
                if name == "all__history_days"
                else pl.col(name)
            )
            .cast(spec.dtype)
            .alias(name)
            for name, spec in FEATURE_CATALOGUE.items()
        ],
    )
    if labels is None:
        return frame
    # Customers without any account are absent from the labels: eligible, label 0.
    values, graded = _aligned(labels, codes)
    return pl.concat(
        [
            frame,
            values.select(
                pl.when(graded).then(pl.col(name)).otherwise(0).alias(name)
                for name in LABEL_COLUMNS
            ),
        ],
        how="horizontal",
    )


def _check_as_ofs(as_ofs: Sequence[datetime], policy: Policy) -> list[datetime]:
    if not as_ofs:
        msg = "`as_ofs` must hold at least one as-of moment, got an empty list"
        raise ValueError(msg)
    if len(set(as_ofs)) != len(as_ofs):
        msg = f"`as_ofs` must be distinct, got {[t.isoformat() for t in as_ofs]}"
        raise ValueError(msg)
    for as_of in as_ofs:
        check_as_of(as_of, policy)
    return sorted(as_ofs)


def iter_snapshots(
    clicks: pl.LazyFrame,
    *,
    customers: pl.LazyFrame,
    holdings: pl.LazyFrame,
    products: pl.LazyFrame,
    consent_events: pl.LazyFrame,
    as_ofs: Sequence[datetime],
    policy: Policy,
    retention_start: datetime,
    horizon_days: int | None = None,
) -> Iterator[pl.DataFrame]:
    """Feature snapshots at `as_ofs` (oldest first), one DataFrame at a time.

    The raw events are read once (compact tables, see `features.clicks`); each snapshot is
    then built and yielded on its own, so memory holds the compact tables and one snapshot,
    not the whole stack. With `horizon_days` each snapshot carries the `label__<family>`
    columns (`labels.label_columns`). Each snapshot equals `build_features` at its as-of.
    """
    as_ofs = _check_as_ofs(as_ofs, policy)
    _check_retention(retention_start)
    # The small tables are read once, not once per snapshot.
    customers, holdings, products = (
        frame.lazy().collect() for frame in (customers, holdings, products)
    )
    codes, coded_universes = _consented_codes(customers, consent_events, as_ofs, policy=policy)
    tables = _compact_tables(
        clicks,
        consent_events.lazy(),
        codes,
        end=max(as_ofs),
        policy=policy,
        retention_start=retention_start,
    )
    # The bank tables are coded once: only customers of some universe, keyed by `code`.
    people = customers.join(codes, on="customer_id", how="inner").drop("customer_id").sort("code")
    accounts = holdings.join(codes, on="customer_id", how="inner").drop("customer_id")
    ids_by_code = codes.get_column("customer_id")  # position = code
    as_of_days = [day_number(check_as_of(as_of, policy)) for as_of in as_ofs]
    windows = ClickWindows(*tables)
    del tables
    # Holdings and labels are grouped once per pass of `SNAPSHOTS_PER_PASS` as-ofs.
    per_pass = SNAPSHOTS_PER_PASS
    for start in range(0, len(as_ofs), per_pass):
        batch = slice(start, start + per_pass)
        held = holding_features_many(
            accounts.lazy(), products.lazy(), as_of_days=as_of_days[batch], key="code"
        )
        labels: list[pl.DataFrame | None] = [None] * len(held)
        if horizon_days is not None:
            labels = list(
                label_columns_many(
                    accounts,
                    products,
                    as_ofs=as_ofs[batch],
                    horizon_days=horizon_days,
                    policy=policy,
                    key="code",
                )
            )
        for as_of, universe, held_rows, label_rows in zip(
            as_ofs[batch], coded_universes[batch], held, labels, strict=True
        ):
            frame = _snapshot(
                windows,
                universe,
                people=people,
                held=held_rows,
                labels=label_rows,
                as_of=as_of,
                policy=policy,
                retention_start=retention_start,
            )
            # Codes follow the sorted customer ids: sorted by code is sorted by customer id.
            customer_id = ids_by_code.gather(frame.get_column("code"))
            yield frame.drop("code").insert_column(0, customer_id)


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
    (snapshot,) = iter_snapshots(
        clicks,
        customers=customers,
        holdings=holdings,
        products=products,
        consent_events=consent_events,
        as_ofs=[as_of],
        policy=policy,
        retention_start=retention_start,
    )
    return snapshot


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
    In memory whole: at full size write it part by part with `write_training_set`.

    Returns
    -------
    DataFrame `customer_id, as_of, <features>, label__<family>...` sorted by `as_of,
    customer_id`.
    """
    check_horizon(horizon_days)
    return pl.concat(
        iter_snapshots(
            clicks,
            customers=customers,
            holdings=holdings,
            products=products,
            consent_events=consent_events,
            as_ofs=as_ofs,
            policy=policy,
            retention_start=retention_start,
            horizon_days=horizon_days,
        )
    )


def content_hash(df: pl.DataFrame) -> str:
    """sha256 of a canonical serialisation: column names, dtypes and values, row order kept.

    Each column is hashed through an uncompressed Arrow IPC stream, one column at a time
    to bound the extra memory; identical frames give identical hashes. Values under nulls
    are undefined in memory (a parquet round trip rewrites them), so a column with nulls
    is hashed as its null mask plus its values with the nulls filled from their neighbours,
    booleans as bytes (the padding bits of a bit-packed buffer are undefined as well), and
    numeric columns without a validity buffer (one of all-set bits says nothing).
    """
    digest = hashlib.sha256()
    for name in df.columns:
        column = df.get_column(name)
        digest.update(f"{name}\x00{column.dtype}\x00".encode())
        parts = [column]
        if column.null_count():
            filled = column.fill_null(strategy="forward").fill_null(strategy="backward")
            parts = [column.is_null().alias("nulls"), filled]
            if filled.null_count():  # nothing but nulls: the mask says it all
                parts = parts[:1]
        for part in parts:
            if part.dtype == pl.Boolean:  # bit-packed: the padding bits are undefined too
                part = part.cast(pl.UInt8)  # noqa: PLW2901
            if (part.dtype.is_integer() or part.dtype.is_float()) and not part.null_count():
                part = _without_validity(part)  # noqa: PLW2901
            stream = _DigestWriter(digest)  # the stream's bytes, hashed as they are written
            part.to_frame().rechunk().write_ipc_stream(stream, compression="uncompressed")
    return digest.hexdigest()


class _DigestWriter:
    """A write-only file feeding what is written to `digest` (nothing kept: 2.5x faster
    than hashing a BytesIO of the stream, same bytes)."""

    def __init__(self, digest: Any) -> None:
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass


def _without_validity(column: pl.Series) -> pl.Series:
    # A column without nulls can still carry a validity buffer of all-set bits (left by
    # `fill_null` or a gather, not by a parquet read); it would change the IPC bytes, not
    # the content. Rebuilt from its values (zero-copy when it has one chunk), it has none.
    return pl.Series(column.name, column.to_numpy(), dtype=column.dtype)


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
        "catalogue_version": _catalogue_version(),
    }
    with atomic_dir(Path(out_dir)) as tmp:
        canonical.write_parquet(tmp / SNAPSHOT_FILE, compression="zstd", statistics=True)
        write_json(lineage, tmp / LINEAGE_FILE)
    return lineage


def _part_file(index: int) -> str:
    return f"part-{index:02d}.parquet"


def _catalogue_version() -> str:
    return hashlib.sha256("\n".join(FEATURE_NAMES).encode()).hexdigest()[:12]


def write_training_set(
    snapshots: Iterable[pl.DataFrame],
    out_dir: Path,
    *,
    as_ofs: Sequence[datetime],
    policy: Policy,
    oldest_input_ts: datetime | None,
) -> dict[str, Any]:
    """Write a training set one snapshot at a time (`iter_snapshots`), atomically.

    `out_dir` gets `part-00.parquet`, `part-01.parquet`, ... (one per as-of, oldest first,
    each sorted by `customer_id`) and `_lineage.json` with every part's row count and
    content hash; the set's `content_hash` is the sha256 of the parts' hashes in order.
    Memory holds one snapshot, never the stack. The folder appears complete or not at all.

    Returns
    -------
    The lineage dict (as `write_snapshot`'s, plus `parts`).
    """
    as_ofs = sorted(as_ofs)
    parts: list[dict[str, Any]] = []
    columns: list[str] = []
    # Each part is written and hashed in a worker thread while the next snapshot is built
    # (polars and hashlib release the GIL): one part in flight, so memory holds two
    # snapshots, as the loop did when it wrote them itself. The worker is done before the
    # folder is swapped in or removed.
    with atomic_dir(Path(out_dir)) as tmp, ThreadPoolExecutor(max_workers=1) as writer:
        in_flight: Future[str] | None = None
        for index, snapshot in enumerate(snapshots):
            if index >= len(as_ofs) or snapshot.height and snapshot["as_of"][0] != as_ofs[index]:
                msg = (
                    f"training set: snapshot {index} does not belong to as-of"
                    f" {as_ofs[index].isoformat() if index < len(as_ofs) else '(none left)'}"
                )
                raise ValueError(msg)
            if in_flight is not None:
                parts[-1]["content_hash"] = in_flight.result()
            in_flight = writer.submit(_write_part, snapshot, tmp / _part_file(index))
            columns = snapshot.columns
            parts.append(
                {
                    "file": _part_file(index),
                    "as_of": _iso(as_ofs[index]),
                    "n_rows": snapshot.height,
                    "content_hash": None,
                }
            )
            del snapshot  # the worker holds it until written
        if in_flight is not None:
            parts[-1]["content_hash"] = in_flight.result()
        if len(parts) != len(as_ofs):
            msg = f"training set: expected {len(as_ofs)} snapshots, got {len(parts)}"
            raise ValueError(msg)
        lineage: dict[str, Any] = {
            "as_of": [_iso(t) for t in as_ofs],
            "policy_version": policy.version,
            "policy_sha256": policy.sha256[:12],
            "content_hash": _parts_hash(parts),
            "n_rows": sum(part["n_rows"] for part in parts),
            "n_features": len([name for name in columns if name in FEATURE_CATALOGUE]),
            "labels": [name for name in columns if name.startswith(LABEL_PREFIX)],
            "oldest_input_ts": None if oldest_input_ts is None else _iso(oldest_input_ts),
            "catalogue_version": _catalogue_version(),
            "parts": parts,
        }
        write_json(lineage, tmp / LINEAGE_FILE)
    return lineage


def _write_part(snapshot: pl.DataFrame, path: Path) -> str:
    snapshot.write_parquet(path, compression="zstd", statistics=True)
    return content_hash(snapshot)


def _parts_hash(parts: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256("\n".join(part["content_hash"] for part in parts).encode()).hexdigest()


def derived_dir(store_dir: Path, kind: str, as_of: date) -> Path:
    """`<store>/derived/<kind>-YYYY-MM-DD/`: under the store so the retention purge reaches it.

    Derived tables hold customer rows; they live beside the click store (never in run folders)
    so that they cannot outlive the events they were built from (R3).
    """
    return Path(store_dir) / DERIVED / f"{kind}-{as_of.isoformat()}"


def read_lineage(
    out_dir: Path, *, as_of: datetime | Sequence[datetime], policy: Policy
) -> dict[str, Any] | None:
    """The `_lineage.json` of `out_dir` if it was built for exactly `as_of` under the same
    policy and feature catalogue and every file it names is there unchanged; None otherwise.

    Checking the content hashes reads the parts one at a time (bounded memory).
    """
    lineage_file = Path(out_dir) / LINEAGE_FILE
    if not lineage_file.is_file():
        return None
    lineage = json.loads(lineage_file.read_text())
    as_ofs = [as_of] if isinstance(as_of, datetime) else sorted(as_of)
    expected = _iso(as_ofs[0]) if isinstance(as_of, datetime) else [_iso(t) for t in as_ofs]
    if (
        lineage.get("as_of") != expected
        or lineage.get("policy_sha256") != policy.sha256[:12]
        or lineage.get("catalogue_version") != _catalogue_version()
    ):
        return None
    parts = lineage.get("parts")
    if parts is None:  # one file (`write_snapshot`)
        frame = pl.read_parquet(Path(out_dir) / SNAPSHOT_FILE)
        return lineage if content_hash(frame) == lineage.get("content_hash") else None
    for part in parts:
        path = Path(out_dir) / part["file"]
        if not path.is_file() or content_hash(pl.read_parquet(path)) != part["content_hash"]:
            return None
    return lineage if _parts_hash(parts) == lineage.get("content_hash") else None


def _scan_files(out_dir: Path, lineage: dict[str, Any]) -> pl.LazyFrame:
    files = [part["file"] for part in lineage.get("parts") or [{"file": SNAPSHOT_FILE}]]
    return pl.scan_parquet([Path(out_dir) / name for name in files])


def scan_snapshot(
    out_dir: Path, *, as_of: datetime | Sequence[datetime], policy: Policy
) -> pl.LazyFrame | None:
    """Lazy scan of what `write_snapshot` / `write_training_set` wrote to `out_dir` (rows in
    as-of, customer order), if `read_lineage` accepts it; None otherwise (the caller rebuilds)."""
    lineage = read_lineage(out_dir, as_of=as_of, policy=policy)
    return None if lineage is None else _scan_files(out_dir, lineage)


def read_snapshot(
    out_dir: Path, *, as_of: datetime | Sequence[datetime], policy: Policy
) -> pl.DataFrame | None:
    """The table `write_snapshot` / `write_training_set` wrote to `out_dir`, in memory, if it
    was built for exactly `as_of` under the same policy and feature catalogue; None otherwise
    (the caller rebuilds)."""
    read = read_training_set(out_dir, as_of=as_of, policy=policy)
    return None if read is None else read[0]


def read_training_set(
    out_dir: Path, *, as_of: datetime | Sequence[datetime], policy: Policy
) -> tuple[pl.DataFrame, dict[str, Any]] | None:
    """`read_snapshot` and the lineage it verified: `(table, lineage)`, or None.

    The lineage's `parts` carry each snapshot's verified content hash, which
    `interestlab.modeling.snapshot_lineage(..., parts=...)` reuses instead of hashing the
    training set again.
    """
    lineage = read_lineage(out_dir, as_of=as_of, policy=policy)
    if lineage is None:
        return None
    return _scan_files(out_dir, lineage).collect(engine="in-memory"), lineage

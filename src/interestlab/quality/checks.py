"""Pure polars transforms that prepare batches for the Great Expectations gate.

GX validates one batch (a month, or a bounded chunk) at a time, so anything that needs the
whole table (a key unique across months, consent at the run's as-of moment) is computed
here in polars as a boolean column, and the suite expects that column to be True. No I/O,
no GX import: these run on tiny literal frames in tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import polars as pl

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

KEY_FLAG = "key_unique_across_batches"
EVENT_ID_FLAG = "event_id_unique_across_months"
CONSENT_FLAG = "consented_at_as_of"
PART = "_part"


def _overlapping_parts(bounds: pl.DataFrame) -> list[int]:
    """Indexes of parts whose [min, max] key range overlaps the range of another part."""
    ordered = bounds.drop_nulls(["low", "high"]).sort("low", "part")
    keep: list[int] = []
    component: list[int] = []
    component_high = None
    for part, low, high in ordered.select("part", "low", "high").iter_rows():
        # A sweep over at most a few hundred parts (months or chunks), not over rows.
        if component and low <= component_high:
            component.append(part)
            component_high = max(component_high, high)
            continue
        if len(component) > 1:
            keep += component
        component, component_high = [part], high
    if len(component) > 1:
        keep += component
    return sorted(keep)


def cross_batch_duplicates(
    parts: Sequence[pl.LazyFrame],
    key: Sequence[str],
    *,
    max_rows_per_pass: int = 20_000_000,
) -> pl.DataFrame:
    """Distinct key values that occur in more than one of `parts` (months or chunks).

    Duplicates inside one part are left to the per-batch uniqueness expectation; this finds
    the ones no single batch can see. For a one-column key, parts whose min/max ranges do
    not overlap any other part are skipped (monotone ids cost one statistics read); the
    rest is grouped in hash buckets of at most `max_rows_per_pass` rows, so memory stays
    bounded whatever the size of the table.

    Examples
    --------
    >>> a = pl.LazyFrame({"event_id": [1, 2]})
    >>> b = pl.LazyFrame({"event_id": [2, 3]})
    >>> cross_batch_duplicates([a, b], ["event_id"])["event_id"].to_list()
    [2]
    """
    key = list(key)
    if max_rows_per_pass < 1:
        msg = f"`max_rows_per_pass` must be a positive integer, got {max_rows_per_pass!r}"
        raise ValueError(msg)
    empty = pl.DataFrame(schema=parts[0].collect_schema()).select(key) if parts else None
    if len(parts) < 2:
        return empty if empty is not None else pl.DataFrame()
    chosen = list(range(len(parts)))
    if len(key) == 1:
        bounds = pl.concat(
            [
                part.select(
                    pl.lit(index).alias("part"),
                    pl.col(key[0]).min().alias("low"),
                    pl.col(key[0]).max().alias("high"),
                )
                for index, part in enumerate(parts)
            ]
        ).collect(engine="in-memory")
        chosen = _overlapping_parts(bounds)
    if not chosen:
        return empty
    tagged = pl.concat([parts[index].select(*key, pl.lit(index).alias(PART)) for index in chosen])
    n_rows = tagged.select(pl.len()).collect().item()
    n_passes = max(1, math.ceil(n_rows / max_rows_per_pass))
    found = []
    for bucket in range(n_passes):
        selected = tagged
        if n_passes > 1:
            selected = tagged.filter(pl.struct(key).hash(seed=0) % n_passes == bucket)
        found.append(
            selected.group_by(key)
            .agg(pl.col(PART).n_unique().alias("n_parts"))
            .filter(pl.col("n_parts") > 1)
            .select(key)
            .collect()
        )
    return pl.concat(found).sort(key)


def flag_not_in(df: FrameT, duplicates: pl.DataFrame, key: Sequence[str], *, flag: str) -> FrameT:
    """Add boolean column `flag`: True where the row's key is not among `duplicates`.

    Lazy in, lazy out (a batch recipe the gate's worker collects); eager in, eager out.
    """
    key = list(key)
    if duplicates.height == 0:
        return df.with_columns(pl.lit(True).alias(flag))
    marked = duplicates.select(key).unique().with_columns(pl.lit(False).alias(flag))
    if isinstance(df, pl.LazyFrame):
        marked = marked.lazy()
    return df.join(
        marked, on=key, how="left", nulls_equal=False, maintain_order="left"
    ).with_columns(pl.col(flag).fill_null(True))


def with_consent_flag(
    df: pl.DataFrame | pl.LazyFrame, consented: pl.DataFrame | pl.LazyFrame
) -> pl.LazyFrame:
    """Add `consented_at_as_of`: True where `customer_id` is among the `consented` ids.

    `consented` is `consent.consented_ids(..., at=as_of, policy=policy)`: computing the flag
    in polars keeps 100k ids out of the expectation (and out of results and Data Docs).
    """
    marked = (
        consented.lazy()
        .select("customer_id")
        .unique()
        .with_columns(pl.lit(True).alias(CONSENT_FLAG))
    )
    return (
        df.lazy()
        .join(marked, on="customer_id", how="left")
        .with_columns(pl.col(CONSENT_FLAG).fill_null(False))
    )


def to_validation_pandas(df: pl.DataFrame):  # noqa: ANN201 - pandas is imported lazily by callers
    """Convert a batch for GX: datetimes to nanoseconds first (GX checks microsecond
    timestamps row by row, ~50x slower), dates to naive nanosecond datetimes likewise."""
    return df.with_columns(
        pl.col(pl.Datetime("us", "UTC"), pl.Datetime("ms", "UTC")).cast(pl.Datetime("ns", "UTC")),
        pl.col(pl.Date).cast(pl.Datetime("ns")),
    ).to_pandas()

"""I/O at the edges: read contract tables from a bank folder, write files atomically.

Reading checks every parquet file's schema against `interestlab.contract` before any data
is loaded and never coerces. Writing goes through a temporary file in the target folder
and an `os.replace`, so a crash leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from interestlab.contract import TABLES, Table
from interestlab.errors import ContractError

PARQUET_COMPRESSION = "zstd"


def table_files(bank_dir: Path, table: Table) -> list[Path]:
    """Sorted parquet files of one contract table (monthly sub-folders included)."""
    folder = Path(bank_dir) / table.name
    if not folder.is_dir():
        msg = f"table `{table.name}`: expected folder {folder} with parquet files, found no such folder"
        raise ContractError(msg)
    pattern = "month=*/*.parquet" if table.partitioned_by_month else "*.parquet"
    files = sorted(folder.glob(pattern))
    if not files:
        msg = (
            f"table `{table.name}`: expected parquet files matching {folder}/{pattern}, found none"
        )
        raise ContractError(msg)
    return files


def check_schema(table: Table, found: pl.Schema, *, source: str) -> None:
    """Raise `ContractError` unless `found` has every contract column with its exact type."""
    for column in table.columns:
        if column.name not in found:
            msg = (
                f"table `{table.name}` ({source}): missing column `{column.name}`"
                f" (expected type {column.dtype}); found columns {list(found)}"
            )
            raise ContractError(msg)
        if found[column.name] != column.dtype:
            msg = (
                f"table `{table.name}` ({source}): column `{column.name}` has type"
                f" {found[column.name]}, expected {column.dtype}"
            )
            raise ContractError(msg)


def _file_schema(path: Path) -> pl.Schema:
    return pl.Schema(pl.from_arrow(pq.read_schema(path).empty_table()).schema)


def scan_table(bank_dir: Path, name: str) -> pl.LazyFrame:
    """Lazily scan a contract table after checking the schema of every one of its files.

    Only the contract's columns are returned, in contract order.

    Examples
    --------
    >>> customers = scan_table(bank, "customers").collect()  # doctest: +SKIP
    """
    if name not in TABLES:
        msg = f"unknown table `{name}`; expected one of {list(TABLES)}"
        raise ContractError(msg)
    table = TABLES[name]
    files = table_files(bank_dir, table)
    for path in files:
        check_schema(table, _file_schema(path), source=str(path.relative_to(bank_dir)))
    return pl.scan_parquet(files, hive_partitioning=False).select(table.schema.names())


def read_table(bank_dir: Path, name: str) -> pl.DataFrame:
    return scan_table(bank_dir, name).collect()


def check_bank(bank_dir: Path) -> dict[str, int]:
    """Check every contract table of a bank folder; return row counts per table."""
    counts = {}
    for name in TABLES:
        counts[name] = scan_table(bank_dir, name).select(pl.len()).collect().item()
    return counts


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success only."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; swap it in place of `target` on success.

    The old folder (if any) is moved aside first and removed only after the new one is in
    place, so at every moment either the complete old or the complete new folder exists.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    # mkdtemp makes the folder private (0700); give it the mode a plain mkdir would.
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old.{os.getpid()}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_parquet(df: pl.DataFrame, target: Path) -> Path:
    """Write `df` to `target` atomically (zstd, statistics on)."""
    with atomic_path(target) as tmp:
        df.write_parquet(tmp, compression=PARQUET_COMPRESSION, statistics=True)
    return Path(target)


def write_json(obj: Any, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    return Path(target)


def write_text(text: str, target: Path) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)

"""Scan what reviewers browse for identifiers of a bank's customers (R12 and the house rule:
executed notebooks, MLflow params/tags/artifacts, GX results and Data Docs carry aggregates).

`scan(paths, identifiers)` reads every file under `paths` that a person could browse:
- notebooks: cell sources and text outputs (`text/plain`, `text/html`, streams, errors); image
  outputs are base64 blobs, not text, and are skipped;
- text files (json, html, md, txt, yaml, csv, js, py, MLmodel ...): their whole text;
- SQLite files (the MLflow store): every text value of every table;
- parquet is binary data, not browsed; `interestlab` never logs it to MLflow (`run_log`).

A finding names the file, where in it, and the identifier found. Use `bank_identifiers` to
collect the customer and account ids of a bank folder.

Examples
--------
>>> ids = bank_identifiers(Path("data/bank"))  # doctest: +SKIP
>>> scan([Path("mlruns"), Path("runs/2026-11-15-abcd1234/notebooks")], ids)  # doctest: +SKIP
[]
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from interestlab.storage import scan_table

# Whole tokens (ids may contain `-` or `_`) and their alphanumeric parts (an id glued to a
# word: `customer_C0000042`, `C0000042-mortgage`).
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
PART = re.compile(r"[A-Za-z0-9]+")
TEXT_SUFFIXES = {
    ".json",
    ".html",
    ".htm",
    ".md",
    ".txt",
    ".yaml",
    ".yml",
    ".csv",
    ".js",
    ".py",
    ".log",
    ".ini",
    "",
}
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Finding:
    path: Path
    where: str
    identifier: str

    def __str__(self) -> str:
        return f"{self.path} ({self.where}): {self.identifier}"


def bank_identifiers(bank_dir: Path) -> frozenset[str]:
    """The identifiers of a bank that must never reach a reviewer's screen: customer ids (of
    `customers`, and of the click feed, which may name customers unknown to it), account ids
    and communication ids. Integer event and session ids are left out: as bare numbers they
    cannot be told apart from counts."""
    columns = {
        "customers": "customer_id",
        "holdings": "account_id",
        "theme_links": "account_id",
        "click_events": "customer_id",
        "communications": "comm_id",
    }
    values = [
        scan_table(bank_dir, table).select(pl.col(column).alias("id")).drop_nulls().unique()
        for table, column in columns.items()
    ]
    ids = pl.concat(values).unique().collect()
    return frozenset(ids["id"].to_list())


def _notebook_texts(path: Path) -> Iterator[tuple[str, str]]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook.get("cells", [])):
        yield f"cell {index} source", "".join(cell.get("source", []))
        for output in cell.get("outputs", []):
            if "text" in output:
                yield f"cell {index} stream", "".join(output["text"])
            if "traceback" in output:
                yield f"cell {index} error", "\n".join(output["traceback"])
            for mime, data in output.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    text = data if isinstance(data, str) else json.dumps(data)
                    yield f"cell {index} {mime}", "".join(text)


def _sqlite_texts(path: Path) -> Iterator[tuple[str, str]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite
                text = " ".join(str(v) for v in row if isinstance(v, str))
                if text:
                    yield f"table {table}", text


def _texts(path: Path) -> Iterator[tuple[str, str]]:
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        yield from _sqlite_texts(path)
    elif path.suffix == ".ipynb":
        yield from _notebook_texts(path)
    elif path.suffix.lower() in TEXT_SUFFIXES or path.name == "MLmodel":
        yield "text", path.read_text(encoding="utf-8", errors="replace")


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for root in paths:
        yield from [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())


def scan(paths: Iterable[Path], identifiers: frozenset[str]) -> list[Finding]:
    """Every occurrence of one of `identifiers` as a token in the browsable files of `paths`."""
    findings: list[Finding] = []
    for path in _files(paths):
        for where, text in _texts(path):
            tokens = set(TOKEN.findall(text)) | set(PART.findall(text))
            findings += [Finding(path, where, t) for t in sorted(tokens & identifiers)]
    return findings


def reviewer_paths() -> list[Path]:
    """What reviewers browse in the workspace: the MLflow store and, per run folder, the
    executed notebooks, GX results and Data Docs, model plots and cards, and the reports."""
    from interestlab import config

    paths = [config.mlruns_dir()]
    for run_dir in sorted(p for p in config.runs_dir().glob("*") if p.is_dir()):
        if run_dir.is_symlink():
            continue
        paths += [run_dir / name for name in ("notebooks", "gx", "models")]
        paths += sorted(run_dir.glob("*.json"))
        paths += [run_dir / "plan" / "summary.json", run_dir / "cap_report" / "summary.json"]
    return [p for p in paths if p.exists()]


def scanned_files(paths: Iterable[Path]) -> int:
    """How many files `scan` reads under `paths` (so a test can prove it looked at something)."""
    return sum(1 for path in _files(paths) if next(_texts(path), None) is not None)

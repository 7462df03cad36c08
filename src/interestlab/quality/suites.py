"""The gate's expectation suites, validation definitions and checkpoints as GX 1.x JSON.

One suite per contract table is generated from `interestlab.contract` (columns, types,
non-null, categorical domains, key unique), plus two compliance suites on the curated
click store (R1, R3, R13). They are committed under `expectations/`:

    expectations/suites/<suite>.json                  GX ExpectationSuite
    expectations/validation_definitions/<suite>.json  GX ValidationDefinition (suite x asset)
    expectations/checkpoints/<suite>.json             GX Checkpoint (result format, actions)

`python -m interestlab.quality.suites` rewrites them; a test fails when the committed files
and this module (hence the contract) differ. Another stage adds a suite by committing
`expectations/suites/<name>.json` (GX format) and running the command, which writes its
validation definition and checkpoint. Ids are uuid5 of the names, so regenerating gives the
same bytes. Building these dicts needs no GX import.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.config import EXPECTATIONS_DIR
from interestlab.contract import TABLES, Table
from interestlab.quality.checks import CONSENT_FLAG, EVENT_ID_FLAG, KEY_FLAG
from interestlab.storage import write_json

SUITES = "suites"
VALIDATION_DEFINITIONS = "validation_definitions"
CHECKPOINTS = "checkpoints"
DATASOURCE = "interestlab"
BATCH_DEFINITION = "whole_dataframe"
STORE_SUITE = "click_store_compliance"
FEED_SUITE = "model_feed_consent"
# Personal data may sit in any column (customer ids): never copy failing values into
# results or Data Docs, counts only.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/interestlab/expectations")


def stable_id(*parts: str) -> str:
    """Deterministic GX id for an object named by `parts`."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def suite_name(table: str) -> str:
    """Name of the contract suite of `table` (`bank_<table>`)."""
    return f"bank_{table}"


def pandas_type(dtype: pl.DataType) -> str:
    """The `type_` GX's pandas engine sees for a contract dtype after `to_validation_pandas`.

    GX compares the pandas dtype's scalar type only, so `datetime64` covers the converted
    dates and `Timestamp` the time-zone-aware timestamps; the exact polars types are
    already enforced by `storage.scan_table`.
    """
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return "datetime64"
        return "Timestamp"
    mapping = {
        pl.String(): "str",
        pl.Int16(): "int16",
        pl.Int32(): "int32",
        pl.Int64(): "int64",
        pl.Boolean(): "bool",
        pl.Date(): "datetime64",
        pl.Float64(): "float64",
    }
    for known, name in mapping.items():
        if dtype == known:
            return name
    msg = f"no pandas type known for contract dtype {dtype}; expected one of {list(mapping)}"
    raise ValueError(msg)


def _expectation(
    suite: str, kind: str, kwargs: dict[str, Any], *, rule: str, why: str
) -> dict[str, Any]:
    target = (
        kwargs.get("column")
        or ",".join(kwargs.get("column_list", ()))
        or ",".join(str(kwargs.get(k, "")) for k in ("column_A", "column_B"))
    )
    return {
        "id": stable_id(SUITES, suite, kind, target),
        "kwargs": kwargs,
        "meta": {"rule": rule, "why": why},
        "severity": "critical",
        "type": kind,
    }


def _suite(name: str, expectations: list[dict[str, Any]], *, notes: str) -> dict[str, Any]:
    return {
        "expectations": expectations,
        "id": stable_id(SUITES, name),
        "meta": {"generated_by": "interestlab.quality.suites"},
        "name": name,
        "notes": notes,
    }


def table_suite(table: Table) -> dict[str, Any]:
    """GX suite of one contract table: schema, types, non-null, domains, key unique."""
    name = suite_name(table.name)
    rule = ",".join(table.rules) or "contract"
    columns = [c.name for c in table.columns]
    out = [
        _expectation(
            name,
            "expect_table_columns_to_match_set",
            {"column_set": [*columns, KEY_FLAG], "exact_match": True},
            rule="contract",
            why="every contract column present, nothing else (plus the gate's key flag)",
        )
    ]
    for column in table.columns:
        out.append(
            _expectation(
                name,
                "expect_column_values_to_be_of_type",
                {"column": column.name, "type_": pandas_type(column.dtype)},
                rule="contract",
                why=f"contract type {column.dtype}",
            )
        )
        if not column.nullable:
            out.append(
                _expectation(
                    name,
                    "expect_column_values_to_not_be_null",
                    {"column": column.name},
                    rule="contract",
                    why="non-nullable contract column",
                )
            )
        if column.domain is not None:
            out.append(
                _expectation(
                    name,
                    "expect_column_values_to_be_in_set",
                    {"column": column.name, "value_set": list(column.domain)},
                    rule=rule,
                    why="categorical domain of the contract (nulls are checked separately)",
                )
            )
    if len(table.key) == 1:
        kind, kwargs = "expect_column_values_to_be_unique", {"column": table.key[0]}
    else:
        kind = "expect_compound_columns_to_be_unique"
        kwargs = {"column_list": list(table.key), "ignore_row_if": "never"}
    out.append(_expectation(name, kind, kwargs, rule="contract", why="key unique within the batch"))
    out.append(
        _expectation(
            name,
            "expect_column_values_to_be_in_set",
            {"column": KEY_FLAG, "value_set": [True]},
            rule="contract",
            why="key unique across batches (months or chunks), computed in polars",
        )
    )
    return _suite(name, out, notes=f"Data contract of `{table.name}` (interestlab.contract).")


def store_suite() -> dict[str, Any]:
    """Compliance of the curated click store at the run date (R1, R3)."""
    name = STORE_SUITE
    out = [
        _expectation(
            name,
            "expect_column_values_to_not_be_null",
            {"column": "customer_id"},
            rule="R1",
            why="only events of identified customers are stored",
        ),
        _expectation(
            name,
            "expect_column_values_to_not_be_null",
            {"column": "identified_at"},
            rule="R1",
            why="every stored event has its session's identification moment",
        ),
        _expectation(
            name,
            "expect_column_values_to_not_be_null",
            {"column": "ts"},
            rule="R3",
            why="every stored event has a moment (a null would escape the window check)",
        ),
        _expectation(
            name,
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "ts",
                "column_B": "identified_at",
                "or_equal": True,
                "ignore_row_if": "both_values_are_missing",
            },
            rule="R1",
            why="no event before its session's identification moment",
        ),
        _expectation(
            name,
            "expect_column_values_to_be_between",
            {"column": "ts", "min_value": {"$PARAMETER": "retention_cutoff"}},
            rule="R3",
            why="kept iff ts >= retention cutoff (run date minus retention_days, local calendar)",
        ),
        _expectation(
            name,
            "expect_column_values_to_be_unique",
            {"column": "event_id"},
            rule="R1",
            why="no duplicate event id within a month",
        ),
        _expectation(
            name,
            "expect_column_values_to_be_in_set",
            {"column": EVENT_ID_FLAG, "value_set": [True]},
            rule="R1",
            why="no event id in two months, computed in polars over the whole store",
        ),
    ]
    return _suite(
        name,
        out,
        notes="Curated click store at the run date; parameter `retention_cutoff` = "
        "Policy.retention_cutoff(run_at).",
    )


def feed_suite() -> dict[str, Any]:
    """Only customers consented at the run's as-of moment feed the models (R13)."""
    name = FEED_SUITE
    out = [
        _expectation(
            name,
            "expect_column_values_to_not_be_null",
            {"column": "customer_id"},
            rule="R13",
            why="every row fed to a model belongs to an identified customer",
        ),
        _expectation(
            name,
            "expect_column_values_to_be_in_set",
            {"column": CONSENT_FLAG, "value_set": [True]},
            rule="R13",
            why="customer consented for web-data commercial use at the as-of moment, "
            "computed in polars from the consent snapshot",
        ),
    ]
    return _suite(
        name,
        out,
        notes="What feeds features/models: any frame with `customer_id` and the "
        "`consented_at_as_of` flag (quality.checks.with_consent_flag).",
    )


def builtin_suites() -> dict[str, dict[str, Any]]:
    """Every suite this module generates, by name."""
    suites = {suite_name(t): table_suite(TABLES[t]) for t in TABLES}
    suites[STORE_SUITE] = store_suite()
    suites[FEED_SUITE] = feed_suite()
    return suites


def validation_definition(name: str) -> dict[str, Any]:
    """GX validation definition of suite `name` on its dataframe asset."""
    return {
        "data": {
            "asset": {"id": stable_id("asset", name), "name": name},
            "batch_definition": {
                "id": stable_id("batch_definition", name),
                "name": BATCH_DEFINITION,
            },
            "datasource": {"id": stable_id("datasource", DATASOURCE), "name": DATASOURCE},
        },
        "id": stable_id(VALIDATION_DEFINITIONS, name),
        "name": name,
        "suite": {"id": stable_id(SUITES, name), "name": name},
    }


def checkpoint(name: str) -> dict[str, Any]:
    """GX checkpoint of suite `name`. No actions: the gate builds Data Docs once per run,
    not once per monthly batch."""
    return {
        "actions": [],
        "id": stable_id(CHECKPOINTS, name),
        "name": name,
        "result_format": dict(RESULT_FORMAT),
        "validation_definitions": [{"id": stable_id(VALIDATION_DEFINITIONS, name), "name": name}],
    }


def expected_documents(expectations_dir: Path = EXPECTATIONS_DIR) -> dict[str, dict[str, Any]]:
    """Every JSON document `expectations/` must hold, by path relative to it.

    Built-in suites come from the contract; suites other stages committed get their
    validation definition and checkpoint.
    """
    suites = builtin_suites()
    names = set(suites)
    folder = Path(expectations_dir) / SUITES
    if folder.is_dir():
        names |= {p.stem for p in folder.glob("*.json")}
    documents: dict[str, dict[str, Any]] = {}
    for name in sorted(names):
        if name in suites:
            documents[f"{SUITES}/{name}.json"] = suites[name]
        documents[f"{VALIDATION_DEFINITIONS}/{name}.json"] = validation_definition(name)
        documents[f"{CHECKPOINTS}/{name}.json"] = checkpoint(name)
    return documents


def write_expectations(expectations_dir: Path = EXPECTATIONS_DIR) -> list[Path]:
    """(Re)write the generated JSON documents under `expectations_dir`; return their paths."""
    written = []
    for relative, document in expected_documents(expectations_dir).items():
        written.append(write_json(document, Path(expectations_dir) / relative))
    return written


def load_document(expectations_dir: Path, kind: str, name: str) -> dict[str, Any]:
    """Read one committed JSON document (`kind` is suites, validation_definitions or
    checkpoints)."""
    path = Path(expectations_dir) / kind / f"{name}.json"
    if not path.is_file():
        msg = (
            f"GX {kind[:-1].replace('_', ' ')} `{name}`: expected {path}, found no such file"
            " (commit the suite under expectations/suites/ and run"
            " `python -m interestlab.quality.suites`)"
        )
        raise FileNotFoundError(msg)
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    """`python -m interestlab.quality.suites [EXPECTATIONS_DIR]`: rewrite the JSON files."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else EXPECTATIONS_DIR
    for path in write_expectations(target):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

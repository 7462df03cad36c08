"""One function per pipeline stage: the thin edges the notebooks and the CLI call.

Each stage resolves default paths, loads the policy, does its I/O and returns a small,
non-personal summary dict that the notebook shows and the run report keeps.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from interestlab import config
from interestlab.contract import TABLE_NAMES
from interestlab.policy import Policy, as_of_moment, load_policy
from interestlab.progress import step
from interestlab.storage import check_bank, write_json


def resolve_paths(
    as_of: date | str,
    *,
    bank_dir: str | Path | None,
    store_dir: str | Path | None,
    output_dir: str | Path | None,
) -> tuple[Path, Path, Path]:
    """Default paths (empty string or None -> the workspace default)."""
    bank = Path(bank_dir) if bank_dir else config.default_bank_dir()
    store = Path(store_dir) if store_dir else config.store_dir()
    manual = f"{parse_as_of(as_of).isoformat()}-manual"
    output = Path(output_dir) if output_dir else config.runs_dir() / manual
    return bank, store, output


def new_run_id(as_of: date) -> str:
    return f"{as_of.isoformat()}-{uuid.uuid4().hex[:8]}"


def parse_as_of(as_of: date | str) -> date:
    return as_of if isinstance(as_of, date) else date.fromisoformat(as_of)


def ingest_and_validate(
    as_of: date | str,
    *,
    bank_dir: str | Path | None = None,
    store_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    policy: Policy | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Stage 1: contract check, input gate, ingest (R1), purge (R3), store gate (R1/R3/R13).

    Stops with `ContractError` or `GateError` before anything downstream is produced.
    Returns the counts shown in notebook 01 and written to `<output>/ingest_report.json`.
    """
    from interestlab.quality import validate_bank, validate_store
    from interestlab.registration import ingest_feed
    from interestlab.retention import purge_expired

    as_of = parse_as_of(as_of)
    policy = policy or load_policy()
    bank, store, output = resolve_paths(
        as_of, bank_dir=bank_dir, store_dir=store_dir, output_dir=output_dir
    )
    run_id = run_id or new_run_id(as_of)
    run_at: datetime = as_of_moment(as_of, policy)

    step(f"contract: checking {bank}")
    table_rows = check_bank(bank)
    step("gate: validating input tables with Great Expectations")
    # The raw feed is not gated: its rows that break the contract are the quarantine's job
    # (counted, kept with reasons). The curated store is gated below with the same
    # `click_events` contract suite plus the compliance suites.
    reference_tables = [name for name in TABLE_NAMES if name != "click_events"]
    validate_bank(
        bank, output_dir=output, policy=policy, tables=reference_tables
    ).raise_for_failure()
    ingest = ingest_feed(bank, store, policy=policy, run_at=run_at, run_id=run_id)
    purge = purge_expired(store, policy=policy, run_at=run_at, run_id=run_id)
    step("gate: validating the curated store (compliance suites)")
    contract_gate = validate_bank(store, output_dir=output, policy=policy, tables=["click_events"])
    contract_gate.raise_for_failure()
    gate = validate_store(store, bank, output_dir=output, policy=policy, run_at=run_at)
    gate.raise_for_failure()
    report = {
        "stage": "ingest_and_validate",
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "run_at": run_at.isoformat(),
        **policy.summary(),
        "table_rows": table_rows,
        "ingest": {k: v for k, v in ingest.to_dict().items() if k != "quarantine_file"},
        "purge": purge.to_dict(),
        "gate": {"store_contract": contract_gate.summary(), "compliance": gate.summary()},
    }
    write_json(report, output / "ingest_report.json")
    step(
        f"ingest: kept {ingest.kept:,}, anonymous {ingest.anonymous:,}, pre-identification"
        f" {ingest.pre_identification:,}, quarantined {ingest.quarantined:,}, purged"
        f" {purge.rows_removed:,}; gate passed; report {output / 'ingest_report.json'}"
    )
    return report

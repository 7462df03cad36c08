"""Great Expectations gate: versioned suites in `expectations/`, results and Data Docs per run.

Importing this package does not import great_expectations (4-7 s); the runners do, lazily.

Examples
--------
>>> from interestlab.quality import validate_bank  # doctest: +SKIP
>>> validate_bank(bank, output_dir=gate_dir, policy=policy).raise_for_failure()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interestlab.quality.gate import (
        ExpectationOutcome,
        GateResult,
        run_suite,
        validate_bank,
        validate_store,
    )

__all__ = ["ExpectationOutcome", "GateResult", "run_suite", "validate_bank", "validate_store"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m interestlab.quality.suites` does not import the runners first.
    if name in __all__:
        from interestlab.quality import gate

        return getattr(gate, name)
    msg = f"module `interestlab.quality` has no attribute `{name}`"
    raise AttributeError(msg)

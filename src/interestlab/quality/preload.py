"""Imported once by the gate's fork server (`runner.run_jobs`), never by the library itself.

Workers forked from that server start with great_expectations, pandas and polars already
imported and GX's import-time objects frozen out of garbage collection, so a worker's
first batch does not pay the 4-7 s import.
"""

from __future__ import annotations

from interestlab.quality import project, runner  # noqa: F401 - imported for the workers

project.import_gx()

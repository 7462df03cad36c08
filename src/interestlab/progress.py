"""Per-step progress lines for long commands (stderr, so stdout stays parseable).

Lines look like `[interestlab 00:00:03.2] ingest: month 2026-03 kept 812,331 rows`; set
`INTERESTLAB_QUIET=1` to silence them (tests do).
"""

from __future__ import annotations

import os
import sys
import time

_START = time.perf_counter()


def step(message: str) -> None:
    """Print one progress line with the elapsed time since the process started."""
    if os.environ.get("INTERESTLAB_QUIET"):
        return
    elapsed = time.perf_counter() - _START
    minutes, seconds = divmod(elapsed, 60)
    hours, minutes = divmod(int(minutes), 60)
    print(
        f"[interestlab {hours:02d}:{minutes:02d}:{seconds:04.1f}] {message}",
        file=sys.stderr,
        flush=True,
    )


def fmt_count(n: int) -> str:
    return f"{n:,}"

"""Keep month-by-month loops at bounded memory: release what a finished step freed."""

from __future__ import annotations

import contextlib
import ctypes
import gc


def release_memory() -> None:
    """Collect reference cycles and hand freed heap back to the OS between batches.

    Month-by-month loops (ingest, purge, the GX gate) free a large frame per step; without a
    full collection and `malloc_trim`, cycles (e.g. inside GX validator objects) and glibc's
    retained arenas made RSS grow by about one batch per step: the store gate climbed to
    14 GB at 100M events, and stays flat with this call (bench/README.md).
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: collecting still helps
        ctypes.CDLL("libc.so.6").malloc_trim(0)

"""Keep month-by-month loops at bounded memory: release what a finished step freed."""

from __future__ import annotations

import contextlib
import ctypes
import gc
from collections.abc import Iterator


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


def freeze_long_lived() -> None:
    """Take every object alive now out of future garbage collections (`gc.freeze`).

    Called once, right after importing GX: its ~400k import-time objects live as long as the
    process, and without this each `release_memory` traverses them again (0.25-0.35 s a
    call, over 70 calls in one ingest stage). Objects created later are collected as usual.
    """
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Within the block, leave every object alive at its start out of garbage collections.

    For a long step that calls `release_memory` often (`modeling.train_all`: after each
    family): each full collection would otherwise traverse MLflow's, SQLAlchemy's and the
    other imported modules' objects again (0.1-0.25 s a call). Garbage created inside the
    block is collected as usual. On leaving, the objects are unfrozen again unless something
    had frozen objects before (`freeze_long_lived`): that freeze is kept.
    """
    frozen_before = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()

"""Shared by the bench scripts: peak RSS of a block, and a guard for the shared machine."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import psutil


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` plus all its descendants (e.g. the gate's GX workers).

    Pages a forked worker shares with its server are counted in each process: an upper
    bound of what the tree holds.
    """
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += member.memory_info().rss
    return total


def guard_memory(limit_gb: float) -> None:
    """Abort this process (exit 3) if its RSS exceeds `limit_gb`: the machine is shared."""

    def watch() -> None:
        process = psutil.Process()
        while True:
            rss = process.memory_info().rss
            if rss > limit_gb * 2**30:
                print(f"ABORT: RSS {rss / 2**30:.1f} GB above --max-rss-gb {limit_gb}", flush=True)
                os._exit(3)
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()


class PeakRss:
    """Peak resident set size of this process while the block runs (sampled every 10 ms);
    with `tree`, of this process plus its child processes (`tree_rss`)."""

    def __init__(self, *, tree: bool = False) -> None:
        self.tree = tree

    def _rss(self) -> int:
        return tree_rss(self.process) if self.tree else self.process.memory_info().rss

    def __enter__(self) -> PeakRss:
        self.process = psutil.Process(os.getpid())
        self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

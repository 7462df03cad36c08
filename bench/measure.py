"""Shared by the bench scripts: peak RSS of a block, and a guard for the shared machine."""

from __future__ import annotations

import os
import threading
import time

import psutil


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
    """Peak resident set size of this process while the block runs (sampled every 10 ms)."""

    def __enter__(self) -> PeakRss:
        self.process = psutil.Process(os.getpid())
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

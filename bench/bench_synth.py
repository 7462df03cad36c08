"""Benchmark: the synthetic bank generator (issue 2).

Each repeat runs `python -m interestlab.synth.cli synth` in a fresh child process and reads
its wall time and peak RSS (`ru_maxrss` of that child); the median over repeats is printed
with the click events per second. In the same run, a named baseline -- a naive per-customer
Python loop that generates the click feed row by row (`random`, list of dicts, then one
polars frame and parquet file per month) -- is timed at a small size on the same machine, and
the ratio of throughputs is printed.

    .venv/bin/python bench/bench_synth.py --customers 20000 --repeats 3
    .venv/bin/python bench/bench_synth.py --customers 1000000 --repeats 1   # issue target size

Target (issue 2): 1M customers / >= 100M click events in under 10 minutes, peak RSS < 4 GB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from interestlab.config import DEFAULT_AS_OF, DEFAULT_SEED
from interestlab.contract import CLICK_CHANNELS, EVENT_TYPES, FAMILIES, TABLES, THEMES

BASELINE_NAME = "naive per-customer Python loop (click feed only)"


def run_child(customers: int, seed: int, out: Path) -> tuple[float, float, dict]:
    """Generate a bank in a child process; return wall seconds, peak RSS (MB), its summary."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interestlab.synth.cli",
            "synth",
            "--customers",
            str(customers),
            "--seed",
            str(seed),
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "INTERESTLAB_QUIET": "1"},
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        msg = f"generator child failed with exit code {code}"
        raise RuntimeError(msg)
    summary = json.loads((out / "_summary.json").read_text())
    return wall, usage.ru_maxrss / 1024, summary


def naive_clicks(customers: int, seed: int, out: Path) -> int:
    """The baseline: one Python loop iteration per customer, session and event."""
    rng = random.Random(seed)
    end = datetime(DEFAULT_AS_OF.year, DEFAULT_AS_OF.month, DEFAULT_AS_OF.day, tzinfo=UTC)
    schema = TABLES["click_events"].schema
    event_id = session_id = 0
    total = 0
    for month in range(15):
        month_start = end - timedelta(days=30.44 * (15 - month))
        rows = []
        for c in range(customers):
            activity = rng.lognormvariate(-0.4, 0.9)
            n_sessions = _poisson(rng, 2.3 * activity)
            for _ in range(n_sessions):
                session_id += 1
                anonymous = rng.random() < 0.12
                start = month_start + timedelta(seconds=rng.random() * 30.44 * 86_400)
                login = start + timedelta(seconds=rng.random() * 60)
                theme = rng.choice(THEMES)
                for k in range(1 + _poisson(rng, 2.3)):
                    event_id += 1
                    rows.append(
                        {
                            "event_id": event_id,
                            "session_id": session_id,
                            "customer_id": None if anonymous else f"C{c + 1:07d}",
                            "identified_at": None if anonymous else login,
                            "ts": start + timedelta(seconds=50 * k),
                            "event_type": rng.choice(EVENT_TYPES),
                            "theme": theme,
                            "product_family": rng.choice(FAMILIES),
                            "channel": rng.choice(CLICK_CHANNELS),
                        }
                    )
        frame = pl.DataFrame(rows, schema=schema).sort("ts", "event_id")
        frame.write_parquet(out / f"month-{month:02d}.parquet", compression="zstd")
        total += frame.height
    return total


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--baseline-customers",
        type=int,
        default=2_000,
        help="size for the naive baseline (it is slow)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        walls, rss = [], []
        summary: dict = {}
        for repeat in range(args.repeats):
            wall, peak, summary = run_child(args.customers, args.seed, Path(tmp) / f"bank-{repeat}")
            walls.append(wall)
            rss.append(peak)
            print(f"  repeat {repeat + 1}: {wall:6.2f} s, peak RSS {peak:7.1f} MB", flush=True)
        events = summary["click_events"]["events"]
        median = statistics.median(walls)
        rate = events / median
        print(
            f"generator: {args.customers:,} customers, {events:,} click events"
            f" ({events / args.customers:.0f}/customer), {summary['rows']['communications']:,}"
            f" communications"
        )
        print(
            f"generator: median {median:.2f} s over {args.repeats} runs,"
            f" {rate:,.0f} click events/s,"
            f" peak RSS max {max(rss):.0f} MB (child process, ru_maxrss)"
        )

        base_dir = Path(tmp) / "naive"
        base_dir.mkdir()
        times = []
        base_events = 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            base_events = naive_clicks(args.baseline_customers, args.seed, base_dir)
            times.append(time.perf_counter() - started)
        base_rate = base_events / statistics.median(times)
        print(
            f"baseline [{BASELINE_NAME}]: {args.baseline_customers:,} customers,"
            f" {base_events:,} events, median {statistics.median(times):.2f} s,"
            f" {base_rate:,.0f} click events/s"
        )
        print(
            f"ratio: generator {rate / base_rate:.1f}x the baseline's events/s"
            f" (generator also writes every other table)"
        )
        projected = 100_000_000 / rate
        print(f"projection at this rate: 100M events in {projected / 60:.1f} min (target < 10 min)")


if __name__ == "__main__":
    main()

"""Benchmark: ingest (R1) + purge (R3) + Great Expectations gate on the synthetic bank.

Prints the median wall time and peak RSS over several repeats (each repeat in a fresh child
process with a fresh store), and, in the same run, the R1/R3/contract filters implemented
plainly in pandas against the polars implementation on the same rows (the baseline).

    .venv/bin/python bench/bench_ingest.py --customers 20000 --repeats 3
    .venv/bin/python bench/bench_ingest.py --customers 1000000 --repeats 1   # issue target size

Targets (issue 3): 100M events under 5 minutes and under 6 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import polars as pl
import psutil
from measure import tree_rss

from interestlab.config import DEFAULT_AS_OF, DEFAULT_SEED

CHILD = """
import json, sys, time
from interestlab.stages import ingest_and_validate
t = time.perf_counter()
report = ingest_and_validate(sys.argv[1], bank_dir=sys.argv[2], store_dir=sys.argv[3], output_dir=sys.argv[4])
print(json.dumps({"seconds": time.perf_counter() - t, "kept": report["ingest"]["kept"],
                  "delivered": report["ingest"]["delivered"]}))
"""


def run_child(code: str, *args: str, steps: bool = False) -> tuple[dict, float, float]:
    """Run `code` in a child interpreter; return its JSON output, wall seconds, peak RSS (MB).

    The peak RSS is that of the child plus its own children (the gate's GX workers), summed
    and sampled every 0.2 s (`measure.tree_rss`); at least the child's own peak (`wait4`).
    With `steps`, the child's progress lines are printed, each followed by that peak during
    the step the line closed.
    """
    started = time.perf_counter()
    env = {**os.environ, "INTERESTLAB_QUIET": "1"}
    if steps:
        env.pop("INTERESTLAB_QUIET")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if steps else None,
        env=env,
    )
    sampler = _TreeSampler(proc.pid)
    reader = None
    if steps:
        reader = threading.Thread(target=_annotate_steps, args=(proc, sampler), daemon=True)
        reader.start()
    out = proc.stdout.read() if proc.stdout else b""
    if reader:
        reader.join()
    sampler.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        msg = f"child failed with exit code {os.waitstatus_to_exitcode(status)}"
        raise RuntimeError(msg)
    peak = max(sampler.peak, usage.ru_maxrss * 1024)
    return json.loads(out.decode().strip().splitlines()[-1]), wall, peak / 2**20


class _TreeSampler:
    """Peak `tree_rss` of a process, overall and since the last `take_step_peak`."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.step_peak = 0
        self._done = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._done.wait(0.2):
            try:
                rss = tree_rss(self.process)
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.step_peak = max(self.step_peak, rss)

    def take_step_peak(self) -> int:
        peak, self.step_peak = self.step_peak, 0
        return peak

    def stop(self) -> None:
        self._done.set()


def _annotate_steps(proc: subprocess.Popen, sampler: _TreeSampler) -> None:
    for raw in proc.stderr or []:
        line = raw.decode().rstrip()
        peak = sampler.take_step_peak()
        print(f"      ^ peak RSS {peak / 2**20:8,.0f} MB during the step above", flush=True)
        print(f"    {line}", flush=True)
    peak = sampler.take_step_peak()
    print(f"      ^ peak RSS {peak / 2**20:8,.0f} MB during the step above", flush=True)


def ensure_bank(bank: Path, customers: int, seed: int) -> None:
    summary = bank / "_summary.json"
    if summary.exists() and json.loads(summary.read_text()).get("n_customers") == customers:
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "interestlab.cli",
            "synth",
            "--customers",
            str(customers),
            "--seed",
            str(seed),
            "--out",
            str(bank),
        ],
        check=True,
    )


def pandas_filters(feed_files: list[Path], customers_file: Path, run_at, cutoff) -> int:
    """The same R1/R3/contract filters written plainly in pandas (the baseline)."""
    import pandas as pd

    from interestlab.contract import TABLES

    known = set(pd.read_parquet(customers_file, columns=["customer_id"])["customer_id"])
    table = TABLES["click_events"]
    kept = 0
    for path in feed_files:
        df = pd.read_parquet(path)
        ok = df["customer_id"].notna() & df["identified_at"].notna() & df["ts"].notna()
        ok &= df["customer_id"].isin(known)
        ok &= df["ts"] <= run_at
        for col in ("event_type", "channel"):
            ok &= df[col].isin(table.column(col).domain)
        for col in ("theme", "product_family"):
            ok &= df[col].isna() | df[col].isin(table.column(col).domain)
        ok &= df["ts"] >= df["identified_at"]
        ok &= df["ts"] >= cutoff
        kept += int(ok.sum())
    return kept


def polars_filters(feed_files: list[Path], customers_file: Path, run_at, cutoff) -> int:
    from interestlab.registration import KEPT, classify_events

    known = pl.scan_parquet(customers_file).select("customer_id")
    kept = 0
    for path in feed_files:
        labelled = classify_events(
            pl.scan_parquet(path), known, run_at=run_at, retention_cutoff=cutoff
        )
        kept += labelled.filter(pl.col("outcome") == KEPT).select(pl.len()).collect().item()
    return kept


def median_time(fn, repeats: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--bank", type=Path, help="existing bank folder (default: bench/out/bank-<N>)"
    )
    parser.add_argument(
        "--pandas-events",
        type=int,
        default=10_000_000,
        help="rows for the pandas comparison (a size pandas can hold)",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="print the child's progress lines with the peak RSS of each step",
    )
    parser.add_argument(
        "--keep-store",
        type=Path,
        help="keep the last repeat's curated store here (input of bench_features --store)",
    )
    args = parser.parse_args()

    from interestlab.policy import as_of_moment, load_policy

    if args.bank:  # an explicit bank is reused as it is, never re-synthesised
        if not (args.bank / "_summary.json").exists():
            parser.error(f"--bank {args.bank}: no _summary.json (not a generated bank)")
        bank = args.bank
    else:
        bank = Path(__file__).parent / "out" / f"bank-{args.customers}"
        ensure_bank(bank, args.customers, args.seed)
    as_of: date = DEFAULT_AS_OF
    runs = []
    for i in range(args.repeats):
        work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        try:
            out, wall, rss = run_child(
                CHILD,
                as_of.isoformat(),
                str(bank),
                str(work / "store"),
                str(work / "run"),
                steps=args.steps,
            )
            if args.keep_store and i == args.repeats - 1:
                shutil.rmtree(args.keep_store, ignore_errors=True)
                args.keep_store.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(work / "store", args.keep_store)
        finally:
            shutil.rmtree(work)
        runs.append((wall, rss, out))
        print(
            f"repeat {i + 1}: {wall:.1f} s, peak RSS {rss:,.0f} MB, delivered {out['delivered']:,}, kept {out['kept']:,}"
        )
    walls = [r[0] for r in runs]
    delivered = runs[0][2]["delivered"]
    print(
        f"ingest+purge+gate: median {statistics.median(walls):.1f} s for {delivered:,} delivered events"
        f" ({delivered / statistics.median(walls):,.0f} events/s), peak RSS {max(r[1] for r in runs):,.0f} MB"
    )

    policy = load_policy()
    run_at = as_of_moment(as_of, policy)
    cutoff = policy.retention_cutoff(run_at)
    files, rows = [], 0
    for path in sorted((bank / "click_events").glob("month=*/part-0.parquet"), reverse=True):
        files.append(path)
        rows += pl.scan_parquet(path).select(pl.len()).collect().item()
        if rows >= args.pandas_events:
            break
    customers_file = next((bank / "customers").glob("*.parquet"))
    t_pl, kept_pl = median_time(lambda: polars_filters(files, customers_file, run_at, cutoff), 3)
    t_pd, kept_pd = median_time(lambda: pandas_filters(files, customers_file, run_at, cutoff), 3)
    assert kept_pl == kept_pd, (
        f"polars kept {kept_pl}, pandas kept {kept_pd}: implementations differ"
    )
    print(
        f"filters on {rows:,} events: polars {t_pl:.2f} s, pandas baseline {t_pd:.2f} s,"
        f" speed-up x{t_pd / t_pl:.1f} (same {kept_pl:,} kept)"
    )


if __name__ == "__main__":
    main()

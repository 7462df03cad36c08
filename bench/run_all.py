"""Run every benchmark at a small size, one after another, and print their summary lines.

`make bench` calls `python bench/run_all.py --customers 20000`: a few minutes on 2 cores.
Each script's full output goes to `bench/out/small/<script>.txt`; only its summary lines
(medians, ratios, peak RSS, targets) are printed here. Full-size commands: bench/README.md.

    .venv/bin/python bench/run_all.py --customers 20000 --repeats 1
    .venv/bin/python bench/run_all.py --only features,plan
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Lines worth showing from each script's output (everything is kept in the log file).
SUMMARY = re.compile(
    r"median|ratio|overhead|speed-up|peak RSS|target|projection|optimality|breakdown|ABORT|Error"
    r"|^interestlab \(|^baseline greedy",
    re.IGNORECASE,
)
# Per-repeat progress lines are left in the log only.
NOISE = re.compile(r"^\s*(repeat \d+:|run \d+:)")


def commands(customers: int, repeats: int) -> dict[str, list[str]]:
    """The small-size command line of each bench script (order = run order)."""
    r = str(repeats)
    return {
        "synth": ["bench_synth.py", "--customers", str(customers), "--repeats", r],
        "ingest": ["bench_ingest.py", "--customers", str(customers), "--repeats", r],
        "gate": ["bench_gate.py", "--customers", str(customers), "--repeats", r],
        "features": ["bench_features.py", "--customers", str(customers), "--repeats", r],
        # 12 snapshots x customers rows; three families and no separate `core` phase keep it
        # short (full size: every family, see README.md).
        "train": [
            "bench_train.py",
            "--customers",
            str(max(customers // 10, 1000)),
            "--families",
            "mortgage,consumer_loan,car_loan",
            "--phases",
            "raw,pipeline",
            "--repeats",
            r,
        ],
        "plan": ["bench_plan.py", "--customers", str(customers), "--repeats", r],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=1, help="repeats per script")
    parser.add_argument("--only", default="", help="comma list of scripts (default: all)")
    args = parser.parse_args()

    table = commands(args.customers, args.repeats)
    chosen = args.only.split(",") if args.only else list(table)
    unknown = sorted(set(chosen) - set(table))
    if unknown:
        parser.error(f"unknown scripts {unknown}; expected some of {list(table)}")
    logs = HERE / "out" / "small"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "INTERESTLAB_QUIET": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    failed = []
    started_all = time.perf_counter()
    for name in chosen:
        argv = [sys.executable, str(HERE / table[name][0]), *table[name][1:]]
        print(f"== {name}: {' '.join(table[name])}", flush=True)
        started = time.perf_counter()
        log = logs / f"{name}.txt"
        with log.open("w") as out:
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env, check=False)
        for line in log.read_text().splitlines():
            if SUMMARY.search(line) and not NOISE.match(line):
                print(f"   {line.strip()}")
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        print(f"   -> {status} in {time.perf_counter() - started:.0f} s, log {log}", flush=True)
        if proc.returncode != 0:
            failed.append(name)
    print(
        f"== {len(chosen) - len(failed)}/{len(chosen)} benchmarks ok in"
        f" {time.perf_counter() - started_all:.0f} s" + (f"; failed: {failed}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

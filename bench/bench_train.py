"""Benchmark: training every family's interest model (issue 5).

Times, in the same run and on the same matrices:
  * raw       - `lightgbm.train` called directly per family on the prepared train/validation
                matrices with the same parameters and early stopping (the named baseline);
  * core      - `train.train_family` per family: split rows, matrices, LightGBM, challenger,
                evaluation, SHAP sample (no MLflow);
  * pipeline  - `train_all`: all of the above plus plots, model cards, MLflow logging and
                registration into a fresh SQLite store.
Prints medians of `--repeats` runs, the overhead ratio pipeline / raw and peak RSS per phase
(sampled with psutil) and for the process (getrusage).

The training set is drawn here with numpy in the shape `interestlab.features.build_training_set`
returns (every catalogue feature, one `label__<family>` per family, planted signal), so the
bench does not depend on the generator's speed. Run it at small sizes on a shared machine:
`python bench/bench_train.py --customers 5000`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("INTERESTLAB_QUIET", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from measure import PeakRss, guard_memory  # noqa: E402

from interestlab.config import DEFAULT_SEED  # noqa: E402
from interestlab.contract import FAMILIES  # noqa: E402
from interestlab.features import FEATURE_CATALOGUE  # noqa: E402
from interestlab.modeling import train as core  # noqa: E402
from interestlab.modeling import train_all  # noqa: E402
from interestlab.policy import load_policy  # noqa: E402


def random_training_set(n_customers: int, n_snapshots: int, *, seed: int) -> pl.DataFrame:
    """Stacked monthly snapshots with every catalogue feature and a planted signal per family."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:07d}" for i in range(n_customers)]
    frames = []
    for month in range(n_snapshots):
        year, month0 = divmod(2025 * 12 + 10 + month, 12)  # Nov 2025 onwards
        as_of = datetime(year, month0 + 1, 14, 23, tzinfo=UTC)  # local midnight (CET) of the 15th
        columns: dict[str, np.ndarray] = {}
        for name, spec in FEATURE_CATALOGUE.items():
            n = n_customers
            if spec.kind == "count":
                columns[name] = rng.poisson(0.3, n).astype(np.float32)
            elif spec.kind == "days_since":
                values = rng.uniform(1, 365, n).astype(np.float32)
                values[rng.random(n) < 0.8] = np.nan
                columns[name] = values
            elif spec.kind in ("flag", "categorical"):
                levels = len(spec.levels) if spec.levels else 2
                weights = np.array([6.0, 1.0]) if spec.kind == "flag" else np.ones(levels)
                columns[name] = rng.choice(levels, n, p=weights / weights.sum()).astype(np.uint8)
            else:
                columns[name] = rng.uniform(0, 1, n).astype(np.float32)
        for family in FAMILIES:
            signal = (
                -3.5
                + 0.9 * columns[f"fam_{family}__simulation_90d"]
                + 1.2 * (columns[f"fam_{family}__procedure_abandoned_365d"] > 0)
                + 0.8
                * (np.nan_to_num(columns[f"fam_{family}__days_since_simulation"], nan=999) < 30)
            )
            label = (rng.random(n_customers) < 1 / (1 + np.exp(-signal))).astype(np.float32)
            label[columns[f"hold_{family}"] == 1] = np.nan
            columns[f"label__{family}"] = label
        frame = pl.DataFrame({"customer_id": ids, **columns}).with_columns(
            pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
            *[pl.col(f"label__{f}").fill_nan(None).cast(pl.Int8) for f in FAMILIES],
        )
        frames.append(frame)
    return pl.concat(frames).select("customer_id", "as_of", pl.exclude("customer_id", "as_of"))


def timed(fn: Callable[[], float | None], repeats: int) -> tuple[float, list[float], int]:
    """Median seconds over `repeats` calls (a call may return its own timed seconds)."""
    times = []
    with PeakRss() as rss:
        for _ in range(repeats):
            started = time.perf_counter()
            own = fn()
            times.append(own if own is not None else time.perf_counter() - started)
            print(f"    run {len(times)}: {times[-1]:.2f} s", flush=True)
    return statistics.median(times), times, rss.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000, help="customers per snapshot")
    parser.add_argument("--snapshots", type=int, default=12, help="monthly snapshots")
    parser.add_argument("--families", default="all", help="comma list or 'all'")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--negative-rate", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--max-rss-gb", type=float, default=18.0, help="abort above this RSS (shared machine)"
    )
    parser.add_argument(
        "--phases", default="raw,core,pipeline", help="comma list of raw, core, pipeline"
    )
    args = parser.parse_args()
    guard_memory(args.max_rss_gb)
    phases = args.phases.split(",")
    families = list(FAMILIES) if args.families == "all" else args.families.split(",")
    policy = load_policy()
    params = core.resolve_params({"negative_rate": args.negative_rate})

    started = time.perf_counter()
    training_set = random_training_set(args.customers, args.snapshots, seed=args.seed)
    features = core.check_training_set(training_set, families=families)
    print(
        f"training set: {training_set.height:,} rows x {len(features)} features,"
        f" {len(families)} families, built in {time.perf_counter() - started:.1f} s"
    )

    frame, _ = core.assign_split(training_set, n_test_months=2, policy=policy)
    categorical = core.categorical_features(features)

    def family_matrices(family: str) -> list[tuple]:
        rows = core.family_rows(frame, family, negative_rate=args.negative_rate, seed=args.seed)
        return [
            (
                core.matrix(part, features),
                part[f"label__{family}"].cast(pl.Float32).to_numpy(),
                part["weight"].to_numpy(),
            )
            for part in (
                rows.filter(pl.col(core.SPLIT_COLUMN) == name) for name in (core.TRAIN, core.VALID)
            )
        ]

    def raw() -> float:
        # Only `lightgbm.train` is timed; each family's matrices are prepared (untimed) just
        # before its fit and dropped after it, so that 1M-customer runs fit in memory.
        fitted = 0.0
        for family in families:
            train, valid = family_matrices(family)
            started = time.perf_counter()
            core.fit_booster(
                train,
                valid,
                features=features,
                categorical=categorical,
                params=params,
                seed=args.seed,
            )
            fitted += time.perf_counter() - started
            del train, valid
        return fitted

    def core_only() -> None:
        for family in families:
            core.train_family(frame, family, features=features, params=params, seed=args.seed)

    def pipeline() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-train-") as home:
            os.environ["INTERESTLAB_HOME"] = home
            train_all(
                training_set,
                families=families,
                params={"negative_rate": args.negative_rate},
                seed=args.seed,
                n_test_months=2,
                lineage=[],
                gx_summary=None,
                policy=policy,
                trainer="bench",
                output_dir=Path(home) / "out",
            )

    mb = 1024 * 1024
    labels = {
        "raw": "raw lightgbm.train ",
        "core": "train_family (core)",
        "pipeline": "train_all (MLflow) ",
    }
    functions = {"raw": raw, "core": core_only, "pipeline": pipeline}
    res: dict[str, tuple[float, list[float], int]] = {}
    for phase in phases:
        print(f"  {labels[phase].strip()}:", flush=True)
        res[phase] = timed(functions[phase], args.repeats)
        median, runs, peak = res[phase]
        print(
            f"{labels[phase]}: median {median:7.2f} s  runs {[round(t, 2) for t in runs]}"
            f"  peak RSS {peak / mb:,.0f} MB",
            flush=True,
        )
    if "raw" in res:
        raw_s = res["raw"][0]
        if "core" in res:
            print(f"overhead: core / raw = {res['core'][0] / raw_s:.2f}x")
        if "pipeline" in res:
            pipe_s = res["pipeline"][0]
            print(
                f"overhead: pipeline / raw = {pipe_s / raw_s:.2f}x (target <= 1.2x at full size);"
                f" all {len(families)} families in {pipe_s / 60:.1f} min (target < 20 min)"
            )
            if "core" in res:
                print(
                    f"fixed MLflow+plots cost ~{(pipe_s - res['core'][0]) / len(families):.2f} s"
                    " per family"
                )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process peak RSS (getrusage): {peak_kb / 1024:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()

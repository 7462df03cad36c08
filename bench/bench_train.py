"""Benchmark: training every family's interest model (issue 5).

Times, on the same training set and the same rows (every family trains on the same sampled
rows in every phase):
  * raw       - `lightgbm.train` called directly per family on the prepared train/validation
                matrices with the same parameters and early stopping (the named baseline);
  * core      - `train.train_family` per family: split rows, matrices, LightGBM, challenger,
                evaluation of the test set (up to `test_max_rows`), SHAP sample (no MLflow);
  * pipeline  - `train_all`: the families' rows binned once and each trained on its subset
                (`fit_families`), one scoring pass, evaluation, plots, model cards, MLflow
                logging and registration into a fresh SQLite store.
Prints medians of `--repeats` runs (wall and CPU seconds), the overhead ratio pipeline / raw,
the same ratio against the `lightgbm.train` calls timed inside the pipeline run itself (steadier
on a shared machine, where the load changes between phases) and the peak RSS of each phase.

The training set is drawn here with numpy in the shape `interestlab.features.build_training_set`
returns (every catalogue feature, one `label__<family>` per family, planted signal), so the
bench does not depend on the generator's speed, and written one snapshot at a time with
`features.write_training_set` as notebook 02 writes it. Each phase then runs in a fresh child
process that loads it the way notebook 03 does (`read_training_set`, which checks the
content hashes; the pipeline phase also builds `snapshot_lineage` from the verified
parts): a phase's peak RSS is its own, training set included, not what an earlier phase
left behind. Run it at small sizes on a shared machine:
`python bench/bench_train.py --customers 5000`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("INTERESTLAB_QUIET", "1")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import psutil  # noqa: E402
from measure import PeakRss, guard_memory  # noqa: E402

from interestlab.config import DEFAULT_SEED  # noqa: E402
from interestlab.contract import FAMILIES  # noqa: E402
from interestlab.features import FEATURE_CATALOGUE, write_training_set  # noqa: E402
from interestlab.features.snapshots import derived_dir, read_training_set  # noqa: E402
from interestlab.memory import release_memory  # noqa: E402
from interestlab.modeling import snapshot_lineage, train_all  # noqa: E402
from interestlab.modeling import train as core  # noqa: E402
from interestlab.policy import load_policy  # noqa: E402

MB = 1024 * 1024
LABELS = {
    "raw": "raw lightgbm.train ",
    "core": "train_family (core)",
    "pipeline": "train_all (MLflow) ",
}


def random_snapshots(
    n_customers: int, n_snapshots: int, *, seed: int
) -> tuple[list[datetime], Iterator[pl.DataFrame]]:
    """The as-of moments and a generator of monthly snapshots with every catalogue feature
    and a planted signal per family, one snapshot in memory at a time."""
    as_ofs = []
    for month in range(n_snapshots):
        year, month0 = divmod(2025 * 12 + 10 + month, 12)  # Nov 2025 onwards
        as_ofs.append(datetime(year, month0 + 1, 14, 23, tzinfo=UTC))  # local midnight (CET)
    ids = pl.Series("customer_id", [f"C{i:07d}" for i in range(n_customers)])

    def generate() -> Iterator[pl.DataFrame]:
        rng = np.random.default_rng(seed)
        for as_of in as_ofs:
            yield _random_snapshot(rng, ids, as_of)

    return as_ofs, generate()


def _random_snapshot(rng: np.random.Generator, ids: pl.Series, as_of: datetime) -> pl.DataFrame:
    n = ids.len()
    columns: dict[str, np.ndarray] = {}
    for name, spec in FEATURE_CATALOGUE.items():
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
            + 0.8 * (np.nan_to_num(columns[f"fam_{family}__days_since_simulation"], nan=999) < 30)
        )
        label = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.float32)
        label[columns[f"hold_{family}"] == 1] = np.nan
        columns[f"label__{family}"] = label
    frame = pl.DataFrame({"customer_id": ids, **columns}).with_columns(
        pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
        *[pl.col(f"label__{f}").fill_nan(None).cast(pl.Int8) for f in FAMILIES],
    )
    return frame.select("customer_id", "as_of", pl.exclude("customer_id", "as_of"))


def run_phase(phase: str, folder: str, as_ofs: list[datetime], options: dict[str, Any]) -> dict:
    """One phase in this (child) process: load the training set as notebook 03 does, then
    run the phase `repeats` times. Returns wall and CPU seconds per run, load and lineage
    seconds, the RSS once the set is loaded and the peak RSS of the process."""
    guard_memory(options["max_rss_gb"])
    policy = load_policy()
    families = options["families"]
    seed = options["seed"]
    params = core.resolve_params({"negative_rate": options["negative_rate"]})
    process = psutil.Process()
    out: dict[str, Any] = {"wall": [], "cpu": []}
    with PeakRss() as rss:
        started = time.perf_counter()
        stored = read_training_set(Path(folder), as_of=as_ofs, policy=policy)
        if stored is None:
            msg = f"bench: no training set written for {len(as_ofs)} as-of dates in {folder}"
            raise RuntimeError(msg)
        training_set, stored_lineage = stored
        out["load_s"] = time.perf_counter() - started
        out["rss_loaded"] = process.memory_info().rss
        lineage: list[dict] = []
        if phase == "pipeline":
            started = time.perf_counter()
            lineage = snapshot_lineage(
                training_set, policy=policy, oldest_input_ts=None, parts=stored_lineage["parts"]
            )
            out["lineage_s"] = time.perf_counter() - started
        features = core.check_training_set(training_set, families=families)
        frame, _ = core.assign_split(training_set, n_test_months=2, policy=policy)
        categorical = core.categorical_features(features)

        def raw() -> tuple[float, float]:
            # Only `lightgbm.train` is timed; each family's matrices are prepared (untimed)
            # just before its fit and dropped after it, as `train_family` does.
            order = core.row_order(frame)
            wall = cpu = 0.0
            for family in families:
                rows = core.select_family_rows(
                    frame, family, negative_rate=params["negative_rate"], seed=seed, order=order
                )
                train, valid = (
                    (
                        core.gather_matrix(frame, rows.positions[name], features),
                        rows.labels[name],
                        rows.weights[name],
                    )
                    for name in (core.TRAIN, core.VALID)
                )
                wall0, cpu0 = time.perf_counter(), time.process_time()
                core.fit_booster(
                    train,
                    valid,
                    features=features,
                    categorical=categorical,
                    params=params,
                    seed=seed,
                )
                wall += time.perf_counter() - wall0
                cpu += time.process_time() - cpu0
                del train, valid
                release_memory()
            return wall, cpu

        def core_only() -> None:
            order = core.row_order(frame)
            for family in families:
                core.train_family(
                    frame, family, features=features, params=params, seed=seed, order=order
                )
                release_memory()

        def pipeline() -> None:
            with tempfile.TemporaryDirectory(prefix="bench-train-") as home:
                os.environ["INTERESTLAB_HOME"] = home
                train_all(
                    training_set,
                    families=families,
                    params={"negative_rate": options["negative_rate"]},
                    seed=seed,
                    n_test_months=2,
                    lineage=lineage,
                    gx_summary=None,
                    policy=policy,
                    trainer="bench",
                    output_dir=Path(home) / "out",
                )

        # `lightgbm.train` inside core and pipeline, timed in the same run: on a shared machine
        # the load changes between phases, so their overhead is also given against it. There
        # it trains on subsets of the families' shared binning (`fit_families`): the binning
        # itself is outside these calls, whereas raw bins inside `lightgbm.train`.
        # Each part (training included) counts the wall time while any of its calls runs
        # (row selection and the binning's gathers run in threads), and its CPU seconds are
        # the process's over that time (other threads' work included).
        spans = Spans()
        if phase != "raw":
            spans.wrap(core, "train_booster", "training")
        if phase == "pipeline":
            _time_parts(spans)

        functions: dict[str, Callable[[], tuple[float, float] | None]] = {
            "raw": raw,
            "core": core_only,
            "pipeline": pipeline,
        }
        out["fit_wall"], out["fit_cpu"] = [], []
        for _ in range(options["repeats"]):
            spans.reset()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            own = functions[phase]()
            wall, cpu = own or (time.perf_counter() - wall0, time.process_time() - cpu0)
            out["wall"].append(wall)
            out["cpu"].append(cpu)
            out["fit_wall"].append(spans.wall.get("training", 0.0) if phase != "raw" else wall)
            out["fit_cpu"].append(spans.cpu.get("training", 0.0) if phase != "raw" else cpu)
            if phase == "pipeline":
                out["parts"] = dict(spans.wall, total=wall, covered=spans.covered)
            print(
                f"    run {len(out['wall'])}: {wall:.2f} s wall, {cpu:.2f} s CPU"
                f" (lightgbm.train within: {out['fit_wall'][-1]:.2f} s wall)",
                flush=True,
            )
            release_memory()
    out["peak"] = rss.peak
    out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


class Spans:
    """Wall (and process CPU) seconds while any call of a part runs, per part, and while
    any call of any part runs (`covered`): calls nested or in threads are counted once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.started: dict[str, tuple[float, float]] = {}
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.any_active = 0
        self.any_started = 0.0
        self.covered = 0.0

    def reset(self) -> None:
        with self.lock:
            self.wall = dict.fromkeys(self.wall, 0.0)
            self.cpu = dict.fromkeys(self.cpu, 0.0)
            self.covered = 0.0

    def _enter(self, part: str) -> None:
        with self.lock:
            now = time.perf_counter()
            if self.any_active == 0:
                self.any_started = now
            self.any_active += 1
            if self.active.get(part, 0) == 0:
                self.started[part] = (now, time.process_time())
            self.active[part] = self.active.get(part, 0) + 1

    def _exit(self, part: str) -> None:
        with self.lock:
            now = time.perf_counter()
            self.any_active -= 1
            if self.any_active == 0:
                self.covered += now - self.any_started
            self.active[part] -= 1
            if self.active[part] == 0:
                wall0, cpu0 = self.started[part]
                self.wall[part] += now - wall0
                self.cpu[part] += time.process_time() - cpu0

    def wrap(self, owner: Any, name: str, part: str) -> None:
        inner = getattr(owner, name)
        self.wall.setdefault(part, 0.0)
        self.cpu.setdefault(part, 0.0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._enter(part)
            try:
                return inner(*args, **kwargs)
            finally:
                self._exit(part)

        setattr(owner, name, timed)


def _time_parts(spans: Spans) -> None:
    """Wrap the functions `train_all` reaches into `spans`' parts (a subset's `construct`
    constructs its reference first; row selection runs in threads).
    LightGBM's own training is the part `training` (`train_booster`)."""
    from concurrent.futures import Future

    import lightgbm as lgb

    from interestlab.modeling import pipeline
    from interestlab.modeling.challenger import LogisticChallenger

    spans.wrap(core, "select_family_rows", "row selection")
    spans.wrap(lgb.Dataset, "construct", "binning and subsets")
    spans.wrap(core, "_streamed_dataset", "binning and subsets")  # pushes outside `construct`
    spans.wrap(LogisticChallenger, "fit", "challenger fits")
    spans.wrap(pipeline, "score_test_months", "scoring pass")
    spans.wrap(pipeline, "evaluate_family", "evaluation")
    spans.wrap(pipeline, "_log_family", "MLflow logging and registry")
    # The rest, named: setup before the fits, heap releases, the MLflow store and parent
    # run, and the main process waiting on the plot worker (its futures' `result`).
    for name in ("check_training_set", "assign_split", "row_order"):
        spans.wrap(pipeline, name, "setup (checks, split, key order)")
    spans.wrap(pipeline, "release_memory", "heap releases")
    spans.wrap(pipeline.tracking, "ensure_experiment", "MLflow store and parent run")
    spans.wrap(pipeline.tracking, "git_commit", "MLflow store and parent run")
    spans.wrap(pipeline, "_plot_worker", "MLflow store and parent run")
    # Only the pipeline's own waits (the binning's gather threads use futures too).
    result = Future.result
    part = "waits for the plot worker"
    spans.wall[part], spans.cpu[part] = 0.0, 0.0

    def waited(self: Future, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__") != pipeline.__name__:
            return result(self, *args, **kwargs)
        spans._enter(part)
        try:
            return result(self, *args, **kwargs)
        finally:
            spans._exit(part)

    Future.result = waited


def _child(phase: str, folder: str, as_ofs: list, options: dict, connection: Any) -> None:
    connection.send(run_phase(phase, folder, as_ofs, options))
    connection.close()


def in_child(phase: str, folder: Path, as_ofs: list[datetime], options: dict) -> dict | None:
    """`run_phase` in a fresh process (spawned: nothing inherited from this one)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(phase, str(folder), as_ofs, options, sender))
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:
        result = None
    child.join()
    if result is None:
        print(f"  {phase}: child exited with code {child.exitcode} (see above)", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000, help="customers per snapshot")
    parser.add_argument("--snapshots", type=int, default=12, help="monthly snapshots")
    parser.add_argument("--families", default="all", help="comma list or 'all'")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--negative-rate", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=18.0,
        help="abort a process above this RSS (shared machine)",
    )
    parser.add_argument(
        "--phases", default="raw,core,pipeline", help="comma list of raw, core, pipeline"
    )
    args = parser.parse_args()
    guard_memory(args.max_rss_gb)
    phases = args.phases.split(",")
    families = list(FAMILIES) if args.families == "all" else args.families.split(",")
    policy = load_policy()
    options = {
        "families": families,
        "negative_rate": args.negative_rate,
        "seed": args.seed,
        "repeats": args.repeats,
        "max_rss_gb": args.max_rss_gb,
    }

    with tempfile.TemporaryDirectory(prefix="bench-train-store-") as store:
        started = time.perf_counter()
        as_ofs, snapshots = random_snapshots(args.customers, args.snapshots, seed=args.seed)
        folder = derived_dir(Path(store), "training", date(2026, 11, 15))
        lineage = write_training_set(
            snapshots, folder, as_ofs=as_ofs, policy=policy, oldest_input_ts=None
        )
        schema = pl.read_parquet_schema(folder / lineage["parts"][0]["file"])
        features = core.feature_columns(pl.LazyFrame(schema=schema))
        size = sum(path.stat().st_size for path in folder.glob("part-*.parquet"))
        print(
            f"training set: {lineage['n_rows']:,} rows x {len(features)} features,"
            f" {len(families)} families, {len(as_ofs)} parts of {size / MB:,.0f} MB on disk;"
            f" built and written in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        release_memory()

        res: dict[str, dict] = {}
        failed: list[str] = []
        for phase in phases:
            print(f"  {LABELS[phase].strip()} (fresh process):", flush=True)
            result = in_child(phase, folder, as_ofs, options)
            if result is None:
                failed.append(phase)
                continue
            res[phase] = result
            wall, cpu = statistics.median(result["wall"]), statistics.median(result["cpu"])
            extra = (
                f", snapshot_lineage {result['lineage_s']:.1f} s" if "lineage_s" in result else ""
            )
            print(
                f"{LABELS[phase]}: median {wall:7.2f} s wall, {cpu:7.2f} s CPU"
                f"  runs {[round(t, 2) for t in result['wall']]}"
                f"  peak RSS {result['peak'] / MB:,.0f} MB (training set loaded:"
                f" {result['rss_loaded'] / MB:,.0f} MB; read_training_set {result['load_s']:.1f} s{extra})",
                flush=True,
            )
    for phase in ("core", "pipeline"):
        if phase in res:
            ratios = [
                w / f for w, f in zip(res[phase]["wall"], res[phase]["fit_wall"], strict=True)
            ]
            # Information: the target is against raw (the families' own matrices, binned
            # inside each call), printed below.
            print(
                f"overhead: {phase} / its own lightgbm.train on shared-bin subsets (same run) ="
                f" {statistics.median(ratios):.2f}x wall (information: binning outside the calls)"
            )
    if "raw" in res:
        raw_wall, raw_cpu = (statistics.median(res["raw"][k]) for k in ("wall", "cpu"))
        for phase in ("core", "pipeline"):
            if phase in res:
                wall, cpu = (statistics.median(res[phase][k]) for k in ("wall", "cpu"))
                print(
                    f"overhead: {phase} / raw = {wall / raw_wall:.2f}x wall,"
                    f" {cpu / raw_cpu:.2f}x CPU"
                    + (" (target <= 1.2x at full size)" if phase == "pipeline" else "")
                )
    if "pipeline" in res and "parts" in res["pipeline"]:
        parts = dict(res["pipeline"]["parts"])
        total, covered = parts.pop("total"), parts.pop("covered")
        shown = ", ".join(f"{name} {seconds:.1f}" for name, seconds in parts.items())
        print(
            f"pipeline parts (last run, s; parts in threads overlap): {shown}; while any of"
            f" them runs {covered:.1f}, everything else {total - covered:.1f}; total {total:.1f}"
        )
    if "pipeline" in res:
        pipe_s = statistics.median(res["pipeline"]["wall"])
        print(f"all {len(families)} families in {pipe_s / 60:.1f} min (target < 20 min)")
        if "core" in res:
            core_s = statistics.median(res["core"]["wall"])
            print(f"fixed MLflow+plots cost ~{(pipe_s - core_s) / len(families):.2f} s per family")
    peak = max((r["peak"] for r in res.values()), default=0)
    print(
        f"peak RSS of the phases: {peak / MB:,.0f} MB (target < 12 GB at full size);"
        f" this process (data generation): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
        flush=True,
    )
    if failed:
        raise SystemExit(f"bench: phase(s) {failed} failed or were aborted (see above)")


if __name__ == "__main__":
    main()

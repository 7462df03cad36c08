"""Benchmark: point-in-time features for one as-of and a 12-snapshot training set (issue 4).

Times, in the same run and on the same events:
  * polars  - `build_features` (one as-of, everything, in memory) and the 12-snapshot training
              set as notebook 02 builds it: `iter_snapshots` written part by part by
              `write_training_set` (features, labels, parquet and content hashes);
  * polars  - the click-window part alone (aggregate once + windows), the baseline spec;
  * DuckDB  - the same click-window spec in SQL (one as-of, and 12 as-ofs from one daily table);
  * pandas  - the click features of the catalogue (every click column `click_features` gives),
              written plainly in pandas, on the newest `--pandas-events` events; the bench
              checks that pandas and polars give the same values. Each side first runs
              `--warmup` times untimed: a run of a few seconds is otherwise swayed by
              first-run costs (10M events: polars' first two runs took 3.1-3.5 s, the next
              six 2.3-2.5; pandas' first runs are slower too).
Prints medians of `--repeats` runs, ratios and peak RSS (sampled with psutil per phase).

Inputs: with `--bank` and `--store` the generated bank (customers, holdings, products,
consent) and the curated click store written by `interestlab ingest` (or
`bench_ingest.py --keep-store`) are read from disk, as `interestlab features` does; without
them a contract-shaped bank is drawn here with numpy (same seed -> same events).

    .venv/bin/python bench/bench_features.py --customers 20000            # random, small
    nice -n 10 .venv/bin/python bench/bench_features.py --bank bench/out/bank-1000000 \
        --store bench/out/store-1000000 --repeats 3 --pandas-events 10000000   # full size
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from measure import PeakRss, guard_memory

from interestlab.click_store import month_file, scan_clicks, stored_months
from interestlab.config import DEFAULT_AS_OF, DEFAULT_SEED
from interestlab.contract import EVENT_TYPES, FAMILIES, LANGUAGES, REGIONS, SEGMENTS, TABLES, THEMES
from interestlab.features import build_features, monthly_as_ofs
from interestlab.features.catalogue import (
    FAMILY_DAYS_SINCE_TYPES,
    FAMILY_TYPE_WINDOWS,
    GLOBAL_TYPE_WINDOW,
    HISTORY_DAYS_MAX,
    THEME_WINDOWS,
    WINDOWS,
)
from interestlab.features.clicks import click_features, compact_events, compact_tables, day_number
from interestlab.features.snapshots import customer_codes, iter_snapshots, write_training_set
from interestlab.policy import as_of_moment, load_policy
from interestlab.storage import scan_table


def polars_windows(
    events: pl.LazyFrame,
    codes: pl.DataFrame,
    *,
    policy,
    start: datetime,
    end: datetime,
    as_of_day: int,
) -> pl.DataFrame:
    """The click-window spec in polars, keyed by customer id like the SQL and pandas ones.

    `codes` are `customer_codes` (0..n-1 in id order): the ids are gathered back by code, as
    `iter_snapshots` does, not joined."""
    coded = events.join(codes.lazy(), on="customer_id", how="inner").drop("customer_id")
    tables = compact_tables(compact_events(coded, policy=policy, start=start, end=end))
    features = click_features(*tables, as_of_day=as_of_day)
    ids = codes.sort("code").get_column("customer_id").gather(features.get_column("code"))
    return features.select(ids, pl.exclude("code"))


def random_bank(n_customers: int, events_per_customer: int, *, seed: int, as_of: datetime):
    """Contract-shaped literal bank drawn with numpy (stand-in for the synthetic generator)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:07d}" for i in range(n_customers)])
    n_events = n_customers * events_per_customer
    customer_index = rng.integers(0, n_customers, n_events)
    seconds = rng.integers(1, 400 * 86_400, n_events)
    ts = np.datetime64(as_of.replace(tzinfo=None), "us") - seconds.astype("timedelta64[s]")
    event_type = rng.choice(EVENT_TYPES, n_events, p=[0.3, 0.3, 0.15, 0.1, 0.1, 0.05])
    family = pl.Series(rng.choice(FAMILIES, n_events)).set(
        pl.Series(rng.random(n_events) < 0.2), None
    )
    theme = pl.Series(rng.choice(THEMES, n_events)).set(pl.Series(rng.random(n_events) < 0.6), None)
    clicks = pl.DataFrame(
        {
            "event_id": np.arange(n_events, dtype=np.int64),
            "session_id": customer_index.astype(np.int64) * 1000 + seconds // (7 * 86_400),
            "customer_id": ids[customer_index],
            "identified_at": ts,
            "ts": ts,
            "event_type": event_type,
            "theme": theme,
            "product_family": family,
            "channel": rng.choice(["web", "app"], n_events),
        }
    ).with_columns(pl.col("identified_at", "ts").dt.replace_time_zone("UTC"))
    customers = pl.DataFrame(
        {
            "customer_id": ids,
            "birth_year": rng.integers(1940, 2006, n_customers).astype(np.int16),
            "language": rng.choice(LANGUAGES, n_customers),
            "region": rng.choice(REGIONS, n_customers),
            "segment": rng.choice(SEGMENTS, n_customers),
            "customer_since": rng.integers(0, 9000, n_customers).astype("timedelta64[D]")
            + np.datetime64("2000-01-01"),
        }
    ).with_columns(pl.col("customer_since").cast(pl.Date))
    products = pl.DataFrame(
        {
            "product_id": [f"P-{f}" for f in FAMILIES],
            "family": list(FAMILIES),
            "name": list(FAMILIES),
            "provider": ["Bank"] * len(FAMILIES),
            "provider_in_group": [True] * len(FAMILIES),
        }
    )
    n_accounts = 2 * n_customers
    opened = rng.integers(0, 9500, n_accounts).astype("timedelta64[D]") + np.datetime64(
        "2000-01-01"
    )
    holdings = pl.DataFrame(
        {
            "customer_id": ids[rng.integers(0, n_customers, n_accounts)],
            "account_id": [f"A{i}" for i in range(n_accounts)],
            "product_id": rng.choice(products["product_id"].to_numpy(), n_accounts),
            "opened_on": opened,
            "closed_on": opened + 400,
        }
    ).with_columns(
        pl.col("opened_on").cast(pl.Date),
        pl.when(pl.Series(rng.random(n_accounts) < 0.2)).then(pl.col("closed_on").cast(pl.Date)),
    )
    withdrawn = rng.random(n_customers) < 0.1
    consent = pl.DataFrame(
        {
            "customer_id": np.concatenate([ids, ids[withdrawn]]),
            "purpose": "web_data_commercial",
            "granted": np.concatenate(
                [np.ones(n_customers, bool), np.zeros(withdrawn.sum(), bool)]
            ),
            "recorded_at": [datetime(2024, 1, 1, tzinfo=UTC)] * n_customers
            + [as_of - timedelta(days=100)] * int(withdrawn.sum()),
            "source": "internet_banking",
        }
    )
    tables = {
        "click_events": clicks,
        "customers": customers,
        "products": products,
        "holdings": holdings,
        "consent_events": consent,
    }
    return {
        name: df.select(pl.col(c.name).cast(c.dtype) for c in TABLES[name].columns)
        for name, df in tables.items()
    }


def measure(
    name: str, func: Callable[[], object], repeats: int, results: dict, *, warmup: int = 0
) -> None:
    for _ in range(warmup):
        start = time.perf_counter()
        func()
        print(f"    warm-up (not counted): {time.perf_counter() - start:.2f} s", flush=True)
    times, peaks = [], []
    for _ in range(repeats):
        with PeakRss() as rss:
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
        peaks.append(rss.peak)
        print(
            f"    run {len(times)}: {times[-1]:.2f} s, peak RSS {rss.peak / 2**20:,.0f} MB",
            flush=True,
        )
    results[name] = (statistics.median(times), max(peaks))
    print(
        f"  {name:<38} median {results[name][0]:8.3f} s   peak RSS {max(peaks) / 2**20:8.0f} MB",
        flush=True,
    )


# The DuckDB spec: a compact daily table and a session-start table read once from parquet,
# then each as-of's windows materialised as temp tables (every aggregate is computed and
# stored, as polars does; a bare count(*) would let DuckDB prune the unused aggregates).
DUCKDB_DAILY = """
CREATE OR REPLACE TEMP TABLE daily AS
SELECT customer_id, CAST(timezone('{tz}', ts) AS DATE) AS day, event_type, product_family, theme,
       count(*) AS n
FROM read_parquet({files}, hive_partitioning = false)
WHERE ts >= TIMESTAMPTZ '{start}' AND ts < TIMESTAMPTZ '{end}'
GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE sessions AS
SELECT customer_id, day, count(*) AS n FROM (
  SELECT customer_id, session_id, min(CAST(timezone('{tz}', ts) AS DATE)) AS day
  FROM read_parquet({files}, hive_partitioning = false)
  WHERE ts >= TIMESTAMPTZ '{start}' AND ts < TIMESTAMPTZ '{end}'
  GROUP BY ALL
) GROUP BY ALL;
"""
DUCKDB_ROWS = """
WITH rows AS (
  SELECT *, (DATE '{day}' - day) AS age FROM {table}
  WHERE day < DATE '{day}' AND day >= DATE '{day}' - 365
)"""
DUCKDB_WINDOWS = [
    "CREATE OR REPLACE TEMP TABLE fam AS"
    + DUCKDB_ROWS
    + """
  SELECT customer_id, product_family,
    sum(n) FILTER (age <= 7) e7, sum(n) FILTER (age <= 30) e30, sum(n) FILTER (age <= 90) e90,
    sum(n) FILTER (age <= 365) e365,
    sum(n) FILTER (event_type = 'info_consult' AND age <= 90) ic90,
    sum(n) FILTER (event_type = 'simulation' AND age <= 90) sim90,
    sum(n) FILTER (event_type = 'procedure_abandoned') ab365,
    sum(n) FILTER (event_type = 'procedure_completed') co365,
    min(age) FILTER (event_type = 'simulation') ds_sim,
    min(age) FILTER (event_type = 'procedure_abandoned') ds_ab
  FROM rows WHERE product_family IS NOT NULL GROUP BY ALL""",
    "CREATE OR REPLACE TEMP TABLE th AS"
    + DUCKDB_ROWS
    + """
  SELECT customer_id, theme, sum(n) FILTER (age <= 30) v30, sum(n) FILTER (age <= 90) v90,
         min(age) ds
  FROM rows WHERE event_type = 'theme_visit' AND theme IS NOT NULL GROUP BY ALL""",
    "CREATE OR REPLACE TEMP TABLE overall AS"
    + DUCKDB_ROWS
    + """
  SELECT customer_id, sum(n) FILTER (age <= 7) e7, sum(n) FILTER (age <= 30) e30,
    sum(n) FILTER (age <= 90) e90, sum(n) e365, count(DISTINCT age) FILTER (age <= 30) d30,
    count(DISTINCT age) FILTER (age <= 90) d90, min(age) ds
  FROM rows GROUP BY ALL""",
    "CREATE OR REPLACE TEMP TABLE sess AS"
    + DUCKDB_ROWS
    + """
  SELECT customer_id, sum(n) FILTER (age <= 30) s30, sum(n) FILTER (age <= 90) s90,
    sum(n) s365
  FROM rows GROUP BY ALL""",
]


def duckdb_windows(con, day: date) -> None:
    for statement in DUCKDB_WINDOWS:
        table = "sessions" if "TABLE sess " in statement else "daily"
        con.execute(statement.format(day=day, table=table))


def pandas_click_features(events, as_of_day: date, tz: str):
    """The click part of the feature catalogue written plainly in pandas (one as-of): the
    same columns as `clicks.click_features`, keyed by `customer_id`, for the customers with
    an event in the 365 days before `as_of_day`. `events` are the retention-filtered events
    before the as-of moment."""
    import pandas as pd

    df = events[["customer_id", "session_id", "ts", "event_type", "product_family", "theme"]]
    df = df.assign(day=df["ts"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize())
    df["age"] = (np.datetime64(as_of_day) - df["day"]).dt.days
    # A session is dated by its first usable event (before the 365-day clip).
    sessions = df.groupby(["customer_id", "session_id"], observed=True)["age"].max()
    df = df[(df["age"] >= 1) & (df["age"] <= HISTORY_DAYS_MAX)]

    def trend(frame, recent: str, longer: str):
        return (frame[recent] / frame[longer]).where(frame[longer] > 0)

    def wide(grouped, key: str, levels, prefix: str):
        names = list(grouped.columns)
        grouped = grouped.unstack(key)
        grouped.columns = [f"{prefix}_{level}__{name}" for name, level in grouped.columns]
        return grouped.reindex(
            columns=[f"{prefix}_{level}__{name}" for level in levels for name in names]
        )

    # Per customer and family.
    fam = df[df["product_family"].notna()]
    measures = {f"events_{w}d": fam["age"] <= w for w in WINDOWS}
    for event_type, w in FAMILY_TYPE_WINDOWS:
        measures[f"{event_type}_{w}d"] = (fam["event_type"] == event_type) & (fam["age"] <= w)
    fam = fam.assign(**{name: flag.astype("int32") for name, flag in measures.items()})
    for event_type in FAMILY_DAYS_SINCE_TYPES:
        fam[f"days_since_{event_type}"] = fam["age"].where(fam["event_type"] == event_type)
    per_family = fam.groupby(["customer_id", "product_family"], observed=True).agg(
        {
            **dict.fromkeys(measures, "sum"),
            **dict.fromkeys([f"days_since_{t}" for t in FAMILY_DAYS_SINCE_TYPES], "min"),
        }
    )
    per_family["trend_30_90"] = trend(per_family, "events_30d", "events_90d")

    # Per customer and theme (theme visits only).
    visits = df[(df["event_type"] == "theme_visit") & df["theme"].notna()]
    visits = visits.assign(
        **{f"visits_{w}d": (visits["age"] <= w).astype("int32") for w in THEME_WINDOWS}
    )
    per_theme = (
        visits.groupby(["customer_id", "theme"], observed=True)
        .agg({**{f"visits_{w}d": "sum" for w in THEME_WINDOWS}, "age": "min"})
        .rename(columns={"age": "days_since_visit"})
    )

    # Per customer.
    overall = {f"all__events_{w}d": df["age"] <= w for w in WINDOWS}
    for event_type in EVENT_TYPES:
        overall[f"all__{event_type}_{GLOBAL_TYPE_WINDOW}d"] = (df["event_type"] == event_type) & (
            df["age"] <= GLOBAL_TYPE_WINDOW
        )
    flags = df[["customer_id", "age"]].assign(
        **{name: flag.astype("int32") for name, flag in overall.items()}
    )
    per_customer = (
        flags.groupby("customer_id")
        .agg({**dict.fromkeys(overall, "sum"), "age": "min"})
        .rename(columns={"age": "all__days_since_event"})
    )
    per_customer["all__trend_30_90"] = trend(per_customer, "all__events_30d", "all__events_90d")
    session_age = sessions.reset_index()
    for w in (30, 90, 365):
        counted = session_age[session_age["age"] <= w].groupby("customer_id").size()
        per_customer[f"all__sessions_{w}d"] = counted.reindex(per_customer.index, fill_value=0)
    for w in (30, 90):
        active = df[df["age"] <= w].groupby("customer_id")["day"].nunique()
        per_customer[f"all__active_days_{w}d"] = active.reindex(per_customer.index, fill_value=0)
    return pd.concat(
        [
            per_customer,
            wide(per_family, "product_family", FAMILIES, "fam"),
            wide(per_theme, "theme", THEMES, "theme"),
        ],
        axis=1,
    ).sort_index()


def same_features(pandas_frame, polars_frame: pl.DataFrame) -> int:
    """Cells compared after checking that pandas and polars computed the same features
    (same customers, same columns, values equal up to float32 rounding; a missing count is
    0 and a missing recency or trend is null on both sides). Raises AssertionError if not."""
    theirs = pl.from_pandas(pandas_frame.rename_axis("customer_id").reset_index())
    ours = polars_frame.sort("customer_id")
    assert theirs["customer_id"].to_list() == ours["customer_id"].to_list(), (
        f"pandas has {theirs.height:,} customers, polars {ours.height:,}"
    )
    names = [c for c in ours.columns if c != "customer_id"]
    missing = sorted(set(names) ^ (set(theirs.columns) - {"customer_id"}))
    assert not missing, f"columns only on one side: {missing[:10]}"
    for name in names:
        left, right = ours[name].cast(pl.Float64), theirs[name].cast(pl.Float64).fill_nan(None)
        if "days_since" not in name and "trend" not in name:
            left, right = left.fill_null(0), right.fill_null(0)
        same = (left - right).abs().fill_null(0) <= 1e-5 * right.abs().fill_null(1).clip(1)
        same &= left.is_null() == right.is_null()
        assert same.all(), f"{name}: {(~same).sum()} of {ours.height:,} customers differ"
    return ours.height * len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events-per-customer", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument(
        "--repeats-many", type=int, help="repeats of the x12 phases (default: --repeats)"
    )
    parser.add_argument("--pandas-events", type=int, default=2_000_000)
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs of each side of the pandas comparison before its --repeats",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--max-rss-gb", type=float, default=18.0, help="abort above this RSS (shared machine)"
    )
    parser.add_argument("--bank", type=Path, help="generated bank folder (with --store)")
    parser.add_argument("--store", type=Path, help="curated click store (with --bank)")
    parser.add_argument(
        "--skip-snapshots", action="store_true", help="only the one-as-of and pandas phases"
    )
    parser.add_argument(
        "--only-pandas", action="store_true", help="only the pandas / polars subset comparison"
    )
    parser.add_argument(
        "--skip-polars-snapshots",
        action="store_true",
        help="skip the polars training set x12 (DuckDB x12 still runs)",
    )
    args = parser.parse_args()
    guard_memory(args.max_rss_gb)
    if (args.bank is None) != (args.store is None):
        parser.error("--bank and --store go together")
    os.environ.setdefault("INTERESTLAB_QUIET", "1")

    policy = load_policy()
    as_of = as_of_moment(DEFAULT_AS_OF, policy)
    retention_start = policy.retention_cutoff(as_of)
    as_ofs = monthly_as_ofs(as_of, n_snapshots=args.snapshots, horizon_days=30, policy=policy)
    tables = ("customers", "holdings", "products", "consent_events")
    bank: dict[str, pl.DataFrame] = {}
    if args.store:
        month_files = [month_file(args.store, m) for m in stored_months(args.store)]
        n_customers = scan_table(args.bank, "customers").select(pl.len()).collect().item()
    else:
        bank = random_bank(args.customers, args.events_per_customer, seed=args.seed, as_of=as_of)
        n_customers = args.customers

    with tempfile.TemporaryDirectory(prefix="bench_features_") as tmp:
        if args.store:
            clicks = scan_clicks(args.store)
            lazy = {name: scan_table(args.bank, name) for name in tables}
        else:
            month_files = [Path(tmp) / "clicks.parquet"]
            bank["click_events"].write_parquet(month_files[0], row_group_size=1_000_000)
            clicks = pl.scan_parquet(month_files[0])
            lazy = {name: bank[name].lazy() for name in tables}
        files = "[" + ", ".join(f"'{f}'" for f in month_files) + "]"
        n_events = clicks.select(pl.len()).collect().item()
        in_window = clicks.filter((pl.col("ts") >= retention_start) & (pl.col("ts") < as_of))
        n_window = in_window.select(pl.len()).collect().item()
        source = f"store {args.store}" if args.store else "random numpy bank"
        print(
            f"bench_features: {n_customers:,} customers, {n_events:,} events"
            f" ({n_window:,} in the as-of's 365-day window), {source}, "
            f"polars {pl.__version__}, {os.cpu_count()} cores, {args.repeats} repeats",
            flush=True,
        )
        print(
            "  'polars' below is interestlab's implementation: polars reads the store into"
            " compact integer tables, the click windows are added into per-customer numpy"
            " cells (features.clicks.ClickWindows)",
            flush=True,
        )
        results: dict[str, tuple[float, int]] = {}
        as_of_day = day_number(as_of.astimezone(policy.zone).date())

        codes = customer_codes([lazy["customers"].select("customer_id").collect()])

        def polars_clicks_one() -> pl.DataFrame:
            return polars_windows(
                clicks,
                codes,
                policy=policy,
                start=retention_start,
                end=as_of,
                as_of_day=as_of_day,
            )

        measure_one = (lambda *a: None) if args.only_pandas else measure
        print("one as-of")
        measure_one(
            "polars build_features (all features)",
            lambda: build_features(
                clicks, **lazy, as_of=as_of, policy=policy, retention_start=retention_start
            ),
            args.repeats,
            results,
        )
        measure_one("polars click windows", polars_clicks_one, args.repeats, results)

        print(f"{len(as_ofs)} snapshots")
        measure_many = (lambda *a: None) if args.skip_snapshots or args.only_pandas else measure

        def polars_many() -> dict:
            snapshots = iter_snapshots(
                clicks,
                **lazy,
                as_ofs=as_ofs,
                policy=policy,
                retention_start=retention_start,
                horizon_days=30,
            )
            return write_training_set(
                snapshots,
                Path(tmp) / "training",
                as_ofs=as_ofs,
                policy=policy,
                oldest_input_ts=None,
            )

        (measure_many if not args.skip_polars_snapshots else (lambda *a: None))(
            f"polars training set x{len(as_ofs)} (written)",
            polars_many,
            args.repeats_many or args.repeats,
            results,
        )

        # DuckDB after the polars phases, in its own connection closed afterwards: the
        # memory DuckDB keeps (temp tables, buffer pool) would count in later phases.
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        day = as_of.astimezone(policy.zone).date()

        def duckdb_one() -> None:
            con.execute(
                DUCKDB_DAILY.format(
                    tz=policy.timezone, files=files, start=retention_start, end=as_of
                )
            )
            duckdb_windows(con, day)

        print("duckdb")
        measure_one("duckdb click windows", duckdb_one, args.repeats, results)

        def duckdb_many() -> None:
            con.execute(
                DUCKDB_DAILY.format(
                    tz=policy.timezone, files=files, start=retention_start, end=max(as_ofs)
                )
            )
            for t in as_ofs:
                duckdb_windows(con, t.astimezone(policy.zone).date())

        measure_many(
            f"duckdb click windows x{len(as_ofs)}",
            duckdb_many,
            args.repeats_many or args.repeats,
            results,
        )

        con.close()

        # The newest events in the as-of's window (every window of the spec gets rows).
        if args.store:
            parts, rows = [], 0
            for month in reversed(stored_months(args.store)):
                parts.append(
                    scan_clicks(args.store, [month])
                    .filter((pl.col("ts") >= retention_start) & (pl.col("ts") < as_of))
                    .collect()
                )
                rows += parts[-1].height
                if rows >= args.pandas_events:
                    break
            subset = pl.concat(parts).head(args.pandas_events)
            del parts
        else:
            subset = bank["click_events"].head(args.pandas_events)
        n_pandas = subset.height
        print(f"pandas comparison on {n_pandas:,} events (the same click features, both sides)")
        events_pd = subset.to_pandas()
        sub_lazy = subset.lazy()

        def polars_subset() -> pl.DataFrame:
            # Codes for the subset's own customers (part of the timed work), as pandas keys
            # its group-bys on the customers it meets: `customer_codes` of one universe.
            ids = sub_lazy.select(pl.col("customer_id").unique().sort()).collect()
            return polars_windows(
                sub_lazy,
                ids.with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("code")),
                policy=policy,
                start=retention_start,
                end=as_of,
                as_of_day=as_of_day,
            )

        def pandas_subset():
            return pandas_click_features(
                events_pd[events_pd["ts"] >= retention_start], day, policy.timezone
            )

        measure(
            "polars click windows (subset)",
            polars_subset,
            args.repeats,
            results,
            warmup=args.warmup,
        )
        measure(
            "pandas click windows (subset)",
            pandas_subset,
            args.repeats,
            results,
            warmup=args.warmup,
        )
        cells = same_features(pandas_subset(), polars_subset())
        print(f"  pandas and polars agree on all {cells:,} feature values", flush=True)

    n = len(as_ofs)
    pandas_ratio = (
        results["pandas click windows (subset)"][0] / results["polars click windows (subset)"][0]
    )
    print("ratios")
    print(f"  pandas/polars click windows (subset)   : {pandas_ratio:.1f}  (target >= 10)")
    if "duckdb click windows" in results:
        one = results["polars build_features (all features)"][0]
        windows = results["polars click windows"][0]
        duck = results["duckdb click windows"][0]
        print(f"  polars/duckdb click windows, one as-of : {windows / duck:.2f}  (target <= 1)")
        print(f"  build_features (all) / duckdb windows  : {one / duck:.2f}  (information)")
    if f"polars training set x{n} (written)" in results:
        many = results[f"polars training set x{n} (written)"][0]
        duck_many = results[f"duckdb click windows x{n}"][0]
        label_many = f"{n} snapshots written / one as-of (polars)"
        label_duck = f"polars x{n} / duckdb windows x{n}"
        print(f"  {label_many:<39}: {many / one:.2f}  (target < 3)")
        print(f"  {label_duck:<39}: {many / duck_many:.2f}  (information)")
    if f"duckdb click windows x{n}" in results:
        label = f"duckdb windows x{n} / one as-of"
        print(
            f"  {label:<39}: {results[f'duckdb click windows x{n}'][0] / duck:.2f}  (information)"
        )
    polars_peak = max(p for name, (_, p) in results.items() if name.startswith("polars"))
    print(
        f"  peak RSS, polars phases                 : {polars_peak / 2**20:.0f} MB"
        "  (target < 8192 at 1M/100M)"
    )
    print(
        f"  peak RSS overall (incl. duckdb, pandas) : "
        f"{max(p for _, p in results.values()) / 2**20:.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()

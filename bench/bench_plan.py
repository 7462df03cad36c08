"""Benchmark: a contact plan for N customers x all families vs a naive greedy pandas planner.

Measures, in one process and on the same random bank:

* `interestlab`: scoring every customer with each family's LightGBM model (the real
  `LoadedModel` wrapper around boosters trained here on random data), `plan_contacts`
  (candidates, eligibility, cap, optimisation with its bound) and TreeSHAP explanations of the
  planned contacts only;
* baseline: a naive greedy pandas planner (same scores, same rules, row loop over candidates
  sorted by value, first allowed channel with capacity left), without explanations;
* for scale: TreeSHAP on *every* scored row of one family, the cost the planner avoids.

Figures are medians over `--repeats` runs; peak RSS is sampled with psutil during each phase
(above the process's RSS before the phase). Run small sizes on a shared machine:

    .venv/bin/python bench/bench_plan.py --customers 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

os.environ.setdefault("INTERESTLAB_QUIET", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
import psutil  # noqa: E402

from interestlab.contract import FAMILIES, TABLES  # noqa: E402
from interestlab.features.catalogue import FEATURE_NAMES  # noqa: E402
from interestlab.modeling.scoring import LoadedModel  # noqa: E402
from interestlab.planning.candidates import score_customers  # noqa: E402
from interestlab.planning.explain import model_explainer  # noqa: E402
from interestlab.planning.params import load_plan_params  # noqa: E402
from interestlab.planning.planner import plan_contacts  # noqa: E402
from interestlab.policy import Policy, as_of_moment, load_policy  # noqa: E402

AS_OF_DAY = date(2026, 11, 15)
N_FEATURES = 60
N_TREES = 100
N_LEAVES = 15


class PeakRss:
    """Peak resident memory above the starting RSS while the block runs (sampled every 5 ms)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 2**20


def random_bank(n_customers: int, *, seed: int, policy: Policy) -> dict[str, Any]:
    """Contract-typed random tables, features and models for `n_customers`."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:07d}" for i in range(n_customers)])
    as_of = as_of_moment(AS_OF_DAY, policy)
    schema = {name: TABLES[name].schema for name in TABLES}
    customers = pl.DataFrame(
        {
            "customer_id": ids,
            "birth_year": rng.integers(1940, 2005, n_customers).astype(np.int16),
            "language": rng.choice(["nl", "fr", "de", "en"], n_customers),
            "region": rng.choice(["flanders", "wallonia", "brussels"], n_customers),
            "segment": rng.choice(["mass", "affluent", "young"], n_customers),
            "customer_since": [date(2010, 1, 1)] * n_customers,
        },
        schema=schema["customers"],
    )
    product_rows = []
    for family in FAMILIES:
        for k in range(2):
            product_rows.append((f"P-{family}-{k}", family, f"{family} {k}", "Bank", True))
        product_rows.append((f"P-{family}-X", family, f"{family} partner", "Partner Co", False))
    products = pl.DataFrame(product_rows, schema=schema["products"], orient="row")
    n_hold = n_customers * 2
    holdings = pl.DataFrame(
        {
            "customer_id": rng.choice(ids, n_hold),
            "account_id": [f"A{i}" for i in range(n_hold)],
            "product_id": rng.choice(products["product_id"].to_numpy(), n_hold),
            "opened_on": [date(2018, 1, 1)] * n_hold,
            "closed_on": [None] * n_hold,
        },
        schema=schema["holdings"],
    )
    themes = list(policy.theme_rules)
    n_links = n_customers // 5
    theme_links = pl.DataFrame(
        {
            "customer_id": rng.choice(ids, n_links),
            "account_id": [f"A{i}" for i in range(n_links)],
            "theme": rng.choice(themes, n_links),
            "linked_at": [datetime(2026, 1, 1, tzinfo=UTC)] * n_links,
            "unlinked_at": [None] * n_links,
        },
        schema=schema["theme_links"],
    ).unique(subset=["customer_id", "account_id", "theme", "linked_at"])
    web = ids[rng.random(n_customers) < 0.8]
    email = ids[rng.random(n_customers) < 0.4]
    consent_events = pl.DataFrame(
        {
            "customer_id": np.concatenate([web, email]),
            "purpose": ["web_data_commercial"] * len(web) + ["email_commercial"] * len(email),
            "granted": [True] * (len(web) + len(email)),
            "recorded_at": [datetime(2025, 6, 1, tzinfo=UTC)] * (len(web) + len(email)),
            "source": ["internet_banking"] * (len(web) + len(email)),
        },
        schema=schema["consent_events"],
    )
    n_comms = n_customers // 4
    offsets = rng.integers(0, 45 * 24 * 3600, n_comms)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    communications = pl.DataFrame(
        {
            "comm_id": [f"M{i}" for i in range(n_comms)],
            "customer_id": rng.choice(ids, n_comms),
            "sent_at": [start + timedelta(seconds=int(s)) for s in offsets],
            "channel": rng.choice(["letter", "email", "banner", "phone"], n_comms),
            "category": rng.choice(["commercial", "subscribed", "operational"], n_comms),
            "product_id": [None] * n_comms,
        },
        schema=schema["communications"],
    )
    logged = ids[rng.random(n_customers) < 0.5]
    activity = pl.DataFrame(
        {
            "customer_id": logged,
            "last_login_at": [
                as_of - timedelta(days=int(d)) for d in rng.integers(1, 90, len(logged))
            ],
        },
        schema={"customer_id": pl.String(), "last_login_at": pl.Datetime("us", "UTC")},
    )
    names = list(FEATURE_NAMES[:N_FEATURES])
    consented = np.sort(web)
    values = rng.poisson(1.5, size=(len(consented), N_FEATURES)).astype(np.float32)
    features = pl.DataFrame(values, schema=names).insert_column(
        0, pl.Series("customer_id", consented)
    )
    return {
        "customers": customers,
        "products": products,
        "holdings": holdings,
        "theme_links": theme_links,
        "consent_events": consent_events,
        "communications": communications,
        "activity": activity,
        "features": features,
        "feature_names": names,
        "as_of": as_of,
    }


def random_models(feature_names: list[str], *, seed: int) -> dict[str, LoadedModel]:
    """One small LightGBM booster per family, trained on random data (deterministic)."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(1.5, size=(4000, len(feature_names))).astype(np.float32)
    models = {}
    for i, family in enumerate(FAMILIES):
        signal = x[:, i % len(feature_names)] + 0.5 * x[:, (3 * i + 1) % len(feature_names)]
        y = (signal + rng.normal(0, 1.5, len(x)) > 4).astype(int)
        booster = lgb.train(
            {
                "objective": "binary",
                "num_leaves": N_LEAVES,
                "learning_rate": 0.1,
                "seed": seed,
                "deterministic": True,
                "force_row_wise": True,
                "num_threads": 2,
                "verbose": -1,
            },
            lgb.Dataset(x, y, feature_name=feature_names),
            num_boost_round=N_TREES,
        )
        models[family] = LoadedModel(
            family=family,
            name=f"interest-{family}",
            version="1",
            alias="champion",
            feature_names=list(feature_names),
            booster=booster,
        )
    return models


def interestlab_plan(bank: dict[str, Any], models: dict, policy: Policy, params) -> dict:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    scores = score_customers(models, bank["features"])
    timings["scoring_s"] = time.perf_counter() - t0
    explain_inner = model_explainer(models, bank["features"], max_reasons=params.max_reasons)
    explain_time = [0.0]

    def explain(planned: pl.DataFrame) -> pl.DataFrame:
        t = time.perf_counter()
        out = explain_inner(planned)
        explain_time[0] += time.perf_counter() - t
        return out

    t1 = time.perf_counter()
    result = plan_contacts(
        scores,
        customers=bank["customers"],
        products=bank["products"],
        holdings=bank["holdings"],
        theme_links=bank["theme_links"],
        consent_events=bank["consent_events"],
        communications=bank["communications"],
        activity=bank["activity"],
        as_of=bank["as_of"],
        policy=policy,
        params=params,
        explain=explain,
    )
    timings["explain_planned_s"] = explain_time[0]
    timings["optimise_and_rules_s"] = time.perf_counter() - t1 - explain_time[0]
    timings["total_s"] = time.perf_counter() - t0
    return {
        "timings": timings,
        "planned": result.plan.height,
        "value": result.optimality["value"],
        "upper_bound": result.optimality["upper_bound"],
        "gap": result.optimality["gap"],
        "bound_method": result.optimality["bound_method"],
        "scores": scores,
    }


def greedy_pandas_plan(bank: dict[str, Any], scores: pl.DataFrame, policy: Policy, params) -> dict:
    """The naive baseline: pandas merges and a Python loop over candidates sorted by value."""
    t0 = time.perf_counter()
    as_of = bank["as_of"]
    s = scores.to_pandas()
    products = bank["products"].to_pandas()
    products = products[
        products["provider_in_group"] & products["provider"].isin(policy.group_providers)
    ]
    candidates = s.merge(products[["product_id", "family"]], on="family")
    held = bank["holdings"].to_pandas()[["customer_id", "product_id"]].assign(held=True)
    candidates = candidates.merge(
        held.drop_duplicates(), on=["customer_id", "product_id"], how="left"
    )
    candidates = candidates[candidates["held"].isna()]
    consent = bank["consent_events"].to_pandas()
    consent = consent[consent["recorded_at"] <= pd.Timestamp(as_of)]
    latest = consent.sort_values("recorded_at").groupby(["customer_id", "purpose"]).tail(1)
    web = set(
        latest[(latest["purpose"] == policy.web_data_purpose) & latest["granted"]]["customer_id"]
    )
    email = set(
        latest[(latest["purpose"] == policy.email_purpose) & latest["granted"]]["customer_id"]
    )
    comms = bank["communications"].to_pandas()
    local = comms["sent_at"].dt.tz_convert(policy.timezone)
    month = as_of.astimezone(policy.zone).strftime("%Y-%m")
    counted = comms[
        comms["channel"].isin(policy.capped_channels)
        & comms["category"].isin(policy.counted_categories)
        & (local.dt.strftime("%Y-%m") == month)
    ]
    sent = counted.groupby("customer_id").size().to_dict()
    act = bank["activity"].to_pandas()
    recent = set(
        act[act["last_login_at"] >= pd.Timestamp(as_of - timedelta(days=params.recent_login_days))][
            "customer_id"
        ]
    )
    candidates["value"] = candidates["score"] * candidates["family"].map(params.product_values)
    candidates = candidates.sort_values(["value", "customer_id"], ascending=[False, True])
    remaining = dict(params.channel_capacities)
    by_cost = sorted(params.channels, key=lambda c: params.channel_costs[c])
    done: set[str] = set()
    total = 0.0
    for row in candidates.itertuples(index=False):
        cid = row.customer_id
        if cid in done or cid not in web or sent.get(cid, 0) >= policy.monthly_commercial_cap:
            continue
        for channel in by_cost:
            if remaining[channel] <= 0:
                continue
            if channel in policy.explicit_consent_channels and cid not in email:
                continue
            if channel in policy.identification_required_channels and cid not in recent:
                continue
            net = row.value - params.channel_costs[channel]
            if net <= 0:
                break
            remaining[channel] -= 1
            done.add(cid)
            total += net
            break
    return {"timings": {"total_s": time.perf_counter() - t0}, "planned": len(done), "value": total}


def measure(fn: Callable[[], dict], repeats: int) -> tuple[dict, list[float], float]:
    runs, peaks = [], []
    for _ in range(repeats):
        with PeakRss() as rss:
            out = fn()
        runs.append(out)
        peaks.append(rss.mb)
        print(f"    run {len(runs)}: {out['timings']['total_s']:.2f} s", flush=True)
    totals = [r["timings"]["total_s"] for r in runs]
    return runs[-1], totals, statistics.median(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--customers", type=int, default=20_000, help="customers in the random bank"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per method (median reported)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    policy = load_policy()
    params = load_plan_params()
    # Capacities scaled to the bank so channels are contested at every size.
    scale = args.customers / 1_000_000
    params = replace(
        params,
        channel_capacities={
            c: max(1, int(v * scale)) for c, v in params.channel_capacities.items()
        },
    )
    bank = random_bank(args.customers, seed=args.seed, policy=policy)
    models = random_models(bank["feature_names"], seed=args.seed)
    print(
        f"bank: {args.customers:,} customers ({bank['features'].height:,} consented) x"
        f" {len(FAMILIES)} families; models: {N_TREES} trees x {N_LEAVES} leaves x"
        f" {N_FEATURES} features; repeats {args.repeats}; cores {os.cpu_count()}"
    )

    ours, our_totals, our_rss = measure(
        lambda: interestlab_plan(bank, models, policy, params), args.repeats
    )
    scores = ours.pop("scores")
    base, base_totals, base_rss = measure(
        lambda: greedy_pandas_plan(bank, scores, policy, params), args.repeats
    )
    family = FAMILIES[0]
    matrix = bank["features"].select(models[family].feature_names)
    t = time.perf_counter()
    models[family].contributions(matrix)
    explain_all_one_family = time.perf_counter() - t

    timings = ours["timings"]
    print(f"\n{'method':<34}{'median s':>10}{'peak MB':>10}{'planned':>10}{'value':>14}")
    print(
        f"{'interestlab (score+plan+explain)':<34}{statistics.median(our_totals):>10.2f}"
        f"{our_rss:>10.0f}{ours['planned']:>10,}{ours['value']:>14,.0f}"
    )
    print(
        f"{'baseline greedy pandas (plan only)':<34}{statistics.median(base_totals):>10.2f}"
        f"{base_rss:>10.0f}{base['planned']:>10,}{base['value']:>14,.0f}"
    )
    print(
        f"\ninterestlab breakdown (last run): scoring {timings['scoring_s']:.2f} s, rules and"
        f" optimisation {timings['optimise_and_rules_s']:.2f} s, TreeSHAP of"
        f" {ours['planned']:,} planned contacts {timings['explain_planned_s']:.2f} s"
    )
    print(
        f"optimality: value {ours['value']:,.0f}, upper bound {ours['upper_bound']:,.0f}"
        f" ({ours['bound_method']}), gap {ours['gap']:.5%};"
        f" baseline value / bound = {base['value'] / ours['upper_bound']:.4f}"
        if ours["upper_bound"]
        else "optimality: nothing to plan"
    )
    print(
        f"TreeSHAP of every scored row of one family ({family}, {matrix.height:,} rows):"
        f" {explain_all_one_family:.2f} s -> x{len(FAMILIES)} families"
        f" ~{explain_all_one_family * len(FAMILIES):.1f} s avoided by explaining only the plan"
    )


if __name__ == "__main__":
    main()

"""The thin edges of planning: read the bank and store, load models, gate, write atomically.

`build_plan` scores every consented customer with each family's registered model, plans with
the pure `plan_contacts`, explains only the planned contacts (TreeSHAP is expensive), validates
the plan with the `contact_plan` GX suite (a failure blocks it: nothing is written) and writes
plan, suppression log, processor extracts and summary into `<output>/plan/` in one swap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from interestlab.click_store import scan_clicks
from interestlab.contract import FAMILIES
from interestlab.planning.candidates import CANDIDATE_ALIAS, CHAMPION, score_customers
from interestlab.planning.cap import plan_window
from interestlab.planning.checks import SUITE_NAME, plan_checks
from interestlab.planning.compliance import cap_compliance
from interestlab.planning.eligibility import login_activity
from interestlab.planning.explain import model_explainer
from interestlab.planning.outputs import PLAN_FILE, write_plan_outputs
from interestlab.planning.params import PlanParams, load_plan_params
from interestlab.planning.planner import PlanResult, plan_contacts
from interestlab.policy import Policy, as_of_moment, load_policy
from interestlab.progress import fmt_count, step
from interestlab.stages import parse_as_of, resolve_paths
from interestlab.storage import atomic_dir, scan_table, write_json, write_parquet

INPUT_TABLES = (
    "customers",
    "products",
    "holdings",
    "theme_links",
    "consent_events",
    "communications",
)
CAP_REPORT_DIR = "cap_report"


def load_inputs(bank_dir: Path) -> dict[str, pl.DataFrame]:
    """The contract tables the planner reads, collected once (schema-checked by `scan_table`)."""
    return {name: scan_table(bank_dir, name).collect(engine="in-memory") for name in INPUT_TABLES}


def build_plan(
    as_of: date | str,
    *,
    bank_dir: str | Path | None = None,
    store_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    alias: str = CHAMPION,
    policy: Policy | None = None,
    params: PlanParams | None = None,
    models: dict[str, Any] | None = None,
    features: pl.DataFrame | None = None,
    run_gate: bool = True,
) -> dict[str, Any]:
    """Build, gate and write the contact plan for the bank-local month of `as_of`.

    Parameters
    ----------
    as_of : plan date (YYYY-MM-DD); the as-of moment is its local midnight.
    bank_dir, store_dir, output_dir : default to the workspace's bank, store and
        `runs/<as_of>-manual`.
    alias : `champion`, or `candidate` for a dry run (recorded in plan and summary).
    policy, params : default `conf/policy.yaml` and `conf/plan.yaml`.
    models : family -> loaded model (default `interestlab.modeling.load_models(alias=...)`).
    features : the feature snapshot (default `interestlab.features.build_features`).
    run_gate : validate with the `contact_plan` GX suite before writing (never skip in runs).

    Returns
    -------
    dict : the plan summary plus `outputs` (file paths) and `gate` (GX summary).

    Raises
    ------
    GateError : the plan fails its suite; nothing is written.
    """
    as_of = parse_as_of(as_of)
    policy = policy or load_policy()
    params = params or load_plan_params()
    if alias not in (CHAMPION, CANDIDATE_ALIAS):
        msg = f"`alias` must be {CHAMPION!r} or {CANDIDATE_ALIAS!r} (dry run), got {alias!r}"
        raise ValueError(msg)
    if alias == CANDIDATE_ALIAS:
        params = replace(params, allow_candidate=True)
    bank, store, output = resolve_paths(
        as_of, bank_dir=bank_dir, store_dir=store_dir, output_dir=output_dir
    )
    run_at = as_of_moment(as_of, policy)
    tables = load_inputs(bank)
    clicks = scan_clicks(store)
    if features is None:
        from interestlab.features import build_features

        step("plan: building features of consented customers")
        features = build_features(
            clicks,
            customers=tables["customers"].lazy(),
            holdings=tables["holdings"].lazy(),
            products=tables["products"].lazy(),
            consent_events=tables["consent_events"].lazy(),
            as_of=run_at,
            policy=policy,
            retention_start=policy.retention_cutoff(run_at),
        )
    without_model: list[str] = []
    if models is None:
        from interestlab.modeling import RegistryError, families_with_alias, load_models

        available = families_with_alias(list(FAMILIES), alias=alias)
        without_model = [f for f in FAMILIES if f not in available]
        if not available:
            msg = (
                f"plan {as_of}: no family has a model under alias `{alias}`; expected at least"
                " one (train with `interestlab train`, then `interestlab approve` and"
                " `interestlab promote`; or plan a dry run from candidates: `interestlab run"
                " --dry-run` / `interestlab plan --dry-run-candidate`)"
            )
            raise RegistryError(msg)
        step(
            f"plan: loading the `{alias}` model of {len(available)} families"
            + (f" (none for {', '.join(without_model)})" if without_model else "")
        )
        models = load_models(available, alias=alias)
    window = plan_window(run_at, policy=policy, params=params)
    # the run folders' parent holds the `current-<as-of>` links of published plans
    earlier = published_plans(window.month, as_of=as_of, policy=policy, runs_dir=output.parent)
    if earlier.height:
        step(
            f"plan: counting {fmt_count(earlier.height)} contacts of plans already published for"
            f" {window.month} towards the cap (R6)"
        )
        tables["communications"] = pl.concat(
            [tables["communications"], earlier.select(tables["communications"].columns)]
        )
    step(f"plan: scoring {fmt_count(features.height)} customers x {len(models)} families")
    scores = score_customers(models, features)
    activity = login_activity(clicks, as_of=run_at).collect(engine="in-memory")
    result = plan_contacts(
        scores,
        customers=tables["customers"],
        products=tables["products"],
        holdings=tables["holdings"],
        theme_links=tables["theme_links"],
        consent_events=tables["consent_events"],
        communications=tables["communications"],
        activity=activity,
        as_of=run_at,
        policy=policy,
        params=params,
        explain=model_explainer(models, features, max_reasons=params.max_reasons),
    )
    step(
        f"plan: {fmt_count(result.plan.height)} contacts planned, value"
        f" {result.optimality['value']:,.0f} (bound {result.optimality['upper_bound']:,.0f},"
        f" gap {result.optimality['gap']:.4%})"
    )
    gate_summary = (
        gate_plan(result, tables, as_of=run_at, policy=policy, output_dir=output)
        if (run_gate)
        else {"skipped": True}
    )
    paths = write_plan_outputs(result, output, dry_run=alias == CANDIDATE_ALIAS)
    summary = {
        **result.summary,
        "stage": "build_plan",
        "as_of": as_of.isoformat(),
        "alias": alias,
        "dry_run": alias == CANDIDATE_ALIAS,
        "families_without_model": without_model,
        "earlier_plans_counted": earlier.height,
        "gate": gate_summary,
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    write_json(summary, output / "plan_report.json")
    step(f"plan: written to {output / 'plan'}")
    return summary


def published_plans(
    month: str, *, as_of: date, policy: Policy, runs_dir: Path | None = None
) -> pl.DataFrame:
    """Contacts of the plans already published for `month` (other as-of dates), as log rows.

    A plan is published when `runs/current-<as-of>` points at its run. Until its contacts
    reach the communication log they still use the month's cap (R6): a second plan in the same
    month must count them. The plan of the same as-of is not counted (a re-run replaces it).
    Rows are `commercial`, sent at local noon of the plan's first send day.
    """
    from interestlab import config

    runs_dir = Path(runs_dir or config.runs_dir())
    frames = []
    for link in sorted(runs_dir.glob("current-*")):
        if link.name == f"current-{as_of.isoformat()}":
            continue
        plan = read_plan(link.resolve())
        if plan is None:
            continue
        frames.append(
            plan.filter(pl.col("plan_month") == month).select(
                pl.concat_str(pl.lit(f"plan:{link.resolve().name}:"), "customer_id").alias(
                    "comm_id"
                ),
                "customer_id",
                (pl.col("send_from").cast(pl.Datetime("us")) + pl.duration(hours=12))
                .dt.replace_time_zone(policy.timezone)
                .dt.convert_time_zone("UTC")
                .alias("sent_at"),
                "channel",
                pl.lit("commercial").alias("category"),
                "product_id",
            )
        )
    schema = {
        "comm_id": pl.String(),
        "customer_id": pl.String(),
        "sent_at": pl.Datetime("us", "UTC"),
        "channel": pl.String(),
        "category": pl.String(),
        "product_id": pl.String(),
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).cast(schema)


def gate_plan(
    result: PlanResult,
    tables: dict[str, pl.DataFrame],
    *,
    as_of: Any,
    policy: Policy,
    output_dir: Path,
) -> dict[str, Any]:
    """Validate the plan with the `contact_plan` suite; raise `GateError` on any failure."""
    from interestlab.quality import run_suite

    checks = plan_checks(
        result.plan,
        products=tables["products"],
        holdings=tables["holdings"],
        consent_events=tables["consent_events"],
        communications=tables["communications"],
        as_of=as_of,
        policy=policy,
    )
    step(f"gate: validating the plan ({fmt_count(checks.height)} contacts)")
    gate = run_suite(SUITE_NAME, [(f"plan={result.window.month}", checks)], output_dir=output_dir)
    gate.raise_for_failure()
    return gate.summary()


def read_plan(output_dir: Path) -> pl.DataFrame | None:
    """The plan written by `build_plan` into `output_dir`, or None when there is none."""
    path = Path(output_dir) / "plan" / PLAN_FILE
    return pl.read_parquet(path) if path.is_file() else None


def cap_report(
    *,
    bank_dir: str | Path | None = None,
    plan_dir: str | Path | None = None,
    output_dir: str | Path,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Write the cap-compliance report of the bank's communication log (+ a written plan)."""
    policy = policy or load_policy()
    from interestlab import config

    bank = Path(bank_dir) if bank_dir else config.default_bank_dir()
    plan = read_plan(Path(plan_dir)) if plan_dir else None
    report = cap_compliance(scan_table(bank, "communications"), policy=policy, plan=plan)
    with atomic_dir(Path(output_dir) / CAP_REPORT_DIR) as tmp:
        write_parquet(report.breaches, tmp / "breaches.parquet")
        write_parquet(report.by_channel_category, tmp / "by_channel_category.parquet")
        write_json(report.summary, tmp / "summary.json")
    return report.summary

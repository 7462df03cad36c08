"""What a plan hands over: processor extracts (R12), the summary report, atomic files.

Extracts carry only what a processor executing one channel needs: the pseudonymous customer
id, the product, the message template and when to send. Never clicks, scores, other products
or explanations. The summary holds counts and values only (no customer ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from interestlab.planning.cap import PlanWindow
from interestlab.planning.params import PlanParams
from interestlab.policy import Policy
from interestlab.storage import atomic_dir, write_json, write_parquet

if TYPE_CHECKING:
    from interestlab.planning.planner import PlanResult

EXTRACT_COLUMNS = (
    "customer_id",
    "product_id",
    "message_template",
    "planned_week",
    "send_from",
    "send_until",
)
PLAN_FILE = "plan.parquet"
SUPPRESSION_FILE = "suppression_log.parquet"
SUMMARY_FILE = "summary.json"
EXTRACTS_DIR = "extracts"
# A dry run's extracts (from unapproved `candidate` models) must never be sent by mistake.
DRY_RUN_EXTRACTS_DIR = "extracts-DRY-RUN-not-for-sending"


def channel_extracts(plan: pl.DataFrame, *, channels: tuple[str, ...]) -> dict[str, pl.DataFrame]:
    """One frame per planned channel (empty frames included) with `EXTRACT_COLUMNS` only."""
    return {
        channel: plan.filter(pl.col("channel") == channel)
        .select(EXTRACT_COLUMNS)
        .sort("customer_id")
        for channel in channels
    }


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.height == 0:
        return {}
    grouped = frame.group_by(column).agg(pl.len()).sort(column)
    return {str(k): int(v) for k, v in grouped.iter_rows()}


def plan_summary(
    plan: pl.DataFrame,
    suppression: pl.DataFrame,
    *,
    eligibility: pl.DataFrame,
    candidates: pl.DataFrame,
    optimality: dict[str, Any],
    window: PlanWindow,
    policy: Policy,
    params: PlanParams,
    meta: pl.DataFrame,
    reason_labels: dict[str, str],
) -> dict[str, Any]:
    """Non-personal summary: counts by product, channel, source and reason; value; cap use."""
    cap = policy.monthly_commercial_cap
    after = eligibility.join(
        plan.group_by("customer_id").agg(pl.len().alias("planned")), on="customer_id", how="left"
    ).with_columns((pl.col("commercial_in_month") + pl.col("planned").fill_null(0)).alias("after"))
    reasons = suppression.select(pl.col("reasons").explode().alias("reason")).drop_nulls()
    channels = {}
    for channel in params.channels:
        planned = int(plan.filter(pl.col("channel") == channel).height)
        capacity = params.channel_capacities[channel]
        channels[channel] = {
            "planned": planned,
            "capacity": capacity,
            "utilisation": round(planned / capacity, 6) if capacity else 0.0,
        }
    considered = eligibility.height
    return {
        "plan_month": window.month,
        "planned_week": window.planned_week,
        "send_from": window.send_from.isoformat(),
        "send_until": window.send_until.isoformat(),
        **policy.summary(),
        **params.summary(),
        "models": meta.sort("family").to_dicts(),
        "customers_considered": considered,
        "customers_web_consented": int(eligibility["web_consented"].sum()),
        "customers_email_consented": int(eligibility["email_consented"].sum()),
        "customers_recently_active": int(eligibility["recently_active"].sum()),
        "candidates": {
            "total": candidates.height,
            "by_source": _counts(candidates, "source"),
        },
        "planned": {
            "total": plan.height,
            "by_channel": _counts(plan, "channel"),
            "by_family": _counts(plan, "family"),
            "by_product": _counts(plan, "product_id"),
            "by_source": _counts(plan, "source"),
        },
        "suppressed": {
            "total": suppression.height,
            "by_reason": _counts(reasons, "reason"),
            "reason_labels": reason_labels,
        },
        "value": {
            "expected_value": optimality["value"],
            "upper_bound": optimality["upper_bound"],
            "gap": optimality["gap"],
            "bound_method": optimality["bound_method"],
        },
        "cap": {
            "monthly_commercial_cap": cap,
            "customers_at_cap_before_plan": int((after["commercial_in_month"] >= cap).sum()),
            "customers_at_cap_after_plan": int((after["after"] >= cap).sum()),
            "customers_above_cap_after_plan": int((after["after"] > cap).sum()),
            "cap_utilisation_after_plan": round(
                float(after["after"].clip(upper_bound=cap).sum()) / (cap * considered), 6
            )
            if cap and considered
            else 0.0,
        },
        "channels": channels,
    }


def write_plan_outputs(
    result: PlanResult, output_dir: Path, *, dry_run: bool = False
) -> dict[str, Path]:
    """Write plan, suppression log, extracts and summary into `output_dir/plan/` atomically.

    The folder is built aside and swapped in whole: readers see the complete old plan or the
    complete new one, never a mix. A dry run's extracts go to `DRY_RUN_EXTRACTS_DIR`.
    """
    target = Path(output_dir) / "plan"
    extracts = DRY_RUN_EXTRACTS_DIR if dry_run else EXTRACTS_DIR
    with atomic_dir(target) as tmp:
        write_parquet(result.plan, tmp / PLAN_FILE)
        write_parquet(result.suppression_log, tmp / SUPPRESSION_FILE)
        for channel, extract in sorted(result.channel_extracts.items()):
            write_parquet(extract, tmp / extracts / f"{channel}.parquet")
        write_json({**result.summary, "dry_run": dry_run}, tmp / SUMMARY_FILE)
    paths = {
        "plan": target / PLAN_FILE,
        "suppression_log": target / SUPPRESSION_FILE,
        "summary": target / SUMMARY_FILE,
    }
    for channel in sorted(result.channel_extracts):
        paths[f"extract_{channel}"] = target / extracts / f"{channel}.parquet"
    return paths

"""The model card (Markdown): what a model-risk reviewer reads as the version description.

Rendered from aggregates only (metrics, segment results, feature names, lineage hashes); it
never holds a customer id or a raw feature value of a customer.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from interestlab.modeling.train import BIN_SAMPLE_ROWS, BIN_UNION_MAX_ROWS
from interestlab.policy import Policy

REQUIRED_SECTIONS = (
    "Intended use",
    "Data window and exclusions",
    "Sampling",
    "Metrics",
    "Challenger",
    "Segment results",
    "Explanations",
    "Lineage",
    "Limitations",
)
TOP_FEATURES = 10
# MLflow truncates a run note (`mlflow.note.content`) above this many characters.
NOTE_LIMIT = 8000
# Sections shortened first, in this order, when the card is too long for a run note.
_SHORTEN_FIRST = ("Lineage", "Segment results", "Explanations", "Metrics")


def _test_sample_line(counts: dict[str, int], cap: int | None) -> str:
    evaluated = counts["n_test"]
    eligible = counts.get("n_test_eligible", evaluated)
    if evaluated < eligible:
        return (
            f"- Test evaluation on a seeded uniform sample of {evaluated:,} of the {eligible:,}"
            f" eligible test rows (`test_max_rows` {cap:,}; the same draw for every family, no"
            " reweighting needed): every metric is an estimate on that sample."
        )
    return f"- Test evaluation on every one of the {eligible:,} eligible test rows."


def gate_status(gx_summary: dict[str, Any] | None) -> str:
    """`True`/`False` for a GX summary: one gate (`success`) or several (`{part: {success}}`)."""
    if not gx_summary:
        return "not provided"
    if "success" in gx_summary:
        return str(bool(gx_summary["success"]))
    parts = [v for v in gx_summary.values() if isinstance(v, dict) and "success" in v]
    if not parts:
        return "not provided"
    return str(all(bool(v["success"]) for v in parts))


def _number(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _table(frame: pl.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * frame.width]
    for row in frame.iter_rows():
        lines.append(
            "| " + " | ".join(_number(v) if not isinstance(v, str) else v for v in row) + " |"
        )
    return lines


def _describe(feature: str, catalogue: dict[str, Any]) -> str:
    spec = catalogue.get(feature)
    if spec is None:
        return "(no catalogue entry)"
    return spec.description.replace("{", "<").replace("}", ">")


def render_model_card(
    result: Any,
    *,
    split: Any,
    params: dict[str, Any],
    policy: Policy,
    lineage: list[dict[str, Any]],
    gx_summary: dict[str, Any] | None,
    trainer: str,
    run_id: str,
    git_commit: str,
    seed: int,
    catalogue: dict[str, Any],
) -> str:
    """Markdown model card of one family's model (one `FamilyResult`)."""
    family = result.family
    words = family.replace("_", " ")
    negative_rate = float(params["negative_rate"])
    lgb = params["lightgbm"]
    metric_names = (
        "auc",
        "average_precision",
        "top_decile_lift",
        "top_decile_capture",
        "brier",
        "calibration_error",
        "positive_rate",
        "mean_score",
    )
    metrics = pl.DataFrame(
        {
            "metric": list(metric_names),
            "LightGBM": [result.metrics[m] for m in metric_names],
            "challenger": [result.challenger_metrics[m] for m in metric_names],
        }
    )
    gain = result.metrics["auc"] - result.challenger_metrics["auc"]
    verdict = (
        f"LightGBM beats the challenger by {gain:+.3f} AUC on the out-of-time test set: the more"
        " complex model earns its place."
        if result.earns_its_place
        else f"LightGBM does **not** beat the challenger ({gain:+.3f} AUC): prefer the simpler"
        " model or investigate before promotion (the promotion gate refuses it)."
    )
    gx_status = gate_status(gx_summary)
    top = result.importance.head(TOP_FEATURES).join(
        result.shap.select("feature", "mean_abs_shap", "value_shap_correlation"),
        on="feature",
        how="left",
    )
    top_lines = [
        "| feature | meaning | gain share | mean abs SHAP | direction |",
        "|---|---|---|---|---|",
    ]
    for row in top.iter_rows(named=True):
        corr = row["value_shap_correlation"]
        direction = (
            "n/a"
            if corr is None or math.isnan(corr)
            else ("higher raises score" if corr > 0 else "higher lowers score")
        )
        top_lines.append(
            f"| `{row['feature']}` | {_describe(row['feature'], catalogue)} | {row['share']:.3f} |"
            f" {_number(row['mean_abs_shap'])} | {direction} |"
        )
    lines = [
        f"# Model card: interest-{family}",
        "",
        f"Propensity that a customer opens a **{words}** product in the label horizon after an"
        f" as-of date. Trained by `{trainer}` in run `{run_id}` (git `{git_commit[:12]}`), policy"
        f" version `{policy.version}`, seed {seed}.",
        "",
        "## Intended use",
        "",
        f"- Rank customers by interest in {words} products offered by the bank or its group (R4,"
        " R11) to plan commercial contacts within the monthly cap (R6) on eligible channels (R9).",
        "- Only customers whose web-data consent is valid at the as-of moment are scored (R13);"
        " customers already holding the family are not eligible (label null, never scored for it).",
        "- Not for: credit decisions, pricing, eligibility or any automated decision with legal"
        " effect; not for proposals by companies outside the group (R11); not to be shared with"
        " third parties (R12).",
        "",
        "## Data window and exclusions",
        "",
        f"- As-of dates: {', '.join(split.as_of_dates)} (bank-local, {policy.timezone}).",
        f"- Training months: {', '.join(split.train_months)}; validation (early stopping):"
        f" {split.valid_month}; out-of-time test: {', '.join(split.test_months)} (never used"
        " for training, early stopping or tuning).",
        f"- Rows: train {result.counts['n_train']:,} ({result.counts['positives_train']:,}"
        f" positives), validation {result.counts['n_valid']:,}"
        f" ({result.counts['positives_valid']:,}), test {result.counts['n_test']:,}"
        f" ({result.counts['positives_test']:,}) evaluated of"
        f" {result.counts.get('n_test_eligible', result.counts['n_test']):,} eligible.",
        "- R1: only click events registered after the customer identified reach the features;"
        " anonymous sessions and pre-identification events are excluded at ingest.",
        f"- R3: no feature looks back more than {policy.retention_days} days; older events are"
        " physically purged before features are built.",
        "- R13: customers without valid web-data consent at an as-of moment are absent from that"
        " snapshot"
        + (
            "; events from non-consented periods are excluded."
            if not policy.use_events_from_non_consented_periods
            else "."
        ),
        "",
        "## Sampling",
        "",
        (
            f"- Negative subsampling: {negative_rate:.0%} of negative rows of the training and"
            f" validation months kept (seeded), weighted {1 / negative_rate:.2f} so scores stay"
            " calibrated; the test months are never class-sampled."
            if negative_rate < 1
            else "- No negative subsampling: every eligible row of the training and validation"
            " months is used."
        ),
        _test_sample_line(result.counts, params.get("test_max_rows")),
        "- One sampling draw per row, shared by every family trained together: the families"
        " keep the same negative rows where they are eligible, and LightGBM bins the union of"
        " their training rows once (bin boundaries from a seeded sample of at most"
        f" {BIN_SAMPLE_ROWS:,} union rows; families in groups whose union stays within"
        f" {BIN_UNION_MAX_ROWS:,} rows); each family trains on its own rows of it.",
        f"- SHAP summary on a seeded sample of at most {params['shap_rows']:,} test rows;"
        f" challenger fitted on at most {params['challenger_max_rows']:,} training rows.",
        "",
        "## Metrics",
        "",
        "Out-of-time test set. Lift and capture are for the top 10 % of scores; calibration error"
        " is the count-weighted gap of the reliability curve (score deciles).",
        "",
        *_table(metrics),
        "",
        f"Validation AUC (early stopping slice, sampled negatives weighted 1/rate):"
        f" {_number(result.valid_metrics['auc'])};"
        f" best iteration {result.best_iteration}.",
        "",
        "## Challenger",
        "",
        "Logistic regression on standardized, log-compressed features (missing indicators,"
        " one-hot categorical codes), same split.",
        "",
        verdict,
        "",
        "## Segment results",
        "",
        f"Test AUC per identity segment (levels with fewer than {params['segment_min_rows']} rows"
        " left out).",
        "",
        *(_table(result.segments) if result.segments.height else ["No segment columns present."]),
        "",
        "## Explanations",
        "",
        "Most important features (gain) with their mean absolute SHAP value on the test sample.",
        "",
        *top_lines,
        "",
    ]
    if result.truth:
        lines += [
            "## Recovery of latent interests (synthetic bank only)",
            "",
            f"AUC of score vs true latent {words} interest: {_number(result.truth['truth_auc'])};"
            f" Spearman {_number(result.truth['truth_spearman'])} over"
            f" {int(result.truth['truth_rows']):,} test rows.",
            "",
        ]
    snapshot_lines = [
        f"| {item.get('as_of', '')} | {str(item.get('content_hash', ''))[:16]} |"
        f" {_number(item.get('n_rows'))} | {item.get('oldest_input_ts', '')} |"
        for item in lineage
    ]
    lines += [
        "## Lineage",
        "",
        f"- Policy version `{policy.version}` (sha256 `{policy.sha256[:12]}`); data quality gate"
        f" (Great Expectations) success: `{gx_status}`.",
        f"- LightGBM: num_leaves {lgb['num_leaves']}, max_depth {lgb['max_depth']}, learning rate"
        f" {lgb['learning_rate']}, deterministic, force_row_wise, {lgb['num_threads']} threads"
        " (retraining with the same data, parameters and seed gives the same model bytes).",
        "",
        "| as-of | snapshot hash | rows | oldest input |",
        "|---|---|---|---|",
        *snapshot_lines,
        "",
        "## Limitations",
        "",
        "- Labels look forward from each as-of date: the last training snapshots' label windows"
        " overlap the first test months, so the out-of-time test is slightly optimistic.",
        "- Interest is inferred from identified, consented browsing only: customers who rarely log"
        " in get low scores whatever their real needs (a coverage bias, visible per segment).",
        "- Scores rank customers; calibration holds on the test months and may drift with"
        " seasonality (e.g. travel in spring) - check population stability before promotion.",
        "- Identity features (age band, language, region, segment) can carry proxy effects; segment"
        " results above must be reviewed before use.",
        "- Trained on the synthetic bank when run in the demo: metrics describe that data only.",
        "",
        "## Promotion",
        "",
        "New versions get the alias `candidate`. `champion` moves only when the gates pass"
        f" (test AUC >= {params['gates']['min_auc']}, top-decile lift >="
        f" {params['gates']['min_top_decile_lift']}, beats the challenger by >"
        f" {params['gates']['min_auc_gain_over_challenger']} AUC, score PSI vs the current champion"
        f" <= {params['gates']['max_psi']}) and a reviewer other than `{trainer}` recorded an"
        " approval. Every alias move is audited in the version and model tags.",
        "",
    ]
    return "\n".join(lines)


def run_note(card: str, *, limit: int = NOTE_LIMIT, artifact: str = "model_card.md") -> str:
    """The model card as an MLflow run note of at most `limit` characters.

    A card that fits is the note as it is. A longer one (e.g. a lineage table of many
    snapshots) keeps every section heading and its first paragraph; the bodies of
    `_SHORTEN_FIRST` are cut first, each replaced by a pointer to the full card
    (`artifact` of the run, and the registered version's description), instead of MLflow
    cutting the text mid-line.
    """
    if len(card) <= limit:
        return card
    pointer = f"_(shortened for the run note: the full section is in the run's `{artifact}`)_"
    sections = card.split("\n## ")
    head, bodies = sections[0], sections[1:]
    for title in _SHORTEN_FIRST:
        for index, body in enumerate(bodies):
            heading, _, text = body.partition("\n")
            if heading.strip() != title:
                continue
            first = text.strip().split("\n\n", 1)[0]
            bodies[index] = f"{heading}\n\n{first}\n\n{pointer}\n"
        note = "\n## ".join([head, *bodies])
        if len(note) <= limit:
            return note
    ending = f"\n\n{pointer.replace('section', 'card')}\n"
    return note[: limit - len(ending)].rsplit("\n", 1)[0] + ending

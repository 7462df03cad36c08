"""Promotion: move `champion` to a version only when every gate passes and a second person
approved it. A refusal lists every failed gate, not only the first.

Gates (thresholds from `params["gates"]`, defaults in `train.DEFAULT_PARAMS`):
- `metrics`: test AUC and top-decile lift over their minimum;
- `challenger`: LightGBM's test AUC beats the challenger's by more than the minimum gain;
- `stability`: PSI of the version's test scores vs the current champion's test scores under
  the maximum (not applicable for the first champion);
- `approval`: an approval recorded by a reviewer other than the trainer, and the person
  promoting is that reviewer.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interestlab.errors import InterestlabError
from interestlab.modeling import tracking
from interestlab.modeling.evaluate import psi_from_quantiles
from interestlab.modeling.registry import (
    APPROVAL_PREFIX,
    CHAMPION,
    get_version,
    move_alias,
    version_by_alias,
)
from interestlab.modeling.train import resolve_params

SCORE_QUANTILES_ARTIFACT = "evaluation/score_quantiles.json"


class PromotionRefusedError(InterestlabError):
    """`champion` was not moved; the message lists every failed gate."""


@dataclass
class GateResult:
    name: str
    passed: bool
    detail: str


@dataclass
class PromotionDecision:
    family: str
    version: str
    gates: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def failures(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def summary(self) -> str:
        return "; ".join(
            f"{g.name}: {'pass' if g.passed else 'FAIL'} ({g.detail})" for g in self.gates
        )


def _metric(metrics: dict[str, float], key: str) -> float:
    return float(metrics.get(key, float("nan")))


def _score_quantiles(client: Any, run_id: str) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(run_id, SCORE_QUANTILES_ARTIFACT, folder)
        return json.loads(Path(path).read_text())


def evaluate_gates(
    family: str, *, version: str | int, approver: str, params: dict[str, Any] | None = None
) -> PromotionDecision:
    """Check every promotion gate of a version without moving anything."""
    gates = resolve_params(params)["gates"]
    client = tracking.client()
    model_version = get_version(client, family, version)
    tags = model_version.tags
    run_id = model_version.run_id
    metrics = client.get_run(run_id).data.metrics
    decision = PromotionDecision(family, str(version))

    auc = _metric(metrics, "test_auc")
    lift = _metric(metrics, "test_top_decile_lift")
    ok = auc >= gates["min_auc"] and lift >= gates["min_top_decile_lift"]
    decision.gates.append(
        GateResult(
            "metrics",
            bool(ok),
            f"test AUC {auc:.3f} (min {gates['min_auc']}), top-decile lift {lift:.2f}"
            f" (min {gates['min_top_decile_lift']})",
        )
    )

    challenger = _metric(metrics, "challenger_test_auc")
    gain = auc - challenger
    decision.gates.append(
        GateResult(
            "challenger",
            bool(gain > gates["min_auc_gain_over_challenger"]),
            f"AUC gain over the challenger {gain:+.3f}"
            f" (must exceed {gates['min_auc_gain_over_challenger']})",
        )
    )

    champion = version_by_alias(client, family, CHAMPION)
    if champion is None:
        decision.gates.append(GateResult("stability", True, "no current champion: not applicable"))
    elif str(champion.version) == str(version):
        decision.gates.append(GateResult("stability", True, "version is already the champion"))
    else:
        psi = psi_from_quantiles(
            _score_quantiles(client, champion.run_id), _score_quantiles(client, run_id)
        )
        decision.gates.append(
            GateResult(
                "stability",
                bool(not math.isnan(psi) and psi <= gates["max_psi"]),
                f"score PSI vs champion version {champion.version} = {psi:.3f}"
                f" (max {gates['max_psi']})",
            )
        )

    trainer = tags.get("trainer", "")
    reviewer = tags.get(f"{APPROVAL_PREFIX}reviewer")
    if reviewer is None:
        ok, detail = False, "no approval recorded (interestlab approve --family ... --reviewer ...)"
    elif reviewer == trainer:
        ok, detail = False, f"approval by the trainer `{trainer}` does not count (four eyes)"
    elif approver != reviewer:
        ok, detail = False, f"approved by `{reviewer}`, but `{approver}` is promoting"
    elif approver == trainer:
        ok, detail = False, f"the trainer `{trainer}` cannot promote their own model"
    else:
        ok, detail = True, f"approved by `{reviewer}` at {tags.get(f'{APPROVAL_PREFIX}at')}"
    decision.gates.append(GateResult("approval", ok, detail))
    return decision


def promote(
    family: str,
    *,
    version: str | int,
    approver: str,
    params: dict[str, Any] | None = None,
    reason: str = "",
) -> PromotionDecision:
    """Move `champion` of `interest-<family>` to `version` if every gate passes.

    Raises
    ------
    PromotionRefusedError : one or more gates failed (all are listed); nothing moved.

    Examples
    --------
    >>> promote("mortgage", version=3, approver="a.reviewer")  # doctest: +SKIP
    """
    decision = evaluate_gates(family, version=version, approver=approver, params=params)
    if not decision.passed:
        failed = "; ".join(f"{g.name}: {g.detail}" for g in decision.failures)
        msg = (
            f"promotion of {tracking.model_name(family)} version {version} to `{CHAMPION}` refused,"
            f" {len(decision.failures)} gate(s) failed: {failed}"
        )
        raise PromotionRefusedError(msg)
    client = tracking.client()
    move_alias(
        client,
        family,
        alias=CHAMPION,
        version=version,
        who=approver,
        reason=reason or f"promotion: all gates passed ({decision.summary()})",
    )
    return decision

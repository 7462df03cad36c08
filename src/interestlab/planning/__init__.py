"""Explainable contact plans under the monthly cap (issue 6; rules R5-R13).

Public API::

    from interestlab.planning import (plan_contacts, PlanResult, PlanParams, load_plan_params,
                                      build_plan, cap_compliance, advisor_view, plan_checks)

`plan_contacts` is the pure core (frames in, frames out; no I/O, no MLflow); `build_plan` is the
edge that reads the bank, loads models, gates the plan with GX and writes it atomically.
"""

from interestlab.planning.advisor import advisor_view, format_advisor_view
from interestlab.planning.build import build_plan, cap_report, read_plan
from interestlab.planning.cap import PlanWindow, counted_in_month, plan_window
from interestlab.planning.checks import CHECK_COLUMNS, SUITE_NAME, plan_checks
from interestlab.planning.compliance import CapReport, cap_compliance
from interestlab.planning.explain import model_explainer, top_reasons
from interestlab.planning.optimize import Assignment, assign_channels
from interestlab.planning.params import PlanParams, load_plan_params, parse_plan_params
from interestlab.planning.planner import SUPPRESSION_REASONS, PlanResult, plan_contacts

__all__ = [
    "CHECK_COLUMNS",
    "SUITE_NAME",
    "SUPPRESSION_REASONS",
    "Assignment",
    "CapReport",
    "PlanParams",
    "PlanResult",
    "PlanWindow",
    "advisor_view",
    "assign_channels",
    "build_plan",
    "cap_compliance",
    "cap_report",
    "counted_in_month",
    "format_advisor_view",
    "load_plan_params",
    "model_explainer",
    "parse_plan_params",
    "plan_checks",
    "plan_contacts",
    "plan_window",
    "read_plan",
    "top_reasons",
]

"""Contact-plan parameters (`conf/plan.yaml`): loaded, validated, immutable.

The rules (cap, capped channels, consent purposes, group providers, theme rules) come from the
policy; this file only holds the commercial knobs: product values, channel costs and monthly
capacities, the login recency for internet-banking messages, the send window and the size of
explanations. Each default is written once, in `conf/plan.yaml`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from interestlab.config import CONF_DIR
from interestlab.contract import FAMILIES
from interestlab.errors import PolicyError
from interestlab.policy import Policy

PLAN_PARAMS_FILE = CONF_DIR / "plan.yaml"
TEMPLATE_FIELDS = ("product_id", "channel", "language")


@dataclass(frozen=True)
class PlanParams:
    """Commercial parameters of one plan.

    Attributes
    ----------
    version : version string of the parameter file (recorded in every plan).
    product_values : expected margin of an accepted proposal, per product family.
    theme_propensity : prior propensity that prices declared-theme (R5) interests.
    channel_costs : cost of one contact, per planned channel.
    channel_capacities : contacts each channel can execute in the plan's month.
    recent_login_days : internet-banking messages only for customers logged in this recently.
    lead_days : first send day = bank-local as-of date + `lead_days`.
    max_reasons : plain-language reasons per planned model contact.
    allow_candidate : whether scores of the `candidate` alias may be planned (dry runs).
    dual_iterations : at most this many cutting planes for the optimality bound.
    message_template : template id pattern with `{product_id}`, `{channel}`, `{language}`.
    sha256 : digest of the file the parameters were read from ("" when built in code).
    """

    version: str
    product_values: dict[str, float]
    theme_propensity: float
    channel_costs: dict[str, float]
    channel_capacities: dict[str, int]
    recent_login_days: int
    lead_days: int
    max_reasons: int
    allow_candidate: bool
    dual_iterations: int
    message_template: str
    sha256: str = ""

    @property
    def channels(self) -> tuple[str, ...]:
        """Planned channels, sorted (the deterministic channel order)."""
        return tuple(sorted(self.channel_costs))

    def check_against(self, policy: Policy) -> None:
        """Raise `PolicyError` unless every planned channel is a capped channel of the policy.

        Exempt channels (banners, R7) are never planned here: their placements do not count
        against the cap and are not part of a contact plan.
        """
        for channel in self.channels:
            if channel in policy.exempt_channels:
                msg = (
                    f"plan params: channel `{channel}` is exempt from the cap in the policy (R7);"
                    f" the planner only plans capped channels {list(policy.capped_channels)}"
                )
                raise PolicyError(msg)
            if channel not in policy.capped_channels:
                msg = (
                    f"plan params: channel `{channel}` is not a capped channel of the policy;"
                    f" expected a subset of {list(policy.capped_channels)}"
                )
                raise PolicyError(msg)

    def summary(self) -> dict[str, Any]:
        """Flat, non-personal description for the plan summary."""
        return {
            "plan_params_version": self.version,
            "plan_params_sha256": self.sha256[:12],
            "allow_candidate": self.allow_candidate,
            "recent_login_days": self.recent_login_days,
            "lead_days": self.lead_days,
            "theme_propensity": self.theme_propensity,
        }


def _need(raw: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        msg = f"plan params: missing key `{key}`"
        raise PolicyError(msg)
    value = raw[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        msg = f"plan params: `{key}` must be a {names}, found {value!r}"
        raise PolicyError(msg)
    return value


def _number_map(raw: dict[str, Any], key: str, *, integer: bool, positive: bool) -> dict[str, Any]:
    mapping = _need(raw, key, dict)
    out: dict[str, Any] = {}
    for name, value in sorted(mapping.items()):
        kinds: tuple[type, ...] = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            msg = f"plan params: `{key}.{name}` must be a number, found {value!r}"
            raise PolicyError(msg)
        if value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            msg = f"plan params: `{key}.{name}` must be {bound}, found {value!r}"
            raise PolicyError(msg)
        out[str(name)] = int(value) if integer else float(value)
    return out


def parse_plan_params(raw: Any, *, sha256: str = "") -> PlanParams:
    """Validate a parsed `plan.yaml` mapping; errors name the key, expected and found."""
    if not isinstance(raw, dict):
        msg = f"plan params: expected a mapping at the top level, found {type(raw).__name__}"
        raise PolicyError(msg)
    values = _number_map(raw, "product_values", integer=False, positive=True)
    missing = [f for f in FAMILIES if f not in values]
    unknown = [f for f in values if f not in FAMILIES]
    if missing or unknown:
        msg = (
            f"plan params: `product_values` must name every family {list(FAMILIES)};"
            f" missing {missing}, unknown {unknown}"
        )
        raise PolicyError(msg)
    costs = _number_map(raw, "channel_costs", integer=False, positive=False)
    capacities = _number_map(raw, "channel_capacities", integer=True, positive=False)
    if set(costs) != set(capacities):
        msg = (
            "plan params: `channel_costs` and `channel_capacities` must name the same channels;"
            f" found {sorted(costs)} and {sorted(capacities)}"
        )
        raise PolicyError(msg)
    theme_propensity = float(_need(raw, "theme_propensity", (int, float)))
    if not 0 <= theme_propensity <= 1:
        msg = f"plan params: `theme_propensity` must be in [0, 1], found {theme_propensity!r}"
        raise PolicyError(msg)
    integers = {}
    for key, low in (
        ("recent_login_days", 1),
        ("lead_days", 0),
        ("max_reasons", 1),
        ("dual_iterations", 1),
    ):
        value = _need(raw, key, int)
        if value < low:
            msg = f"plan params: `{key}` must be >= {low}, found {value!r}"
            raise PolicyError(msg)
        integers[key] = value
    template = _need(raw, "message_template", str)
    try:
        template.format(**{name: "x" for name in TEMPLATE_FIELDS})
    except (KeyError, IndexError, ValueError) as exc:
        msg = (
            f"plan params: `message_template` may only use the fields {list(TEMPLATE_FIELDS)},"
            f" found {template!r}"
        )
        raise PolicyError(msg) from exc
    return PlanParams(
        version=str(_need(raw, "version", str)),
        product_values=values,
        theme_propensity=theme_propensity,
        channel_costs=costs,
        channel_capacities=capacities,
        allow_candidate=_need(raw, "allow_candidate", bool),
        message_template=template,
        sha256=sha256,
        **integers,
    )


def load_plan_params(path: Path | None = None) -> PlanParams:
    """Load and validate the plan parameters (default `conf/plan.yaml`).

    Examples
    --------
    >>> params = load_plan_params()
    >>> params.channels[:2]
    ('branch', 'contact_center')
    """
    path = Path(path or PLAN_PARAMS_FILE)
    if not path.is_file():
        msg = f"plan params: expected a parameter file at {path}, found none"
        raise PolicyError(msg)
    text = path.read_bytes()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"plan params: {path} is not valid YAML: {exc}"
        raise PolicyError(msg) from exc
    return parse_plan_params(raw, sha256=hashlib.sha256(text).hexdigest())

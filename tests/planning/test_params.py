from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from interestlab.errors import PolicyError
from interestlab.planning.params import PLAN_PARAMS_FILE, load_plan_params, parse_plan_params
from interestlab.policy import Policy

from .inputs import params


def raw() -> dict:
    return yaml.safe_load(PLAN_PARAMS_FILE.read_text())


def test_default_file_loads_and_fits_the_policy(policy: Policy) -> None:
    loaded = load_plan_params()
    loaded.check_against(policy)
    assert loaded.channels == ("branch", "contact_center", "email", "ib_message", "letter", "phone")
    assert len(loaded.sha256) == 64
    assert loaded.summary()["allow_candidate"] is False


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"product_values": {"mortgage": 10}}, r"`product_values` must name every family"),
        (
            {"product_values": {**raw()["product_values"], "mortgage": 0}},
            r"`product_values.mortgage` must be > 0",
        ),
        ({"channel_costs": {"letter": -1}}, r"`channel_costs.letter` must be >= 0"),
        ({"channel_capacities": {"letter": 5}}, r"must name the same channels"),
        (
            {"channel_capacities": {**raw()["channel_capacities"], "letter": 1.5}},
            r"`channel_capacities.letter` must be a number",
        ),
        ({"theme_propensity": 2}, r"`theme_propensity` must be in \[0, 1\]"),
        ({"recent_login_days": 0}, r"`recent_login_days` must be >= 1"),
        ({"allow_candidate": "yes"}, r"`allow_candidate` must be a bool"),
        ({"max_reasons": True}, r"`max_reasons` must be a int"),
        ({"message_template": "{customer_name}"}, r"`message_template` may only use the fields"),
    ],
)
def test_invalid_values_name_key_and_found(change: dict, match: str) -> None:
    with pytest.raises(PolicyError, match=match):
        parse_plan_params({**raw(), **change})


def test_missing_key_and_bad_top_level() -> None:
    broken = raw()
    del broken["lead_days"]
    with pytest.raises(PolicyError, match=r"missing key `lead_days`"):
        parse_plan_params(broken)
    with pytest.raises(PolicyError, match=r"expected a mapping at the top level, found list"):
        parse_plan_params([1])


def test_missing_and_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"expected a parameter file"):
        load_plan_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1\n")
    with pytest.raises(PolicyError, match=r"is not valid YAML"):
        load_plan_params(bad)


def test_banner_and_unknown_channels_are_refused(policy: Policy) -> None:
    banner = params(channel_costs={"banner": 0.0}, channel_capacities={"banner": 10})
    with pytest.raises(PolicyError, match=r"channel `banner` is exempt from the cap"):
        banner.check_against(policy)
    shrunk = Policy(**{**policy.__dict__, "capped_channels": ("letter",)})
    with pytest.raises(PolicyError, match=r"channel `branch` is not a capped channel"):
        params().check_against(shrunk)

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from interestlab.config import POLICY_FILE
from interestlab.errors import PolicyError
from interestlab.policy import as_of_moment, load_policy, local_month_start, parse_policy


def raw_policy() -> dict:
    return yaml.safe_load(POLICY_FILE.read_text())


def test_default_policy_carries_the_notice(policy) -> None:
    assert policy.retention_days == 365
    assert policy.monthly_commercial_cap == 1
    assert policy.default_consent is False
    assert policy.use_events_from_non_consented_periods is False
    assert "banner" in policy.exempt_channels
    assert set(policy.exempt_categories) == {"subscribed", "operational", "legal"}
    assert policy.explicit_consent_channels == ("email",)
    assert len(policy.sha256) == 64
    assert policy.summary()["policy_version"] == policy.version


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("retention", "click_data_days"), 400, r"between 1 and 365 .* found 400"),
        (("retention", "click_data_days"), "365", r"must be a int, found '365'"),
        (("communication", "monthly_commercial_cap"), -1, r">= 0, found -1"),
        (
            ("communication", "capped_channels"),
            ["letter", "pigeon"],
            r"unknown values \['pigeon'\]",
        ),
        (("communication", "exempt_channels"), ["letter"], r"both capped and exempt"),
        (("communication", "exempt_categories"), ["commercial"], r"both counted and exempt"),
        (("consent", "email_purpose"), "marketing", r"`consent.email_purpose` must be one of"),
        (("consent", "default_when_no_record"), "no", r"must be a bool, found 'no'"),
        (("group", "providers"), [], r"non-empty list"),
        (("themes",), {"vacation": ["yacht"]}, r"`themes.vacation` has unknown values \['yacht'\]"),
        (("timezone",), "Mars/Olympus", r"IANA zone"),
    ],
)
def test_bad_values_are_clear_errors(path: tuple[str, ...], value, message: str) -> None:
    raw = raw_policy()
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(PolicyError, match=message):
        parse_policy(raw)


def test_missing_key_is_named() -> None:
    raw = raw_policy()
    del raw["retention"]
    with pytest.raises(PolicyError, match=r"missing key `retention.click_data_days`"):
        parse_policy(raw)


def test_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="expected a policy file"):
        load_policy(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(broken)


def test_as_of_is_local_midnight(policy) -> None:
    assert as_of_moment(date(2026, 11, 15), policy) == datetime(2026, 11, 14, 23, tzinfo=UTC)
    assert as_of_moment(date(2026, 7, 1), policy) == datetime(2026, 6, 30, 22, tzinfo=UTC)


def test_retention_cutoff_counts_calendar_days_across_dst(policy) -> None:
    run_at = as_of_moment(date(2026, 3, 30), policy)  # CEST
    assert policy.retention_cutoff(run_at) == as_of_moment(date(2025, 3, 30), policy)  # CET
    assert policy.retention_cutoff(run_at) == datetime(2025, 3, 29, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="must be time-zone aware"):
        policy.retention_cutoff(datetime(2026, 1, 1))


def test_local_month_start_uses_the_bank_zone(policy) -> None:
    # 23:30 UTC on 31 October is already November in Brussels.
    assert local_month_start(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), policy) == datetime(
        2026, 10, 31, 23, tzinfo=UTC
    )

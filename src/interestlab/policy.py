"""The versioned policy file (`conf/policy.yaml`): loaded, validated, immutable.

Values are checked against the notice's hard limits (retention at most 365 days, a
positive cap, known channels and categories), so a typo is a `PolicyError` that names the
key, what was expected and what was found, not a silently different behaviour.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from interestlab.config import POLICY_FILE
from interestlab.contract import COMM_CATEGORIES, COMM_CHANNELS, CONSENT_PURPOSES, FAMILIES, THEMES
from interestlab.errors import PolicyError

MAX_RETENTION_DAYS = 365  # the notice: "maximaal 1 jaar"


@dataclass(frozen=True)
class Policy:
    version: str
    timezone: str
    require_identification: bool
    retention_days: int
    web_data_purpose: str
    email_purpose: str
    default_consent: bool
    use_events_from_non_consented_periods: bool
    monthly_commercial_cap: int
    capped_channels: tuple[str, ...]
    exempt_channels: tuple[str, ...]
    counted_categories: tuple[str, ...]
    exempt_categories: tuple[str, ...]
    identification_required_channels: tuple[str, ...]
    explicit_consent_channels: tuple[str, ...]
    group_providers: tuple[str, ...]
    theme_rules: dict[str, tuple[str, ...]]
    sha256: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def retention_cutoff(self, run_at: datetime) -> datetime:
        """Oldest moment a stored click event may have at `run_at` (R3): kept iff ts >= cutoff.

        The window is counted in the bank's calendar: the same local wall-clock time
        `retention_days` calendar days earlier, so a daylight-saving change between the two
        dates neither shortens nor lengthens the year by an hour.

        Examples
        --------
        >>> run_at = as_of_moment(date(2026, 3, 30), load_policy())   # 2026-03-29 22:00 UTC (CEST)
        >>> load_policy().retention_cutoff(run_at)                     # 2025-03-29 23:00 UTC (CET)
        datetime.datetime(2025, 3, 29, 23, 0, tzinfo=datetime.timezone.utc)
        """
        if run_at.tzinfo is None:
            msg = f"`run_at` must be time-zone aware (UTC), got naive {run_at!r}"
            raise ValueError(msg)
        local = run_at.astimezone(self.zone)
        earlier = local.replace(tzinfo=None) - timedelta(days=self.retention_days)
        return earlier.replace(tzinfo=self.zone).astimezone(UTC)

    def summary(self) -> dict[str, Any]:
        """Flat, non-personal description for run reports and MLflow tags."""
        return {
            "policy_version": self.version,
            "policy_sha256": self.sha256[:12],
            "retention_days": self.retention_days,
            "monthly_commercial_cap": self.monthly_commercial_cap,
            "timezone": self.timezone,
        }


def as_of_moment(as_of: date, policy: Policy) -> datetime:
    """The run's as-of moment: midnight at the start of `as_of` in the bank's zone, in UTC."""
    return datetime(as_of.year, as_of.month, as_of.day, tzinfo=policy.zone).astimezone(UTC)


def _get(raw: dict[str, Any], dotted: str, kind: type) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            msg = f"policy: missing key `{dotted}` (expected a {kind.__name__})"
            raise PolicyError(msg)
        node = node[part]
    # bool is an int subclass: `true` must not pass for a number.
    node_ok = isinstance(node, kind) and not (kind is int and isinstance(node, bool))
    if not node_ok:
        msg = f"policy: `{dotted}` must be a {kind.__name__}, found {node!r}"
        raise PolicyError(msg)
    return node


def _subset(dotted: str, values: list[Any], allowed: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        msg = (
            f"policy: `{dotted}` has unknown values {unknown}; expected a subset of {list(allowed)}"
        )
        raise PolicyError(msg)
    return tuple(values)


def parse_policy(raw: Any, *, sha256: str = "") -> Policy:
    if not isinstance(raw, dict):
        msg = f"policy: expected a mapping at the top level, found {type(raw).__name__}"
        raise PolicyError(msg)
    version = str(_get(raw, "version", str))
    timezone = _get(raw, "timezone", str)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = (
            f"policy: `timezone` must be an IANA zone such as 'Europe/Brussels', found {timezone!r}"
        )
        raise PolicyError(msg) from exc
    retention = _get(raw, "retention.click_data_days", int)
    if not 1 <= retention <= MAX_RETENTION_DAYS:
        msg = (
            f"policy: `retention.click_data_days` must be between 1 and {MAX_RETENTION_DAYS}"
            f" (the notice keeps click data at most 1 year), found {retention}"
        )
        raise PolicyError(msg)
    cap = _get(raw, "communication.monthly_commercial_cap", int)
    if cap < 0:
        msg = f"policy: `communication.monthly_commercial_cap` must be >= 0, found {cap}"
        raise PolicyError(msg)
    comm = "communication."
    capped = _subset(
        comm + "capped_channels", _get(raw, comm + "capped_channels", list), COMM_CHANNELS
    )
    exempt_ch = _subset(
        comm + "exempt_channels", _get(raw, comm + "exempt_channels", list), COMM_CHANNELS
    )
    if set(capped) & set(exempt_ch):
        msg = f"policy: channels {sorted(set(capped) & set(exempt_ch))} are both capped and exempt"
        raise PolicyError(msg)
    counted = _subset(
        comm + "counted_categories", _get(raw, comm + "counted_categories", list), COMM_CATEGORIES
    )
    exempt_cat = _subset(
        comm + "exempt_categories", _get(raw, comm + "exempt_categories", list), COMM_CATEGORIES
    )
    if set(counted) & set(exempt_cat):
        msg = f"policy: categories {sorted(set(counted) & set(exempt_cat))} are both counted and exempt"
        raise PolicyError(msg)
    web_purpose = _get(raw, "consent.web_data_purpose", str)
    email_purpose = _get(raw, "consent.email_purpose", str)
    for key, value in (("web_data_purpose", web_purpose), ("email_purpose", email_purpose)):
        if value not in CONSENT_PURPOSES:
            msg = (
                f"policy: `consent.{key}` must be one of {list(CONSENT_PURPOSES)}, found {value!r}"
            )
            raise PolicyError(msg)
    providers = _get(raw, "group.providers", list)
    if not providers or not all(isinstance(p, str) and p for p in providers):
        msg = f"policy: `group.providers` must be a non-empty list of names, found {providers!r}"
        raise PolicyError(msg)
    themes_raw = _get(raw, "themes", dict)
    _subset("themes", list(themes_raw), THEMES)
    theme_rules = {
        theme: _subset(f"themes.{theme}", list(families), FAMILIES)
        for theme, families in sorted(themes_raw.items())
    }
    return Policy(
        version=version,
        timezone=timezone,
        require_identification=_get(raw, "registration.require_identification", bool),
        retention_days=retention,
        web_data_purpose=web_purpose,
        email_purpose=email_purpose,
        default_consent=_get(raw, "consent.default_when_no_record", bool),
        use_events_from_non_consented_periods=_get(
            raw, "consent.use_events_from_non_consented_periods", bool
        ),
        monthly_commercial_cap=cap,
        capped_channels=capped,
        exempt_channels=exempt_ch,
        counted_categories=counted,
        exempt_categories=exempt_cat,
        identification_required_channels=_subset(
            comm + "identification_required_channels",
            _get(raw, comm + "identification_required_channels", list),
            COMM_CHANNELS,
        ),
        explicit_consent_channels=_subset(
            comm + "explicit_consent_channels",
            _get(raw, comm + "explicit_consent_channels", list),
            COMM_CHANNELS,
        ),
        group_providers=tuple(providers),
        theme_rules=theme_rules,
        sha256=sha256,
    )


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate the policy file (default `conf/policy.yaml`).

    Examples
    --------
    >>> policy = load_policy()
    >>> policy.retention_days
    365
    """
    path = Path(path or POLICY_FILE)
    if not path.is_file():
        msg = f"policy: expected a policy file at {path}, found none"
        raise PolicyError(msg)
    text = path.read_bytes()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"policy: {path} is not valid YAML: {exc}"
        raise PolicyError(msg) from exc
    return parse_policy(raw, sha256=hashlib.sha256(text).hexdigest())


def local_month_start(moment: datetime, policy: Policy) -> datetime:
    """Start (UTC) of the bank-local calendar month containing `moment`."""
    local = moment.astimezone(policy.zone)
    return datetime(local.year, local.month, 1, tzinfo=policy.zone).astimezone(UTC)


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"

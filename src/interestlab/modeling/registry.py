"""The MLflow model registry: versions, audited alias moves and recorded approvals.

Registered model per family: `interest-<family>`. Aliases only (stages are deprecated):
`candidate` = the latest trained version, `champion` = the version plans are made from.
Every alias move writes one audit record (who, when, alias, from-version, to-version, reason)
as a JSON tag `audit.NNNN` on the registered model and on every version concerned, so the
history survives in the UI next to the version it concerns.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from datetime import UTC, datetime
from typing import Any

from interestlab.errors import InterestlabError
from interestlab.modeling import tracking

CANDIDATE = "candidate"
CHAMPION = "champion"
AUDIT_PREFIX = "audit."
APPROVAL_PREFIX = "approval."
# MLflow's own progress lines of `mlflow.register_model` (not errors, not warnings).
_REGISTER_PROGRESS = ("Registered model '", "Successfully registered model '", "Created version '")


class RegistryError(InterestlabError):
    """A registered model, version or alias the caller named does not exist."""


class ApprovalError(InterestlabError, ValueError):
    """An approval the four-eyes rule forbids (empty reviewer, the trainer approving)."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _is_missing(exc: Exception) -> bool:
    text = str(exc)
    return "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower() or "No such" in text


def get_version(client: Any, family: str, version: str | int) -> Any:
    name = tracking.model_name(family)
    try:
        return client.get_model_version(name, str(version))
    except Exception as exc:
        if _is_missing(exc):
            msg = f"registered model `{name}` has no version {version}"
            raise RegistryError(msg) from exc
        raise


def version_by_alias(client: Any, family: str, alias: str) -> Any | None:
    """The version under `alias`, or None when the alias (or the model) does not exist."""
    name = tracking.model_name(family)
    try:
        return client.get_model_version_by_alias(name, alias)
    except Exception as exc:
        if _is_missing(exc) or "alias" in str(exc).lower():
            return None
        raise


def _next_audit_key(client: Any, name: str) -> str:
    tags = client.get_registered_model(name).tags
    count = sum(1 for key in tags if key.startswith(AUDIT_PREFIX))
    return f"{AUDIT_PREFIX}{count + 1:04d}"


def move_alias(
    client: Any, family: str, *, alias: str, version: str | int, who: str, reason: str
) -> dict[str, Any]:
    """Point `alias` at `version` and write the audit record; return it."""
    name = tracking.model_name(family)
    previous = version_by_alias(client, family, alias)
    record = {
        "alias": alias,
        "from_version": str(previous.version) if previous is not None else None,
        "to_version": str(version),
        "who": who,
        "when": now_iso(),
        "reason": reason,
    }
    client.set_registered_model_alias(name, alias, str(version))
    key = _next_audit_key(client, name)
    value = json.dumps(record, sort_keys=True)
    client.set_registered_model_tag(name, key, value)
    client.set_model_version_tag(name, str(version), key, value)
    client.set_model_version_tag(name, str(version), f"alias.{alias}.set_by", who)
    client.set_model_version_tag(name, str(version), f"alias.{alias}.set_at", record["when"])
    if previous is not None and str(previous.version) != str(version):
        client.set_model_version_tag(name, str(previous.version), key, value)
    return record


def alias_history(family: str) -> list[dict[str, Any]]:
    """Every audited alias move of a family's registered model, oldest first."""
    client = tracking.client()
    name = tracking.model_name(family)
    try:
        tags = client.get_registered_model(name).tags
    except Exception as exc:
        if _is_missing(exc):
            msg = f"no registered model `{name}`; train the family first"
            raise RegistryError(msg) from exc
        raise
    return [json.loads(tags[key]) for key in sorted(tags) if key.startswith(AUDIT_PREFIX)]


def register_version(
    model_uri: str,
    family: str,
    *,
    description: str,
    tags: dict[str, Any],
    trainer: str,
    reason: str,
) -> str:
    """Register `model_uri` as a new version of `interest-<family>` with the alias `candidate`.

    The description is the model card; `tags` are lineage (run id, policy version, data
    window, snapshot hashes, GX status, git commit). Returns the version number.
    """
    import mlflow

    client = tracking.client()
    name = tracking.model_name(family)
    try:
        client.get_registered_model(name)
    except Exception as exc:
        if not _is_missing(exc):
            raise
        client.create_registered_model(
            name,
            description=f"Interest (propensity) model, {family.replace('_', ' ')} family (R4).",
            tags={"family": family},
        )
    # `register_model` prints "Registered model ... already exists. Creating a new version"
    # and "Created version ..." to stderr (the model was created above on purpose): those two
    # progress lines are dropped, anything else it writes is passed on.
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):
        registered = mlflow.register_model(
            model_uri,
            name,
            tags={k: tracking.tag_value(v) for k, v in {**tags, "trainer": trainer}.items()},
        )
    for line in printed.getvalue().splitlines(keepends=True):
        if not line.startswith(_REGISTER_PROGRESS):
            sys.stderr.write(line)
    version = str(registered.version)
    client.update_model_version(name, version, description=description)
    move_alias(client, family, alias=CANDIDATE, version=version, who=trainer, reason=reason)
    return version


def record_approval(
    family: str, version: str | int, reviewer: str, note: str = ""
) -> dict[str, str]:
    """Record a reviewer's approval of a version (as version tags); returns what was stored.

    Raises `RegistryError` for an unknown version, `ValueError` for an empty reviewer name and
    when the reviewer is the version's trainer (four eyes: nobody approves their own model).

    Examples
    --------
    >>> record_approval("mortgage", 3, "a.reviewer", "segments reviewed")  # doctest: +SKIP
    """
    reviewer = (reviewer or "").strip()
    if not reviewer:
        msg = "`reviewer` must be a non-empty name, got an empty string"
        raise ApprovalError(msg)
    client = tracking.client()
    model_version = get_version(client, family, version)
    trainer = model_version.tags.get("trainer")
    if trainer is not None and trainer == reviewer:
        msg = (
            f"`{reviewer}` trained `{tracking.model_name(family)}` version {version} and cannot"
            " approve it; expected a reviewer other than the trainer"
        )
        raise ApprovalError(msg)
    record = {
        f"{APPROVAL_PREFIX}reviewer": reviewer,
        f"{APPROVAL_PREFIX}at": now_iso(),
        f"{APPROVAL_PREFIX}note": note,
    }
    for key, value in record.items():
        client.set_model_version_tag(
            tracking.model_name(family), str(version), key, tracking.tag_value(value)
        )
    return record

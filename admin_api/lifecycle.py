"""Parsing a key's lifecycle fields (SPEC §8): expiry, allowed addresses, rotation. Pure
functions that raise ValidationFailed (400); no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from admin_api.store import KeyPatch
from gateway.errors import ValidationFailed
from gateway.headers import Network
from gateway.keyrecord import parse_networks

MAX_EXPIRY = timedelta(days=3653)  # "at most 10 years ahead": ten years of 365.25 days, rounded up
OVERLAP_DEFAULT, OVERLAP_MAX = 86_400, 2_592_000
MAX_CIDRS = 100


def expiry(body: dict[str, Any], field: str, now: datetime | None = None) -> datetime | None:
    """RFC 3339 with an offset, in the future, at most 10 years ahead; null -> None."""
    raw = body.get(field)
    if raw is None:
        return None
    if not isinstance(raw, str) or "T" not in raw.upper():
        raise ValidationFailed(f"{field} must be an RFC 3339 date-time.", field=field)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{field} must be an RFC 3339 date-time.", field=field) from None
    if value.tzinfo is None:
        raise ValidationFailed(f"{field} must carry a UTC offset (or Z).", field=field)
    now = now or datetime.now(UTC)
    if value <= now:
        raise ValidationFailed(f"{field} must be in the future.", field=field)
    if value > now + MAX_EXPIRY:
        raise ValidationFailed(f"{field} must be at most 10 years ahead.", field=field)
    return value.astimezone(UTC)


def cidrs(body: dict[str, Any]) -> tuple[Network, ...] | None:
    raw = body.get("allowedCidrs")
    if raw is None:
        return None
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CIDRS:
        raise ValidationFailed(
            f"allowedCidrs must be null or a list of 1 to {MAX_CIDRS} CIDR strings.",
            field="allowedCidrs",
        )
    if not all(isinstance(v, str) for v in raw):
        raise ValidationFailed("allowedCidrs must hold strings.", field="allowedCidrs")
    try:
        return parse_networks(v.strip() for v in raw)
    except ValueError:
        raise ValidationFailed(
            "allowedCidrs must hold addresses or networks such as 203.0.113.0/24 (host bits zero).",
            field="allowedCidrs",
        ) from None


def parse_patch(body: Any) -> tuple[KeyPatch, dict[str, Any]]:
    """The patch and the audit details (what changed, never a secret)."""
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    from admin_api.service import validate_name  # the one name rule

    name = validate_name(body) if "name" in body else None
    set_expiry, set_cidrs = "expiresAt" in body, "allowedCidrs" in body
    expires = expiry(body, "expiresAt") if set_expiry else None
    nets = cidrs(body) if set_cidrs else None
    details: dict[str, Any] = {}
    if name is not None:
        details["name"] = name
    if set_expiry:
        details["expiresAt"] = iso(expires)
    if set_cidrs:
        details["allowedCidrs"] = None if nets is None else [str(n) for n in nets]
    return KeyPatch(name, set_expiry, expires, set_cidrs, nets), details


def parse_rotate(body: Any) -> tuple[int, str | None]:
    """(overlap seconds, the new key's name or None for the old one's)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    overlap = body.get("overlapSeconds", OVERLAP_DEFAULT)
    if overlap is None:
        overlap = OVERLAP_DEFAULT
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        raise ValidationFailed("overlapSeconds must be a whole number.", field="overlapSeconds")
    if not 0 <= overlap <= OVERLAP_MAX:
        raise ValidationFailed(
            f"overlapSeconds must be between 0 and {OVERLAP_MAX}.", field="overlapSeconds"
        )
    from admin_api.service import validate_name

    name = validate_name(body) if body.get("name") is not None else None
    return overlap, name


def iso(value: datetime | None) -> str | None:
    """UTC, ISO 8601, millisecond precision, `Z` suffix (SPEC's timestamps)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

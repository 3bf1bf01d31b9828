"""Parsing a key's lifecycle fields (SPEC §8): expiry, allowed addresses, rotation. Pure
functions that raise ValidationFailed (400); no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from admin_api.key_forms import CIDR, DATE_TIME
from admin_api.store import KeyPatch
from gateway.errors import ValidationFailed
from gateway.headers import Network
from gateway.keyrecord import parse_networks

MAX_EXPIRY = timedelta(days=3653)  # "at most 10 years ahead": ten years of 365.25 days, rounded up
OVERLAP_DEFAULT, OVERLAP_MAX = 86_400, 2_592_000
MAX_CIDRS = 100


def expiry(body: dict[str, Any], field: str, now: datetime | None = None) -> datetime | None:
    """RFC 3339 (admin_api.key_forms.DATE_TIME), in the future, at most 10 years ahead;
    null -> None."""
    raw = body.get(field)
    if raw is None:
        return None
    value = _date_time(raw) if isinstance(raw, str) else None
    if value is None:
        raise ValidationFailed(f"{field} must be an RFC 3339 date-time.", field=field)
    now = now or datetime.now(UTC)
    if value <= now:
        raise ValidationFailed(f"{field} must be in the future.", field=field)
    if value > now + MAX_EXPIRY:
        raise ValidationFailed(f"{field} must be at most 10 years ahead.", field=field)
    return value


def _date_time(raw: str) -> datetime | None:
    """The UTC instant an RFC 3339 date-time names, or None (a day its month lacks included);
    digits of a second beyond the microsecond are dropped."""
    match = DATE_TIME.fullmatch(raw)
    if match is None:
        return None
    offset = match["offset"].upper()
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    text = f"{match['date']}T{match['hour']}:{match['minute']}:{match['second']}.{fraction}"
    try:
        local = datetime.fromisoformat(text + ("+00:00" if offset == "Z" else offset))
    except ValueError:
        return None
    return local.astimezone(UTC)


def cidrs(body: dict[str, Any]) -> tuple[Network, ...] | None:
    raw = body.get("allowedCidrs")
    if raw is None:
        return None
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_CIDRS:
        raise ValidationFailed(
            f"allowedCidrs must be null or a list of 1 to {MAX_CIDRS} CIDR strings.",
            field="allowedCidrs",
        )
    if not all(isinstance(v, str) and CIDR.fullmatch(v) for v in raw):
        raise ValidationFailed(
            "allowedCidrs must hold addresses or networks such as 203.0.113.0/24.",
            field="allowedCidrs",
        )
    # Host bits set (10.0.0.1/8) name their network (10.0.0.0/8), as the document's pattern,
    # which cannot see host bits, allows (docs/decisions.md, "Keys: allowedCidrs").
    return parse_networks(raw, strict=False)


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
    if not isinstance(body, dict):  # JSON null too: only an empty body means "the defaults"
        raise ValidationFailed("The body must be a JSON object.")
    overlap = body.get("overlapSeconds", OVERLAP_DEFAULT)  # null is a 400, as for sources
    if isinstance(overlap, float) and overlap.is_integer():
        overlap = int(overlap)  # JSON has one number type: 300.0 is 300 (as JSON Schema says)
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        raise ValidationFailed("overlapSeconds must be a whole number.", field="overlapSeconds")
    if not 0 <= overlap <= OVERLAP_MAX:
        raise ValidationFailed(
            f"overlapSeconds must be between 0 and {OVERLAP_MAX}.", field="overlapSeconds"
        )
    from admin_api.service import validate_name

    name = validate_name(body) if "name" in body else None  # a null name is a 400
    return overlap, name


def iso(value: datetime | None) -> str | None:
    """UTC, ISO 8601, millisecond precision, `Z` suffix (SPEC's timestamps)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"

"""HookSentry list parameters (Qt, Pg, CpOrd, TpOrd, IsActive): parsing only, no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from gateway.errors import ValidationFailed

SORT_FIELDS = ("id", "name", "isActive", "createdAt", "revokedAt", "expiresAt", "lastUsedAt")
_SORT_BY_LOWER = {f.lower(): f for f in SORT_FIELDS}
MAX_PAGE_SIZE = 100
MAX_DIGITS = 18  # a number of up to 18 digits is below 2**63: no overflow anywhere downstream
T = TypeVar("T")
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")
BOOLEANS: dict[str, bool | None] = {"true": True, "false": False}
DIRECTIONS = {"asc": False, "desc": True}


@dataclass(frozen=True, slots=True)
class PageRequest:
    size: int = 10
    page: int = 1
    sort: str = "id"
    descending: bool = True
    is_active: bool | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def parse_page_request(
    query: Mapping[str, str],
    default: PageRequest = PageRequest(),
    sort_fields: tuple[str, ...] = SORT_FIELDS,
) -> PageRequest:
    """Names match case-insensitively, as the platform's server does; the first value wins.
    Parameters not given take `default`'s values (the API's defaults unless told); `CpOrd`
    is one of `sort_fields` (the key list's unless told)."""
    params: dict[str, str] = {}
    for name, value in query.items():
        params.setdefault(name.lower(), value)
    by_lower = _SORT_BY_LOWER if sort_fields is SORT_FIELDS else {f.lower(): f for f in sort_fields}
    return PageRequest(
        size=_int(params, "Qt", default.size, 1, MAX_PAGE_SIZE),
        page=_int(params, "Pg", default.page, 1, None),
        sort=_choice(params, "CpOrd", by_lower, default.sort, ", ".join(sort_fields)),
        descending=_choice(params, "TpOrd", DIRECTIONS, default.descending, "Asc, Desc"),
        is_active=_choice(params, "IsActive", BOOLEANS, default.is_active, "true, false"),
    )


def _int(params: dict[str, str], name: str, default: int, lo: int, hi: int | None) -> int:
    raw = params.get(name.lower())
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw.strip()):
        raise ValidationFailed(f"{name} must be a whole number.", field=name)
    value = int(raw)
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ValidationFailed(f"{name} must be {bound}.", field=name)
    return value


def _choice(
    params: dict[str, str], name: str, allowed: Mapping[str, T], default: T, shown: str
) -> T:
    raw = params.get(name.lower())
    if raw is None:
        return default
    try:
        return allowed[raw.strip().lower()]
    except KeyError:
        raise ValidationFailed(f"{name} must be one of: {shown}.", field=name) from None

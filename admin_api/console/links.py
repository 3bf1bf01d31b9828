"""A list page's view state as URLs (keys, sources): sorting, filtering and paging. Pure, no I/O.

The console's URLs use the JSON API's own list parameters (Qt, Pg, CpOrd, TpOrd, IsActive), so
`parse_page_request` is the one parser and a bookmarked view means the same thing in both places.
Defaults are left out of the URL to keep links short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from admin_api.pagination import SORT_FIELDS, PageRequest, parse_page_request
from gateway.errors import ValidationFailed

# The console lists newest first unless the URL says otherwise (the API's default is by id).
CONSOLE_DEFAULT = PageRequest(sort="createdAt", descending=True)
PAGE_SIZES = (10, 25, 50, 100)


def page_request(
    query: Mapping[str, str],
    default: PageRequest = CONSOLE_DEFAULT,
    sort_fields: tuple[str, ...] = SORT_FIELDS,
) -> tuple[PageRequest, str | None]:
    """A list page's view from its URL (the API's parameter names); a bad parameter falls back
    to `default`, with a sentence saying so."""
    try:
        return parse_page_request(query, default, sort_fields), None
    except ValidationFailed as exc:
        return default, f"{exc.message} Showing the default view instead."


FILTERS = (("all", "All", None), ("active", "Active", True), ("revoked", "Revoked", False))
COLUMNS = (
    ("name", "Name"),
    ("isActive", "Status"),
    ("createdAt", "Created"),
    ("revokedAt", "Revoked"),
    ("expiresAt", "Expires"),
    ("lastUsedAt", "Last used"),
)
_FIRST_DIRECTION = {
    "name": False,
    "isActive": True,
    "createdAt": True,
    "revokedAt": True,
    "expiresAt": False,
    "lastUsedAt": True,
}


@dataclass(frozen=True, slots=True)
class SortLink:
    field: str
    label: str
    href: str
    aria_sort: str  # "ascending" | "descending" | "none"


@dataclass(frozen=True, slots=True)
class FilterLink:
    key: str
    label: str
    href: str
    current: bool


@dataclass(frozen=True, slots=True)
class Paging:
    first_item: int
    last_item: int
    total: int
    page: int
    pages: int
    prev_href: str | None
    next_href: str | None


def query_of(page: PageRequest) -> dict[str, str]:
    params: dict[str, str] = {}
    if page.sort != CONSOLE_DEFAULT.sort or page.descending != CONSOLE_DEFAULT.descending:
        params["CpOrd"] = page.sort
        params["TpOrd"] = "Desc" if page.descending else "Asc"
    if page.is_active is not None:
        params["IsActive"] = "true" if page.is_active else "false"
    if page.size != CONSOLE_DEFAULT.size:
        params["Qt"] = str(page.size)
    if page.page != 1:
        params["Pg"] = str(page.page)
    return params


def href(base: str, page: PageRequest, **extra: str) -> str:
    params = query_of(page) | extra
    return f"{base}?{urlencode(params)}" if params else base


def sort_links(
    base: str,
    page: PageRequest,
    columns: tuple[tuple[str, str], ...] = COLUMNS,
    first_direction: dict[str, bool] = _FIRST_DIRECTION,
) -> list[SortLink]:
    links = []
    for field, label in columns:
        if field == page.sort:
            target = replace(page, descending=not page.descending, page=1)
            state = "descending" if page.descending else "ascending"
        else:
            target = replace(page, sort=field, descending=first_direction[field], page=1)
            state = "none"
        links.append(SortLink(field, label, href(base, target), state))
    return links


def filter_links(
    base: str, page: PageRequest, filters: tuple[tuple[str, str, bool | None], ...] = FILTERS
) -> list[FilterLink]:
    return [
        FilterLink(
            key, label, href(base, replace(page, is_active=value, page=1)), page.is_active is value
        )
        for key, label, value in filters
    ]


def paging(base: str, page: PageRequest, total: int) -> Paging:
    pages = max(1, math.ceil(total / page.size))
    first = min(total, page.offset + 1)
    last = min(total, page.offset + page.size)
    prev_page = min(page.page - 1, pages) if page.page > 1 else None
    prev_href = href(base, replace(page, page=prev_page)) if prev_page else None
    next_href = href(base, replace(page, page=page.page + 1)) if page.page < pages else None
    return Paging(first, last, total, page.page, pages, prev_href, next_href)

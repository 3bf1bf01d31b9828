"""The rejection log page: the API's records (admin_api.rejections_views) with the reason in
words and what to do about it."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from admin_api.console import links
from admin_api.console.navigation import url
from admin_api.console.rejection_reasons import Explanation, explain
from admin_api.console.render import render
from admin_api.console.session import require_session
from admin_api.pagination import PageRequest
from admin_api.rejections_views import rejection_page
from admin_api.sources_store import SourceStore
from gateway.keys import DB

DEFAULT = PageRequest(size=25, sort="at")
_SORT = ("at",)


@dataclass(frozen=True, slots=True)
class Row:
    record: dict[str, Any]
    explanation: Explanation
    source_name: str | None


def _paging(base: str, page: PageRequest, total: int) -> links.Paging:
    """Previous/next links that carry only Qt and Pg (the log has one order: newest first)."""

    def href(number: int) -> str:
        params = {"Pg": str(number)} | ({"Qt": str(page.size)} if page.size != DEFAULT.size else {})
        return f"{base}?{urlencode(params)}"

    pages = max(1, math.ceil(total / page.size))
    first, last = min(total, page.offset + 1), min(total, page.offset + page.size)
    prev_href = href(min(page.page - 1, pages)) if page.page > 1 else None
    next_href = href(page.page + 1) if page.page < pages else None
    return links.Paging(first, last, total, page.page, pages, prev_href, next_href)


async def rejections_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    page, problem = links.page_request(request.query, DEFAULT, _SORT)
    total, items = await rejection_page(request.config_dict, session.principal, page)
    sources = await _sources(request, session.principal.tenant_id, items)
    rows = [
        Row(item, explain(item["reason"], sources.get(item["sourceId"], (None, None))[1]),
            sources.get(item["sourceId"], (None, None))[0])
        for item in items
    ]  # fmt: skip
    base = url(request, "rejections")
    return render(
        request,
        "rejections.html",
        session,
        rows=rows,
        total=total,
        problem=problem,
        paging=_paging(base, page, total),
    )


async def _sources(
    request: web.Request, tenant_id: uuid.UUID, items: list[dict[str, Any]]
) -> dict[str, tuple[str, str]]:
    """Source id -> (name, provider) for the sources named on this page (a few at most)."""
    store = SourceStore(request.config_dict[DB])
    found: dict[str, tuple[str, str]] = {}
    for source_id in {i["sourceId"] for i in items if i.get("sourceId")}:
        row = await store.get(uuid.UUID(source_id), tenant_id, secrets=False)
        if row is not None:
            found[source_id] = (row.name, row.provider)
    return found

"""The sources list and deactivation. Parse the request, call the SourceService, render.

Every rule (roles, tenant checks, validation) is the service's; these handlers turn its answers
and errors into pages, as the keys pages do. Creating and rotating are in `source_create` and
`source_rotate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aiohttp import web

from admin_api.console import links
from admin_api.console.csrf import check_csrf
from admin_api.console.flash import Flash, set_flash
from admin_api.console.navigation import safe_next, see_other, url
from admin_api.console.origin import origin_of
from admin_api.console.providers import PROVIDER_INFO
from admin_api.console.render import render
from admin_api.console.session import require_session
from admin_api.service import can_write
from admin_api.sources_service import SORT_FIELDS
from admin_api.sources_store import SourceRow
from admin_api.sources_views import ingest_path, source_service
from admin_api.views import actor_of
from gateway.errors import Forbidden, NotFound
from gateway.tokens import Principal

COLUMNS = (
    ("name", "Name"),
    ("provider", "Provider"),
    ("isActive", "Status"),
    ("createdAt", "Created"),
)
_FIRST_DIRECTION = {"name": False, "provider": False, "isActive": True, "createdAt": True}
FILTERS = (("all", "All", None), ("active", "Active", True), ("inactive", "Inactive", False))


def require_source_writer(principal: Principal) -> None:
    """Before a form is even looked at: a Viewer gets the service's refusal, not a form error."""
    if not can_write(principal):
        raise Forbidden("Your role does not allow changing sources.")


def url_maker(request: web.Request) -> Callable[[SourceRow], str]:
    """The full ingest URL of a source, as a sender must be told it."""
    origin = origin_of(request)
    return lambda row: origin + ingest_path(row)


async def sources_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    page, problem = links.page_request(request.query, sort_fields=SORT_FIELDS)
    total, rows = await source_service(request).page(session.principal, page)
    base = url(request, "sources")
    confirm_id = request.query.get("confirm")
    confirm = next((r for r in rows if str(r.id) == confirm_id and r.deactivated_at is None), None)
    return render(
        request,
        "sources.html",
        session,
        page=page,
        rows=rows,
        total=total,
        problem=problem,
        confirm=confirm,
        confirm_missing=bool(confirm_id) and confirm is None,
        here=links.href(base, page),
        deactivate_href=lambda row: links.href(base, page, confirm=str(row.id)),
        sort_links=links.sort_links(base, page, COLUMNS, _FIRST_DIRECTION),
        filter_links=links.filter_links(base, page, FILTERS),
        paging=links.paging(base, page, total),
        page_sizes=links.PAGE_SIZES,
        first_page=links.href(base, replace(page, page=1)),
        ingest_url=url_maker(request),
        providers=PROVIDER_INFO,
    )


async def deactivate_source(request: web.Request) -> web.Response:
    session = await require_session(request)
    form = await check_csrf(request, session.id)
    back = safe_next(str(form.get("back", "")), url(request, "sources"))
    service = source_service(request)
    try:
        row = await service.deactivate(
            session.principal, request.match_info["source_id"], actor_of(request, session.principal)
        )
    except NotFound as exc:
        flash = Flash(
            "error",
            f"Nothing was deactivated: {exc.message} It may have been deactivated "
            "already, in another tab or by a colleague.",
        )
    else:
        flash = Flash(
            "success",
            f"Deactivated “{row.name}”. Deliveries to its URL are no longer accepted "
            "on their signature.",
        )
    response = see_other(back)
    set_flash(request, response, flash)
    return response

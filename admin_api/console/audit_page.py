"""The console's audit page (SPEC §8): the tenant's audit trail, newest first, readable by every
role. The rules are the API's (admin_api.audit_views); this handler only renders them."""

from __future__ import annotations

from aiohttp import web

from admin_api.audit import ACTIONS
from admin_api.audit_views import SORT_FIELDS, audit_page, parse_action
from admin_api.console.navigation import url
from admin_api.console.render import render
from admin_api.console.session import require_session
from admin_api.pagination import PageRequest, parse_page_request
from gateway.errors import ValidationFailed

ACTION_WORDS = {
    "apikey.create": "created a key",
    "apikey.patch": "changed a key",
    "apikey.rotate": "rotated a key",
    "apikey.revoke": "revoked a key",
    "source.create": "created a source",
    "source.patch": "changed a source",
    "source.rotate": "rotated a source's secret",
    "source.deactivate": "deactivated a source",
    "tenant.create": "created the tenant",
    "tenant.deactivate": "deactivated the tenant",
}
_DEFAULT = PageRequest(size=25, sort="at")


async def audit_console_page(request: web.Request) -> web.Response:
    session = await require_session(request)
    problem = None
    try:
        page = parse_page_request(request.query, _DEFAULT, SORT_FIELDS)
        action = parse_action(request.query)
    except ValidationFailed as exc:
        page, action, problem = _DEFAULT, None, f"{exc.message} Showing the default view."
    total, rows = await audit_page(request.config_dict, session.principal, page, action)
    base = url(request, "audit")
    last_page = max(1, -(-total // page.size))
    pages = {
        "prev": f"{base}?{_query(page.page - 1, action)}" if page.page > 1 else None,
        "next": f"{base}?{_query(page.page + 1, action)}" if page.page < last_page else None,
    }
    return render(
        request, "audit.html", session,
        rows=rows, total=total, page=page, last_page=last_page, pages=pages, action=action,
        actions=ACTIONS, words=ACTION_WORDS, problem=problem,
    )  # fmt: skip


def _query(page: int, action: str | None) -> str:
    return f"Pg={page}" + (f"&Action={action}" if action else "")

"""GET /api/v1/rejections (SPEC §7): the caller's tenant's rejection log, newest first.

The records live in Redis only (gateway.rejections); the tenant check is the admin API's usual
one (PostgreSQL), so a deactivated tenant's old records are not readable.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin_api.auth import bearer_principal
from admin_api.headers import add_admin_headers
from admin_api.pagination import PageRequest, parse_page_request
from admin_api.store import KeyStore
from gateway.errors import Forbidden, NotFound, RejectionsUnavailable
from gateway.keys import CONFIG, DB, REDIS
from gateway.middlewares import json_response
from gateway.redis_client import REDIS_ERRORS
from gateway.rejections import read_page
from gateway.tokens import Principal

_DEFAULT = PageRequest(sort="at")
_SORT = ("at",)  # newest first, always: the log is a list in arrival order


async def rejection_page(
    app: Any, principal: Principal, page: PageRequest
) -> tuple[int, list[dict[str, Any]]]:
    """The service: tenant and role checks, then one page from Redis (503 when it is down)."""
    if not await KeyStore(app[DB]).tenant_is_active(principal.tenant_id):
        raise NotFound("The tenant does not exist or is not active.")
    if principal.role is None:
        raise Forbidden("Your role does not allow viewing the rejection log.")
    config = app[CONFIG]
    try:
        return await read_page(
            app[REDIS], config.redis_prefix, str(principal.tenant_id), page.size, page.offset
        )
    except REDIS_ERRORS:
        raise RejectionsUnavailable() from None


async def list_rejections(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    page = parse_page_request(request.query, _DEFAULT, _SORT)
    total, items = await rejection_page(request.config_dict, principal, page)
    return json_response({"total": total, "items": items})


def create_rejections_app() -> web.Application:
    rejections = web.Application()
    rejections.on_response_prepare.append(add_admin_headers)  # tenant data: no-store
    rejections.router.add_get("", list_rejections)
    return rejections

"""GET /api/v1/audit (SPEC §8): the caller's tenant's audit trail, newest first. Every role
the gateway knows may read it (Viewer too); nothing here changes or deletes a row."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin_api.audit import ACTIONS, AuditRow, AuditStore
from admin_api.auth import bearer_principal
from admin_api.headers import add_admin_headers
from admin_api.pagination import PageRequest, parse_page_request
from admin_api.store import KeyStore
from admin_api.views import timestamp
from gateway.errors import Forbidden, NotFound, ValidationFailed
from gateway.keys import DB
from gateway.middlewares import json_response
from gateway.tokens import Principal

SORT_FIELDS = ("at",)
_DEFAULT = PageRequest(sort="at")


def create_audit_app() -> web.Application:
    app = web.Application()
    app.on_response_prepare.append(add_admin_headers)
    app.router.add_get("", list_audit)
    return app


async def audit_page(
    app: Any, principal: Principal, page: PageRequest, action: str | None
) -> tuple[int, list[AuditRow]]:
    """The service step: the tenant is active and the role is known, then one page."""
    if not await KeyStore(app[DB]).tenant_is_active(principal.tenant_id):
        raise NotFound("The tenant does not exist or is not active.")
    if principal.role is None:
        raise Forbidden("Your role does not allow viewing the audit trail.")
    return await AuditStore(app[DB]).page(principal.tenant_id, page, action)


def parse_action(query: Any) -> str | None:
    for name, value in query.items():
        if name.lower() == "action":
            if value not in ACTIONS:
                raise ValidationFailed(
                    f"Action must be one of: {', '.join(ACTIONS)}.", field="Action"
                )
            return str(value)
    return None


def audit_json(row: AuditRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "at": timestamp(row.at),
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "targetType": row.target_type,
        "targetId": row.target_id,
        "requestId": row.request_id,
        "ip": row.ip,
        "details": row.details,
    }


async def list_audit(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    page = parse_page_request(request.query, _DEFAULT, SORT_FIELDS)
    total, rows = await audit_page(
        request.config_dict, principal, page, parse_action(request.query)
    )
    return json_response({"total": total, "items": [audit_json(r) for r in rows]})

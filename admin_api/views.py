"""JSON handlers for /api/v1/apikeys: parse the request, call the service, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from admin_api.auth import bearer_principal
from admin_api.pagination import parse_page_request
from admin_api.service import KeyService
from admin_api.store import KeyRow, KeyStore
from gateway.errors import ValidationFailed
from gateway.keys import DB, KEY_CACHE, L2
from gateway.middlewares import json_response


def key_service_of(app: web.Application | ChainMapProxy) -> KeyService:
    """The service over this process's stores and key cache (cheap: three references)."""
    return KeyService(KeyStore(app[DB]), app[L2], app.get(KEY_CACHE))


def key_service(request: web.Request) -> KeyService:
    return key_service_of(request.config_dict)


def timestamp(value: datetime | None) -> str | None:
    """UTC, ISO 8601, millisecond precision, `Z` suffix."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def key_json(row: KeyRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "isActive": row.revoked_at is None,
        "createdAt": timestamp(row.created_at),
        "revokedAt": timestamp(row.revoked_at),
    }


async def create_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ValidationFailed("The body must be a JSON object.") from None
    created = await key_service(request).create(principal, body)
    data = key_json(created.row)
    response = json_response(
        {
            "id": data["id"],
            "name": data["name"],
            "key": created.key,
            "createdAt": data["createdAt"],
        },
        status=201,
    )
    response.headers["Location"] = f"/api/v1/apikeys/{created.row.id}"
    response.headers["Cache-Control"] = "no-store"
    return response


async def list_keys(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    page = parse_page_request(request.query)
    total, rows = await key_service(request).list(principal, page)
    return json_response({"total": total, "items": [key_json(r) for r in rows]})


async def revoke_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    row = await key_service(request).revoke(principal, request.match_info["key_id"])
    return json_response(key_json(row))

"""JSON handlers for /api/v1/apikeys: parse the request, call the service, shape the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from admin_api.audit import Actor
from admin_api.auth import bearer_principal
from admin_api.pagination import parse_page_request
from admin_api.service import KeyService
from admin_api.store import KeyRow, KeyStore
from gateway.errors import ValidationFailed
from gateway.headers import sender_address
from gateway.keys import DB, KEY_CACHE, L2, PROXY
from gateway.middlewares import json_response, request_id_of
from gateway.tokens import Principal


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


def key_json(row: KeyRow, now: datetime | None = None) -> dict[str, Any]:
    """A key object (SPEC §1, §8): never the key or its hash."""
    cidrs = None if row.allowed_cidrs is None else [str(n) for n in row.allowed_cidrs]
    return {
        "id": str(row.id),
        "name": row.name,
        "isActive": row.is_active(now or datetime.now(UTC)),
        "createdAt": timestamp(row.created_at),
        "revokedAt": timestamp(row.revoked_at),
        "expiresAt": timestamp(row.expires_at),
        "lastUsedAt": timestamp(row.last_used_at),
        "allowedCidrs": cidrs,
    }


def actor_of(request: web.Request, principal: Principal) -> Actor:
    """Who is changing something, for the audit trail: the caller's address as the ingest
    path reads it (behind a trusted proxy, the first untrusted X-Forwarded-For hop)."""
    address = sender_address(
        request.remote,
        request.headers.getall("X-Forwarded-For", ()),
        request.config_dict[PROXY].trusted,
    )
    return Actor.of(principal, request_id_of(request), None if address is None else str(address))


async def json_body(request: web.Request, *, empty: Any = None) -> Any:
    raw = await request.read()
    if not raw.strip() and empty is not None:
        return empty
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationFailed("The body must be a JSON object.") from None


async def create_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    body = await json_body(request)
    created = await key_service(request).create(principal, body, actor_of(request, principal))
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
    now = datetime.now(UTC)
    return json_response({"total": total, "items": [key_json(r, now) for r in rows]})


async def get_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    row = await key_service(request).get(principal, request.match_info["key_id"])
    return json_response(key_json(row))


async def patch_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    body = await json_body(request)
    row = await key_service(request).patch(
        principal, request.match_info["key_id"], body, actor_of(request, principal)
    )
    return json_response(key_json(row))


async def rotate_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    body = await json_body(request, empty={})
    created, old = await key_service(request).rotate(
        principal, request.match_info["key_id"], body, actor_of(request, principal)
    )
    data = key_json(created.row) | {
        "key": created.key,
        "replaces": str(old.id),
    }
    response = json_response(data, status=201)
    response.headers["Location"] = f"/api/v1/apikeys/{created.row.id}"
    response.headers["Cache-Control"] = "no-store"
    return response


async def revoke_key(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    row = await key_service(request).revoke(
        principal, request.match_info["key_id"], actor_of(request, principal)
    )
    return json_response(key_json(row))

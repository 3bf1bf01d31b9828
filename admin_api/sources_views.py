"""JSON handlers for /api/v1/sources (SPEC §6): parse the request, call the service, shape."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from admin_api.auth import bearer_principal
from admin_api.pagination import parse_page_request
from admin_api.sources_service import SORT_FIELDS, SourceResult, SourceService
from admin_api.sources_store import SourceRow, SourceStore
from admin_api.store import KeyStore
from admin_api.views import actor_of, timestamp
from gateway.errors import ValidationFailed
from gateway.keys import DB, SECRET_BOX, SOURCE_CACHE, SOURCE_L2
from gateway.middlewares import json_response


def source_service_of(app: web.Application | ChainMapProxy) -> SourceService:
    """The service over this process's stores and source cache (cheap: a few references)."""
    store = SourceStore(app[DB])
    return SourceService(
        store, KeyStore(app[DB]), app[SECRET_BOX], app[SOURCE_L2], app.get(SOURCE_CACHE)
    )


def source_service(request: web.Request) -> SourceService:
    return source_service_of(request.config_dict)


def ingest_path(row: SourceRow) -> str:
    return f"/api/v1/ingest/{row.tenant_id}/{row.token}"


def source_json(row: SourceRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "provider": row.provider,
        "token": row.token,
        "ingestPath": ingest_path(row),
        "requireApiKey": row.require_api_key,
        "toleranceSeconds": row.tolerance_seconds,
        "dedupSeconds": row.dedup_seconds,
        "isActive": row.deactivated_at is None,
        "createdAt": timestamp(row.created_at),
        "deactivatedAt": timestamp(row.deactivated_at),
        "secrets": [
            {
                "id": str(s.id),
                "createdAt": timestamp(s.created_at),
                "expiresAt": timestamp(s.expires_at),
            }
            for s in row.secrets
        ],
    }


async def _body(request: web.Request) -> Any:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ValidationFailed("The body must be a JSON object.") from None


def _created(result: SourceResult) -> web.Response:
    data = source_json(result.row)
    if result.secret is not None:
        data["secret"] = result.secret
    response = json_response(data, status=201)
    response.headers["Location"] = f"/api/v1/sources/{result.row.id}"
    if result.secret is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


async def create_source(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    result = await source_service(request).create(
        principal, await _body(request), actor_of(request, principal)
    )
    return _created(result)


async def list_sources(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    page = parse_page_request(request.query, sort_fields=SORT_FIELDS)
    total, rows = await source_service(request).page(principal, page)
    return json_response({"total": total, "items": [source_json(r) for r in rows]})


async def get_source(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    row = await source_service(request).get(principal, request.match_info["source_id"])
    return json_response(source_json(row))


async def patch_source(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    source_id = request.match_info["source_id"]
    row = await source_service(request).patch(
        principal, source_id, await _body(request), actor_of(request, principal)
    )
    return json_response(source_json(row))


async def rotate_secret(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    source_id = request.match_info["source_id"]
    result = await source_service(request).rotate(
        principal, source_id, await _body(request), actor_of(request, principal)
    )
    return _created(result)


async def deactivate_source(request: web.Request) -> web.Response:
    principal = bearer_principal(request)
    row = await source_service(request).deactivate(
        principal, request.match_info["source_id"], actor_of(request, principal)
    )
    return json_response(source_json(row))


def create_sources_app() -> web.Application:
    sources = web.Application()
    sources.router.add_get("", list_sources)
    sources.router.add_post("", create_source)
    sources.router.add_get("/{source_id}", get_source)
    sources.router.add_patch("/{source_id}", patch_source)
    sources.router.add_delete("/{source_id}", deactivate_source)
    sources.router.add_post("/{source_id}/secrets", rotate_secret)
    return sources

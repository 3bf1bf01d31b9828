"""The admin API's OpenAPI 3.1 document, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from admin_api.openapi_rejections import PATHS as REJECTION_PATHS
from admin_api.openapi_rejections import SCHEMAS as REJECTION_SCHEMAS
from admin_api.openapi_sources import PATHS as SOURCE_PATHS
from admin_api.openapi_sources import SCHEMAS as SOURCE_SCHEMAS
from admin_api.pagination import MAX_PAGE_SIZE, SORT_FIELDS
from admin_api.service import NAME_MAX


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


_AUTH_ERRORS = {
    "401": _error("Missing, malformed, expired or badly signed bearer token."),
    "404": _error("The token's tenant does not exist or is not active."),
    "503": _error("The key database is unavailable; retry."),
}
_TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "HookSentry Gateway admin API",
        "version": "1.0.0",
        "description": "Create, list and revoke a tenant's API keys; manage its sources "
        "(provider-signed webhooks). Query parameter names match case-insensitively.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/apikeys": {
            "get": {
                "operationId": "listApiKeys",
                "summary": "List the caller's tenant's API keys, one page at a time.",
                "parameters": [
                    _query(
                        "Qt",
                        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 10},
                        "Items per page.",
                    ),
                    _query("Pg", {"type": "integer", "minimum": 1, "default": 1}, "1-based page."),
                    _query(
                        "CpOrd",
                        {"type": "string", "enum": list(SORT_FIELDS), "default": "id"},
                        "Sort field (case-insensitive); ties are broken by id.",
                    ),
                    _query(
                        "TpOrd",
                        {"type": "string", "enum": ["Asc", "Desc"], "default": "Desc"},
                        "Sort direction (case-insensitive).",
                    ),
                    _query("IsActive", {"type": "boolean"}, "true: active keys; false: revoked."),
                ],
                "responses": {
                    "200": _json("KeyPage", "One page of keys and the total matching count."),
                    "400": _error("A paging parameter is out of range or not understood."),
                    "403": _error("The token's role grants nothing."),
                    **_AUTH_ERRORS,
                },
            },
            "post": {
                "operationId": "createApiKey",
                "summary": "Create an API key. The plain key is in this response only.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/NewKey"}}
                    },
                },
                "responses": {
                    "201": {
                        **_json("CreatedKey", "The key was created."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "400": _error("The body is not a JSON object with a valid name."),
                    "403": _error("The token's role may not create keys (Viewer or unknown)."),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/v1/apikeys/{id}": {
            "delete": {
                "operationId": "revokeApiKey",
                "summary": "Revoke an API key; it stops working on every gateway process.",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "responses": {
                    "200": _json("Key", "The key is revoked."),
                    "403": _error("The key belongs to another tenant, or the role may not revoke."),
                    **_AUTH_ERRORS,
                    "404": _error("Not a UUID, no such key, already revoked, or unknown tenant."),
                },
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "NewKey": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": NAME_MAX,
                        "description": "Trimmed; no control characters.",
                    }
                },
            },
            "Key": {
                "type": "object",
                "required": ["id", "name", "isActive", "createdAt", "revokedAt"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "isActive": {"type": "boolean"},
                    "createdAt": _TIMESTAMP,
                    "revokedAt": {"oneOf": [_TIMESTAMP, {"type": "null"}]},
                },
                "additionalProperties": False,
            },
            "CreatedKey": {
                "type": "object",
                "required": ["id", "name", "key", "createdAt"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "key": {"type": "string", "pattern": "^hks_[0-9a-f]{32}$"},
                    "createdAt": _TIMESTAMP,
                },
                "additionalProperties": False,
            },
            "KeyPage": {
                "type": "object",
                "required": ["total", "items"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}},
                },
            },
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
DOCUMENT["paths"] |= SOURCE_PATHS
DOCUMENT["components"]["schemas"] |= SOURCE_SCHEMAS
DOCUMENT["paths"] |= REJECTION_PATHS
DOCUMENT["components"]["schemas"] |= REJECTION_SCHEMAS
_BODY = orjson.dumps(DOCUMENT)


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")

"""The admin API's OpenAPI 3.1 document, served at /api/v1/openapi.json."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from admin_api.openapi_patterns import stripped_choice_pattern, stripped_text_pattern
from admin_api.openapi_rejections import PATHS as REJECTION_PATHS
from admin_api.openapi_rejections import SCHEMAS as REJECTION_SCHEMAS
from admin_api.openapi_sources import PATHS as SOURCE_PATHS
from admin_api.openapi_sources import SCHEMAS as SOURCE_SCHEMAS
from admin_api.pagination import BOOLEANS, DIRECTIONS, MAX_DIGITS, MAX_PAGE_SIZE, SORT_FIELDS
from admin_api.service import KEY_ID_FORM, NAME_MAX


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
_MAX_NUMBER = 10**MAX_DIGITS - 1
_NUMBER_FORM = f"Up to {MAX_DIGITS} decimal digits; surrounding whitespace is ignored."
_CHOICE_FORM = "any case, surrounding whitespace ignored"
_TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _choice(accepted: Iterable[str], shown: list[str], default: str | None) -> dict[str, Any]:
    """A word matched as the parser matches it (trimmed, any case), so the schema allows exactly
    what the server accepts; the canonical spellings are the examples."""
    schema = {"type": "string", "pattern": stripped_choice_pattern(accepted), "examples": shown}
    return schema | ({"default": default} if default is not None else {})


_ID = {"type": "string", "format": "uuid", "pattern": f"^{KEY_ID_FORM.pattern}$"}
_KEY_ID_OF_BODY = {"id": "$response.body#/id"}


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
                        f"Items per page. {_NUMBER_FORM}",
                    ),
                    _query(
                        "Pg",
                        {"type": "integer", "minimum": 1, "maximum": _MAX_NUMBER, "default": 1},
                        f"1-based page; a page past the end is empty. {_NUMBER_FORM}",
                    ),
                    _query(
                        "CpOrd",
                        _choice(SORT_FIELDS, list(SORT_FIELDS), "id"),
                        f"Sort field ({_CHOICE_FORM}); ties are broken by id.",
                    ),
                    _query(
                        "TpOrd",
                        _choice(DIRECTIONS, ["Asc", "Desc"], "Desc"),
                        f"Sort direction ({_CHOICE_FORM}).",
                    ),
                    _query(
                        "IsActive",
                        _choice(BOOLEANS, ["true", "false"], None),
                        f"true: active keys; false: revoked ({_CHOICE_FORM}).",
                    ),
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
                        "links": {
                            "RevokeCreatedKey": {
                                "operationId": "revokeApiKey",
                                "parameters": _KEY_ID_OF_BODY,
                                "description": "Revoke the key just created.",
                            },
                            "ListActiveKeys": {
                                "operationId": "listApiKeys",
                                "parameters": {"IsActive": "true", "CpOrd": "createdAt"},
                                "description": "Active keys, the newest (this one) first.",
                            },
                        },
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
                        "schema": _ID,
                        "description": "The key's id in the 8-4-4-4-12 hex form (any case).",
                    }
                ],
                "responses": {
                    "200": {
                        **_json("Key", "The key is revoked."),
                        "links": {
                            "RevokeAgain": {
                                "operationId": "revokeApiKey",
                                "parameters": _KEY_ID_OF_BODY,
                                "description": "A revoked key is gone: revoking it again is 404.",
                            },
                            "ListRevokedKeys": {
                                "operationId": "listApiKeys",
                                "parameters": {"IsActive": "false", "CpOrd": "revokedAt"},
                                "description": "Revoked keys, the latest revocation first.",
                            },
                        },
                    },
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
                        # Exact: surrounding whitespace (any amount) is trimmed, then 1..NAME_MAX
                        # characters without control characters; so no minLength/maxLength.
                        "pattern": stripped_text_pattern(NAME_MAX),
                        "description": f"Trimmed of surrounding whitespace, then 1 to {NAME_MAX} "
                        "characters, none a control character (Unicode category Cc).",
                        "examples": ["CI deploys"],
                    }
                },
            },
            "Key": {
                "type": "object",
                "required": ["id", "name", "isActive", "createdAt", "revokedAt"],
                "properties": {
                    "id": _ID,
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
                    "id": _ID,
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

"""The admin API's OpenAPI 3.1 document, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from admin_api.openapi_keys import KEY_PROPERTIES, NEW_EXPIRY
from admin_api.openapi_keys import LINKS as KEY_LINKS
from admin_api.openapi_keys import PATHS as KEY_PATHS
from admin_api.openapi_keys import SCHEMAS as KEY_SCHEMAS
from admin_api.openapi_parts import (
    AUTH_ERRORS,
    ID,
    ID_OF_BODY,
    NAME,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    error,
    id_parameter,
    json_body,
    json_response,
    list_parameters,
)
from admin_api.openapi_rejections import PATHS as REJECTION_PATHS
from admin_api.openapi_rejections import SCHEMAS as REJECTION_SCHEMAS
from admin_api.openapi_sources import PATHS as SOURCE_PATHS
from admin_api.openapi_sources import SCHEMAS as SOURCE_SCHEMAS
from admin_api.pagination import SORT_FIELDS

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "HookSentry Gateway admin API",
        "version": "1.0.0",
        "description": "Create, list, change, rotate and revoke a tenant's API keys; manage its "
        "sources (provider-signed webhooks); read the audit trail. "
        "Query parameter names match case-insensitively.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/apikeys": {
            "get": {
                "operationId": "listApiKeys",
                "summary": "List the caller's tenant's API keys, one page at a time.",
                "parameters": list_parameters(
                    SORT_FIELDS,
                    "true: usable keys (neither revoked nor expired); false: revoked or expired",
                ),
                "responses": {
                    "200": json_response(
                        "KeyPage", "One page of keys and the total matching count."
                    ),
                    "400": error("A paging parameter is out of range or not understood."),
                    "403": error("The token's role grants nothing."),
                    **AUTH_ERRORS,
                },
            },
            "post": {
                "operationId": "createApiKey",
                "summary": "Create an API key. The plain key is in this response only.",
                "requestBody": json_body("NewKey"),
                "responses": {
                    "201": {
                        **json_response("CreatedKey", "The key was created."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "links": KEY_LINKS,
                    },
                    "400": error("The body is not a JSON object with a valid name or expiry."),
                    "403": error("The token's role may not create keys (Viewer or unknown)."),
                    **AUTH_ERRORS,
                },
            },
        },
        "/api/v1/apikeys/{id}": {
            "delete": {
                "operationId": "revokeApiKey",
                "summary": "Revoke an API key; it stops working on every gateway process.",
                "parameters": [id_parameter("The key's id in the 8-4-4-4-12 hex form (any case).")],
                "responses": {
                    "200": {
                        **json_response("Key", "The key is revoked."),
                        "links": {
                            "RevokeAgain": {
                                "operationId": "revokeApiKey",
                                "parameters": ID_OF_BODY,
                                "description": "A revoked key is gone: revoking it again is 404.",
                            },
                            "ListRevokedKeys": {
                                "operationId": "listApiKeys",
                                "parameters": {"IsActive": "false", "CpOrd": "revokedAt"},
                                "description": "Revoked keys, the latest revocation first.",
                            },
                        },
                    },
                    "403": error("The key belongs to another tenant, or the role may not revoke."),
                    **AUTH_ERRORS,
                    "404": error("Not a UUID, no such key, already revoked, or unknown tenant."),
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
                    "name": NAME | {"examples": ["CI deploys"]},
                    "expiresAt": NEW_EXPIRY,
                },
            },
            "Key": {
                "type": "object",
                "required": ["id", "name", "isActive", "createdAt", "revokedAt", *KEY_PROPERTIES],
                "properties": {
                    "id": ID,
                    "name": {"type": "string"},
                    "isActive": {
                        "type": "boolean",
                        "description": "Usable now: neither revoked nor expired.",
                    },
                    "createdAt": TIMESTAMP,
                    "revokedAt": NULLABLE_TIMESTAMP,
                    **KEY_PROPERTIES,
                },
                "additionalProperties": False,
            },
            "CreatedKey": {
                "type": "object",
                "required": ["id", "name", "key", "createdAt"],
                "properties": {
                    "id": ID,
                    "name": {"type": "string"},
                    "key": {"type": "string", "pattern": "^hks_[0-9a-f]{32}$"},
                    "createdAt": TIMESTAMP,
                },
                "additionalProperties": False,
            },
            "RotatedKey": {
                "type": "object",
                "required": ["id", "name", "key", "createdAt", "replaces"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "key": {"type": "string", "pattern": "^hks_[0-9a-f]{32}$"},
                    "isActive": {"type": "boolean"},
                    "createdAt": TIMESTAMP,
                    "revokedAt": {"type": "null"},
                    "replaces": ID,
                    **KEY_PROPERTIES,
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
DOCUMENT["paths"]["/api/v1/apikeys/{id}"] |= KEY_PATHS.pop("/api/v1/apikeys/{id}")
DOCUMENT["paths"] |= KEY_PATHS | SOURCE_PATHS | REJECTION_PATHS
DOCUMENT["components"]["schemas"] |= KEY_SCHEMAS | SOURCE_SCHEMAS | REJECTION_SCHEMAS
_BODY = orjson.dumps(DOCUMENT)


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(body=_BODY, content_type="application/json")

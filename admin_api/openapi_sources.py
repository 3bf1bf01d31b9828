"""The /api/v1/sources part of the admin API's OpenAPI document (SPEC §6)."""

from __future__ import annotations

from typing import Any

from admin_api.pagination import MAX_PAGE_SIZE
from admin_api.service import NAME_MAX
from admin_api.sources_service import DEDUP, OVERLAP, SORT_FIELDS, TOLERANCE
from gateway.signatures import PROVIDERS, SECRET_MAX, SECRET_MIN

_TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}
_NULLABLE_TIMESTAMP = {"oneOf": [_TIMESTAMP, {"type": "null"}]}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _seconds(bounds: tuple[int, int, int], description: str) -> dict[str, Any]:
    lo, hi, default = bounds
    return {
        "type": "integer",
        "minimum": lo,
        "maximum": hi,
        "default": default,
        "description": description,
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_AUTH = {
    "401": _error("Missing, malformed, expired or badly signed bearer token."),
    "404": _error("The token's tenant does not exist or is not active."),
    "503": _error("The database is unavailable; retry."),
}
_ONE = {
    "403": _error("The source belongs to another tenant, or the role may not change sources."),
    **_AUTH,
    "404": _error("Not a UUID, no such (active) source, or unknown tenant."),
}
_SECRET_CREATED = {
    "description": "Created. `secret` is present only when the gateway generated it.",
    "content": {"application/json": {"schema": _ref("CreatedSource")}},
    "headers": {"Location": {"schema": {"type": "string"}}},
}
_SECRET = {
    "type": "string",
    "minLength": SECRET_MIN,
    "maxLength": SECRET_MAX,
    "description": "The provider's signing secret; omitted: the gateway generates one "
    "(standard-webhooks: whsec_ + base64 of 24-64 bytes).",
}

PATHS: dict[str, Any] = {
    "/api/v1/sources": {
        "get": {
            "operationId": "listSources",
            "summary": "List the caller's tenant's sources, one page at a time.",
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
                _query("IsActive", {"type": "boolean"}, "true: active; false: deactivated."),
            ],
            "responses": {
                "200": _json("SourcePage", "One page of sources and the total matching count."),
                "400": _error("A paging parameter is out of range or not understood."),
                "403": _error("The token's role grants nothing."),
                **_AUTH,
            },
        },
        "post": {
            "operationId": "createSource",
            "summary": "Create a source: an ingest URL bound to a provider's signature scheme.",
            "requestBody": _body("NewSource"),
            "responses": {
                "201": _SECRET_CREATED,
                "400": _error("The body is not a JSON object with valid fields."),
                "403": _error("The token's role may not create sources (Viewer or unknown)."),
                "409": _error("An active source already uses this token (source_exists)."),
                **_AUTH,
            },
        },
    },
    "/api/v1/sources/{id}": {
        "get": {
            "operationId": "getSource",
            "summary": "One source (active or deactivated).",
            "parameters": [_ID],
            "responses": {"200": _json("Source", "The source."), **_ONE},
        },
        "patch": {
            "operationId": "patchSource",
            "summary": "Change an active source's name, key requirement, tolerance or dedup.",
            "parameters": [_ID],
            "requestBody": _body("SourcePatch"),
            "responses": {
                "200": _json("Source", "The changed source."),
                "400": _error("A field is not valid."),
                **_ONE,
            },
        },
        "delete": {
            "operationId": "deactivateSource",
            "summary": "Deactivate a source; its URL falls back to API keys on every process.",
            "parameters": [_ID],
            "responses": {"200": _json("Source", "The source, deactivated."), **_ONE},
        },
    },
    "/api/v1/sources/{id}/secrets": {
        "post": {
            "operationId": "rotateSourceSecret",
            "summary": "Add a secret; older ones end after overlapSeconds.",
            "parameters": [_ID],
            "requestBody": _body("SecretRotation"),
            "responses": {"201": _SECRET_CREATED, "400": _error("A field is not valid."), **_ONE},
        }
    },
}

_SOURCE_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid"},
    "name": {"type": "string"},
    "provider": {"type": "string", "enum": list(PROVIDERS)},
    "token": {"type": "string"},
    "ingestPath": {"type": "string"},
    "requireApiKey": {"type": "boolean"},
    "toleranceSeconds": {"type": "integer"},
    "dedupSeconds": {"type": "integer"},
    "isActive": {"type": "boolean"},
    "createdAt": _TIMESTAMP,
    "deactivatedAt": _NULLABLE_TIMESTAMP,
    "secrets": {"type": "array", "items": _ref("SourceSecret")},
}
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX,
    "description": "Trimmed; no control characters.",
}
_TOLERANCE = _seconds(TOLERANCE, "How far a signed timestamp may be from the gateway's clock.")
_DEDUP = _seconds(DEDUP, "How long a delivery's identity is remembered (0 = off).")

SCHEMAS: dict[str, Any] = {
    "NewSource": {
        "type": "object",
        "required": ["name", "provider", "token"],
        "properties": {
            "name": _NAME,
            "provider": {"type": "string", "enum": list(PROVIDERS)},
            "token": {"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,128}$"},
            "secret": _SECRET,
            "requireApiKey": {"type": "boolean", "default": False},
            "toleranceSeconds": _TOLERANCE,
            "dedupSeconds": _DEDUP,
        },
    },
    "SourcePatch": {
        "type": "object",
        "properties": {
            "name": _NAME,
            "requireApiKey": {"type": "boolean"},
            "toleranceSeconds": _TOLERANCE,
            "dedupSeconds": _DEDUP,
        },
    },
    "SecretRotation": {
        "type": "object",
        "properties": {
            "secret": _SECRET,
            "overlapSeconds": _seconds(OVERLAP, "How long older secrets stay valid (0 = not)."),
        },
    },
    "SourceSecret": {
        "type": "object",
        "required": ["id", "createdAt", "expiresAt"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "createdAt": _TIMESTAMP,
            "expiresAt": _NULLABLE_TIMESTAMP,
        },
        "additionalProperties": False,
    },
    "Source": {
        "type": "object",
        "required": list(_SOURCE_PROPERTIES),
        "properties": _SOURCE_PROPERTIES,
        "additionalProperties": False,
    },
    "CreatedSource": {
        "type": "object",
        "required": list(_SOURCE_PROPERTIES),
        "properties": _SOURCE_PROPERTIES | {"secret": {"type": "string"}},
        "additionalProperties": False,
    },
    "SourcePage": {
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "items": {"type": "array", "items": _ref("Source")},
        },
    },
}

"""The OpenAPI paths and schemas of a key's lifecycle (SPEC §8) and of the audit trail, merged
into admin_api.openapi's document."""

from __future__ import annotations

from typing import Any

from admin_api.audit import ACTIONS
from admin_api.lifecycle import MAX_CIDRS, OVERLAP_DEFAULT, OVERLAP_MAX
from admin_api.pagination import MAX_PAGE_SIZE
from admin_api.service import NAME_MAX


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def _body(schema: str, required: bool = True) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema}"}
    return {"required": required, "content": {"application/json": {"schema": ref}}}


_TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}
_NULLABLE_TIMESTAMP = {"oneOf": [_TIMESTAMP, {"type": "null"}]}
_CIDRS = {
    "oneOf": [
        {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CIDRS,
            "items": {"type": "string", "example": "203.0.113.0/24"},
        },
        {"type": "null"},
    ],
    "description": "Sender addresses or networks the key may be used from; null = any.",
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_AUTH = {
    "401": _error("Missing, malformed, expired or badly signed bearer token."),
    "503": _error("The key database is unavailable; retry."),
}
_ONE = {
    "403": _error("The key belongs to another tenant, or the role may not do this."),
    "404": _error("Not a UUID, no such key (or revoked, for changes), or unknown tenant."),
    **_AUTH,
}
# Where a created key's id leads (schemathesis follows these in stateful runs).
LINKS = {
    "GetApiKey": {"operationId": "getApiKey", "parameters": {"id": "$response.body#/id"}},
    "PatchApiKey": {"operationId": "patchApiKey", "parameters": {"id": "$response.body#/id"}},
    "RotateApiKey": {"operationId": "rotateApiKey", "parameters": {"id": "$response.body#/id"}},
    "RevokeApiKey": {"operationId": "revokeApiKey", "parameters": {"id": "$response.body#/id"}},
}

PATHS: dict[str, Any] = {
    "/api/v1/apikeys/{id}": {
        "get": {
            "operationId": "getApiKey",
            "summary": "One key (active, expired or revoked); never the key or its hash.",
            "parameters": [_ID],
            "responses": {"200": _json("Key", "The key."), **_ONE},
        },
        "patch": {
            "operationId": "patchApiKey",
            "summary": "Rename a key, set or clear its expiry and its allowed addresses.",
            "parameters": [_ID],
            "requestBody": _body("KeyPatch"),
            "responses": {
                "200": {**_json("Key", "The changed key."), "links": LINKS},
                "400": _error("A field is not valid (an expiry in the past, a bad CIDR...)."),
                **_ONE,
            },
        },
    },
    "/api/v1/apikeys/{id}/rotate": {
        "post": {
            "operationId": "rotateApiKey",
            "summary": "A new key replacing this one; the old one ends after overlapSeconds.",
            "parameters": [_ID],
            "requestBody": _body("KeyRotation", required=False),
            "responses": {
                "201": {
                    **_json("RotatedKey", "The new key; its plain value is in this response only."),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "links": LINKS,
                },
                "400": _error("A field is not valid."),
                **_ONE,
            },
        }
    },
    "/api/v1/audit": {
        "get": {
            "operationId": "listAudit",
            "summary": "The caller's tenant's audit trail, newest first (every role may read).",
            "parameters": [
                {
                    "name": "Qt",
                    "in": "query",
                    "required": False,
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE_SIZE,
                        "default": 10,
                    },
                },
                {
                    "name": "Pg",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "default": 1},
                },
                {
                    "name": "TpOrd",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["Asc", "Desc"], "default": "Desc"},
                },
                {
                    "name": "Action",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(ACTIONS)},
                },
            ],
            "responses": {
                "200": _json("AuditPage", "One page of audit entries and the total count."),
                "400": _error("A parameter is out of range or not understood."),
                "403": _error("The token's role grants nothing."),
                "404": _error("The token's tenant does not exist or is not active."),
                **_AUTH,
            },
        }
    },
}

KEY_PROPERTIES: dict[str, Any] = {
    "expiresAt": _NULLABLE_TIMESTAMP,
    "lastUsedAt": _NULLABLE_TIMESTAMP,
    "allowedCidrs": _CIDRS,
}
_FUTURE = {
    "type": "string",
    "format": "date-time",
    "description": "RFC 3339, in the future, at most 10 years ahead.",
}
SCHEMAS: dict[str, Any] = {
    "KeyPatch": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
            "expiresAt": {"oneOf": [_FUTURE, {"type": "null"}]},
            "allowedCidrs": _CIDRS,
        },
    },
    "KeyRotation": {
        "type": "object",
        "properties": {
            "overlapSeconds": {
                "type": "integer",
                "minimum": 0,
                "maximum": OVERLAP_MAX,
                "default": OVERLAP_DEFAULT,
            },
            "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        },
    },
    "AuditEntry": {
        "type": "object",
        "required": [
            "id",
            "at",
            "actor",
            "role",
            "action",
            "targetType",
            "targetId",
            "requestId",
            "ip",
            "details",
        ],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "at": _TIMESTAMP,
            "actor": {"type": "string"},
            "role": {"type": ["string", "null"]},
            "action": {"type": "string", "enum": list(ACTIONS)},
            "targetType": {"type": "string"},
            "targetId": {"type": "string"},
            "requestId": {"type": ["string", "null"]},
            "ip": {"type": ["string", "null"]},
            "details": {"type": "object"},
        },
        "additionalProperties": False,
    },
    "AuditPage": {
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEntry"}},
        },
    },
}

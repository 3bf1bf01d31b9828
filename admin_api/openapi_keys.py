"""The OpenAPI paths and schemas of a key's lifecycle (SPEC §8) and of the audit trail, merged
into admin_api.openapi's document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from admin_api.audit import ACTIONS
from admin_api.key_forms import CIDR_PATTERN, future_date_time_pattern
from admin_api.lifecycle import MAX_CIDRS, OVERLAP_DEFAULT, OVERLAP_MAX
from admin_api.openapi_parts import (
    AUTH_ERRORS,
    ID_OF_BODY,
    NAME,
    NULLABLE_TIMESTAMP,
    TIMESTAMP,
    error,
    id_parameter,
    json_body,
    json_response,
    list_parameters,
    query,
)

# The document cannot say "in the future": its pattern allows the years from next year but one
# to eight years ahead, every one of which the server accepts (docs/decisions.md, "Keys: the
# OpenAPI document's expiresAt").
_YEAR = datetime.now(UTC).year
FUTURE = {
    "type": "string",
    "format": "date-time",
    "pattern": future_date_time_pattern(_YEAR + 2, _YEAR + 8),
    "examples": [f"{_YEAR + 2}-01-01T00:00:00Z"],
    "description": "RFC 3339 (no leap second), in the future, at most 10 years ahead; the pattern "
    "shows a part of that range.",
}
NEW_EXPIRY = {"oneOf": [FUTURE, {"type": "null"}], "description": "null: no expiry."}
_CIDRS_OUT = {
    "oneOf": [
        {"type": "array", "minItems": 1, "maxItems": MAX_CIDRS, "items": {"type": "string"}},
        {"type": "null"},
    ],
    "description": "Sender addresses or networks the key may be used from; null = any.",
}
_CIDRS_IN = {
    "oneOf": [
        {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CIDRS,
            "items": {
                "type": "string",
                "pattern": CIDR_PATTERN,
                "examples": ["203.0.113.0/24"],
                "description": "An IPv4 or IPv6 address or network; host bits are cleared.",
            },
        },
        {"type": "null"},
    ],
    "description": "Sender addresses or networks the key may be used from; null clears (any).",
}
_ID = id_parameter("The key's id in the 8-4-4-4-12 hex form (any case).")
_ONE = {
    "403": error("The key belongs to another tenant, or the role may not do this."),
    **AUTH_ERRORS,
    "404": error(
        "Not an id of that form, no such key (or revoked, for changes), or unknown tenant."
    ),
}
# Where a created key's id leads (schemathesis follows these in stateful runs).
LINKS = {
    "GetApiKey": {"operationId": "getApiKey", "parameters": ID_OF_BODY},
    "PatchApiKey": {"operationId": "patchApiKey", "parameters": ID_OF_BODY},
    "RotateApiKey": {"operationId": "rotateApiKey", "parameters": ID_OF_BODY},
    "RevokeCreatedKey": {
        "operationId": "revokeApiKey",
        "parameters": ID_OF_BODY,
        "description": "Revoke the key just created.",
    },
    "ListActiveKeys": {
        "operationId": "listApiKeys",
        "parameters": {"IsActive": "true", "CpOrd": "createdAt"},
        "description": "Active keys, the newest first.",
    },
}

PATHS: dict[str, Any] = {
    "/api/v1/apikeys/{id}": {
        "get": {
            "operationId": "getApiKey",
            "summary": "One key, expired ones too (revoked: 404); never the key or its hash.",
            "parameters": [_ID],
            "responses": {"200": json_response("Key", "The key."), **_ONE},
        },
        "patch": {
            "operationId": "patchApiKey",
            "summary": "Rename a key, set or clear its expiry and its allowed addresses.",
            "parameters": [_ID],
            "requestBody": json_body("KeyPatch"),
            "responses": {
                "200": {**json_response("Key", "The changed key."), "links": LINKS},
                "400": error("A field is not valid (an expiry in the past, a bad CIDR...)."),
                **_ONE,
            },
        },
    },
    "/api/v1/apikeys/{id}/rotate": {
        "post": {
            "operationId": "rotateApiKey",
            "summary": "A new key replacing this one; the old one ends after overlapSeconds.",
            "parameters": [_ID],
            "requestBody": json_body("KeyRotation") | {"required": False},
            "responses": {
                "201": {
                    **json_response(
                        "RotatedKey", "The new key; its plain value is in this response only."
                    ),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "links": LINKS,
                },
                "400": error("A field is not valid."),
                **_ONE,
            },
        }
    },
    "/api/v1/audit": {
        "get": {
            "operationId": "listAudit",
            "summary": "The caller's tenant's audit trail, newest first (every role may read).",
            "parameters": [
                *(p for p in list_parameters(("id",), "") if p["name"] in ("Qt", "Pg", "TpOrd")),
                query("Action", {"type": "string", "enum": list(ACTIONS)}, "Only this action."),
            ],
            "responses": {
                "200": json_response("AuditPage", "One page of audit entries and the total count."),
                "400": error("A parameter is out of range or not understood."),
                "403": error("The token's role grants nothing."),
                **AUTH_ERRORS,
            },
        }
    },
}

KEY_PROPERTIES: dict[str, Any] = {
    "expiresAt": NULLABLE_TIMESTAMP,
    "lastUsedAt": NULLABLE_TIMESTAMP,
    "allowedCidrs": _CIDRS_OUT,
}
SCHEMAS: dict[str, Any] = {
    "KeyPatch": {
        "type": "object",
        "properties": {
            "name": NAME,
            "expiresAt": NEW_EXPIRY | {"description": "null clears the expiry."},
            "allowedCidrs": _CIDRS_IN,
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
                "description": "How long the old key keeps working. A whole number; null is "
                "not accepted.",
            },
            "name": NAME | {"description": "The new key's name (default: the old one's)."},
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
            "at": TIMESTAMP,
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

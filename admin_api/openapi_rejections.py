"""The OpenAPI part for /api/v1/rejections (SPEC §7), merged into admin_api.openapi."""

from __future__ import annotations

from typing import Any

from admin_api.openapi_parts import TIMESTAMP, error, list_parameters

REASONS = (
    "missing_api_key",
    "invalid_api_key",
    "expired_api_key",
    "ip_not_allowed",
    "tenant_mismatch",
    "missing_signature",
    "stale_timestamp",
    "invalid_signature",
    "rate_limited",
    "payload_too_large",
    "delivery_in_progress",
)
_NULLABLE_UUID = {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}
_NULLABLE_TEXT = {"type": ["string", "null"]}


PATHS: dict[str, Any] = {
    "/api/v1/rejections": {
        "get": {
            "operationId": "listRejections",
            "summary": "The caller's tenant's rejected ingest requests (newest 500), newest first.",
            "description": "Every 401, 403, 409, 413 and 429 the gateway answered on the tenant's "
            "ingest paths, with its exact reason (the sender saw only the public code). At most "
            "50 are kept per second; none holds a key, signature, secret, query string or body.",
            "parameters": list_parameters(("id",), "")[:2],  # Qt and Pg only
            "responses": {
                "200": {
                    "description": "One page of records and the number kept.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/RejectionPage"}
                        }
                    },
                },
                "400": error("A paging parameter is out of range or not understood."),
                "401": error("Missing, malformed, expired or badly signed bearer token."),
                "403": error("The token's role grants nothing."),
                "404": error("The token's tenant does not exist or is not active."),
                "503": error("The key database or the rejection log is unavailable; retry."),
            },
        }
    }
}
SCHEMAS: dict[str, Any] = {
    "Rejection": {
        "type": "object",
        "required": [
            "at",
            "reason",
            "sourceId",
            "keyId",
            "senderIp",
            "userAgent",
            "requestId",
            "path",
        ],
        "properties": {
            "at": TIMESTAMP,
            "reason": {"type": "string", "enum": list(REASONS)},
            "sourceId": _NULLABLE_UUID,
            "keyId": _NULLABLE_UUID,
            "senderIp": _NULLABLE_TEXT,
            "userAgent": _NULLABLE_TEXT,
            "requestId": _NULLABLE_TEXT,
            "path": {"type": "string", "description": "The ingest path, without the query."},
        },
        "additionalProperties": False,
    },
    "RejectionPage": {
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}},
        },
    },
}

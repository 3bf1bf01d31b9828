"""The /api/v1/sources part of the admin API's OpenAPI document (SPEC §6), exact about what the
server accepts, as the keys' part is: built from the parsers' own rules (sources_service,
gateway.signatures) and the shared pieces of openapi_parts."""

from __future__ import annotations

from typing import Any

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
    ref,
)
from admin_api.openapi_patterns import base64_pattern, none_of_pattern
from admin_api.sources_service import DEDUP, OVERLAP, SORT_FIELDS, TOKEN_FORM, TOLERANCE
from gateway.signatures import (
    PROVIDERS,
    SECRET_CONTROL,
    SECRET_MAX,
    SECRET_MIN,
    WHSEC_MAX_BYTES,
    WHSEC_MIN_BYTES,
    WHSEC_PREFIX,
)

WHSEC_PROVIDER = "standard-webhooks"
_CONTROL = [chr(point) for point in range(0x10000) if SECRET_CONTROL.fullmatch(chr(point))]


def _seconds(bounds: tuple[int, int, int], description: str) -> dict[str, Any]:
    lo, hi, default = bounds
    return {
        "type": "integer",
        "minimum": lo,
        "maximum": hi,
        "default": default,
        "description": f"{description} A whole number; null is not accepted.",
    }


SECRET = {
    "type": "string",
    "minLength": SECRET_MIN,
    "maxLength": SECRET_MAX,
    "pattern": none_of_pattern(_CONTROL),
    "description": f"The provider's signing secret: {SECRET_MIN} to {SECRET_MAX} characters, no "
    "control character (U+0000-U+001F, U+007F). For standard-webhooks: "
    f"{WHSEC_PREFIX} + the base64 of {WHSEC_MIN_BYTES}-{WHSEC_MAX_BYTES} bytes. Omitted: the "
    "gateway generates one and returns it once.",
}
WHSEC_SECRET = {
    "type": "string",
    "maxLength": SECRET_MAX,
    "pattern": f"^{WHSEC_PREFIX}{base64_pattern(WHSEC_MIN_BYTES, WHSEC_MAX_BYTES)}$",
    "description": f"{WHSEC_PREFIX} + the base64 of {WHSEC_MIN_BYTES} to {WHSEC_MAX_BYTES} bytes.",
}
TOKEN = {
    "type": "string",
    "pattern": f"^{TOKEN_FORM.pattern}$",
    "description": "The {token} segment of the ingest URL.",
}
_ID_PARAMETER = [id_parameter("The source's id in the 8-4-4-4-12 hex form (any case).")]
_ONE = {
    "403": error("The source belongs to another tenant, or the role may not change sources."),
    **AUTH_ERRORS,
    "404": error("Not an id of that form, no such active source, or unknown tenant."),
}


def _created(description: str) -> dict[str, Any]:
    # No links here: schemathesis derives create/rotate -> get, patch, rotate, deactivate from
    # the Location header, and the others from the `id` of each response (links written here
    # would only be walked twice).
    return {
        **json_response("CreatedSource", description),
        "headers": {"Location": {"schema": {"type": "string"}}},
    }


_LIST_DEACTIVATED = {
    "operationId": "listSources",
    "parameters": {"IsActive": "false", "CpOrd": "createdAt"},
    "description": "Deactivated sources stay listed.",
}

PATHS: dict[str, Any] = {
    "/api/v1/sources": {
        "get": {
            "operationId": "listSources",
            "summary": "List the caller's tenant's sources, one page at a time.",
            "parameters": list_parameters(SORT_FIELDS, "true: active; false: deactivated"),
            "responses": {
                "200": json_response("SourcePage", "One page of sources and the total count."),
                "400": error("A paging parameter is out of range or not understood."),
                "403": error("The token's role grants nothing."),
                **AUTH_ERRORS,
            },
        },
        "post": {
            "operationId": "createSource",
            "summary": "Create a source: an ingest URL bound to a provider's signature scheme.",
            "requestBody": json_body("NewSource"),
            "responses": {
                "201": _created("Created. `secret` is present only when the gateway generated it."),
                "400": error("The body is not a JSON object with valid fields."),
                "403": error("The token's role may not create sources (Viewer or unknown)."),
                "409": error("An active source already uses this token (source_exists)."),
                **AUTH_ERRORS,
            },
        },
    },
    "/api/v1/sources/{id}": {
        "get": {
            "operationId": "getSource",
            "summary": "One active source (a deactivated one is only in the list).",
            "parameters": _ID_PARAMETER,
            "responses": {"200": json_response("Source", "The source."), **_ONE},
        },
        "patch": {
            "operationId": "patchSource",
            "summary": "Change an active source's name, key requirement, tolerance or dedup.",
            "parameters": _ID_PARAMETER,
            "requestBody": json_body("SourcePatch"),
            "responses": {
                "200": json_response("Source", "The changed source."),
                "400": error("The body is not a JSON object with valid fields."),
                **_ONE,
            },
        },
        "delete": {
            "operationId": "deactivateSource",
            "summary": "Deactivate a source; its URL falls back to API keys on every process.",
            "parameters": _ID_PARAMETER,
            "responses": {
                "200": {
                    **json_response("Source", "The source, deactivated."),
                    "links": {
                        "DeactivateAgain": {
                            "operationId": "deactivateSource",
                            "parameters": ID_OF_BODY,
                            "description": "A deactivated source is gone: this is 404.",
                        },
                        "ListDeactivatedSources": _LIST_DEACTIVATED,
                    },
                },
                **_ONE,
            },
        },
    },
    "/api/v1/sources/{id}/secrets": {
        "post": {
            "operationId": "rotateSourceSecret",
            "summary": "Add a secret; older ones end after overlapSeconds.",
            "parameters": _ID_PARAMETER,
            "requestBody": json_body("SecretRotation"),
            "responses": {
                "201": _created("The source with its new secret (`secret` only when generated)."),
                "400": error("The body is not a JSON object with valid fields."),
                "409": error(
                    "The secret is valid but not of the source's provider's form "
                    f"(secret_mismatch): {WHSEC_PROVIDER} takes {WHSEC_SECRET['description']}"
                ),
                **_ONE,
            },
        }
    },
}

_SOURCE_PROPERTIES: dict[str, Any] = {
    "id": ID,
    "name": {"type": "string"},
    "provider": {"type": "string", "enum": list(PROVIDERS)},
    "token": TOKEN,
    "ingestPath": {"type": "string", "examples": ["/api/v1/ingest/{tenantId}/{token}"]},
    "requireApiKey": {"type": "boolean"},
    "toleranceSeconds": {"type": "integer"},
    "dedupSeconds": {"type": "integer"},
    "isActive": {"type": "boolean"},
    "createdAt": TIMESTAMP,
    "deactivatedAt": NULLABLE_TIMESTAMP,
    "secrets": {"type": "array", "items": ref("SourceSecret")},
}
_TOLERANCE = _seconds(TOLERANCE, "How far a signed timestamp may be from the gateway's clock.")
_DEDUP = _seconds(DEDUP, "How long a delivery's identity is remembered (0 = off).")


def _unchanged(schema: dict[str, Any]) -> dict[str, Any]:
    """A PATCH field: absent leaves the value as it is, so no default."""
    return {key: value for key, value in schema.items() if key != "default"}


_REQUIRE_API_KEY = {"type": "boolean", "description": "Also require a valid X-Api-Key."}

SCHEMAS: dict[str, Any] = {
    "NewSource": {
        "type": "object",
        "required": ["name", "provider", "token"],
        "properties": {
            "name": NAME,
            "provider": {"type": "string", "enum": list(PROVIDERS)},
            "token": TOKEN,
            "secret": SECRET,
            "requireApiKey": _REQUIRE_API_KEY | {"default": False},
            "toleranceSeconds": _TOLERANCE,
            "dedupSeconds": _DEDUP,
        },
        # The secret's form depends on the provider in the same body.
        "anyOf": [
            {"properties": {"provider": {"not": {"const": WHSEC_PROVIDER}}}},
            {"properties": {"provider": {"const": WHSEC_PROVIDER}, "secret": WHSEC_SECRET}},
        ],
    },
    "SourcePatch": {
        "type": "object",
        "properties": {
            "name": NAME,
            "requireApiKey": _REQUIRE_API_KEY,
            "toleranceSeconds": _unchanged(_TOLERANCE),
            "dedupSeconds": _unchanged(_DEDUP),
        },
    },
    "SecretRotation": {
        "type": "object",
        "properties": {
            "secret": SECRET,
            "overlapSeconds": _seconds(OVERLAP, "How long older secrets stay valid (0 = not)."),
        },
    },
    "SourceSecret": {
        "type": "object",
        "required": ["id", "createdAt", "expiresAt"],
        "properties": {"id": ID, "createdAt": TIMESTAMP, "expiresAt": NULLABLE_TIMESTAMP},
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
            "items": {"type": "array", "items": ref("Source")},
        },
    },
}

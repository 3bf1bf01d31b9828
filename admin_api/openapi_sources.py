"""The /api/v1/sources part of the admin API's OpenAPI document (SPEC §6)."""

from __future__ import annotations

from typing import Any

from admin_api.openapi_patterns import stripped_choice_pattern, stripped_text_pattern
from admin_api.pagination import BOOLEANS, DIRECTIONS, MAX_DIGITS, MAX_PAGE_SIZE
from admin_api.service import KEY_ID_FORM, NAME_MAX
from admin_api.sources_service import DEDUP, OVERLAP, SORT_FIELDS, TOKEN_FORM, TOLERANCE
from gateway.signatures import PROVIDERS, SECRET_MAX, SECRET_MIN

_TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}
_NULLABLE_TIMESTAMP = {"oneOf": [_TIMESTAMP, {"type": "null"}]}
_UUID = {"type": "string", "format": "uuid", "pattern": f"^{KEY_ID_FORM.pattern}$"}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": _UUID,
    "description": "The source's id in the 8-4-4-4-12 hex form (any case).",
}
_CHOICE_FORM = "any case, surrounding whitespace ignored"
_NUMBER_FORM = f"Up to {MAX_DIGITS} decimal digits; surrounding whitespace is ignored."
# A secret as gateway.signatures.check_secret takes it: 8 to 512 characters, none a control
# character; for standard-webhooks `whsec_` + padded base64 of 24 to 64 bytes (3 x groups -
# padding bytes: 8 full groups, 9 to 21 groups, or 22 groups ending in `==`).
_B64 = "[A-Za-z0-9+/]"
_GENERIC_SECRET = f"^[^\\u0000-\\u001f\\u007f]{{{SECRET_MIN},{SECRET_MAX}}}$"
_WHSEC = (
    f"^whsec_(?:(?:{_B64}{{4}}){{8}}"
    f"|(?:{_B64}{{4}}){{8,20}}(?:{_B64}{{4}}|{_B64}{{3}}=|{_B64}{{2}}==)"
    f"|(?:{_B64}{{4}}){{21}}{_B64}{{2}}==)$"
)


def _choice(accepted: Any, shown: list[str], default: str | None) -> dict[str, Any]:
    """A word matched as the pagination parser matches it (trimmed, any case)."""
    schema = {"type": "string", "pattern": stripped_choice_pattern(accepted), "examples": shown}
    return schema | ({"default": default} if default is not None else {})


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
    "pattern": _GENERIC_SECRET,
    "description": "The provider's signing secret: 8 to 512 characters, no control characters "
    "(standard-webhooks: whsec_ + base64 of 24 to 64 bytes). Omitted: the gateway generates one "
    "and returns it once. Not null.",
}
# Create knows the provider, so the document says exactly which secrets it takes.
_SECRET_BY_PROVIDER = {
    "if": {"properties": {"provider": {"const": "standard-webhooks"}}, "required": ["provider"]},
    "then": {"properties": {"secret": {"pattern": _WHSEC}}},
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
                    f"Items per page. {_NUMBER_FORM}",
                ),
                _query(
                    "Pg",
                    {"type": "integer", "minimum": 1, "maximum": 10**MAX_DIGITS - 1, "default": 1},
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
                    f"true: active sources; false: deactivated ({_CHOICE_FORM}).",
                ),
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
            "responses": {
                "201": _SECRET_CREATED,
                "400": _error("A field is not valid."),
                "409": _error(
                    "The secret does not fit the source's provider (secret_mismatch): a "
                    "standard-webhooks source takes whsec_ + base64 of 24 to 64 bytes."
                ),
                **_ONE,
            },
        }
    },
}

_SOURCE_PROPERTIES: dict[str, Any] = {
    "id": _UUID,
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
    "pattern": stripped_text_pattern(NAME_MAX),
    "description": f"Trimmed of surrounding whitespace, then 1 to {NAME_MAX} characters, none a "
    "control character (Unicode category Cc).",
    "examples": ["GitHub: acme/shop"],
}
_TOLERANCE = _seconds(TOLERANCE, "How far a signed timestamp may be from the gateway's clock.")
_DEDUP = _seconds(DEDUP, "How long a delivery's identity is remembered (0 = off).")

SCHEMAS: dict[str, Any] = {
    "NewSource": {
        "type": "object",
        "required": ["name", "provider", "token"],
        **_SECRET_BY_PROVIDER,
        "properties": {
            "name": _NAME,
            "provider": {"type": "string", "enum": list(PROVIDERS)},
            "token": {"type": "string", "pattern": f"^{TOKEN_FORM.pattern}$"},
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
            "id": _UUID,
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

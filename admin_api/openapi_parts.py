"""Building blocks shared by every part of the admin API's OpenAPI document (keys and sources):
responses, parameters and schemas that describe one parser each, so the two parts cannot drift
apart from each other or from the server."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from admin_api.openapi_patterns import stripped_choice_pattern, stripped_text_pattern
from admin_api.pagination import BOOLEANS, DIRECTIONS, MAX_DIGITS, MAX_PAGE_SIZE
from admin_api.service import KEY_ID_FORM, NAME_MAX


def ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema}"}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def json_response(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def json_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def choice(accepted: Iterable[str], shown: list[str], default: str | None) -> dict[str, Any]:
    """A word matched as the parser matches it (trimmed, any case), so the schema allows exactly
    what the server accepts; the canonical spellings are the examples."""
    schema = {"type": "string", "pattern": stripped_choice_pattern(accepted), "examples": shown}
    return schema | ({"default": default} if default is not None else {})


MAX_NUMBER = 10**MAX_DIGITS - 1
NUMBER_FORM = f"Up to {MAX_DIGITS} decimal digits; surrounding whitespace is ignored."
CHOICE_FORM = "any case, surrounding whitespace ignored"
TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-07-03T14:32:00.000Z"}
NULLABLE_TIMESTAMP = {"oneOf": [TIMESTAMP, {"type": "null"}]}
# An id in the canonical 8-4-4-4-12 form, any case: the one spelling the server accepts.
ID = {"type": "string", "format": "uuid", "pattern": f"^{KEY_ID_FORM.pattern}$"}
ID_OF_BODY = {"id": "$response.body#/id"}
AUTH_ERRORS = {
    "401": error("Missing, malformed, expired or badly signed bearer token."),
    "404": error("The token's tenant does not exist or is not active."),
    "503": error("The database is unavailable; retry."),
}
# Exact: surrounding whitespace (any amount) is trimmed, then 1..NAME_MAX characters without
# control characters; so no minLength/maxLength.
NAME = {
    "type": "string",
    "pattern": stripped_text_pattern(NAME_MAX),
    "description": f"Trimmed of surrounding whitespace, then 1 to {NAME_MAX} characters, none a "
    "control character (Unicode category Cc).",
}


def id_parameter(description: str) -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": ID, "description": description}


def list_parameters(sort_fields: tuple[str, ...], is_active: str) -> list[dict[str, Any]]:
    """The shared paging parameters (pagination.parse_page_request) for a list of `sort_fields`."""
    return [
        query(
            "Qt",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 10},
            f"Items per page. {NUMBER_FORM}",
        ),
        query(
            "Pg",
            {"type": "integer", "minimum": 1, "maximum": MAX_NUMBER, "default": 1},
            f"1-based page; a page past the end is empty. {NUMBER_FORM}",
        ),
        query(
            "CpOrd",
            choice(sort_fields, list(sort_fields), "id"),
            f"Sort field ({CHOICE_FORM}); ties are broken by id.",
        ),
        query(
            "TpOrd",
            choice(DIRECTIONS, ["Asc", "Desc"], "Desc"),
            f"Sort direction ({CHOICE_FORM}).",
        ),
        query(
            "IsActive", choice(BOOLEANS, ["true", "false"], None), f"{is_active} ({CHOICE_FORM})."
        ),
    ]

"""The /api/v1/sources part of the OpenAPI document allows exactly what the server accepts, checked
against the parsers themselves, as test_openapi.py does for the keys' part."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import sys
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from admin_api.openapi import DOCUMENT
from admin_api.openapi_patterns import base64_pattern
from admin_api.pagination import PageRequest, parse_page_request
from admin_api.sources_service import SORT_FIELDS, _int, _token
from gateway.errors import ValidationFailed
from gateway.signatures import (
    PROVIDERS,
    SECRET_CONTROL,
    check_secret,
    check_secret_form,
    check_secret_text,
)
from tests.admin_api.test_openapi import EXACT, PADDING, TRICKY, allowed, spellings

SCHEMAS = DOCUMENT["components"]["schemas"]
LIST_PARAMETERS = {
    p["name"]: p["schema"] for p in DOCUMENT["paths"]["/api/v1/sources"]["get"]["parameters"]
}


@functools.cache
def _validator(schema_json: str) -> Any:
    return jsonschema_rs.validator_for(json.loads(schema_json))


def valid(schema: dict[str, Any], value: Any) -> bool:
    """The document's reading, by the validator schemathesis itself uses (ECMA-262's `$` is the
    end of the string; Python's `re` also lets it match before a final newline)."""
    return bool(_validator(json.dumps(schema, sort_keys=True)).is_valid(value))


def accepts(parse: Any, *args: Any) -> bool:
    try:
        parse(*args)
    except ValidationFailed:
        return False
    return True


@given(
    st.one_of(
        st.text(max_size=12),
        st.text(st.sampled_from("aZ09._~-/ \n\u212a"), max_size=6),
        st.builds(lambda n, tail: "t" * n + tail, st.integers(0, 130), st.sampled_from(["", "\n"])),
    )
)
@EXACT
def test_the_token_pattern_allows_exactly_the_tokens_the_server_accepts(token: str) -> None:
    schema = SCHEMAS["NewSource"]["properties"]["token"]
    assert valid(schema, token) == accepts(_token, {"token": token}), ascii(token)


def test_the_secret_control_characters_are_all_in_the_bmp() -> None:
    assert not [p for p in range(0x10000, sys.maxunicode + 1) if SECRET_CONTROL.search(chr(p))]


def _whsec(size: int, cut: int, padding: str) -> str:
    """`size` bytes in base64 without its `=`, `cut` characters cut off its end, `padding` added."""
    text = base64.b64encode(bytes(range(size))).decode().rstrip("=")
    return "whsec_" + text[: len(text) - cut] + padding


SECRETS = st.one_of(
    st.text(max_size=12),
    st.text(TRICKY, min_size=6, max_size=10),
    st.builds(lambda n, ch: "s" * n + ch, st.integers(0, 514), st.sampled_from(["", "\n", "\x7f"])),
    st.builds(
        _whsec, st.integers(20, 68), st.integers(0, 2), st.sampled_from(["", "=", "==", "==="])
    ),
    st.builds(
        lambda s, junk: s[:20] + junk + s[20:],
        st.builds(_whsec, st.just(32), st.just(0), st.just("")),
        st.sampled_from(["\n", " ", "*", "=", "é"]),
    ),
)


@given(st.sampled_from(PROVIDERS), SECRETS)
@EXACT
def test_a_new_sources_secret_is_allowed_exactly_when_the_server_accepts_it(
    provider: str, secret: str
) -> None:
    body = {"name": "n", "provider": provider, "token": "t", "secret": secret}
    assert valid(SCHEMAS["NewSource"], body) == (check_secret(provider, secret) is None), (
        provider,
        ascii(secret),
    )


@given(SECRETS)
@EXACT
def test_a_rotations_secret_is_allowed_exactly_when_it_is_not_a_400(secret: str) -> None:
    """The rotation cannot see the provider: the document says when the server answers 400 and
    a secret of another provider's form is the documented 409."""
    schema = SCHEMAS["SecretRotation"]
    assert valid(schema, {"secret": secret}) == (check_secret_text(secret) is None), ascii(secret)


def test_the_base64_pattern_is_pythons_strict_decoder_on_every_short_string() -> None:
    """Every string of up to 10 characters of a digit, `=` and a non-digit, for 1 to 4 bytes."""
    schema = {"type": "string", "pattern": f"^{base64_pattern(1, 4)}$"}
    for length in range(11):
        for chars in itertools.product("A=*", repeat=length):
            text = "".join(chars)
            try:
                decoded: int | None = len(base64.b64decode(text, validate=True))
            except ValueError:
                decoded = None
            assert valid(schema, text) == (decoded is not None and 1 <= decoded <= 4), text


@pytest.mark.parametrize(
    ("schema", "field", "bounds"),
    [
        ("NewSource", "toleranceSeconds", (1, 3600)),
        ("NewSource", "dedupSeconds", (0, 86_400)),
        ("SourcePatch", "toleranceSeconds", (1, 3600)),
        ("SourcePatch", "dedupSeconds", (0, 86_400)),
        ("SecretRotation", "overlapSeconds", (0, 2_592_000)),
    ],
)
def test_each_number_field_allows_exactly_what_the_server_accepts(
    schema: str, field: str, bounds: tuple[int, int]
) -> None:
    lo, hi = bounds
    property_schema = SCHEMAS[schema]["properties"][field]
    values: list[Any] = [lo - 1, lo, hi, hi + 1, float(lo), float(hi) + 1, lo + 0.5, -0.0, True,
                         None, "5", [5], 10**20, 1e300]  # fmt: skip

    for value in values:
        server = accepts(_int, {field: value}, field, lo, hi, 0)
        assert valid(property_schema, value) == server, (field, value)


@pytest.mark.parametrize(
    ("parameter", "words"),
    [
        ("CpOrd", [*SORT_FIELDS, "revokedAt", "providers", "createdat"]),
        ("TpOrd", ["Asc", "Desc"]),
        ("IsActive", ["true", "false", "1"]),
    ],
)
def test_each_list_word_allows_exactly_what_the_parser_accepts(
    parameter: str, words: list[str]
) -> None:
    @given(st.one_of(spellings(words), st.text(max_size=12), PADDING))
    @EXACT
    def check(value: str) -> None:
        parsed = accepts(parse_page_request, {parameter: value}, PageRequest(), SORT_FIELDS)
        assert allowed(LIST_PARAMETERS[parameter], value) == parsed, ascii(value)

    check()


def test_the_list_numbers_are_the_keys_list_numbers() -> None:
    keys = DOCUMENT["paths"]["/api/v1/apikeys"]["get"]["parameters"]
    assert [p for p in keys if p["name"] in ("Qt", "Pg")] == [
        p for p in DOCUMENT["paths"]["/api/v1/sources"]["get"]["parameters"]
        if p["name"] in ("Qt", "Pg")
    ]  # fmt: skip


def test_the_secret_form_check_is_what_a_rotation_409_names() -> None:
    assert check_secret_form("standard-webhooks", "plain-secret") is not None
    others = [p for p in PROVIDERS if p != "standard-webhooks"]
    assert all(check_secret_form(p, "plain-secret") is None for p in others)

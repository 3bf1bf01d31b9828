"""Every answer carries X-Request-Id; every error the gateway makes is the JSON error shape."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.tokens import Role
from tests.admin_api.conftest import APIKEYS, CreateKey, assert_error

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def viewer(tenant: uuid.UUID, auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth(tenant, Role.VIEWER)


def calls(
    client: TestClient, owner: dict[str, str], viewer: dict[str, str], key_id: str
) -> dict[str, Callable[[dict[str, str]], Awaitable[ClientResponse]]]:
    """One request per kind of answer the admin API gives (extra headers merged in)."""
    return {
        "200-list": lambda h: client.get(APIKEYS, headers=owner | h),
        "201-create": lambda h: client.post(APIKEYS, json={"name": "r"}, headers=owner | h),
        "200-revoke": lambda h: client.delete(f"{APIKEYS}/{key_id}", headers=owner | h),
        "200-openapi": lambda h: client.get("/api/v1/openapi.json", headers=h),
        "400": lambda h: client.get(APIKEYS, params={"Qt": "0"}, headers=owner | h),
        "401": lambda h: client.get(APIKEYS, headers=h),
        "403": lambda h: client.post(APIKEYS, json={"name": "v"}, headers=viewer | h),
        "404-key": lambda h: client.delete(f"{APIKEYS}/{uuid.uuid4()}", headers=owner | h),
        "404-route": lambda h: client.get("/api/v1/nothing-here", headers=h),
        "405": lambda h: client.put(APIKEYS, json={}, headers=owner | h),
    }


@pytest.mark.parametrize(
    "sent",
    [None, "req-123", "A.b_c:d-9", "x" * 128],
    ids=["absent", "simple", "punctuation", "128-chars"],
)
async def test_every_response_carries_the_request_id_echoed_when_sane(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    viewer: dict[str, str],
    sent: str | None,
) -> None:
    key_id = (await create_key(owner))["id"]
    extra = {} if sent is None else {"X-Request-Id": sent}
    for kind, call in calls(client, owner, viewer, key_id).items():
        response = await call(extra)
        rid = response.headers.get("X-Request-Id")
        if sent is None:
            assert rid and GENERATED_ID.fullmatch(rid), (kind, rid)
        else:
            assert rid == sent, (kind, rid)


@pytest.mark.parametrize(
    "sent",
    ["", "has spaces", "x" * 129, "x" * 300, "semi;colon", 'quote"d', "<script>", "a/b", "é"],
    ids=["empty", "spaces", "129-chars", "300-chars", "semicolon", "quote", "markup", "slash", "é"],
)
async def test_an_insane_request_id_is_replaced_by_a_generated_one(
    client: TestClient, owner: dict[str, str], sent: str
) -> None:
    response = await client.get(APIKEYS, headers=owner | {"X-Request-Id": sent})

    assert response.status == 200
    rid = response.headers["X-Request-Id"]
    assert rid != sent and GENERATED_ID.fullmatch(rid)


async def test_generated_request_ids_differ_per_request(
    client: TestClient, owner: dict[str, str]
) -> None:
    ids = {(await client.get(APIKEYS, headers=owner)).headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


async def test_every_error_is_json_with_an_error_code_and_a_message(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], viewer: dict[str, str]
) -> None:
    key_id = (await create_key(owner))["id"]
    for kind, call in calls(client, owner, viewer, key_id).items():
        if kind[0] != "4":
            continue
        response = await call({})
        assert response.status == int(kind[:3]), kind
        assert response.content_type == "application/json", kind
        assert response.charset in (None, "utf-8"), kind
        assert_error(await response.json())


async def test_401_carries_www_authenticate_bearer(client: TestClient) -> None:
    response = await client.get(APIKEYS)

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].split(" ")[0] == "Bearer"
    assert_error(await response.json(), "unauthorized")


async def test_a_method_the_collection_does_not_have_is_405_with_allow(
    client: TestClient, owner: dict[str, str]
) -> None:
    response = await client.put(APIKEYS, json={}, headers=owner)

    assert response.status == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert_error(await response.json(), "method_not_allowed")


async def test_a_body_larger_than_the_limit_is_413_json(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    make_config: Callable[..., object],
    owner: dict[str, str],
) -> None:
    from gateway.app import create_app

    small = await aiohttp_client(create_app(make_config(body_limit=1024)))  # type: ignore[arg-type]
    response = await small.post(APIKEYS, data=b'{"name": "' + b"x" * 2048 + b'"}', headers=owner)

    assert response.status == 413
    assert_error(await response.json())
    assert "X-Request-Id" in response.headers


async def test_create_answers_are_not_cached(client: TestClient, owner: dict[str, str]) -> None:
    response = await client.post(APIKEYS, json={"name": "secret"}, headers=owner)
    assert response.status == 201
    assert "no-store" in response.headers.get("Cache-Control", "")

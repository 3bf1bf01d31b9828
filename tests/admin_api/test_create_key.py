"""POST /api/v1/apikeys: the 201 answer, the key's form, name rules, and what gets stored where."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.config import Config
from tests.admin_api.conftest import (
    APIKEYS,
    KEY_FORM,
    CreateKey,
    Invalidations,
    assert_error,
    parse_timestamp,
)


async def test_create_answers_201_with_location_and_the_plain_key_once(
    client: TestClient, owner: dict[str, str]
) -> None:
    before = datetime.now(UTC)
    response = await client.post(APIKEYS, json={"name": "GitHub webhooks"}, headers=owner)

    assert response.status == 201
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"id", "name", "key", "createdAt"}
    assert uuid.UUID(body["id"]).version == 4
    assert response.headers["Location"] == f"/api/v1/apikeys/{body['id']}"
    assert body["name"] == "GitHub webhooks"
    assert KEY_FORM.fullmatch(body["key"])
    created = parse_timestamp(body["createdAt"])
    assert before - timedelta(seconds=5) <= created <= datetime.now(UTC) + timedelta(seconds=5)


async def test_every_created_key_is_new(create_key: CreateKey, owner: dict[str, str]) -> None:
    keys = [(await create_key(owner))["key"] for _ in range(20)]
    assert len(set(keys)) == 20
    assert all(KEY_FORM.fullmatch(k) for k in keys)


async def test_the_name_is_trimmed(create_key: CreateKey, owner: dict[str, str]) -> None:
    assert (await create_key(owner, "  Stripe\t "))["name"] == "Stripe"


async def test_a_name_of_100_characters_after_trimming_is_accepted(
    create_key: CreateKey, owner: dict[str, str]
) -> None:
    name = "é" * 100  # characters, not bytes
    assert (await create_key(owner, f"   {name}   "))["name"] == name


async def test_unknown_fields_in_the_body_are_ignored(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = {"name": "ok", "key": "hks_" + "0" * 32, "id": str(uuid.uuid4()), "isActive": False}
    response = await client.post(APIKEYS, json=body, headers=owner)
    assert response.status == 201
    created = await response.json()
    assert created["key"] != body["key"] and created["id"] != body["id"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="name-missing"),
        pytest.param({"name": ""}, id="empty"),
        pytest.param({"name": "   \t "}, id="whitespace-only"),
        pytest.param({"name": "x" * 101}, id="101-characters"),
        pytest.param({"name": " " + "x" * 101 + " "}, id="101-characters-after-trimming"),
        pytest.param({"name": 42}, id="number"),
        pytest.param({"name": None}, id="null"),
        pytest.param({"name": ["a"]}, id="list"),
        pytest.param({"name": {"first": "a"}}, id="object"),
        pytest.param({"name": True}, id="boolean"),
        pytest.param({"name": "line\nbreak"}, id="newline"),
        pytest.param({"name": "nul\x00byte"}, id="nul"),
        pytest.param({"name": "del\x7fchar"}, id="del"),
        pytest.param({"name": "esc\x1b[31m"}, id="escape"),
        pytest.param({"name": "c1\x9bcontrol"}, id="c1-control"),
        pytest.param(["name"], id="json-array"),
        pytest.param("name", id="json-string"),
        pytest.param(7, id="json-number"),
        pytest.param(None, id="json-null"),
    ],
)
async def test_a_bad_body_is_400_and_creates_nothing(
    client: TestClient, owner: dict[str, str], db: asyncpg.Connection, tenant: uuid.UUID, body: Any
) -> None:
    response = await client.post(APIKEYS, json=body, headers=owner)

    assert response.status == 400
    assert response.content_type == "application/json"
    assert_error(await response.json())
    assert await db.fetchval("SELECT count(*) FROM api_keys WHERE tenant_id = $1", tenant) == 0


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b'{"name": "unterminated', b"\xff\xfe", b'{"name": "\\ud800"}', b"{}}"],
    ids=["empty", "text", "truncated", "not-utf8", "lone-surrogate", "trailing-garbage"],
)
async def test_a_body_that_is_not_json_is_400(
    client: TestClient, owner: dict[str, str], raw: bytes
) -> None:
    headers = owner | {"Content-Type": "application/json"}
    response = await client.post(APIKEYS, data=raw, headers=headers)

    assert response.status == 400
    assert_error(await response.json())


async def test_only_the_sha256_of_the_key_is_stored(
    create_key: CreateKey, owner: dict[str, str], db: asyncpg.Connection
) -> None:
    created = await create_key(owner)
    key = created["key"]

    stored = await db.fetchval(
        "SELECT key_hash FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
    )
    assert bytes(stored) == hashlib.sha256(key.encode()).digest()
    for table in ("api_keys", "tenants"):
        rows_with_key = await db.fetchval(
            f"SELECT count(*) FROM {table} t WHERE t::text ILIKE '%' || $1 || '%'", key[4:]
        )
        assert rows_with_key == 0, f"the plain key is in {table}"


async def test_the_plain_key_is_not_in_redis_and_create_writes_no_cache_entry(
    create_key: CreateKey, owner: dict[str, str], redis: Redis, redis_prefix: str
) -> None:
    created = await create_key(owner)
    key = created["key"]
    digest = hashlib.sha256(key.encode()).hexdigest()

    async for name in redis.scan_iter(match=f"{redis_prefix}*"):
        assert key[4:].encode() not in name
        if await redis.type(name) == b"string":
            assert key[4:].encode() not in (await redis.get(name) or b"")
    assert not await redis.exists(f"{redis_prefix}key:{{{digest}}}")


async def test_create_publishes_the_new_keys_hash_on_the_invalidation_channel(
    create_key: CreateKey, owner: dict[str, str], invalidations: Invalidations
) -> None:
    created = await create_key(owner)

    digest = hashlib.sha256(created["key"].encode()).hexdigest()
    assert await invalidations.wait_for(digest), invalidations.seen


async def test_create_with_an_unreachable_redis_still_succeeds(
    aiohttp_client: Any,
    make_config: Any,
    owner: dict[str, str],
    db: asyncpg.Connection,
    closed_port: int,
) -> None:
    config: Config = make_config(redis_url=f"redis://127.0.0.1:{closed_port}/0")
    client = await aiohttp_client(create_app(config))

    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.post(APIKEYS, json={"name": "no redis"}, headers=owner)

    assert response.status == 201
    assert loop.time() - started < 1.0  # a refused connection costs nothing
    created = await response.json()
    stored = await db.fetchval(
        "SELECT key_hash FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
    )
    assert bytes(stored) == hashlib.sha256(created["key"].encode()).digest()


async def test_create_with_a_hung_redis_answers_within_the_redis_timeout(
    aiohttp_client: Any, make_config: Any, owner: dict[str, str], silent_port: int
) -> None:
    config: Config = make_config(redis_url=f"redis://127.0.0.1:{silent_port}/0", redis_timeout=0.2)
    client = await aiohttp_client(create_app(config))
    loop = asyncio.get_running_loop()

    started = loop.time()
    response = await client.post(APIKEYS, json={"name": "hung redis"}, headers=owner)

    assert response.status == 201
    assert loop.time() - started < 1.5

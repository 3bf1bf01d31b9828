"""DELETE /api/v1/apikeys/{id}: the 200 answer, every 404/403, atomicity and the Redis side."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.config import Config
from gateway.keyrecord import KEY_CODEC, KeyRecord
from tests.admin_api.conftest import (
    APIKEYS,
    CreateKey,
    Invalidations,
    assert_error,
    parse_timestamp,
)


async def test_revoke_answers_200_with_the_revoked_key(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner, "to revoke")

    response = await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)

    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"id", "name", "isActive", "createdAt", "revokedAt"} | {
        "expiresAt", "lastUsedAt", "allowedCidrs",  # SPEC §8's key object
    }  # fmt: skip
    assert body["id"] == created["id"]
    assert body["name"] == "to revoke"
    assert body["isActive"] is False
    assert body["createdAt"] == created["createdAt"]
    revoked_at = parse_timestamp(body["revokedAt"])
    assert parse_timestamp(created["createdAt"]) <= revoked_at <= datetime.now(UTC)


async def test_a_revoked_key_is_listed_as_inactive(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner)
    revoked = await (await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)).json()

    page = await (await client.get(APIKEYS, headers=owner)).json()

    assert page["items"] == [revoked]


async def test_revoking_twice_is_404_the_second_time(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner)
    assert (await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)).status == 200

    response = await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)

    assert response.status == 404
    assert_error(await response.json(), "not_found")


@pytest.mark.parametrize(
    "key_id",
    [str(uuid.uuid4()), "not-a-uuid", "12345", "0" * 36, "%20", "hks_notakeyid"],
    ids=["unknown-uuid", "word", "number", "zeros", "space", "a-key-instead-of-an-id"],
)
async def test_revoking_an_id_that_names_no_key_is_404(
    client: TestClient, owner: dict[str, str], key_id: str
) -> None:
    response = await client.delete(f"{APIKEYS}/{key_id}", headers=owner)

    assert response.status == 404
    assert response.content_type == "application/json"
    assert_error(await response.json())


async def test_revoking_another_tenants_key_is_403_and_leaves_it_active(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
    db: asyncpg.Connection,
) -> None:
    created = await create_key(owner)
    intruder = auth(await new_tenant(name="Intruder"))

    response = await client.delete(f"{APIKEYS}/{created['id']}", headers=intruder)

    assert response.status == 403
    assert_error(await response.json(), "forbidden")
    revoked_at = await db.fetchval(
        "SELECT revoked_at FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
    )
    assert revoked_at is None


async def test_concurrent_revokes_of_one_key_give_exactly_one_200(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner)
    url = f"{APIKEYS}/{created['id']}"

    responses = await asyncio.gather(*(client.delete(url, headers=owner) for _ in range(10)))

    statuses = sorted(r.status for r in responses)
    assert statuses == [200] + [404] * 9


async def test_revoke_writes_a_revoked_marker_and_publishes_the_hash(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    tenant: uuid.UUID,
    redis: Redis,
    redis_prefix: str,
    invalidations: Invalidations,
    config: Config,
) -> None:
    created = await create_key(owner)
    digest = hashlib.sha256(created["key"].encode()).hexdigest()
    marker_key = f"{redis_prefix}key:{{{digest}}}"
    # An "active" entry as a lookup on some process would have filled it: revoke must replace it.
    active = f"0:{uuid.UUID(created['id']).hex}:{tenant.hex}"
    await redis.set(marker_key, active, ex=60)

    response = await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)

    assert response.status == 200
    marker = await redis.get(marker_key)
    assert KEY_CODEC.decode(marker) == KeyRecord(created["id"], str(tenant), revoked=True)
    ttl = await redis.ttl(marker_key)
    assert 0 < ttl <= config.redis_key_ttl
    assert await invalidations.wait_for(digest), invalidations.seen
    async for name in redis.scan_iter(match=f"{redis_prefix}*"):
        assert created["key"][4:].encode() not in name


async def test_revoke_with_an_unreachable_redis_still_succeeds(
    aiohttp_client: Any,
    make_config: Callable[..., Config],
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    db: asyncpg.Connection,
    closed_port: int,
) -> None:
    created = await create_key(owner)
    no_redis = await aiohttp_client(
        create_app(make_config(redis_url=f"redis://127.0.0.1:{closed_port}/0"))
    )

    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await no_redis.delete(f"{APIKEYS}/{created['id']}", headers=owner)

    assert response.status == 200
    assert loop.time() - started < 1.0  # a refused connection costs nothing
    assert (await response.json())["isActive"] is False
    revoked_at = await db.fetchval(
        "SELECT revoked_at FROM api_keys WHERE id = $1", uuid.UUID(created["id"])
    )
    assert revoked_at is not None


async def test_revoke_with_a_hung_redis_answers_within_the_redis_timeouts(
    aiohttp_client: Any,
    make_config: Callable[..., Config],
    create_key: CreateKey,
    owner: dict[str, str],
    silent_port: int,
) -> None:
    created = await create_key(owner)
    config = make_config(redis_url=f"redis://127.0.0.1:{silent_port}/0", redis_timeout=0.2)
    hung = await aiohttp_client(create_app(config))
    loop = asyncio.get_running_loop()

    started = loop.time()
    response = await hung.delete(f"{APIKEYS}/{created['id']}", headers=owner)

    assert response.status == 200
    assert loop.time() - started < 2.0  # marker + publish: two bounded commands

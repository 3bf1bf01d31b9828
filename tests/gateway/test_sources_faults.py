"""Sources when the stores fail (SPEC §6): key traffic is no less available than before
sources existed, and a source nobody can check is a 503, never a 401."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.conftest import MakeGateway, NewKey, RecordingUpstream
from tests.gateway.signing import signed_headers
from tests.gateway.sources_fixtures import create_source
from tests.relay import Relay
from tests.services import free_port

pytestmark = pytest.mark.timeout(60)
BODY = b'{"event":"ping"}'
FAST = {"redis_timeout": 0.25, "pg_acquire_timeout": 0.5, "pg_command_timeout": 1.0}


async def test_cached_key_on_a_token_without_source_works_while_postgresql_is_down(
    make_gateway: MakeGateway, pg_relay: Relay, database_url: str, client: TestClient,
    new_key: NewKey, upstream: RecordingUpstream,
) -> None:  # fmt: skip
    relayed = pg_relay.rewrite(database_url)
    first = await make_gateway(database_url=relayed, **FAST)
    key = await new_key(client)
    headers = {"X-Api-Key": key.key}
    assert (await first.post(key.ingest_path, data=BODY, headers=headers)).status == 202

    await pg_relay.refuse()
    await pg_relay.reset()
    # This process: key and the tenant's (empty) source set from L1.
    assert (await first.post(key.ingest_path, data=BODY, headers=headers)).status == 202
    # Another process, empty L1: both from Redis, where the tenant's set is a positive entry.
    second = await make_gateway(database_url=relayed, pg_pool_min=0, **FAST)
    assert (await second.post(key.ingest_path, data=BODY, headers=headers)).status == 202
    assert len(upstream.received) == 3


async def test_a_source_set_in_redis_serves_signed_deliveries_while_postgresql_is_down(
    make_gateway: MakeGateway, pg_relay: Relay, database_url: str, client: TestClient,
    tenant: uuid.UUID, auth: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    source = await create_source(client, auth(tenant), tenant, "shopify")  # fills Redis
    await pg_relay.refuse()
    gateway = await make_gateway(database_url=pg_relay.rewrite(database_url), pg_pool_min=0, **FAST)
    headers = signed_headers("shopify", source.secret, BODY)
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 202


async def test_an_uncheckable_source_is_503_never_401(
    make_gateway: MakeGateway, client: TestClient, tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]], new_key: NewKey, upstream: RecordingUpstream,
) -> None:  # fmt: skip
    source = await create_source(client, auth(tenant), tenant, "github")
    key = await new_key(client, tenant)
    dead = free_port()
    gateway = await make_gateway(
        database_url=f"postgresql://postgres@127.0.0.1:{dead}/none",
        redis_url=f"redis://127.0.0.1:{dead}/0",
        pg_pool_min=0,
        **FAST,
    )
    signed = signed_headers("github", source.secret, BODY)
    for path, headers in ((source.path, signed), (key.ingest_path, {"X-Api-Key": key.key})):
        r = await gateway.post(path, data=BODY, headers=headers)
        assert r.status == 503
        body: dict[str, Any] = await r.json()
        assert body["error"] == "auth_unavailable"
        assert r.headers["Retry-After"]
    assert upstream.received == []

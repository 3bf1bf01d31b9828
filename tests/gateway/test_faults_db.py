"""PostgreSQL faults through a TCP relay in front of the test database (RELIABILITY 9, 10, 22).

The admin API (`client`) talks to PostgreSQL directly; only the rigs (simulated gateway
processes) go through the relay, so keys can be created and revoked while "their" PostgreSQL is
cut off.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from gateway.apikeys import generate_key, hash_key
from gateway.errors import AuthUnavailable
from tests.gateway.cache_rig import eventually
from tests.gateway.test_faults_redis import assert_no_secrets_logged


@pytest.fixture(autouse=True)
def capture_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def relayed(fast_config, pg_relay, database_url):
    return fast_config(database_url=pg_relay.rewrite(database_url))


async def test_postgresql_down_keeps_cached_keys_and_never_says_invalid(
    relayed, pg_relay, make_rig, client, new_key, capture_logs
):
    """RELIABILITY 9: cached keys keep working (L1 and Redis); keys nobody could check get
    AuthUnavailable (503), never None (401); no error becomes a negative entry."""
    cached, uncached = await new_key(client), await new_key(client)
    unknown = generate_key()
    rig = await make_rig(relayed)
    other = await make_rig(relayed)  # another process: empty L1, same Redis
    assert (await rig.cache.resolve(hash_key(cached.key))).revoked is False

    await pg_relay.refuse()
    assert (await rig.cache.resolve(hash_key(cached.key))).revoked is False  # L1
    assert (await other.cache.resolve(hash_key(cached.key))).revoked is False  # Redis
    for key in (uncached.key, unknown):
        with pytest.raises(AuthUnavailable) as caught:
            await rig.cache.resolve(hash_key(key))
        assert caught.value.status == 503 and caught.value.headers["Retry-After"]
    assert rig.cache.stats.unavailable == 2

    await pg_relay.reopen()
    assert (await rig.cache.resolve(hash_key(uncached.key))).revoked is False
    assert await rig.cache.resolve(hash_key(unknown)) is None
    assert_no_secrets_logged(capture_logs, cached.key, uncached.key, unknown)


async def test_black_holed_postgresql_fails_fast(relayed, pg_relay, make_rig, client, new_key):
    """RELIABILITY 10: PostgreSQL accepts bytes and never answers; every lookup that needs it
    fails within the pool-acquire + statement timeouts, concurrently too."""
    keys = [await new_key(client) for _ in range(3)]
    rig = await make_rig(relayed)
    await rig.cache.resolve(hash_key(keys[0].key))  # one pooled connection exists

    pg_relay.blackhole()
    hashes = [hash_key(k.key) for k in keys[1:]] + [hash_key(generate_key()) for _ in range(20)]
    start = time.monotonic()
    results = await asyncio.gather(*(rig.cache.resolve(h) for h in hashes), return_exceptions=True)
    took = time.monotonic() - start
    print(f"\n{len(hashes)} lookups against a black-holed PostgreSQL failed in {took:.2f} s")
    assert all(isinstance(r, AuthUnavailable) for r in results)
    bound = relayed.pg_acquire_timeout + relayed.pg_command_timeout
    assert took < bound + 0.5

    pg_relay.heal()

    async def recovered() -> bool:
        try:
            return (await rig.cache.resolve(hashes[0])) is not None
        except AuthUnavailable:
            return False

    await eventually(recovered, within=5)


async def test_exhausted_pool_fails_fast(fast_config, make_rig, client, new_key):
    """RELIABILITY 10: every pooled connection is busy; a lookup waits pg_acquire_timeout."""
    key = await new_key(client)
    config = fast_config(pg_pool_max=1)
    rig = await make_rig(config)
    async with rig.pool.acquire(timeout=10):  # the only connection, held by "someone else"
        start = time.monotonic()
        with pytest.raises(AuthUnavailable):
            await rig.cache.resolve(hash_key(key.key))
        assert time.monotonic() - start < config.pg_acquire_timeout + 0.3
    assert (await rig.cache.resolve(hash_key(key.key))).revoked is False


async def test_sender_gets_503_never_401_while_postgresql_is_cut(
    make_gateway, pg_relay, database_url, new_key
):
    """RELIABILITY 9 as a sender sees it: cached key 202, uncached key 503 + Retry-After."""
    gateway = await make_gateway(
        database_url=pg_relay.rewrite(database_url), pg_acquire_timeout=0.5, pg_command_timeout=1.0
    )
    cached, uncached = await new_key(gateway), await new_key(gateway)
    r = await gateway.post(cached.ingest_path, data=b"{}", headers={"X-Api-Key": cached.key})
    assert r.status == 202

    await pg_relay.refuse()
    r = await gateway.post(cached.ingest_path, data=b"{}", headers={"X-Api-Key": cached.key})
    assert r.status == 202
    r = await gateway.post(uncached.ingest_path, data=b"{}", headers={"X-Api-Key": uncached.key})
    assert r.status == 503
    assert r.headers["Retry-After"]
    assert (await r.json())["error"] == "auth_unavailable"

    await pg_relay.reopen()
    r = await gateway.post(uncached.ingest_path, data=b"{}", headers={"X-Api-Key": uncached.key})
    assert r.status == 202

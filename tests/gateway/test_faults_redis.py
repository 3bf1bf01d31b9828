"""Redis faults, injected for real on a private server (RELIABILITY 2, 3, 11, 22).

The admin app and every rig (simulated process) use the test's own Redis, so stopping or
pausing it disturbs nothing else.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from gateway.apikeys import KEY_CODEC, hash_key
from gateway.app import create_app
from tests.gateway.cache_rig import eventually
from tests.relay import Relay


@pytest.fixture
def config(fast_config, own_redis):
    """Overrides the shared `config`: the admin `client` then also uses the private Redis."""
    return fast_config(redis_url=own_redis.url)


@pytest.fixture(autouse=True)
def capture_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_secrets_logged(caplog: Any, *keys: str) -> None:
    """RELIABILITY 22: neither a key, nor its hash (hex or bytes), in any log record."""
    forbidden = []
    for key in keys:
        h = hash_key(key)
        forbidden += [key, key[4:], h.hex(), repr(h)]
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(map(repr, vars(record).values()))
        for secret in forbidden:
            assert secret not in text, f"secret in log record {record.name}: {record.msg!r}"


async def resolves_revoked(rig: Any, h: bytes) -> bool:
    record = await rig.cache.resolve(h)
    return record is not None and record.revoked


async def test_redis_restart_during_a_revocation_clears_every_cache(
    own_redis, config, make_rig, client, new_key, auth, capture_logs
):
    """RELIABILITY 2: the invalidation is published into a dead Redis and lost; every process
    clears L1 when it resubscribes, so the revoked key is rejected afterwards."""
    key = await new_key(client)
    h = hash_key(key.key)
    rigs = [await make_rig(config) for _ in range(3)]
    for rig in rigs:
        assert (await rig.cache.resolve(h)).revoked is False

    own_redis.stop()
    for rig in rigs:
        await eventually(lambda rig=rig: rig.cache.down_since is not None)
        # Looked up again during the outage (from PostgreSQL) and cached from now on.
        assert (await rig.cache.resolve(h)).revoked is False
    r = await client.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))
    assert r.status == 200  # PostgreSQL is the truth: the revoke succeeds without Redis
    for rig in rigs:
        assert (await rig.cache.resolve(h)).revoked is False  # stale until the gap is healed

    own_redis.start()
    for rig in rigs:
        await eventually(lambda rig=rig: rig.cache.stats.resubscribes == 1)
        assert await resolves_revoked(rig, h)
    assert_no_secrets_logged(capture_logs, key.key)


async def test_key_revoked_while_redis_unreachable_is_rejected_although_redis_says_active(
    fast_config, redis_url, make_rig, aiohttp_client, new_key, auth, capture_logs
):
    """Redis is cut off (not restarted, so it keeps its entries) while a key is revoked: the
    marker is never written, Redis still says "active" when the network heals, and no process
    may believe it after the gap."""
    relay = await Relay.for_url(redis_url)
    try:
        config = fast_config(redis_url=relay.rewrite(redis_url))
        admin = await aiohttp_client(create_app(config))
        key = await new_key(admin)
        h = hash_key(key.key)
        rig = await make_rig(config)
        assert (await rig.cache.resolve(h)).revoked is False  # filled into Redis as active

        await relay.refuse()
        await eventually(lambda: rig.cache.down_since is not None, within=3)
        r = await admin.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))
        assert r.status == 200
        await relay.reopen()
        await eventually(lambda: rig.cache.stats.resubscribes == 1 and rig.cache.down_since is None)

        direct = Redis.from_url(redis_url)
        stale = await direct.get(rig.l2.key(h))
        await direct.aclose()
        assert KEY_CODEC.decode(stale).revoked is False  # the stale entry really is there
        assert await resolves_revoked(rig, h)
        assert_no_secrets_logged(capture_logs, key.key)
    finally:
        await relay.close()


async def test_hung_redis_is_noticed_and_l1_cleared_after_it_recovers(
    own_redis, config, make_rig, client, new_key, capture_logs
):
    """RELIABILITY 3: SIGSTOP for longer than the health-check interval (0.2 s)."""
    key = await new_key(client)
    h = hash_key(key.key)
    rig = await make_rig(config)
    await rig.cache.resolve(h)

    own_redis.pause()
    noticed = await eventually(lambda: rig.cache.down_since is not None, within=3)
    print(f"\nhung redis noticed after {noticed * 1000:.0f} ms (health check 200 ms)")
    assert noticed < 1.0
    start = time.monotonic()
    assert (await rig.cache.resolve(h)).revoked is False  # PostgreSQL answers meanwhile
    assert time.monotonic() - start < config.redis_timeout + config.pg_command_timeout
    assert len(rig.cache) == 1  # served for its TTL while Redis stays hung

    own_redis.resume()
    await eventually(lambda: rig.cache.stats.resubscribes == 1 and rig.cache.down_since is None)
    assert len(rig.cache) == 0  # everything cached during the hang is dropped
    assert (await rig.cache.resolve(h)).revoked is False
    assert_no_secrets_logged(capture_logs, key.key)


async def test_without_redis_keys_authenticate_from_postgresql_and_recover(
    own_redis, config, make_rig, client, new_key, capture_logs
):
    """RELIABILITY 11: Redis stopped; created keys work, lookups go to PostgreSQL and are
    cached in L1 for their TTL; when Redis returns, fills into Redis resume."""
    rig = await make_rig(config)
    own_redis.stop()
    await eventually(lambda: rig.cache.down_since is not None)

    key = await new_key(client)  # create succeeds; its publish is lost, harmlessly
    h = hash_key(key.key)
    start = time.monotonic()
    assert (await rig.cache.resolve(h)).revoked is False
    assert time.monotonic() - start < 0.5  # a refused Redis costs nothing noticeable
    assert (await rig.cache.resolve(h)).revoked is False
    assert rig.db.lookups[h] == 1  # the second one came from L1, not PostgreSQL

    own_redis.start()
    await eventually(lambda: rig.cache.down_since is None)

    async def filled_again() -> bool:
        rig.cache.invalidate(h)
        await rig.cache.resolve(h)
        return await rig.l2.get(h) is not None

    await eventually(filled_again)
    assert_no_secrets_logged(capture_logs, key.key)


async def test_gateway_starts_while_redis_is_down(own_redis, config, aiohttp_client):
    own_redis.stop()
    start = time.monotonic()
    await aiohttp_client(create_app(config))
    assert time.monotonic() - start < 2.0

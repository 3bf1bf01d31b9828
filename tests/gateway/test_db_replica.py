"""SPEC §9's replica rules on a real streaming replica (pg_basebackup -R) with replay paused
(pg_wal_replay_pause()): the replica lags for as long as the test wants.

- A key created on the primary and unknown to the replica is accepted at once (the replica's
  "none" is confirmed on the primary), never a cached 401.
- A key revoked while Redis is gone is not brought back by the lagging replica after the gap
  (re-checks after a gap read the primary).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from gateway.apikeys import hash_key
from gateway.db import migrate
from gateway.keys import KEY_CACHE
from tests.gateway.cache_rig import OwnRedis, eventually
from tests.gateway.conftest import FAST
from tests.pg_replica import PrimaryAndReplica

pytestmark = pytest.mark.topology
BODY = b'{"event":"ping"}'


@pytest.fixture(scope="module")
def pg_pair() -> Iterator[PrimaryAndReplica]:
    pair = PrimaryAndReplica()
    try:
        pair.start()
        yield pair
    finally:
        pair.close()


async def caught_up(pair: PrimaryAndReplica) -> None:
    """Wait until the replica has replayed everything the primary wrote so far."""
    primary = await asyncpg.connect(pair.dsn("primary"))
    replica = await asyncpg.connect(pair.dsn("replica"))
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()")

        async def replayed() -> bool:
            lsn = await replica.fetchval("SELECT pg_last_wal_replay_lsn()")
            return bool(lsn is not None and lsn >= target)

        await eventually(replayed, within=10)
    finally:
        await primary.close()
        await replica.close()


async def test_lagging_replica_neither_rejects_a_new_key_nor_revives_a_revoked_one(
    pg_pair: PrimaryAndReplica, own_redis: OwnRedis, make_gateway: Any, auth: Any
) -> None:
    await migrate(pg_pair.dsn("primary"))
    tenant = uuid.uuid4()
    primary = await asyncpg.connect(pg_pair.dsn("primary"))
    replica = await asyncpg.connect(pg_pair.dsn("replica"))
    try:
        await primary.execute("INSERT INTO tenants (id, name) VALUES ($1, 'Replica')", tenant)
        settings = FAST | {
            "database_url": pg_pair.dsn("primary"),
            "database_replica_url": pg_pair.dsn("replica"),
            "redis_url": own_redis.url,
            # A spurious gap on a loaded machine would keep lookups on the primary for
            # redis_key_ttl; keep that short, and the listener's checks at the default pace.
            "redis_key_ttl": 2,
            "redis_health_check_interval": 1.0,
        }
        admin, checker = await make_gateway(**settings), await make_gateway(**settings)
        cache = checker.server.app[KEY_CACHE]
        stats = cache.stats

        async def create_key() -> tuple[str, str]:
            r = await admin.post("/api/v1/apikeys", json={"name": "k"}, headers=auth(tenant))
            assert r.status == 201
            body = await r.json()
            return body["key"], body["id"]

        def send(key: str) -> Any:
            path = f"/api/v1/ingest/{tenant}/tok-1"
            return checker.post(path, data=BODY, headers={"X-Api-Key": key})

        old_key, old_id = await create_key()
        await caught_up(pg_pair)
        await eventually(cache._l2_trusted, within=5)  # coherent: the replica may answer
        assert (await send(old_key)).status == 202
        assert stats.replica_hits == 1  # the replica answers lookups

        await replica.execute("SELECT pg_wal_replay_pause()")
        new_key, _ = await create_key()  # on the primary only
        assert (await send(new_key)).status == 202
        assert (await send(new_key)).status == 202
        assert stats.replica_misses >= 1  # the replica's "none", confirmed on the primary
        assert await replica.fetchval("SELECT count(*) FROM api_keys") == 1  # still lagging

        own_redis.stop()  # the revoke cannot write its marker or publish
        revoke = f"/api/v1/apikeys/{old_id}"
        assert (await admin.delete(revoke, headers=auth(tenant))).status == 200
        hits = stats.replica_hits

        async def rejected() -> bool:
            return bool((await send(old_key)).status == 401)

        await eventually(rejected, within=5)  # the listener noticed the gap
        own_redis.start()
        for _ in range(20):  # around and after the resubscribe: never accepted again
            assert (await send(old_key)).status == 401
        await eventually(lambda: cache.down_since is None, within=5)
        assert (await send(old_key)).status == 401
        assert stats.replica_hits == hits  # the lagging replica was not asked after the gap
        ready = await (await checker.get("/readyz")).json()
        assert ready["checks"]["postgresql_replica"] == "ok"
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")
        await primary.close()
        await replica.close()


async def test_a_lagging_replicas_answer_is_dated_by_its_data_not_its_clock(
    pg_pair: PrimaryAndReplica, own_redis: OwnRedis, make_gateway: Any, auth: Any
) -> None:
    """A key record's read time orders Redis markers (gateway.keyrecord): a lagging replica's
    stale answer must carry a time before the change it has not replayed, or it would outrank
    the change's marker."""
    await migrate(pg_pair.dsn("primary"))
    tenant = uuid.uuid4()
    primary = await asyncpg.connect(pg_pair.dsn("primary"))
    replica = await asyncpg.connect(pg_pair.dsn("replica"))
    try:
        await primary.execute("INSERT INTO tenants (id, name) VALUES ($1, 'Stale')", tenant)
        settings = FAST | {
            "database_url": pg_pair.dsn("primary"),
            "database_replica_url": pg_pair.dsn("replica"),
            "redis_url": own_redis.url,
        }
        gateway = await make_gateway(**settings)
        cache = gateway.server.app[KEY_CACHE]
        r = await gateway.post("/api/v1/apikeys", json={"name": "k"}, headers=auth(tenant))
        created = await r.json()
        await caught_up(pg_pair)
        await replica.execute("SELECT pg_wal_replay_pause()")
        r = await gateway.patch(
            f"/api/v1/apikeys/{created['id']}",
            json={"allowedCidrs": ["192.0.2.0/24"]},
            headers=auth(tenant),
        )
        assert r.status == 200
        changed_at = await primary.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")

        stale = await cache.load(hash_key(created["key"]), primary=False)
        fresh = await cache.load(hash_key(created["key"]))

        assert stale is not None and stale.allowed is None  # the replica has not replayed it
        assert fresh is not None and fresh.allowed is not None
        assert stale.read_at < changed_at <= fresh.read_at
    finally:
        await replica.execute("SELECT pg_wal_replay_resume()")
        await primary.close()
        await replica.close()

"""The Redis client: its factory (commands bounded), its lifecycle, the invalidation channel.

Apart from the cache tier (gateway.l2) so that the listener, the admin service and the CLI can
use a client without importing the cache. HOOKSENTRY_REDIS_URL picks the mode (gateway.redis_url):
one server (plain or TLS), a Sentinel-managed master, or a Cluster; the clients are redis-py's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, RedisClusterException, RedisError

from gateway.config import Config
from gateway.keys import CONFIG, REDIS
from gateway.redis_url import RedisTarget, parse_redis_url

# RedisClusterException is not a RedisError ("no reachable node", a slot not covered): a Cluster
# in trouble must read as "Redis failed" (fall back to PostgreSQL), never as a 500.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError, TimeoutError)
_CLOSE_TIMEOUT = 2.0
RedisClient = Redis | RedisCluster


def create_redis(
    config: Config, *, timeout: float | None = None, health_check_interval: float = 0
) -> RedisClient:
    """A client whose every command is bounded: no silent retries multiplying the timeout."""
    target = parse_redis_url(config.redis_url)
    options = _options(config, timeout, health_check_interval)
    if target.mode == "cluster":
        nodes = [ClusterNode(host, port) for host, port in target.nodes]
        return RedisCluster(startup_nodes=nodes, password=target.password, **options)
    return create_node_client(config, timeout=timeout, health_check_interval=health_check_interval)


def create_node_client(
    config: Config, *, timeout: float | None = None, health_check_interval: float = 0, node: int = 0
) -> Redis:
    """A client of one server, for pub/sub: the master (via Sentinel when so configured), or in
    Cluster mode the seed node number `node` (classic PUBLISH reaches every node of a cluster)."""
    target = parse_redis_url(config.redis_url)
    options = _options(config, timeout, health_check_interval)
    if target.mode == "single":
        return Redis.from_url(target.url, **options)
    if target.mode == "cluster":
        host, port = target.nodes[node % len(target.nodes)]
        return Redis(host=host, port=port, password=target.password, **options)
    return _sentinel_master(target, options)


def _sentinel_master(target: RedisTarget, options: dict[str, Any]) -> Redis:
    sentinel_options = {k: options[k] for k in ("socket_timeout", "socket_connect_timeout")}
    # After a failover every pooled connection still points at the old master and fails once
    # ("now a replica", or refused): that one failure is retried at once on a new connection to
    # the master Sentinel names. Timeouts are not retried: a hung master costs one timeout.
    options = options | {"retry": Retry(NoBackoff(), 1, supported_errors=(ConnectionError,))}
    sentinel = Sentinel(list(target.nodes), sentinel_kwargs=sentinel_options)  # type: ignore[no-untyped-call]
    client: Redis = sentinel.master_for(
        target.master, db=target.db, password=target.password, **options
    )
    return client


def _options(config: Config, timeout: float | None, health_check_interval: float) -> dict[str, Any]:
    timeout = config.redis_timeout if timeout is None else timeout
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "health_check_interval": health_check_interval,
        "retry": Retry(NoBackoff(), 0),
    }


async def follow_master(client: RedisClient) -> None:
    """Sentinel mode: ask a sentinel where the master is before a change is published. Pooled
    connections are checked only when they connect, and a replica accepts PUBLISH without
    error, so after a failover a change could be published on the old master, where no listener
    is left. One sentinel query per admin change; nothing elsewhere."""
    pool = None if isinstance(client, RedisCluster) else client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        await pool.get_master_address()  # type: ignore[no-untyped-call]  # drops stale idle ones


def invalidation_channel(config: Config) -> str:
    """Where changes publish cache hashes; every process's listener subscribes."""
    return config.redis_prefix + "invalidate"


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = create_redis(app[CONFIG])
    app[REDIS] = client
    if isinstance(client, RedisCluster):
        # Learn the slot map now, not inside the first request's short timeout. A cluster
        # that does not answer yet is not fatal: the first command tries again.
        with contextlib.suppress(TimeoutError, *REDIS_ERRORS):
            await asyncio.wait_for(client.initialize(), _CLOSE_TIMEOUT)
    yield
    await close_redis(client)


async def close_redis(client: RedisClient) -> None:
    with contextlib.suppress(TimeoutError, *REDIS_ERRORS):
        await asyncio.wait_for(client.aclose(), _CLOSE_TIMEOUT)
    pool = None if isinstance(client, RedisCluster) else client.connection_pool
    if isinstance(pool, SentinelConnectionPool):  # its Sentinel holds connections of its own
        for sentinel in pool.sentinel_manager.sentinels:
            with contextlib.suppress(TimeoutError, *REDIS_ERRORS):
                await asyncio.wait_for(sentinel.aclose(), _CLOSE_TIMEOUT)

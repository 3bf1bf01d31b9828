"""The Redis client: its factory (commands bounded), its lifecycle, the invalidation channel.

Apart from the cache tier (gateway.l2) so that the listener, the admin service and the CLI can
use a client without importing the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.config import Config
from gateway.keys import CONFIG, REDIS

REDIS_ERRORS = (RedisError, OSError, TimeoutError)
_CLOSE_TIMEOUT = 2.0


def create_redis(
    config: Config, *, timeout: float | None = None, health_check_interval: float = 0
) -> Redis:
    """A client whose every command is bounded: no silent retries multiplying the timeout."""
    timeout = config.redis_timeout if timeout is None else timeout
    return Redis.from_url(
        config.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=health_check_interval,
        retry=Retry(NoBackoff(), 0),
    )


def invalidation_channel(config: Config) -> str:
    """Where changes publish cache hashes; every process's listener subscribes."""
    return config.redis_prefix + "invalidate"


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = create_redis(app[CONFIG])
    app[REDIS] = client
    yield
    await close_redis(client)


async def close_redis(client: Redis) -> None:
    try:
        await asyncio.wait_for(client.aclose(), _CLOSE_TIMEOUT)
    except (TimeoutError, *REDIS_ERRORS):
        pass

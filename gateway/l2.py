"""L2: the Redis side of the key cache, revocation markers and the invalidation channel."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.apikeys import KeyRecord
from gateway.config import Config
from gateway.keys import CONFIG, L2, REDIS

log = logging.getLogger(__name__)

REDIS_ERRORS = (RedisError, OSError, TimeoutError)
_CLOSE_TIMEOUT = 2.0


def create_redis(config: Config, *, timeout: float | None = None) -> Redis:
    """A client whose every command is bounded: no silent retries multiplying the timeout."""
    timeout = config.redis_timeout if timeout is None else timeout
    return Redis.from_url(
        config.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    client = create_redis(config)
    app[REDIS] = client
    app[L2] = RedisL2(client, config)
    yield
    await close_redis(client)


async def close_redis(client: Redis) -> None:
    try:
        await asyncio.wait_for(client.aclose(), _CLOSE_TIMEOUT)
    except (TimeoutError, *REDIS_ERRORS):
        pass


def encode(record: KeyRecord) -> bytes:
    return f"{int(record.revoked)}:{record.key_id.hex}:{record.tenant_id.hex}".encode()


def decode(raw: bytes) -> KeyRecord:
    revoked, key_id, tenant_id = raw.decode().split(":")
    return KeyRecord(uuid.UUID(key_id), uuid.UUID(tenant_id), revoked == "1")


class RedisL2:
    """`<prefix>key:<sha256 hex>` -> record, and `<prefix>invalidate` carrying hashes."""

    def __init__(self, client: Redis, config: Config):
        self.client = client
        self.ttl = config.redis_key_ttl
        self.prefix = config.redis_prefix
        self.channel = config.redis_prefix + "invalidate"

    def key(self, key_hash: bytes) -> str:
        return f"{self.prefix}key:{key_hash.hex()}"

    async def get(self, key_hash: bytes) -> KeyRecord | None:
        """None means "Redis has no entry"; a Redis failure raises (it is not "missing")."""
        raw = await self.client.get(self.key(key_hash))
        return None if raw is None else decode(raw)

    async def fill(self, key_hash: bytes, record: KeyRecord) -> None:
        """NX: a late fill never replaces a revocation marker written meanwhile."""
        await self.client.set(self.key(key_hash), encode(record), nx=True, ex=self.ttl)

    async def revoke(self, key_hash: bytes, record: KeyRecord) -> None:
        """Write the marker over whatever is there, then tell every process. Never raises."""
        try:
            await self.client.set(self.key(key_hash), encode(record), ex=self.ttl)
        except REDIS_ERRORS as exc:
            log.warning("revocation marker not written: %s", type(exc).__name__)
        await self.publish(key_hash)

    async def publish(self, key_hash: bytes) -> None:
        """Best effort: PostgreSQL is the truth; listeners' gap handling covers a lost message."""
        try:
            await self.client.publish(self.channel, key_hash.hex())
        except REDIS_ERRORS as exc:
            log.warning("invalidation not published: %s", type(exc).__name__)

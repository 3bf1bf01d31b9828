"""The process's record caches (keys, source sets), their Redis tiers and the one invalidation
listener they share: one cleanup_ctx, since the listener must know every cache it clears."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.apikeys import KEY_CODEC
from gateway.config import Config
from gateway.invalidation import CacheGroup, InvalidationListener
from gateway.keycache import KeyCache
from gateway.keys import (
    CONFIG,
    DB,
    KEY_CACHE,
    L2,
    REDIS,
    REPLICA_DB,
    SECRET_BOX,
    SOURCE_CACHE,
    SOURCE_L2,
)
from gateway.l2 import RedisL2
from gateway.recordcache import REDIS_PAUSE_FACTOR
from gateway.sourcecache import SourceCache
from gateway.sources import SourceSetCodec


async def caches_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    codec = SourceSetCodec(app[SECRET_BOX])
    app[L2] = key_l2 = RedisL2(app[REDIS], config, KEY_CODEC)
    app[SOURCE_L2] = source_l2 = RedisL2(app[REDIS], config, codec)
    replica = app[REPLICA_DB]
    app[KEY_CACHE] = keys = KeyCache(config, app[DB], key_l2, replica)
    app[SOURCE_CACHE] = sources = SourceCache(config, app[DB], source_l2, codec, replica)
    listener = InvalidationListener(CacheGroup(keys, sources), config)
    listener.start()
    # Start coherent when Redis is up; when it is not, serve from PostgreSQL meanwhile.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener.subscribed.wait(), _startup_wait(config))
    yield
    await listener.stop()
    await key_l2.cancel_background()
    await source_l2.cancel_background()


def _startup_wait(config: Config) -> float:
    return config.redis_timeout * REDIS_PAUSE_FACTOR

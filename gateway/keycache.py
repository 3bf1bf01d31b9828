"""The key check's cache: a RecordCache of KeyRecords, looked up by the key's SHA-256.

The machinery (L1, singleflight, fill lease, epoch, gap rules) is gateway.recordcache's; this
module says how PostgreSQL answers for a key, and builds the process's caches and listener.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

from aiohttp import web

from gateway.apikeys import KEY_CODEC, KeyRecord
from gateway.config import Config
from gateway.db import QUERIES
from gateway.invalidation import CacheGroup, InvalidationListener
from gateway.keys import CONFIG, DB, KEY_CACHE, L2
from gateway.recordcache import REDIS_PAUSE_FACTOR, RecordCache, RecordL2

_LOOKUP_KEY = QUERIES["lookup_key"]


class KeyStore(Protocol):
    """What the cache needs from PostgreSQL (gateway.db.Database)."""

    async def fetchrow(self, query: str, *args: Any) -> Any: ...


class KeyCache(RecordCache[KeyRecord]):
    """Resolves key hashes to records; one per process, shared by every request."""

    def __init__(self, config: Config, db: KeyStore, l2: RecordL2[KeyRecord]):
        super().__init__(config, l2, KEY_CODEC)
        self._db = db

    async def load(self, key_hash: bytes) -> KeyRecord | None:
        row = await self._db.fetchrow(_LOOKUP_KEY, key_hash)
        if row is None:
            return None
        return KeyRecord.of(row["id"], row["tenant_id"], row["revoked"])


async def key_cache_ctx(app: web.Application) -> AsyncIterator[None]:
    """The process's KeyCache and its invalidation listener (own Redis connection)."""
    config = app[CONFIG]
    l2 = app[L2]
    cache = KeyCache(config, app[DB], l2)
    app[KEY_CACHE] = cache
    listener = InvalidationListener(CacheGroup(cache), config)
    listener.start()
    # Start coherent when Redis is up; when it is not, serve from PostgreSQL meanwhile.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener.subscribed.wait(), _startup_wait(config))
    yield
    await listener.stop()


def _startup_wait(config: Config) -> float:
    return config.redis_timeout * REDIS_PAUSE_FACTOR

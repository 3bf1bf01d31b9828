"""The invalidation listener: one task per process, own Redis connection (DESIGN "The listener").

Pub/sub is at-most-once and redis-py resubscribes on its own, so the listener trusts nothing it
cannot see: every subscribe confirmation after the first, every error and every silence longer
than twice the health-check interval means messages may have been lost, and the cache is
cleared. While it is not subscribed, the cache knows since when (`mark_down`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from time import monotonic, time
from typing import Any, Protocol

from redis.asyncio.client import PubSub
from redis.asyncio.sentinel import SentinelConnectionPool

from gateway.cachestats import CacheStats
from gateway.config import Config
from gateway.redis_client import close_redis, create_node_client, invalidation_channel

log = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 1.0
_BACKOFF_FIRST = 0.05


class Invalidatable(Protocol):
    stats: CacheStats

    def invalidate(self, key_hash: bytes) -> None: ...

    def mark_down(self, since: float) -> None: ...

    def mark_up(self, *, after_gap: bool) -> None: ...


class CacheGroup:
    """Every cache of the process behind one listener: a message names one cache hash, and
    hashes of different records never collide (a key's is 32 bytes, a source set's 17), so each
    cache simply forgets it. Counters are the first cache's (the key cache's, in /metrics)."""

    def __init__(self, first: Invalidatable, *others: Invalidatable):
        self.stats = first.stats
        self._caches = (first, *others)

    def invalidate(self, key_hash: bytes) -> None:
        for cache in self._caches:
            cache.invalidate(key_hash)

    def mark_down(self, since: float) -> None:
        for cache in self._caches:
            cache.mark_down(since)

    def mark_up(self, *, after_gap: bool) -> None:
        for cache in self._caches:
            cache.mark_up(after_gap=after_gap)


class ListenerStale(Exception):
    """Redis said nothing, not even to a PING, for too long: the connection is presumed dead."""


class MasterMoved(Exception):
    """Sentinel names another master than the one this session listens on (a failover)."""


async def _check_still_master(pubsub: PubSub) -> None:
    """Sentinel mode: after a failover the old master may keep this connection open as a
    replica; messages published meanwhile can be lost without an error (a full resync), so a
    changed master is a gap like any other. One query to a sentinel per health-check interval."""
    pool, connection = pubsub.connection_pool, pubsub.connection
    if not isinstance(pool, SentinelConnectionPool) or connection is None:
        return
    master = await pool.sentinel_manager.discover_master(pool.service_name)
    if (connection.host, connection.port) != master:
        raise MasterMoved()


class InvalidationListener:
    def __init__(self, cache: Invalidatable, config: Config):
        self._cache = cache
        self._channel = invalidation_channel(config)
        self._interval = config.redis_health_check_interval
        # Its own commands wait longer than a request's: a gap it imagines costs a cleared L1
        # and redis_key_ttl of re-checks against PostgreSQL, and a worker starved of CPU for
        # a moment answers a PING late. A dead Redis is still noticed within 2 x interval.
        self._timeout = max(config.redis_timeout, config.redis_health_check_interval)
        self._config = config
        # Which server a session subscribes on: in Cluster mode the next seed node after a
        # failure (classic PUBLISH reaches every node, docs/decisions.md); with Sentinel each
        # session asks the sentinels for the master anew, so a failover is one more gap.
        self._node = 0
        self._task: asyncio.Task[None] | None = None
        self._confirmations = 0
        self._session_confirmed = False
        self._outage_logged = False
        self._last_seen = monotonic()
        self._last_ping = 0.0
        self._last_master_check = 0.0
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="invalidation-listener")

    async def stop(self) -> None:
        """Cancel the loop and close the connection, both bounded in time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, _CLOSE_TIMEOUT)

    async def _run(self) -> None:
        backoff = _BACKOFF_FIRST
        while True:
            # Its own connection, with redis-py's health checks on (the loop reads often enough).
            client = create_node_client(
                self._config,
                timeout=self._timeout,
                health_check_interval=self._interval,
                node=self._node,
            )
            pubsub = client.pubsub()
            self._session_confirmed = False
            try:
                await self._session(pubsub)
            except Exception as exc:  # any failure is a gap; the loop must outlive it
                self._lost(exc)
                self._node += 1
            finally:
                await _close_pubsub(pubsub)
                await close_redis(client)
            backoff = (
                _BACKOFF_FIRST if self._session_confirmed else min(backoff * 2, self._interval)
            )
            await asyncio.sleep(backoff)

    async def _session(self, pubsub: PubSub) -> None:
        self._last_seen = self._last_ping = monotonic()
        async with asyncio.timeout(self._timeout * 2):
            await pubsub.subscribe(self._channel)
        read_every = self._interval / 2  # health checks only work if we read this often
        while True:
            message = await pubsub.get_message(timeout=read_every)
            now = monotonic()
            if message is not None:
                self._last_seen = now
                self._handle(message)
            elif now - self._last_seen > 2 * self._interval:
                raise ListenerStale()
            if now - self._last_seen >= self._interval and now - self._last_ping >= self._interval:
                self._last_ping = now
                async with asyncio.timeout(self._timeout):
                    await pubsub.ping()
            if now - self._last_master_check >= self._interval:
                self._last_master_check = now
                async with asyncio.timeout(self._timeout):
                    await _check_still_master(pubsub)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            self._invalidate(message["data"])
        elif kind == "subscribe":
            self._confirmations += 1
            if self._confirmations > 1:
                self._cache.stats.resubscribes += 1
                log.warning("invalidation listener resubscribed; key cache cleared")
            # Clears L1: whatever was published meanwhile is gone.
            self._cache.mark_up(after_gap=self._confirmations > 1)
            self._session_confirmed = True
            self._outage_logged = False
            self.subscribed.set()

    def _invalidate(self, data: bytes) -> None:
        try:
            key_hash = bytes.fromhex(data.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            log.warning("ignored a malformed invalidation message (%d bytes)", len(data))
            return
        self._cache.stats.invalidations_received += 1
        self._cache.stats.last_invalidation = time()
        self._cache.invalidate(key_hash)

    def _lost(self, exc: BaseException) -> None:
        # Entries cached after the last sign of life may already have missed a message.
        if not self._outage_logged:  # the start of an outage, not every retry
            self._outage_logged = True
            log.warning("invalidation listener lost redis: %s", type(exc).__name__)
        self.subscribed.clear()
        self._cache.mark_down(self._last_seen)


async def _close_pubsub(pubsub: PubSub) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pubsub.aclose(), _CLOSE_TIMEOUT)  # type: ignore[no-untyped-call]

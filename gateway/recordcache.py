"""A record cache: L1 (per process) -> singleflight -> Redis (L2) -> PostgreSQL, written once.

The key cache (gateway.keycache) and the source-set cache (gateway.sourcecache) are this class
with a codec (gateway.codec) and a loader (`load`). Across processes, a fill lease in Redis makes
a record that several miss at once one PostgreSQL lookup (gateway.l2, docs/decisions.md).

SPEC §4 and DESIGN "Lookup (the fill protocol)". Three rules carry the correctness:
- an error is "unknown", never a negative entry (AuthUnavailable, so the sender retries);
- a lookup puts its answer into L1 only if no invalidation arrived while it ran (the epoch);
- while the invalidation listener is not subscribed, L1 entries older than the drop are not
  served (they may have missed an invalidation), and every gap clears L1.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from time import monotonic
from typing import Any, Generic, Protocol, TypeVar

from gateway.cachestats import CacheStats
from gateway.codec import RecordCodec
from gateway.config import Config
from gateway.errors import AuthUnavailable, StoreUnavailable
from gateway.l2 import Lease
from gateway.redis_client import REDIS_ERRORS

log = logging.getLogger(__name__)

# After a Redis failure, misses skip Redis for this many redis_timeouts: a hung Redis then costs
# one timeout per process per pause, not one per request.
REDIS_PAUSE_FACTOR = 4
R = TypeVar("R")
V = TypeVar("V")


class RecordL2(Protocol[R]):
    """What the cache needs from Redis (gateway.l2.RedisL2)."""

    lease_seconds: float

    async def get_or_lease(self, key_hash: bytes) -> R | Lease: ...

    async def wait_fill(self, key_hash: bytes) -> R | None: ...

    async def fill(self, key_hash: bytes, record: R, *, leased: bool = False) -> None: ...

    async def release(self, key_hash: bytes) -> None: ...

    def release_later(self, key_hash: bytes) -> None: ...


class RecordCache(Generic[R]):
    """Resolves cache hashes to records; one per record kind per process, shared by every
    request. Subclasses say how PostgreSQL answers (`load`)."""

    def __init__(
        self, config: Config, l2: RecordL2[R], codec: RecordCodec[R], *, replica: bool = False
    ):
        self._l2 = l2
        self._replica = replica
        self._codec = codec
        self._positive_ttl = config.l1_positive_ttl
        self._negative_ttl = config.l1_negative_ttl
        self._max_positive = config.l1_max_entries
        self._max_negative = config.l1_negative_max_entries
        self._redis_timeout = config.redis_timeout
        # hash -> (the record's L1 form, expires_at, inserted_at); records and markers.
        self._positive: OrderedDict[bytes, tuple[Any, float, float]] = OrderedDict()
        # hash -> (expires_at, inserted_at); "PostgreSQL said there is none". Bounded apart.
        self._negative: OrderedDict[bytes, tuple[float, float]] = OrderedDict()
        self._inflight: dict[bytes, asyncio.Task[R | None]] = {}
        self._redis_paused_until = 0.0
        self._l2_ttl = float(config.redis_key_ttl)
        self._verify_l2_until = 0.0
        self.epoch = 0
        # Set while the invalidation listener is not subscribed (from the start until it first
        # is): entries older than this are not served. None = coherent.
        self.down_since: float | None = monotonic()
        self.stats = CacheStats()

    async def resolve(self, key_hash: bytes) -> R | None:
        """The record (maybe a marker), None for "none"; AuthUnavailable when unknown."""
        now = monotonic()
        down = self.down_since
        entry = self._positive.get(key_hash)
        if entry is not None:
            if entry[1] > now and (down is None or entry[2] >= down):
                self._positive.move_to_end(key_hash)
                self.stats.l1_hits += 1
                return self._codec.from_l1(entry[0])
        else:
            negative = self._negative.get(key_hash)
            if negative is not None and negative[0] > now and (down is None or negative[1] >= down):
                self.stats.l1_negative_hits += 1
                return None
        return await self._miss(key_hash)

    def invalidate(self, key_hash: bytes) -> None:
        """Forget one record; lookups already running will not put their answer into L1."""
        self._positive.pop(key_hash, None)
        self._negative.pop(key_hash, None)
        # New callers must not join a lookup that may have read the old answer.
        self._inflight.pop(key_hash, None)
        self.epoch += 1

    def clear(self) -> None:
        """Forget everything: invalidations may have been lost (a pub/sub gap)."""
        self._positive.clear()
        self._negative.clear()
        self._inflight.clear()
        self.epoch += 1

    def mark_down(self, since: float) -> None:
        """The listener lost its subscription; entries older than `since` are not trusted.

        Only the transition clears: entries fetched during the outage are served for their TTL
        (so an outage does not send every request to PostgreSQL) and dropped on resubscribe.
        """
        if self.down_since is None:
            self.down_since = since
            self.clear()

    def mark_up(self, *, after_gap: bool) -> None:
        """Subscribed: anything cached before may be stale, so start afresh.

        After a gap, Redis itself may still hold an old entry for a record changed meanwhile
        (the change could not write its marker), for up to its TTL: until then a record from
        Redis is checked against PostgreSQL. A marker (a revoked key) from Redis is final.
        """
        self.clear()
        self.down_since = None
        if after_gap:
            self._verify_l2_until = monotonic() + self._l2_ttl

    def __contains__(self, key_hash: bytes) -> bool:
        return key_hash in self._positive or key_hash in self._negative

    def __len__(self) -> int:
        return len(self._positive) + len(self._negative)

    async def _miss(self, key_hash: bytes) -> R | None:
        task = self._inflight.get(key_hash)
        if task is None:
            # A task of its own: a sender that disconnects cancels its wait, not the lookup
            # other requests share.
            task = asyncio.ensure_future(self._lookup(key_hash))
            self._inflight[key_hash] = task
            task.add_done_callback(lambda t: self._lookup_done(key_hash, t))
        return await asyncio.shield(task)

    def _lookup_done(self, key_hash: bytes, task: asyncio.Task[R | None]) -> None:
        if self._inflight.get(key_hash) is task:
            del self._inflight[key_hash]
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not logged as lost

    async def _lookup(self, key_hash: bytes) -> R | None:
        start_epoch = self.epoch
        record, redis_ok, leased = await self._l2_get(key_hash)
        if record is not None and not self._codec.final(record) and not self._l2_trusted():
            record = None  # possibly stale: ask the truth
        if record is not None:
            self.stats.redis_hits += 1
        else:
            try:
                record = await self._db_get(key_hash)
            finally:
                fill = record is not None and not self._codec.final(record) and redis_ok
                if fill or leased:
                    await self._l2_done(key_hash, record if fill else None, leased)
        if self.epoch == start_epoch:
            self._put(key_hash, record, monotonic())
        return record

    def _l2_trusted(self) -> bool:
        return self.down_since is None and monotonic() >= self._verify_l2_until

    async def _l2_get(self, key_hash: bytes) -> tuple[R | None, bool, bool]:
        """(record or None, whether Redis answered, whether this process holds the fill lease).

        A failure is not "missing". When another process holds the lease, wait for its fill.
        """
        if monotonic() < self._redis_paused_until:
            return None, False, False
        try:
            async with asyncio.timeout(self._redis_timeout):
                answer = await self._l2.get_or_lease(key_hash)
        except (*REDIS_ERRORS, ValueError) as exc:
            self._pause_redis(exc)
            self._l2.release_later(key_hash)  # the script may have run before the failure
            return None, False, False
        if answer is Lease.MINE:
            return None, True, True
        if answer is Lease.NONE:
            return None, True, False
        if answer is not Lease.THEIRS:
            return answer, True, False
        if not self._l2_trusted():
            return None, True, False  # its fill would be checked against PostgreSQL anyway
        try:
            async with asyncio.timeout(self._l2.lease_seconds + self._redis_timeout):
                return await self._l2.wait_fill(key_hash), True, False
        except (*REDIS_ERRORS, ValueError) as exc:
            self._pause_redis(exc)
            return None, False, False

    async def _l2_done(self, key_hash: bytes, record: R | None, leased: bool) -> None:
        """Fill Redis with an active record (NX), and give the lease back if this process has it."""
        try:
            async with asyncio.timeout(self._redis_timeout):
                if record is not None:
                    await self._l2.fill(key_hash, record, leased=leased)
                else:
                    await self._l2.release(key_hash)
        except REDIS_ERRORS as exc:
            self._pause_redis(exc)
            if leased:
                self._l2.release_later(key_hash)

    def _pause_redis(self, exc: BaseException) -> None:
        log.warning("redis lookup failed, using postgresql: %s", type(exc).__name__)
        self._redis_paused_until = monotonic() + self._redis_timeout * REDIS_PAUSE_FACTOR

    async def load(self, key_hash: bytes, *, primary: bool = True) -> R | None:
        """PostgreSQL's answer (the primary's, or a replica's): the record, or None for "there
        is none". StoreUnavailable when it does not answer."""
        raise NotImplementedError

    async def _load_routed(self, key_hash: bytes) -> R | None:
        """SPEC §9: a replica answers lookups while the cache is coherent. Its "none" may only
        be lag (a key created a moment ago), so the primary confirms it before it is cached;
        after a gap (the re-checks of records Redis may hold stale) only the primary answers."""
        if self._replica and self._l2_trusted():
            try:
                record = await self.load(key_hash, primary=False)
            except StoreUnavailable:
                record = None  # the primary answers instead
            else:
                if record is not None:
                    self.stats.replica_hits += 1
                    return record
                self.stats.replica_misses += 1
        return await self.load(key_hash)

    async def _db_get(self, key_hash: bytes) -> R | None:
        try:
            record = await self._load_routed(key_hash)
        except StoreUnavailable:
            self.stats.unavailable += 1
            raise AuthUnavailable() from None
        if record is None:
            self.stats.db_misses += 1
        else:
            self.stats.db_hits += 1
        return record

    def _put(self, key_hash: bytes, record: R | None, now: float) -> None:
        if record is None:
            self._positive.pop(key_hash, None)
            _bounded_put(
                self._negative, key_hash, (now + self._negative_ttl, now), self._max_negative
            )
        else:
            self._negative.pop(key_hash, None)
            entry = (self._codec.to_l1(record), now + self._positive_ttl, now)
            _bounded_put(self._positive, key_hash, entry, self._max_positive)


def _bounded_put(store: OrderedDict[bytes, V], key: bytes, value: V, limit: int) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > limit:
        store.popitem(last=False)

"""L2: the Redis side of a record cache: records, the fill lease and markers (revoked keys,
replaced source sets). One class for every record, told apart by its codec (gateway.codec)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
from collections.abc import Coroutine
from time import monotonic
from typing import Any, Generic, TypeVar, cast

from gateway.codec import RecordCodec, Undecodable
from gateway.config import Config
from gateway.redis_client import REDIS_ERRORS, RedisClient, follow_master, invalidation_channel

log = logging.getLogger(__name__)

R = TypeVar("R")
_RETRY_FIRST, _RETRY_MAX = 0.2, 5.0
_WAIT_FIRST, _WAIT_MAX = 0.002, 0.016

# One round trip for a miss in L1: the record if Redis has it, else the fill lease for this key
# if nobody holds it (1), else 0: another process is asking PostgreSQL right now. A lease holds
# its process's token, so a holder whose lease ran out cannot give back another's.
_GET_OR_LEASE = """
local record = redis.call('GET', KEYS[1])
if record then return record end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[1]) then return 1 end
return 0
"""
_FILL_AND_RELEASE = """
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 0
"""
# A marker that carries a read time (a source set): written unless the value there was read
# later (its first ARGV[3] bytes compare greater), so two changes never leave the older one.
_MARK_UNLESS_NEWER = """
local current = redis.call('GET', KEYS[1])
local n = tonumber(ARGV[3])
if current and string.sub(current, 1, n) > string.sub(ARGV[1], 1, n) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease(enum.Enum):
    """What `get_or_lease` says when Redis has no record for the key."""

    MINE = 1  # look it up, then fill() (which releases the lease) or release()
    THEIRS = 0  # another process is looking it up: wait_fill()
    NONE = 2  # Redis holds a value this process cannot read: look it up, no lease


class RedisL2(Generic[R]):
    """`<prefix><namespace>:{<hash hex>}` -> record, `<prefix>lease:{<hash hex>}` -> the token
    of the process filling it, and `<prefix>invalidate` carrying hashes. The braces are a Redis
    Cluster hash tag: a record and its lease share a slot, so the scripts run on a Cluster."""

    def __init__(self, client: RedisClient, config: Config, codec: RecordCodec[R]):
        self.client = client
        self.codec = codec
        self.ttl = config.redis_key_ttl
        self.prefix = config.redis_prefix
        self.channel = invalidation_channel(config)
        # As long as a PostgreSQL lookup may take, so a slow holder keeps its lease; a holder
        # that died delays the others' lookups by no more than this.
        self.lease_seconds = (
            config.pg_acquire_timeout + config.pg_command_timeout + config.redis_timeout
        )
        self._lease_token = secrets.token_hex(8)
        self._get_or_lease = client.register_script(_GET_OR_LEASE)
        self._fill_and_release = client.register_script(_FILL_AND_RELEASE)
        self._release = client.register_script(_RELEASE)
        self._mark_unless_newer = client.register_script(_MARK_UNLESS_NEWER)
        self._background: set[asyncio.Task[None]] = set()

    def key(self, key_hash: bytes) -> str:
        return f"{self.prefix}{self.codec.namespace}:{{{key_hash.hex()}}}"

    def lease_key(self, key_hash: bytes) -> str:
        return f"{self.prefix}lease:{{{key_hash.hex()}}}"

    async def get_or_lease(self, key_hash: bytes) -> R | Lease:
        """The record, or who looks it up in PostgreSQL: the lease makes a key that every
        worker misses at once (a cold start) one PostgreSQL lookup, not one per process."""
        keys = [self.key(key_hash), self.lease_key(key_hash)]
        args: list[int | str] = [int(self.lease_seconds * 1000), self._lease_token]
        answer = await self._get_or_lease(keys=keys, args=args)
        if isinstance(answer, bytes):  # the client is built without decode_responses
            try:
                return self.codec.decode(answer)
            except Undecodable:
                return Lease.NONE
        return Lease.MINE if answer == 1 else Lease.THEIRS

    async def wait_fill(self, key_hash: bytes) -> R | None:
        """Another process holds the lease: its record once it is filled, or None once the
        lease is gone without one (a negative answer is never shared) or has run out."""
        deadline = monotonic() + self.lease_seconds
        delay = _WAIT_FIRST
        keys = (self.key(key_hash), self.lease_key(key_hash))
        while monotonic() < deadline:
            await asyncio.sleep(delay)
            raw, leased = cast("list[bytes | None]", await self.client.mget(keys))
            if raw is not None:
                try:
                    return self.codec.decode(raw)
                except Undecodable:
                    return None
            if leased is None:
                return None
            delay = min(delay * 2, _WAIT_MAX)
        return None

    async def fill(self, key_hash: bytes, record: R, *, leased: bool = False) -> None:
        """NX: a late fill never replaces a revocation marker written meanwhile. The holder of
        the lease gives it back in the same round trip, once the record is in place."""
        if not leased:
            await self.client.set(
                self.key(key_hash), self.codec.encode(record), nx=True, ex=self.ttl
            )
            return
        keys = [self.key(key_hash), self.lease_key(key_hash)]
        args: list[bytes | int | str] = [self.codec.encode(record), self.ttl, self._lease_token]
        await self._fill_and_release(keys=keys, args=args)

    async def release(self, key_hash: bytes) -> None:
        """Give the lease back without a record (no such key, or PostgreSQL failed)."""
        await self._release(keys=[self.lease_key(key_hash)], args=[self._lease_token])

    def release_later(self, key_hash: bytes) -> None:
        """A lease command failed midway (a timeout, say): this process may hold the lease
        without knowing it. Give it back in the background, so the others need not wait it out."""
        self._in_background(self._release_quietly(key_hash))

    async def _release_quietly(self, key_hash: bytes) -> None:
        with contextlib.suppress(*REDIS_ERRORS):
            await self.release(key_hash)

    async def revoke(self, key_hash: bytes, record: R) -> None:
        """Write the marker (or the new record) over whatever is there, then tell every process.
        Never raises.

        When this process cannot reach Redis, other processes may still read the old "active"
        entry from it, so the marker is retried in the background (for as long as such an entry
        can live) instead of being left to the entry's TTL.
        """
        if not await self._mark_and_publish(key_hash, record):
            self._in_background(self._retry_revoke(key_hash, record))

    async def _mark_and_publish(self, key_hash: bytes, record: R) -> bool:
        try:
            await follow_master(self.client)
            raw = self.codec.encode(record)
            if self.codec.order_prefix:
                args: list[bytes | int] = [raw, self.ttl, self.codec.order_prefix]
                await self._mark_unless_newer(keys=[self.key(key_hash)], args=args)
            else:
                await self.client.set(self.key(key_hash), raw, ex=self.ttl)
            await self.client.publish(self.channel, key_hash.hex())
        except REDIS_ERRORS as exc:
            log.warning("revocation marker not written yet: %s", type(exc).__name__)
            return False
        return True

    async def _retry_revoke(self, key_hash: bytes, record: R) -> None:
        deadline = monotonic() + self.ttl
        delay = _RETRY_FIRST
        while monotonic() < deadline:
            await asyncio.sleep(delay)
            if await self._mark_and_publish(key_hash, record):
                log.info(
                    "revocation marker written after retrying",
                    extra={"record": self.codec.label(record)},
                )
                return
            delay = min(delay * 2, _RETRY_MAX)
        log.error("revocation marker never written", extra={"record": self.codec.label(record)})

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def cancel_background(self) -> None:
        """Stop retried markers and lease releases still running (at shutdown)."""
        for task in list(self._background):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish(self, key_hash: bytes) -> None:
        """Best effort: PostgreSQL is the truth; listeners' gap handling covers a lost message."""
        try:
            await follow_master(self.client)
            await self.client.publish(self.channel, key_hash.hex())
        except REDIS_ERRORS as exc:
            log.warning("invalidation not published: %s", type(exc).__name__)

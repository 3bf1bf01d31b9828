"""The duplicate and replay check (SPEC §7): one claim per delivery, shared by every process.

A delivery's identity is claimed in Redis after its signature was verified and before it is
forwarded. Each state change is one script on one key (no read-then-write race across
processes): claim = SET NX (or tell what is there), done / release = only while the claim is
still ours (the value carries a random token).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from gateway.config import Config
from gateway.errors import DedupUnavailable, DeliveryInProgress
from gateway.keys import CLAIMS, CONFIG, REDIS
from gateway.redis_client import REDIS_ERRORS, RedisClient
from gateway.signatures import SignedHeaders

log = logging.getLogger(__name__)

Result = Literal["forwarded", "duplicate", "in_progress", "skipped"]
DONE = b"done"
_INFLIGHT = "inflight:"
# The in-flight TTL covers the longest a forward can take (connect + whole exchange) plus this:
# a process that dies mid-forward blocks the provider's retries for that long, not dedupSeconds.
_INFLIGHT_MARGIN = 5
_WARN_INTERVAL = 10.0

# Returns 1 when claimed, else the value already there ("done" or "inflight:<token>").
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return redis.call('GET', KEYS[1])
"""
# (Time stands still inside a script: the key that refused the SET is still there for the GET.)
_DONE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2]) and 1 or 0
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def delivery_identity(signed: SignedHeaders, matched: bytes) -> str:
    """SPEC §7: the provider's delivery id header where it has one, else the verified
    signature. A GitHub or Shopify delivery without its id header falls back to the signature
    (docs/decisions.md "Deliveries: identity")."""
    if signed.delivery_id is not None:
        return "i:" + signed.delivery_id
    return "s:" + matched.hex()


@dataclass(slots=True)
class Claim:
    """A claim this process holds on one delivery; settle() it exactly once."""

    key: str
    value: str
    done_ttl: int


class DeliveryClaims:
    """One per process, on the process's Redis client (its command timeout bounds each call)."""

    def __init__(self, redis: RedisClient, config: Config) -> None:
        self._redis = redis
        self._prefix = config.redis_prefix + "dedup:"
        self._fail_closed = config.dedup_fail_closed
        self._inflight_cap = int(config.upstream_connect_timeout + config.upstream_timeout)
        self._inflight_cap += _INFLIGHT_MARGIN
        self._claim = redis.register_script(_CLAIM)
        self._done = redis.register_script(_DONE)
        self._release = redis.register_script(_RELEASE)
        self._background: set[asyncio.Task[None]] = set()
        self.results: dict[str, int] = {}
        self._quiet_until = 0.0
        self.skipped = 0

    def key_of(self, source_id: str, identity: str) -> str:
        # Hashed: header ids are the sender's text, of any length and alphabet.
        digest = hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
        return f"{self._prefix}{source_id}:{digest}"

    async def claim(self, source_id: str, identity: str, dedup_seconds: int) -> Claim | None:
        """A Claim to settle; None when Redis is unavailable and the delivery goes unchecked.

        Raises Duplicate (a done delivery), DeliveryInProgress (409) or DedupUnavailable (503,
        fail-closed)."""
        key = self.key_of(source_id, identity)
        value = _INFLIGHT + secrets.token_hex(8)
        ttl = min(dedup_seconds, self._inflight_cap)
        try:
            answer = await self._claim_once_more(key, value, ttl)
        except REDIS_ERRORS as exc:
            if self._fail_closed:
                raise DedupUnavailable() from exc
            self.skipped += 1
            self.count("skipped")
            self._warn_skipped(exc)
            return None
        if answer == 1 or answer == value.encode():
            return Claim(key, value, dedup_seconds)
        if answer == DONE:
            self.count("duplicate")
            raise Duplicate()
        self.count("in_progress")
        raise DeliveryInProgress(headers={"Retry-After": "1"})

    async def _claim_once_more(self, key: str, value: str, ttl: int) -> object:
        """The claim script, tried twice: a new pool connection that misses the timeout on a
        busy host is not an outage. The second try may find the first one's claim (it ran,
        the answer was lost): the same token, so it is ours."""
        try:
            return await self._claim(keys=[key], args=[value, ttl])
        except REDIS_ERRORS:
            return await self._claim(keys=[key], args=[value, ttl])

    def _warn_skipped(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now >= self._quiet_until:  # one line per interval, not one per delivery
            self._quiet_until = now + _WARN_INTERVAL
            log.warning("deliveries forwarded without the duplicate check: Redis %s",
                        type(exc).__name__)  # fmt: skip

    async def settle(self, claim: Claim, delivered: bool) -> None:
        """Upstream 2xx: done (for dedupSeconds). Anything else: released for the retry."""
        try:
            if delivered:
                await self._done(keys=[claim.key], args=[claim.value, claim.done_ttl])
            else:
                await self._release(keys=[claim.key], args=[claim.value])
        except REDIS_ERRORS as exc:
            # The claim expires on its own (in-flight TTL); until then retries get 409.
            log.warning("a delivery claim was not settled: %s", type(exc).__name__)

    def settle_later(self, claim: Claim) -> None:
        """Release from a handler being cancelled (the sender went away): in a task of its own,
        which the cancellation cannot interrupt."""
        task = asyncio.create_task(self.settle(claim, False), name="dedup-release")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def count(self, result: Result) -> None:
        self.results[result] = self.results.get(result, 0) + 1

    async def drain(self) -> None:
        if self._background:
            await asyncio.wait(list(self._background), timeout=2.0)


class Duplicate(Exception):
    """The delivery was already forwarded and acknowledged: answer 200 {"duplicate": true}."""


async def deliveries_ctx(app: web.Application) -> AsyncIterator[None]:
    app[CLAIMS] = claims = DeliveryClaims(app[REDIS], app[CONFIG])
    yield
    await claims.drain()  # releases started by cancelled handlers

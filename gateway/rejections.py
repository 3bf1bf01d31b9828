"""The rejection log (SPEC §7): why a tenant's webhooks fail, without asking an operator.

The request path only appends to an in-process bounded queue (no await, no I/O): a flood of bad
requests costs a deque append each, and beyond 50 a second per tenant not even that. One task
per process drains the queue: it keeps records of active tenants only (the tenant's source set,
which the request usually cached already, says so), and appends each with one script that
enforces the per-tenant rate across every process and trims the list to the newest 500. Redis
down: the records are dropped and counted; the requests never notice.

A record holds no key, signature, secret, query string or body: its path is the raw path
without the query (the tenant's own ingest URL, token included: docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gateway.config import Config
from gateway.errors import GatewayError
from gateway.headers import Network, peer_is_trusted
from gateway.keys import CONFIG, KEY_ID, REDIS, REJECTIONS, REQUEST_ID, SOURCE_CACHE, SOURCE_ID
from gateway.redis_client import REDIS_ERRORS, RedisClient
from gateway.sourcecache import SourceCache
from gateway.sources import source_set_hash

log = logging.getLogger(__name__)

RECORDED = frozenset({401, 403, 409, 413, 429})
CAP = 500  # newest records kept per tenant
PER_SECOND = 50  # records stored per tenant per second (every process together)
QUEUE_MAX = 2000  # records waiting in this process; beyond it new ones are dropped
_BATCH = 100
_TEXT_MAX = 256  # user agent and path are cut to this many characters
_RATES_MAX = 10_000
_STOP_TIMEOUT = 2.0

# KEYS: the tenant's list, its counter for this second (one hash slot: the {tenant} tag).
_APPEND = """
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], 2) end
if n > tonumber(ARGV[2]) then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
return 1
"""


def list_key(prefix: str, tenant_id: str) -> str:
    return f"{prefix}rejections:{{{tenant_id}}}"


@dataclass(frozen=True, slots=True)
class Rejection:
    at: float
    reason: str
    tenant_id: str
    source_id: str | None
    key_id: str | None
    peer: str | None
    forwarded_for: str | None
    user_agent: str | None
    request_id: str | None
    path: str

    def as_json(self, trusted: tuple[Network, ...]) -> bytes:
        return orjson.dumps(
            {
                "at": _timestamp(self.at),
                "reason": self.reason,
                "sourceId": self.source_id,
                "keyId": self.key_id,
                "senderIp": sender_ip(self.peer, self.forwarded_for, trusted),
                "userAgent": self.user_agent[:_TEXT_MAX] if self.user_agent else None,
                "requestId": self.request_id,
                "path": self.path[:_TEXT_MAX],
            }
        )


def sender_ip(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The peer, or behind trusted proxies the nearest X-Forwarded-For hop that is not one."""
    if not forwarded_for or not trusted or not peer_is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a hop that is not an address: trust none of them
        if not peer_is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _timestamp(at: float) -> str:
    value = datetime.fromtimestamp(at, UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class RejectionLog:
    """One per process. `note` is synchronous; `run` is the background writer."""

    def __init__(self, redis: RedisClient, config: Config, sources: SourceCache) -> None:
        self._redis = redis
        self._prefix = config.redis_prefix
        self._trusted = config.trusted_networks
        self._sources = sources
        self._append = redis.register_script(_APPEND)
        self._pending: deque[Rejection] = deque()
        self._wake = asyncio.Event()
        self._rates: dict[str, tuple[int, int]] = {}  # tenant -> (second, records noted)
        self.by_reason: dict[str, int] = {}
        self.dropped: dict[str, int] = {}  # why a record was not stored -> how many
        self.stored = 0

    def note(self, request: web.Request, exc: GatewayError) -> None:
        reason = exc.reason or exc.code
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        tenant = request.match_info.get("tenant_id", "").lower()
        now = time.time()
        if not self._within_rate(tenant, int(now)):
            self._drop("rate")
            return
        if len(self._pending) >= QUEUE_MAX:
            self._drop("queue")
            return
        headers = request.headers
        self._pending.append(
            Rejection(
                now, reason, tenant, request.get(SOURCE_ID), request.get(KEY_ID), request.remote,
                headers.get("X-Forwarded-For"), headers.get("User-Agent"),
                request.get(REQUEST_ID), request.rel_url.raw_path,
            )
        )  # fmt: skip
        self._wake.set()

    def _within_rate(self, tenant: str, second: int) -> bool:
        """This process's share of the bound, so a flood never reaches Redis (the script
        enforces it across processes)."""
        last, count = self._rates.get(tenant, (second, 0))
        if last != second:
            count = 0
        if count >= PER_SECOND:
            return False
        if len(self._rates) >= _RATES_MAX:
            self._rates.clear()
        self._rates[tenant] = (second, count + 1)
        return True

    def _drop(self, cause: str) -> None:
        self.dropped[cause] = self.dropped.get(cause, 0) + 1

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(_BATCH, len(self._pending)))]
                await self._write(batch)

    async def _write(self, batch: list[Rejection]) -> None:
        keep = [r for r in batch if await self._active(r.tenant_id)]
        if not keep:
            return
        pipe = self._redis.pipeline(transaction=False)
        for record in keep:
            counter = f"{list_key(self._prefix, record.tenant_id)}:{int(record.at)}"
            args: list[bytes | int] = [record.as_json(self._trusted), PER_SECOND, CAP]
            # redis-py's AsyncScript queues on a pipeline; its annotation omits pipelines.
            await self._append(keys=[list_key(self._prefix, record.tenant_id), counter],
                               args=args, client=pipe)  # type: ignore[arg-type]  # fmt: skip
        try:
            results = await pipe.execute()
        except REDIS_ERRORS as exc:
            self._drop("redis")
            self.dropped["redis"] += len(keep) - 1
            log.debug("rejection records dropped: %s", type(exc).__name__)
            return
        stored = sum(1 for r in results if r == 1)
        self.stored += stored
        if stored < len(keep):
            self.dropped["rate"] = self.dropped.get("rate", 0) + len(keep) - stored

    async def _active(self, tenant: str) -> bool:
        """Whether `tenant` is a real, active tenant: its source set, from L1 nearly always
        (the request that was rejected looked it up), never a query per record."""
        try:
            set_hash = source_set_hash(uuid.UUID(tenant))
        except ValueError:
            return False
        try:
            sources = await self._sources.resolve(set_hash)
        except GatewayError:  # stores unavailable: the record is lost, harmlessly
            self._drop("unchecked")
            return False
        if sources is None or not sources.active:
            self._drop("inactive")
            return False
        return True


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def recorded_rejections(handler: Handler) -> Handler:
    """Wraps the ingest handler: a 401/403/409/413/429 it raises is noted, then answered as
    before (the sender sees the public code only)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except GatewayError as exc:
            if exc.status in RECORDED:
                request.app[REJECTIONS].note(request, exc)
            raise

    return wrapped


async def rejections_ctx(app: web.Application) -> AsyncIterator[None]:
    rejections = RejectionLog(app[REDIS], app[CONFIG], app[SOURCE_CACHE])
    app[REJECTIONS] = rejections
    task = asyncio.create_task(_run_forever(rejections), name="rejection-log")
    yield
    task.cancel()
    # Bounded: records still queued are lost (as when Redis is down); shutdown never waits on
    # a Redis call that does not return.
    await asyncio.wait([task], timeout=_STOP_TIMEOUT)


async def _run_forever(rejections: RejectionLog) -> None:
    while True:
        try:
            await rejections.run()
        except Exception:  # never let one bad batch end the log for the process's lifetime
            log.exception("rejection log writer failed; continuing")
            await asyncio.sleep(1.0)


def page_args(size: int, offset: int) -> tuple[int, int]:
    """LRANGE bounds for a page (newest first: LPUSH puts the newest at index 0)."""
    return offset, offset + size - 1


async def read_page(
    redis: RedisClient, prefix: str, tenant_id: str, size: int, offset: int
) -> tuple[int, list[Any]]:
    """(total, records) of one tenant, newest first. Raises REDIS_ERRORS."""
    key = list_key(prefix, tenant_id)
    pipe = redis.pipeline(transaction=True)
    pipe.llen(key)
    # Past the cap nothing is kept; Redis refuses indexes beyond a 64-bit integer anyway.
    pipe.lrange(key, *page_args(size, min(offset, CAP)))
    total, raw = await pipe.execute()
    return int(total), [orjson.loads(item) for item in raw]

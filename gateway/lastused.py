"""lastUsedAt without a write on the request path (SPEC §8).

A request only notes (key id -> time) in this process's dict; a task writes the batch every
`last_used_flush_interval` seconds with one UPDATE (unnest arrays), and once more at shutdown
(the cleanup_ctx runs on SIGTERM after the server drained). A key is written at most once a
minute: one this process wrote less than 60 s ago waits in the batch, and the statement skips a
key whose stored value is less than 60 s older than the new one (another process wrote it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from time import time
from typing import Any, Protocol
from uuid import UUID

from aiohttp import web

from gateway.db import QUERIES
from gateway.errors import StoreUnavailable
from gateway.keys import CONFIG, DB, LAST_USED

log = logging.getLogger(__name__)

MIN_GAP = 60.0  # seconds: at most one write per key per minute


class Executor(Protocol):
    async def fetchval(self, query: str, *args: Any) -> Any: ...


class LastUsed:
    def __init__(self, db: Executor):
        self._db = db
        self._pending: dict[str, float] = {}  # key id -> last use (Unix seconds)
        self._written: dict[str, float] = {}  # key id -> the use this process last wrote

    def note(self, key_id: str) -> None:
        """The request path's whole cost: one dict store."""
        self._pending[key_id] = time()

    async def flush(self) -> int:
        """Write what is due; keep the rest (and everything, if PostgreSQL fails). Returns how
        many keys were sent."""
        due = {
            k: at for k, at in self._pending.items() if at - self._written.get(k, 0.0) >= MIN_GAP
        }
        if not due:
            return 0
        for key_id in due:
            del self._pending[key_id]
        ids = [UUID(k) for k in due]
        stamps = [datetime.fromtimestamp(at, UTC) for at in due.values()]
        try:
            await self._db.fetchval(QUERIES["record_last_used"], ids, stamps)
        except StoreUnavailable:
            for key_id, at in due.items():  # newer uses noted meanwhile win
                self._pending.setdefault(key_id, at)
            log.warning("lastUsedAt not written; kept for the next flush (%d keys)", len(due))
            return 0
        self._written.update(due)
        return len(due)


async def last_used_ctx(app: web.Application) -> AsyncIterator[None]:
    app[LAST_USED] = batch = LastUsed(app[DB])
    task = asyncio.create_task(_flush_every(batch, app[CONFIG].last_used_flush_interval))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await batch.flush()  # SIGTERM: the server has drained; the pool is still open


async def _flush_every(batch: LastUsed, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await batch.flush()
        except Exception:  # the loop must outlive any one failure
            log.exception("lastUsedAt flush failed")

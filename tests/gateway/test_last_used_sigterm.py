"""lastUsedAt survives a SIGTERM of a real `serve`: the batch is written while shutting down."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.gateway.conftest import RecordingUpstream
from tests.gateway.test_workers import SHUTDOWN_TIMEOUT, api_key, ready, start_serve

__all__ = ["api_key", "start_serve"]  # fixtures, used by name
pytestmark = pytest.mark.timeout(90)


async def test_sigterm_flushes_last_used_at(
    start_serve: Callable[..., Any],
    upstream: RecordingUpstream,
    api_key: Any,
    db: asyncpg.Connection,
) -> None:
    # A flush interval far beyond the test: only the shutdown flush can write the value.
    served = start_serve(upstream, LAST_USED_FLUSH_INTERVAL="3600")
    await ready(served)
    key, path = await api_key(served)
    async with aiohttp.ClientSession() as session:
        r = await session.post(served.base + path, data=b"{}", headers={"X-Api-Key": key})
        assert r.status == 202
    key_id: uuid.UUID = await db.fetchval(
        "SELECT id FROM api_keys WHERE key_hash = sha256($1::bytea)", key.encode()
    )
    assert await db.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id) is None

    served.proc.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(served.proc.wait, SHUTDOWN_TIMEOUT + 5)

    assert code == 0, served.log.read_text()
    assert await db.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id) is not None

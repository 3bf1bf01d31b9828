"""/metrics on `serve --workers 2`: whichever worker answers the scrape reports the whole host."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.gateway.conftest import RecordingUpstream
from tests.gateway.test_workers import api_key, raw_post, ready, start_serve

__all__ = ["api_key", "start_serve"]  # fixtures, used by name below

pytestmark = pytest.mark.timeout(90)
INGEST_202 = re.compile(
    r'^hooksentry_http_requests_total\{route="/api/v1/ingest/\{tenant_id\}/\{token\}",'
    r'status="202"\} (\S+)$',
    re.M,
)


async def test_every_scrape_counts_the_requests_of_both_workers(
    start_serve: Callable[..., Any], api_key: Callable[..., Any], upstream: RecordingUpstream
) -> None:
    served = start_serve(upstream, workers=2)
    await ready(served)
    key, path = await api_key(served)

    answered_by: set[int] = set()
    sent = 0
    while len(answered_by) < 2 or sent < 20:  # new connections until both workers answered
        status, writer, client_port = await raw_post(served.port, path, key)
        assert status == 202
        answered_by.add(served.server_pid_of(client_port) or 0)
        writer.close()
        sent += 1
        assert sent < 400, "SO_REUSEPORT never spread connections over both workers"
    assert answered_by == served.listening_pids()

    async with aiohttp.ClientSession() as http:

        async def scraped() -> float:
            async with http.get(served.base + "/metrics", headers={"Connection": "close"}) as r:
                match = INGEST_202.search(await r.text())
            return float(match.group(1)) if match else 0.0

        # Workers publish their figures once a second; then every scrape, whichever worker
        # answers it, reports all of them.
        deadline = time.monotonic() + 10
        while (total := await scraped()) < sent:
            assert time.monotonic() < deadline, f"/metrics reported {total} of {sent}"
            await asyncio.sleep(0.1)  # another process's file: nothing here to await
        for _ in range(6):
            assert await scraped() == sent

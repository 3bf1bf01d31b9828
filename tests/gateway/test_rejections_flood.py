"""A flood of rejected requests (SPEC §7): 10 000 distinct unknown keys to one tenant's path in a
few seconds leave at most the cap in Redis and at most 50 records per second, and the request
path never waits for the log. The valid-key p99 of a concurrent sender, with and without the
flood, is printed: a measurement, not an assertion (timing belongs in bench/)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest
from redis.asyncio import Redis

from gateway.config import ROOT, Config
from gateway.rejections import CAP, PER_SECOND, list_key
from tests.gateway.conftest import RecordingUpstream
from tests.gateway.test_deliveries_serve import ready
from tests.gateway.test_workers import Served, start_serve  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(180)
FLOOD = 10_000
FLOOD_SCRIPT = """
import asyncio, collections, sys, time, uuid, aiohttp
url, total = sys.argv[1], int(sys.argv[2])
async def main():
    sent, statuses = 0, collections.Counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as s:
        async def one():
            nonlocal sent
            while sent < total:
                sent += 1
                async with s.post(url, headers={"X-Api-Key": "hks_" + uuid.uuid4().hex}) as r:
                    await r.read()
                    statuses[r.status] += 1
        start = time.monotonic()
        await asyncio.gather(*(one() for _ in range(32)))
        print(f"{time.monotonic() - start:.2f} {statuses[401]} {statuses[503]}")
asyncio.run(main())
"""


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


async def valid_sender(session: aiohttp.ClientSession, url: str, key: str,
                       until: Callable[[], bool]) -> list[float]:  # fmt: skip
    latencies = []
    while not until():
        start = time.perf_counter()
        async with session.post(url, data=b"{}", headers={"X-Api-Key": key}) as r:
            await r.read()
            assert r.status == 202
        latencies.append(time.perf_counter() - start)
    return latencies


async def test_a_flood_of_unknown_keys_keeps_the_cap_and_the_rate_bound(
    start_serve: Callable[..., Served], upstream: RecordingUpstream,  # noqa: F811
    new_tenant: Callable[..., Any], auth: Callable[..., dict[str, str]], config: Config,
) -> None:  # fmt: skip
    # Every distinct unknown key is one PostgreSQL lookup (§4): the default pool, not the small
    # one the worker tests use, so the flood is answered 401 rather than 503 pool-exhausted.
    served = start_serve(upstream, workers=1, HOOKSENTRY_PG_POOL_MAX="10")
    await ready(served)
    tenant: uuid.UUID = await new_tenant()
    path = f"{served.base}/api/v1/ingest/{tenant}/flood"
    async with aiohttp.ClientSession() as session:
        r = await session.post(served.base + "/api/v1/apikeys", json={"name": "v"},
                               headers=auth(tenant))  # fmt: skip
        key = (await r.json())["key"]
        end = time.monotonic() + 3
        quiet = await valid_sender(session, path, key, lambda: time.monotonic() > end)
        flood = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD_SCRIPT, path, str(FLOOD), stdout=subprocess.PIPE, cwd=ROOT
        )
        loud = await valid_sender(session, path, key, lambda: flood.returncode is not None)
        out, _ = await flood.communicate()
        assert flood.returncode == 0
        seconds_text, rejected_text, unavailable_text = out.decode().split()
        seconds, rejected = float(seconds_text), int(rejected_text)

        async def settled() -> str:
            for _ in range(100):  # the writer drains in the background: wait for the metric
                async with session.get(served.base + "/metrics") as m:
                    text = await m.text()
                if f'hooksentry_rejections_total{{reason="invalid_api_key"}} {rejected}.0' in text:
                    return text
                await asyncio.sleep(0.1)
            raise AssertionError("the rejections were not all counted")

        metrics = await settled()
    redis = Redis.from_url(config.redis_url)
    try:
        await asyncio.sleep(1.0)  # the last second's batch reaches Redis
        raw = await redis.lrange(list_key(config.redis_prefix, str(tenant)), 0, -1)
        stored = [orjson.loads(x) for x in raw]
    finally:
        await redis.aclose()
    per_second = Counter(item["at"][:19] for item in stored)
    dropped = sum(
        float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
        if line.startswith("hooksentry_rejection_records_dropped_total")
    )  # fmt: skip
    print(
        f"\nflood: {FLOOD} unknown keys in {seconds:.2f} s ({FLOOD / seconds:.0f}/s), "
        f"{rejected} answered 401, {unavailable_text} 503; "
        f"stored {len(stored)} (cap {CAP}), busiest second {max(per_second.values())} "
        f"(bound {PER_SECOND}), not stored (counted) {dropped:.0f}; valid-key p99: "
        f"{p99(quiet):.1f} ms alone ({len(quiet)} requests), {p99(loud):.1f} ms during the "
        f"flood ({len(loud)} requests)"
    )
    assert 0 < len(stored) <= CAP
    assert max(per_second.values()) <= PER_SECOND
    assert all(item["reason"] == "invalid_api_key" and item["keyId"] is None for item in stored)
    assert rejected >= FLOOD * 0.9  # 401s, each one noted: stored or counted
    # Every 401 was noted: stored (then trimmed to the cap) or counted as not stored, and no
    # more were stored than the bound allows over the flood's seconds.
    assert rejected - dropped <= PER_SECOND * (seconds + 2)

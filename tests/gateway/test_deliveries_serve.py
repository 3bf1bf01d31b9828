"""Exactly once across processes (SPEC §7): two separate `serve` instances on one Redis, the
same signed delivery sent to both at the same instant, many times over; the upstream receives
each delivery once. A failed forward on one process lets the provider's retry through the
other."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.gateway.conftest import RecordingUpstream
from tests.gateway.signing import signed_headers
from tests.gateway.test_workers import Served, start_serve  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(120)
DELIVERIES = 50
BODY = b'{"zen":"Keep it logically awesome."}'


async def ready(served: Served) -> None:
    """One process per instance (workers=1): ready once /readyz answers 200."""
    async with aiohttp.ClientSession() as s:
        for _ in range(300):
            assert served.proc.poll() is None, served.log.read_text()
            try:
                async with s.get(served.base + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)  # another process's start: no event to await
    raise AssertionError("serve did not become ready")


async def github_source(served: Served, auth: Callable[..., dict[str, str]], tenant: uuid.UUID
                        ) -> tuple[str, str]:  # fmt: skip
    async with aiohttp.ClientSession() as s:
        r = await s.post(served.base + "/api/v1/sources", headers=auth(tenant),
                         json={"name": "gh", "provider": "github", "token": "gh"})  # fmt: skip
        assert r.status == 201, await r.text()
        body = await r.json()
    return body["ingestPath"], body["secret"]


def delivery_of(received: Any) -> str:
    return str(received.headers["X-GitHub-Delivery"])


async def test_the_same_delivery_sent_to_two_processes_at_once_is_forwarded_once(
    start_serve: Callable[..., Served], upstream: RecordingUpstream,  # noqa: F811
    new_tenant: Callable[..., Any], auth: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    # Fail-closed: exactly once is a promise only while Redis answers; on a loaded 2-core host a
    # claim can miss its timeout, and fail-open (the default) would then forward unchecked.
    a, b = (start_serve(upstream, workers=1, HOOKSENTRY_DEDUP_FAIL_CLOSED="true") for _ in "ab")
    await asyncio.gather(ready(a), ready(b))
    path, secret = await github_source(a, auth, await new_tenant())
    upstream.delay = 0.05  # the copies overlap in flight as well as at arrival
    answers: Counter[int] = Counter()
    async with aiohttp.ClientSession() as session:

        async def send(served: Served, headers: dict[str, str]) -> int:
            async with session.post(served.base + path, data=BODY, headers=headers) as r:
                await r.read()
                answers[r.status] += 1
                return r.status

        async def provider_retries(i: int, headers: dict[str, str]) -> None:
            """Like a provider: 409 and 503 mean "later"; a 2xx ends it."""
            while (status := await send(b if i % 2 else a, headers)) not in (200, 202):
                assert status in (409, 503), status
                await asyncio.sleep(0.2)

        for _ in range(2):  # both processes' caches warm: the copies race on the claim alone
            await send(a, signed_headers("github", secret, BODY))
            await send(b, signed_headers("github", secret, BODY))
        upstream.received.clear()
        answers.clear()
        sent = []
        for i in range(DELIVERIES):
            headers = signed_headers("github", secret, BODY)
            sent.append(headers)
            statuses = await asyncio.gather(send(a, headers), send(b, headers))
            assert set(statuses) <= {200, 202, 409, 503} and statuses.count(202) <= 1, statuses
            if not {200, 202} & set(statuses):
                await provider_retries(i, headers)
        first = Counter(answers)
        # Later, every delivery once more (a provider's redelivery): all duplicates now.
        await asyncio.gather(*(provider_retries(i, h) for i, h in enumerate(sent)))
    later = answers - first
    per_delivery = Counter(delivery_of(r) for r in upstream.received)
    print(
        f"\nexactly-once: {DELIVERIES} deliveries x 2 simultaneous copies to two serve "
        f"processes: forwarded(202)={first[202]} duplicate(200)={first[200]} "
        f"in_progress(409)={first[409]} dedup_unavailable(503)={first[503]}; later redelivery "
        f"of all {DELIVERIES}: duplicate={later[200]} forwarded={later[202]} "
        f"503={later[503]}; upstream received {len(upstream.received)} requests for "
        f"{len(per_delivery)} deliveries"
    )
    assert len(per_delivery) == DELIVERIES
    assert set(per_delivery.values()) == {1}
    assert first[202] == DELIVERIES and later[202] == 0


async def test_a_500_on_one_process_lets_the_retry_through_the_other(
    start_serve: Callable[..., Served], upstream: RecordingUpstream,  # noqa: F811
    new_tenant: Callable[..., Any], auth: Callable[..., dict[str, str]],
) -> None:  # fmt: skip
    a, b = start_serve(upstream, workers=1), start_serve(upstream, workers=1)
    await asyncio.gather(ready(a), ready(b))
    path, secret = await github_source(a, auth, await new_tenant())
    headers = signed_headers("github", secret, BODY)
    async with aiohttp.ClientSession() as session:
        upstream.status = 500
        async with session.post(a.base + path, data=BODY, headers=headers) as r:
            assert r.status == 500
        upstream.status = 202
        async with session.post(b.base + path, data=BODY, headers=headers) as r:
            assert r.status == 202
        async with session.post(a.base + path, data=BODY, headers=headers) as r:
            assert (r.status, await r.json()) == (200, {"duplicate": True})
    assert [delivery_of(r) for r in upstream.received] == [headers["X-GitHub-Delivery"]] * 2

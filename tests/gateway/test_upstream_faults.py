"""The upstream refuses, resets, hangs or is slow (RELIABILITY 15): 502/504 in bounded time, no
POST sent twice, and the gateway keeps serving afterwards."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.conftest import MakeGateway, NewKey, RecordingUpstream

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 0.5  # upstream_timeout for these tests
OK = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class FaultyUpstream:
    """A raw TCP server speaking just enough HTTP/1.1; `mode` says how it misbehaves.

    ok: answers 202 (keep-alive) · close: reads the request, closes without a word ·
    reset: reads the request, sends a TCP RST · half: starts an answer, closes mid-body ·
    hang: reads the request, never answers · drop-second: answers the first request on a
    connection, closes on the second (a pooled connection the upstream gave up on).
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while await self._read_request(reader):
                self.requests += 1
                self.arrived.set()
                served += 1
                if not await self._answer(writer, served):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return True

    async def _answer(self, writer: asyncio.StreamWriter, served: int) -> bool:
        mode = self.mode
        if mode == "ok" or (mode == "drop-second" and served == 1):
            writer.write(OK)
            await writer.drain()
            return True
        if mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif mode == "half":
            writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
        elif mode == "hang":
            await self.release.wait()
        return False


@pytest.fixture
async def faulty() -> AsyncIterator[FaultyUpstream]:
    upstream = FaultyUpstream()
    upstream.server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    yield upstream
    upstream.release.set()
    upstream.server.close()
    await upstream.server.wait_closed()


async def post(gateway: TestClient, new_key: NewKey) -> tuple[int, dict[str, str], float]:
    key = await new_key(gateway)
    start = time.monotonic()
    r = await gateway.post(key.ingest_path, data=b'{"n":1}', headers={"X-Api-Key": key.key})
    body = await r.json() if r.content_type == "application/json" else {}
    return r.status, body, time.monotonic() - start


async def still_healthy(gateway: TestClient, new_key: NewKey, faulty: FaultyUpstream) -> None:
    faulty.mode = "ok"
    status, _, _ = await post(gateway, new_key)
    assert status == 202


@pytest.fixture
async def gateway(make_gateway: MakeGateway, faulty: FaultyUpstream) -> TestClient:
    return await make_gateway(
        ingest_upstream=faulty.url, upstream_timeout=TIMEOUT, upstream_connect_timeout=TIMEOUT
    )


async def test_refused_connection_is_retried_once_then_502(
    make_gateway: MakeGateway, new_key: NewKey, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as s:  # a port with nobody listening: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        gateway = await make_gateway(ingest_upstream=f"http://127.0.0.1:{port}")
        caplog.set_level(logging.INFO, logger="gateway.upstream")
        status, body, elapsed = await post(gateway, new_key)
    assert status == 502
    assert body["error"] == "upstream_unavailable"
    assert elapsed < 1.0
    retries = [r for r in caplog.records if "retrying once" in r.getMessage()]
    assert len(retries) == 1


@pytest.mark.parametrize("mode", ["close", "reset", "half", "drop-second"])
async def test_upstream_failing_after_the_request_left_is_502_and_never_resent(
    gateway: TestClient, new_key: NewKey, faulty: FaultyUpstream, mode: str
) -> None:
    if mode == "drop-second":  # warm the pool: the next request reuses this connection
        assert (await post(gateway, new_key))[0] == 202
        faulty.requests = 0
    faulty.mode = mode
    status, body, elapsed = await post(gateway, new_key)
    assert status == 502
    assert body["error"] == "upstream_unavailable"
    assert elapsed < TIMEOUT + 1.0
    assert faulty.requests == 1  # arrived once, and only once
    await still_healthy(gateway, new_key, faulty)


async def test_hanging_upstream_is_504_within_the_timeout(
    gateway: TestClient, new_key: NewKey, faulty: FaultyUpstream
) -> None:
    faulty.mode = "hang"
    status, body, elapsed = await post(gateway, new_key)
    assert status == 504
    assert body["error"] == "upstream_timeout"
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 1.0
    assert faulty.requests == 1
    await still_healthy(gateway, new_key, faulty)


async def test_slow_upstream_is_504_and_the_request_is_not_resent(
    make_gateway: MakeGateway, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway(upstream_timeout=TIMEOUT)
    upstream.delay = TIMEOUT * 3
    status, body, elapsed = await post(gateway, new_key)
    assert status == 504
    assert body["error"] == "upstream_timeout"
    assert elapsed < TIMEOUT + 1.0
    assert len(upstream.received) == 1
    upstream.delay = 0
    status, _, _ = await post(gateway, new_key)
    assert status == 202


async def test_many_concurrent_requests_to_a_hung_upstream_all_end_in_504(
    gateway: TestClient, new_key: NewKey, faulty: FaultyUpstream
) -> None:
    faulty.mode = "hang"
    key = await new_key(gateway)
    start = time.monotonic()
    answers = await asyncio.gather(
        *(
            gateway.post(key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key})
            for _ in range(20)
        )
    )
    assert [a.status for a in answers] == [504] * 20
    assert time.monotonic() - start < TIMEOUT + 1.5
    assert faulty.requests == 20
    await still_healthy(gateway, new_key, faulty)

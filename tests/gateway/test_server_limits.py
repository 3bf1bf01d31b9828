"""Slow senders and the connection cap (issue 10 item 1), parser errors (item 4): raw sockets
against the gateway served by gateway.server's runner, as `serve` serves it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.conftest import ApiKey, MakeGateway, NewKey, RecordingUpstream

pytestmark = pytest.mark.timeout(60)

# Small limits so each test ends in about a second; the defaults are 10/15/60/30 s.
LIMITS = {
    "header_timeout": 0.5,
    "body_idle_timeout": 0.5,
    "body_timeout": 1.5,
    "keepalive_timeout": 0.5,
}
# What a test waits for at most: far below aiohttp's own bound (an hour) for any of these.
PATIENCE = 5.0


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> TestClient:
    return await make_gateway(**LIMITS)


@pytest.fixture
async def key(gateway: TestClient, new_key: NewKey) -> ApiKey:
    return await new_key(gateway)


Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@pytest.fixture
async def connect(gateway: TestClient) -> Connect:
    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", gateway.port)

    return open_one


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the gateway sends until it closes the connection (fails after PATIENCE)."""
    data = b""
    async with asyncio.timeout(PATIENCE):
        while chunk := await reader.read(65536):
            data += chunk
    return data


async def trickle(writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
    """A slow sender: one byte at a time, until the gateway hangs up."""
    try:
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass


def request_head(key: ApiKey, *lines: str) -> bytes:
    first = [f"POST {key.ingest_path} HTTP/1.1", "Host: gw", f"X-Api-Key: {key.key}", *lines]
    return ("\r\n".join(first) + "\r\n\r\n").encode()


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    connect: Connect,
) -> None:
    reader, writer = await connect()
    started = asyncio.get_running_loop().time()
    assert await until_closed(reader) == b""
    assert asyncio.get_running_loop().time() - started >= LIMITS["header_timeout"] * 0.9
    writer.close()


async def test_headers_trickled_one_byte_at_a_time_are_cut_off(
    connect: Connect, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await connect()
    sender = asyncio.create_task(trickle(writer, request_head(key, "Content-Length: 0"), 0.05))
    assert await until_closed(reader) == b""
    assert not sender.done()  # cut off before the headers were complete
    sender.cancel()
    writer.close()
    assert upstream.received == []


async def test_the_header_deadline_of_a_later_request_counts_from_its_first_byte(
    connect: Connect, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await connect()
    writer.write(request_head(key, "Content-Length: 0"))
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 202")
    await reader.readexactly(len(b'{"accepted":true}'))
    # A second request on the same connection whose headers arrive slowly: cut off too.
    sender = asyncio.create_task(trickle(writer, request_head(key, "Content-Length: 0"), 0.05))
    assert await until_closed(reader) == b""
    sender.cancel()
    writer.close()
    assert len(upstream.received) == 1


async def test_a_body_that_stalls_gets_408_and_nothing_is_forwarded(
    connect: Connect, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await connect()
    writer.write(request_head(key, "Content-Length: 10") + b"abc")  # then nothing
    answer = await until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "request_timeout"
    assert b"X-Request-Id" in answer
    assert upstream.received == []


async def test_a_body_trickled_faster_than_the_idle_timeout_still_ends_at_the_body_deadline(
    connect: Connect, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await connect()
    writer.write(request_head(key, "Content-Length: 1000"))
    started = asyncio.get_running_loop().time()
    sender = asyncio.create_task(trickle(writer, b"x" * 1000, 0.1))  # never idle for 0.5 s
    answer = await until_closed(reader)
    elapsed = asyncio.get_running_loop().time() - started
    sender.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert elapsed >= LIMITS["body_timeout"] * 0.9
    assert upstream.received == []


async def test_an_idle_keep_alive_connection_is_closed(
    connect: Connect, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await connect()
    writer.write(request_head(key, "Content-Length: 0"))
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 202")
    assert await until_closed(reader) == b'{"accepted":true}'
    writer.close()


async def test_connections_beyond_the_cap_are_refused_with_503(
    make_gateway: MakeGateway,
) -> None:
    gateway = await make_gateway(max_connections=3, header_timeout=30.0)
    held = [await asyncio.open_connection("127.0.0.1", gateway.port) for _ in range(3)]
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    answer = await until_closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "too_many_connections"
    # One of the held connections goes away: a new one is served again.
    held[0][1].close()
    await held[0][1].wait_closed()
    await until_closed(held[0][0])
    for _ in range(50):  # the server notices the close on its next loop iteration
        r = await gateway.get("/healthz")
        if r.status == 200:
            break
    assert r.status == 200
    for _, w in held[1:]:
        w.close()


MALFORMED = {
    "two-content-lengths": b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "content-length-and-chunked": (
        b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bare-lf": b"Content-Length: 5\n\nhello",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_a_malformed_request_is_a_json_400_one_info_line_and_its_access_line(
    connect: Connect, key: ApiKey, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    reader, writer = await connect()
    writer.write(f"POST {key.ingest_path} HTTP/1.1\r\nHost: gw\r\n".encode() + MALFORMED[case])
    answer = await until_closed(reader)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"400"
    assert b"Content-Type: application/json" in head
    assert b"X-Request-Id: " in head
    assert json.loads(body)["error"] == "bad_request"
    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "gateway"))]
    assert [r.levelno for r in records] == [logging.INFO, logging.INFO]
    assert records[0].getMessage().startswith("refused a malformed request")
    assert records[1].name == "aiohttp.access" and getattr(records[1], "status", None) == 400
    assert all(r.exc_info is None for r in records)

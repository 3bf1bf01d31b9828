"""Raw-socket senders: request smuggling shapes (RELIABILITY 13), disconnects mid-upload (16)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.conftest import ApiKey, MakeGateway, NewKey, RecordingUpstream

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> TestClient:
    return await make_gateway(body_limit=65536)


@pytest.fixture
async def key(gateway: TestClient, new_key: NewKey) -> ApiKey:
    return await new_key(gateway)


async def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, return the answer's head (or all there was when the gateway closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        answer = b""
        async with asyncio.timeout(5.0):
            while b"\r\n\r\n" not in answer and (chunk := await reader.read(65536)):
                answer += chunk
        return answer
    finally:
        writer.close()


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def head(key: ApiKey, *lines: str, sep: str = "\r\n") -> bytes:
    first = [f"POST {key.ingest_path} HTTP/1.1", "Host: gw", f"X-Api-Key: {key.key}"]
    return (sep.join([*first, *lines]) + sep + sep).encode()


async def test_a_well_formed_raw_request_is_forwarded(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    answer = await exchange(
        gateway.port, head(key, "Content-Length: 5", "Connection: close") + b"hello"
    )
    assert status_of(answer) == 202
    assert upstream.received[0].body == b"hello"


async def test_http_1_0_without_host_is_forwarded_without_forwarded_host(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    request = (
        f"POST {key.ingest_path} HTTP/1.0\r\nX-Api-Key: {key.key}\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    answer = await exchange(gateway.port, request.encode())
    assert status_of(answer) == 202
    assert "X-Forwarded-Host" not in upstream.received[0].headers


SMUGGLING = {
    "content-length-and-transfer-encoding": (
        ["Content-Length: 5", "Transfer-Encoding: chunked"],
        b"0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
    ),
    "duplicate-content-length": (["Content-Length: 5", "Content-Length: 6"], b"hello!"),
    "duplicate-equal-content-length": (["Content-Length: 5", "Content-Length: 5"], b"hello"),
    "content-length-list": (["Content-Length: 5, 5"], b"hello"),
    "obfuscated-transfer-encoding": (["Transfer-Encoding: xchunked"], b"5\r\nhello\r\n0\r\n\r\n"),
    "transfer-encoding-not-chunked-last": (
        ["Transfer-Encoding: chunked, identity"],
        b"5\r\nhello\r\n0\r\n\r\n",
    ),
    "oversize-header-line": ([f"X-Big: {'a' * 9000}", "Content-Length: 5"], b"hello"),
    "space-before-colon": (["Content-Length : 5"], b"hello"),
    "bad-chunk-size": (["Transfer-Encoding: chunked"], b"zz\r\nhello\r\n0\r\n\r\n"),
}


@pytest.mark.parametrize("case", sorted(SMUGGLING))
async def test_ambiguous_framing_is_400_and_nothing_forwarded(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, case: str
) -> None:
    lines, body = SMUGGLING[case]
    answer = await exchange(gateway.port, head(key, *lines) + body)
    assert status_of(answer) == 400, answer[:200]
    assert upstream.received == []


async def test_bare_lf_line_endings_are_400_and_nothing_forwarded(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    answer = await exchange(gateway.port, head(key, "Content-Length: 5", sep="\n") + b"hello")
    assert status_of(answer) == 400, answer[:200]
    assert upstream.received == []


async def test_bare_lf_inside_one_header_line_is_400(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    answer = await exchange(gateway.port, head(key, "X-A: 1\nContent-Length: 5") + b"hello")
    assert status_of(answer) == 400, answer[:200]
    assert upstream.received == []


async def test_oversize_chunked_upload_on_the_wire_is_413(
    make_gateway: MakeGateway, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway(body_limit=1000)
    key = await new_key(gateway)
    chunk = b"400\r\n" + b"z" * 1024 + b"\r\n"
    answer = await exchange(gateway.port, head(key, "Transfer-Encoding: chunked") + chunk * 3)
    assert status_of(answer) == 413
    assert upstream.received == []


async def test_expect_continue_is_answered_only_after_the_checks_pass(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(head(key, "Content-Length: 5", "Expect: 100-continue"))
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status_of(final) == 202
    finally:
        writer.close()
    assert upstream.received[0].body == b"hello"
    assert "Expect" not in upstream.received[0].headers


@pytest.mark.parametrize(
    ("lines", "status"),
    [(["X-Api-Key: hks_" + "0" * 32, "Content-Length: 5"], 401), (["Content-Length: 99999"], 413)],
)
async def test_expect_continue_gets_the_error_instead_of_100(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, lines: list[str], status: int
) -> None:
    request = head(key, *lines, "Expect: 100-continue")
    if status == 401:  # the first X-Api-Key line is the valid one: drop it
        request = request.replace(f"X-Api-Key: {key.key}\r\n".encode(), b"")
    answer = await exchange(gateway.port, request)
    assert status_of(answer) == status
    assert upstream.received == []


# --- RELIABILITY 16 ------------------------------------------------------------------------------


async def server_connections(gateway: TestClient) -> int:
    server = gateway.server.runner.server
    assert server is not None
    return len(server.connections)


async def wait_for(predicate: object, deadline: float = 5.0) -> None:
    """Poll a condition that has no event to await, bounded."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not predicate():  # type: ignore[operator]
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_sender_disconnecting_mid_upload_forwards_nothing_and_leaks_nothing(
    gateway: TestClient,
    key: ApiKey,
    upstream: RecordingUpstream,
    caplog: pytest.LogCaptureFixture,
    framing: str,
) -> None:
    await gateway.session.close()  # only the raw connection below stays open
    await wait_for(lambda: not gateway.server.runner.server.connections)  # type: ignore[union-attr]
    tasks_before = len(asyncio.all_tasks())
    caplog.set_level(logging.DEBUG)
    if framing == "content-length":
        data = head(key, "Content-Length: 10000") + b"x" * 3000
    else:
        data = head(key, "Transfer-Encoding: chunked") + b"bb8\r\n" + b"x" * 1000
    _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(data)
    await writer.drain()
    await wait_for(lambda: gateway.server.runner.server.connections)  # type: ignore[union-attr]
    writer.transport.abort()  # the sender vanishes mid-body
    await wait_for(lambda: not gateway.server.runner.server.connections)  # type: ignore[union-attr]
    await wait_for(lambda: len(asyncio.all_tasks()) <= tasks_before)
    assert upstream.received == []
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert crashes == []


async def test_an_absolute_form_target_is_forwarded_in_origin_form_with_the_gateways_host(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    target = f"http://evil.example:9999{key.ingest_path}?x=1"
    request = (
        f"POST {target} HTTP/1.1\r\nHost: gw\r\nX-Api-Key: {key.key}\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    answer = await exchange(gateway.port, request.encode())
    assert status_of(answer) == 202
    seen = upstream.received[0]
    assert seen.path_qs == f"{key.ingest_path}?x=1"
    assert seen.headers["Host"] == upstream.url.removeprefix("http://")
    assert "evil.example" not in str(seen.headers)


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate,chunked", "identity, chunked"])
async def test_a_transfer_coding_other_than_chunked_is_501_and_nothing_forwarded(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, coding: str
) -> None:
    answer = await exchange(
        gateway.port, head(key, f"Transfer-Encoding: {coding}") + b"2\r\n{}\r\n0\r\n\r\n"
    )
    assert status_of(answer) == 501, answer[:200]
    assert b'"error":"unsupported_transfer_encoding"' in answer
    assert upstream.received == []


NOT_CANONICAL = {
    "urn-tenant": "/api/v1/ingest/urn:uuid:{tenant}/tok",
    "braced-tenant": "/api/v1/ingest/{{{tenant}}}/tok",
    "undashed-tenant": "/api/v1/ingest/{tenant_hex}/tok",
    "percent-encoded-tenant": "/api/v1/ingest/%3{first}{tenant_rest}/tok",
    "encoded-slash": "/api/v1/ingest/{tenant}/a%2Fb",
    "encoded-slash-lower": "/api/v1/ingest/{tenant}/a%2fb",
    "encoded-backslash": "/api/v1/ingest/{tenant}/a%5Cb",
    "backslash": "/api/v1/ingest/{tenant}/a\\b",
    "dot-dot": "/api/v1/ingest/{tenant}/..",
    "encoded-dot-dot": "/api/v1/ingest/{tenant}/%2e%2E",
    "dot": "/api/v1/ingest/{tenant}/.",
}


@pytest.mark.parametrize("case", sorted(NOT_CANONICAL))
async def test_a_non_canonical_ingest_path_is_400_invalid_path(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, case: str
) -> None:
    tenant = str(key.tenant_id)
    path = NOT_CANONICAL[case].format(
        tenant=tenant, tenant_hex=key.tenant_id.hex, first=tenant[0], tenant_rest=tenant[1:]
    )
    request = (
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nX-Api-Key: {key.key}\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    answer = await exchange(gateway.port, request.encode())
    assert status_of(answer) == 400, (path, answer[:300])
    assert b'"error":"invalid_path"' in answer
    assert upstream.received == []

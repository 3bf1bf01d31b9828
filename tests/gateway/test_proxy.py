"""The ingest proxy, SPEC §2 in order, against a real recording upstream (RELIABILITY 12-14)."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from tests.gateway.conftest import ApiKey, MakeGateway, NewKey, RecordingUpstream
from tests.services import free_port

pytestmark = pytest.mark.timeout(60)


def error_of(body: dict[str, str]) -> str:
    assert set(body) >= {"error", "message"}
    return body["error"]


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> TestClient:
    return await make_gateway()


@pytest.fixture
async def key(gateway: TestClient, new_key: NewKey) -> ApiKey:
    return await new_key(gateway)


# --- 1. method -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_methods_other_than_post_get_405_with_allow(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, method: str
) -> None:
    r = await gateway.request(method, key.ingest_path, headers={"X-Api-Key": key.key})
    assert r.status == 405
    assert r.headers["Allow"] == "POST"
    assert error_of(await r.json()) == "method_not_allowed"
    assert r.headers["X-Request-Id"]
    assert upstream.received == []


async def test_the_method_is_checked_before_the_key(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    r = await gateway.get(key.ingest_path)  # no X-Api-Key at all
    assert r.status == 405
    assert r.headers["Allow"] == "POST"


# --- 2-3. the key --------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": ""}])
async def test_missing_or_empty_key_is_401_missing_api_key(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, headers: dict[str, str]
) -> None:
    r = await gateway.post(key.ingest_path, data=b"{}", headers=headers)
    assert r.status == 401
    assert error_of(await r.json()) == "missing_api_key"
    assert upstream.received == []


BAD_KEYS = ["nope", "hks_" + "A" * 32, "hks_" + "a" * 31, "hks_" + "a" * 33, "hk_" + "a" * 32]


async def test_malformed_key_is_401_without_touching_any_store(
    make_gateway: MakeGateway, upstream: RecordingUpstream
) -> None:
    # Both stores are unreachable: any lookup would end in 503 auth_unavailable, not 401.
    dead = free_port()
    gateway = await make_gateway(
        database_url=f"postgresql://postgres@127.0.0.1:{dead}/none",
        redis_url=f"redis://127.0.0.1:{dead}/0",
        pg_pool_min=0,
    )
    path = f"/api/v1/ingest/{uuid.uuid4()}/t"
    for bad_key in [*BAD_KEYS, "Bearer x", " hks_" + "a" * 32 + "x"]:
        r = await gateway.post(path, data=b"{}", headers={"X-Api-Key": bad_key})
        assert r.status == 401, bad_key
        assert error_of(await r.json()) == "invalid_api_key"
    r = await gateway.post(path, data=b"{}", headers={"X-Api-Key": "hks_" + "0" * 32})
    assert r.status == 503  # the control: a well-formed key does reach the (dead) stores
    assert r.headers["Retry-After"]
    assert upstream.received == []


async def test_unknown_and_revoked_keys_get_the_same_401(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, auth: object
) -> None:
    unknown = await gateway.post(
        key.ingest_path, data=b"{}", headers={"X-Api-Key": "hks_" + uuid.uuid4().hex}
    )
    r = await gateway.delete(f"/api/v1/apikeys/{key.key_id}", headers=auth(key.tenant_id))  # type: ignore[operator]
    assert r.status == 200
    revoked = await gateway.post(key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key})
    assert unknown.status == revoked.status == 401
    assert await unknown.read() == await revoked.read()
    assert error_of(await revoked.json()) == "invalid_api_key"
    assert upstream.received == []


# --- 4. tenant -----------------------------------------------------------------------------------


async def test_key_of_another_tenant_is_403_tenant_mismatch(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    r = await gateway.post(
        f"/api/v1/ingest/{uuid.uuid4()}/tok", data=b"{}", headers={"X-Api-Key": key.key}
    )
    assert r.status == 403
    assert error_of(await r.json()) == "tenant_mismatch"
    assert upstream.received == []


async def test_tenant_id_in_upper_case_is_the_same_tenant(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    path = f"/api/v1/ingest/{str(key.tenant_id).upper()}/tok"
    r = await gateway.post(path, data=b"{}", headers={"X-Api-Key": key.key})
    assert r.status == 202
    assert upstream.received[0].path_qs == path


# --- 5. rate limit -------------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(
    make_gateway: MakeGateway, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway(rate_limit=0.5, rate_limit_burst=2)
    key = await new_key(gateway)
    other = await new_key(gateway)
    statuses = []
    for _ in range(3):
        r = await gateway.post(key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key})
        statuses.append(r.status)
    assert statuses == [202, 202, 429]
    assert error_of(await r.json()) == "rate_limited"
    assert r.headers["Retry-After"] == "2"
    assert len(upstream.received) == 2
    # Another key has its own bucket.
    r = await gateway.post(other.ingest_path, data=b"{}", headers={"X-Api-Key": other.key})
    assert r.status == 202
    # The tenant is checked before the rate limit: a wrong tenant never spends the bucket.
    wrong = f"/api/v1/ingest/{uuid.uuid4()}/t"
    statuses = []
    for _ in range(3):
        r = await gateway.post(wrong, data=b"{}", headers={"X-Api-Key": other.key})
        statuses.append(r.status)
    assert statuses == [403, 403, 403]


async def test_rate_limit_is_off_by_default(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    for _ in range(30):
        r = await gateway.post(key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key})
        assert r.status == 202
    assert len(upstream.received) == 30


async def test_the_key_is_checked_before_the_body_size(
    make_gateway: MakeGateway, key: ApiKey, upstream: RecordingUpstream
) -> None:
    """An unauthenticated sender learns nothing about the body limit."""
    gateway = await make_gateway(body_limit=1024)
    r = await gateway.post(key.ingest_path, data=b"x" * 2048)
    assert r.status == 401
    assert error_of(await r.json()) == "missing_api_key"
    assert upstream.received == []


# --- 6. body size (RELIABILITY 14) ---------------------------------------------------------------

LIMIT = 4096


@pytest.fixture
async def small_gateway(make_gateway: MakeGateway) -> TestClient:
    return await make_gateway(body_limit=LIMIT)


async def test_body_at_the_limit_is_forwarded(
    small_gateway: TestClient, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    key = await new_key(small_gateway)
    body = bytes(range(256)) * (LIMIT // 256)
    r = await small_gateway.post(key.ingest_path, data=body, headers={"X-Api-Key": key.key})
    assert r.status == 202
    assert upstream.received[0].body == body


async def test_declared_oversize_body_is_413_and_nothing_forwarded(
    small_gateway: TestClient, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    key = await new_key(small_gateway)
    r = await small_gateway.post(
        key.ingest_path, data=b"x" * (LIMIT + 1), headers={"X-Api-Key": key.key}
    )
    assert r.status == 413
    assert error_of(await r.json()) == "payload_too_large"
    assert upstream.received == []


async def test_chunked_oversize_body_is_413_and_nothing_forwarded(
    small_gateway: TestClient, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    key = await new_key(small_gateway)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"y" * 1024

    r = await small_gateway.post(key.ingest_path, data=chunks(), headers={"X-Api-Key": key.key})
    assert r.status == 413
    assert error_of(await r.json()) == "payload_too_large"
    assert upstream.received == []


async def test_chunked_body_within_the_limit_is_forwarded_whole(
    small_gateway: TestClient, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    key = await new_key(small_gateway)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(4):
            yield bytes([i]) * 1000

    r = await small_gateway.post(key.ingest_path, data=chunks(), headers={"X-Api-Key": key.key})
    assert r.status == 202
    (got,) = upstream.received
    assert got.body == b"".join(bytes([i]) * 1000 for i in range(4))
    assert got.headers["Content-Length"] == "4000"
    assert "Transfer-Encoding" not in got.headers


# --- 7-8. forwarding (RELIABILITY 12) ------------------------------------------------------------


async def test_request_is_forwarded_with_end_to_end_headers_and_exact_body(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    body = b'{"action":"opened","n":1}\n\x00\xff'
    sent = {
        "X-Api-Key": key.key,
        "Authorization": "Bearer should-not-leak",
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + "ab" * 32,
        "Stripe-Signature": "t=1492774577,v1=5257a869e7ec",
        "X-Idempotency-Key": "idem-123",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Connection": "keep-alive, X-Hop-Secret",
        "X-Hop-Secret": "by-connection",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic abc",
        "X-HookSentry-Tenant-Id": "spoofed",
        "X-Request-Id": "sender-rid-1",
    }
    # encoded=True: the sender's own client must not normalise the query either.
    url = URL(f"http://127.0.0.1:{gateway.port}{key.ingest_path}?delivery=42&x=%2F", encoded=True)
    r = await gateway.session.post(url, data=body, headers=sent)
    assert r.status == 202
    assert r.headers["X-Request-Id"] == "sender-rid-1"
    (got,) = upstream.received
    assert got.method == "POST"
    assert got.path_qs == key.ingest_path + "?delivery=42&x=%2F"
    assert got.body == body
    for name in (
        "Content-Type",
        "X-Hub-Signature-256",
        "Stripe-Signature",
        "X-Idempotency-Key",
        "User-Agent",
    ):
        assert got.headers.getall(name) == [sent[name]]
    for name in ("X-Api-Key", "Authorization", "X-Hop-Secret", "Keep-Alive", "Proxy-Authorization"):
        assert name not in got.headers
    assert key.key not in str(got.headers)
    assert got.headers.getall("X-HookSentry-Tenant-Id") == [str(key.tenant_id)]
    assert got.headers.getall("X-HookSentry-Api-Key-Id") == [str(key.key_id)]
    assert got.headers["X-Request-Id"] == "sender-rid-1"
    assert got.headers["X-Forwarded-For"] == "127.0.0.1"
    assert got.headers["X-Forwarded-Proto"] == "http"
    assert got.headers["X-Forwarded-Host"] == f"127.0.0.1:{gateway.port}"


async def test_gzip_body_is_relayed_compressed_byte_for_byte(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    raw = gzip.compress(b'{"event":"charge.succeeded"}' * 100, mtime=0)
    headers = {
        "X-Api-Key": key.key,
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    r = await gateway.post(key.ingest_path, data=raw, headers=headers)
    assert r.status == 202
    (got,) = upstream.received
    assert got.body == raw
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.headers["Content-Length"] == str(len(raw))


async def test_gzip_body_larger_than_the_limit_once_inflated_is_still_accepted(
    make_gateway: MakeGateway, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway(body_limit=LIMIT)
    key = await new_key(gateway)
    raw = gzip.compress(b"0" * (LIMIT * 50), mtime=0)  # the limit is on the wire size
    assert len(raw) < LIMIT
    headers = {"X-Api-Key": key.key, "Content-Encoding": "gzip"}
    r = await gateway.post(key.ingest_path, data=raw, headers=headers)
    assert r.status == 202
    assert upstream.received[0].body == raw


@pytest.mark.parametrize("status", [202, 200, 400, 403, 404, 409, 422, 429, 500, 503])
async def test_upstream_status_body_and_headers_come_back_unchanged(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream, status: int
) -> None:
    upstream.status = status
    upstream.body = f'{{"upstream":{status}}}'.encode()
    upstream.headers = {
        "Content-Type": "application/problem+json",
        "Retry-After": "17",
        "X-Upstream-Trace": "trace-1",
        "Connection": "X-Upstream-Hop",
        "X-Upstream-Hop": "hop",
    }
    r = await gateway.post(key.ingest_path, data=b"{}", headers={"X-Api-Key": key.key})
    assert r.status == status
    assert await r.read() == upstream.body
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.headers["Retry-After"] == "17"
    assert r.headers["X-Upstream-Trace"] == "trace-1"
    assert "X-Upstream-Hop" not in r.headers
    assert r.headers["X-Request-Id"]


async def test_compressed_upstream_answer_is_relayed_as_is(
    gateway: TestClient, key: ApiKey, upstream: RecordingUpstream
) -> None:
    upstream.body = gzip.compress(b'{"accepted":true}', mtime=0)
    upstream.headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with aiohttp.ClientSession(auto_decompress=False) as raw_client:
        r = await raw_client.post(
            gateway.make_url(key.ingest_path), data=b"{}", headers={"X-Api-Key": key.key}
        )
        assert r.headers["Content-Encoding"] == "gzip"
        assert await r.read() == upstream.body


async def test_upstream_cookies_are_not_replayed_to_other_senders(
    gateway: TestClient, new_key: NewKey, upstream: RecordingUpstream
) -> None:
    first, second = await new_key(gateway), await new_key(gateway)
    upstream.headers = {"Set-Cookie": "session=tenant-a-secret; Path=/"}
    r = await gateway.post(first.ingest_path, data=b"{}", headers={"X-Api-Key": first.key})
    assert r.status == 202
    assert "tenant-a-secret" in r.headers["Set-Cookie"]  # end-to-end: the sender gets it
    gateway.session.cookie_jar.clear()
    r = await gateway.post(second.ingest_path, data=b"{}", headers={"X-Api-Key": second.key})
    assert r.status == 202
    assert "Cookie" not in upstream.received[1].headers

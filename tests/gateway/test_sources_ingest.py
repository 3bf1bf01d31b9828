"""Ingest through a source (SPEC §6): every provider end to end, the order of checks, the
headers the upstream sees. Signatures are computed in the tests (tests.gateway.signing)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.conftest import MakeGateway, NewKey, RecordingUpstream
from tests.gateway.signing import SIGNATURE_HEADERS, SIGNS_TIMESTAMP, signed_headers
from tests.gateway.sources_fixtures import Source, create_source

pytestmark = pytest.mark.timeout(60)
PROVIDERS = list(SIGNATURE_HEADERS)
BODY = b'{"action":"opened","n":1}\n'
Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def gateway(make_gateway: MakeGateway) -> TestClient:
    return await make_gateway()


@pytest.fixture
def owner(tenant: uuid.UUID, auth: Auth) -> dict[str, str]:
    return auth(tenant)


async def make(gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, provider: str,
               **extra: Any) -> Source:  # fmt: skip
    return await create_source(gateway, owner, tenant, provider, **extra)


def error_of(body: dict[str, str]) -> str:
    return body["error"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_signed_delivery_is_forwarded_with_the_source_headers(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, upstream: RecordingUpstream,
    provider: str,
) -> None:  # fmt: skip
    source = await make(gateway, owner, tenant, provider)
    signed = signed_headers(provider, source.secret, BODY)
    impostor = {
        "X-HookSentry-Verified": "forged",
        "X-HookSentry-Source-Id": "forged",
        "X-HookSentry-Api-Key-Id": "forged",
        "X-Hooksentry-Tenant-Id": "forged",
    }
    r = await gateway.post(source.path, data=BODY, headers=signed | impostor)
    assert r.status == 202, await r.text()
    (seen,) = upstream.received
    assert seen.body == BODY
    for name in SIGNATURE_HEADERS[provider]:
        assert seen.headers.getall(name) == [signed[name]]  # untouched
    assert seen.headers.getall("X-HookSentry-Source-Id") == [source.id]
    assert seen.headers.getall("X-HookSentry-Verified") == [provider]
    assert seen.headers.getall("X-HookSentry-Tenant-Id") == [str(tenant)]
    assert "X-HookSentry-Api-Key-Id" not in seen.headers


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_tampered_body_and_wrong_secret_are_401_invalid_signature(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, upstream: RecordingUpstream,
    provider: str,
) -> None:  # fmt: skip
    source = await make(gateway, owner, tenant, provider)
    signed = signed_headers(provider, source.secret, BODY)
    r = await gateway.post(source.path, data=BODY.replace(b"1", b"2"), headers=signed)
    assert r.status == 401
    assert error_of(await r.json()) == "invalid_signature"
    other = "whsec_" + "b" * 44 if provider == "standard-webhooks" else "another-secret-value"
    r = await gateway.post(source.path, data=BODY, headers=signed_headers(provider, other, BODY))
    assert r.status == 401
    assert error_of(await r.json()) == "invalid_signature"
    assert upstream.received == []


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_missing_signature_headers_are_401_missing_signature(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, provider: str
) -> None:
    source = await make(gateway, owner, tenant, provider)
    signed = signed_headers(provider, source.secret, BODY)
    r = await gateway.post(source.path, data=BODY)
    assert r.status == 401
    assert error_of(await r.json()) == "missing_signature"
    first = SIGNATURE_HEADERS[provider][-1]
    r = await gateway.post(source.path, data=BODY, headers=signed | {first: "garbage!"})
    assert error_of(await r.json()) == "missing_signature"


@pytest.mark.parametrize("provider", sorted(SIGNS_TIMESTAMP))
async def test_stale_timestamp_is_401_stale_timestamp(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, provider: str
) -> None:
    source = await make(gateway, owner, tenant, provider, toleranceSeconds=60)
    for skew in (-120, 120):
        old = signed_headers(provider, source.secret, BODY, at=time.time() + skew)
        r = await gateway.post(source.path, data=BODY, headers=old)
        assert r.status == 401
        assert error_of(await r.json()) == "stale_timestamp"
    within = signed_headers(provider, source.secret, BODY, at=time.time() - 30)
    assert (await gateway.post(source.path, data=BODY, headers=within)).status == 202


@pytest.mark.parametrize(("provider", "variant"), [("standard-webhooks", "svix"),
                                                   ("hmac-sha256", "bare")])  # fmt: skip
async def test_header_name_variants_are_accepted(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, provider: str, variant: str
) -> None:
    source = await make(gateway, owner, tenant, provider)
    headers = signed_headers(provider, source.secret, BODY, variant=variant)
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 202


async def test_order_method_then_length_then_signature_then_timestamp_then_key(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    source = await make(gateway, owner, tenant, "stripe", toleranceSeconds=60)
    unknown_key = {"X-Api-Key": "hks_" + uuid.uuid4().hex}
    r = await gateway.get(source.path)
    assert (r.status, r.headers["Allow"]) == (405, "POST")
    big = b"x" * (1024 * 1024 + 1)
    r = await gateway.post(source.path, data=big, headers=unknown_key)
    assert r.status == 413  # from Content-Length, before the signature
    r = await gateway.post(source.path, data=BODY, headers=unknown_key)
    assert error_of(await r.json()) == "missing_signature"
    stale = signed_headers("stripe", source.secret, BODY, at=time.time() - 600)
    r = await gateway.post(source.path, data=BODY, headers=stale | unknown_key)
    assert error_of(await r.json()) == "stale_timestamp"
    signed = signed_headers("stripe", source.secret, BODY)
    r = await gateway.post(source.path, data=BODY, headers=signed | unknown_key)
    assert (r.status, error_of(await r.json())) == (401, "invalid_api_key")  # sent, so checked
    wrong = signed_headers("stripe", "a-wrong-secret", BODY)
    r = await gateway.post(source.path, data=BODY, headers=wrong | unknown_key)
    assert error_of(await r.json()) == "invalid_api_key"  # the key comes before the body
    assert upstream.received == []


async def test_chunked_body_over_the_limit_is_413(
    make_gateway: MakeGateway, owner: dict[str, str], tenant: uuid.UUID
) -> None:
    gateway = await make_gateway(body_limit=1024)
    source = await make(gateway, owner, tenant, "github")
    body = b"y" * 4096
    signed = signed_headers("github", source.secret, body)

    async def chunks() -> Any:
        for i in range(0, len(body), 512):
            yield body[i : i + 512]

    r = await gateway.post(source.path, data=chunks(), headers=signed)
    assert r.status == 413


async def test_require_api_key_needs_a_valid_key_of_the_same_tenant(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, new_key: NewKey,
    upstream: RecordingUpstream,
) -> None:  # fmt: skip
    source = await make(gateway, owner, tenant, "github", requireApiKey=True)
    mine, theirs = await new_key(gateway, tenant), await new_key(gateway)
    signed = signed_headers("github", source.secret, BODY)
    r = await gateway.post(source.path, data=BODY, headers=signed)
    assert error_of(await r.json()) == "missing_api_key"
    r = await gateway.post(source.path, data=BODY, headers=signed | {"X-Api-Key": theirs.key})
    assert (r.status, error_of(await r.json())) == (403, "tenant_mismatch")
    r = await gateway.post(source.path, data=BODY, headers=signed | {"X-Api-Key": mine.key})
    assert r.status == 202
    (seen,) = upstream.received
    assert seen.headers["X-HookSentry-Api-Key-Id"] == str(mine.key_id)
    assert "X-Api-Key" not in seen.headers
    # A key alone is not enough where a source is: the signature is still required.
    r = await gateway.post(source.path, data=BODY, headers={"X-Api-Key": mine.key})
    assert error_of(await r.json()) == "missing_signature"


async def test_rate_limit_counts_per_source_without_a_key(
    make_gateway: MakeGateway, owner: dict[str, str], tenant: uuid.UUID
) -> None:
    gateway = await make_gateway(rate_limit=0.001, rate_limit_burst=1)
    source = await make(gateway, owner, tenant, "github")
    other = await make(gateway, owner, tenant, "github")
    for s, status in ((source, 202), (source, 429), (other, 202)):
        headers = signed_headers("github", s.secret, BODY)
        r = await gateway.post(s.path, data=BODY, headers=headers)
        assert r.status == status
    assert r.status == 202


async def test_deactivated_source_falls_back_to_the_api_key(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, new_key: NewKey
) -> None:
    source = await make(gateway, owner, tenant, "github")
    signed = signed_headers("github", source.secret, BODY)
    assert (await gateway.post(source.path, data=BODY, headers=signed)).status == 202
    assert (await gateway.delete(f"/api/v1/sources/{source.id}", headers=owner)).status == 200
    r = await gateway.post(source.path, data=BODY, headers=signed)
    assert (r.status, error_of(await r.json())) == (401, "missing_api_key")
    key = await new_key(gateway, tenant)
    r = await gateway.post(source.path, data=BODY, headers=signed | {"X-Api-Key": key.key})
    assert r.status == 202


async def test_rotation_keeps_the_old_secret_for_the_overlap_and_zero_ends_it_at_once(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID
) -> None:
    from tests.gateway.cache_rig import eventually
    from tests.gateway.sources_fixtures import rotate

    # dedupSeconds=0: one body signed in one second with one secret is one delivery (§7)
    source = await make(gateway, owner, tenant, "slack", dedupSeconds=0)

    async def status(secret: str) -> int:
        headers = signed_headers("slack", secret, BODY)
        return (await gateway.post(source.path, data=BODY, headers=headers)).status

    assert await status(source.secret) == 202
    second = await rotate(gateway, owner, source, overlap=2)
    assert (await status(second), await status(source.secret)) == (202, 202)

    async def old_ended() -> bool:
        return await status(source.secret) == 401

    await eventually(old_ended, within=5)  # the overlap ends, with no change to announce it
    assert await status(second) == 202
    third = await rotate(gateway, owner, source, overlap=0)
    assert (await status(second), await status(third)) == (401, 202)


async def test_an_upper_case_tenant_id_reaches_the_same_source(
    gateway: TestClient, owner: dict[str, str], tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    source = await make(gateway, owner, tenant, "github")
    path = source.path.replace(str(tenant), str(tenant).upper())
    headers = signed_headers("github", source.secret, BODY)
    assert (await gateway.post(path, data=BODY, headers=headers)).status == 202
    assert upstream.received[0].headers["X-HookSentry-Tenant-Id"] == str(tenant)

"""The rejection log (SPEC §7): what is recorded, for whom, and what never is."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.rejections import sender_ip
from tests.gateway.cache_rig import OwnRedis, eventually
from tests.gateway.conftest import MakeGateway, NewKey, RecordingUpstream
from tests.gateway.signing import signed_headers
from tests.gateway.sources_fixtures import create_source

pytestmark = pytest.mark.timeout(60)
BODY = b'{"n":1}'
Auth = Callable[..., dict[str, str]]
UNKNOWN_KEY = "hks_" + "0" * 32


async def records(gateway: TestClient, headers: dict[str, str], query: str = "") -> Any:
    r = await gateway.get("/api/v1/rejections" + query, headers=headers)
    assert r.status == 200, await r.text()
    assert r.headers["Cache-Control"] == "no-store"
    return await r.json()


async def wait_for(gateway: TestClient, headers: dict[str, str], count: int) -> Any:
    async def enough() -> bool:
        return int((await records(gateway, headers))["total"]) >= count

    await eventually(enough, within=5)
    return await records(gateway, headers, "?Qt=100")


async def test_each_rejection_is_recorded_with_its_exact_reason_and_no_secret(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, new_key: NewKey,
    new_tenant: Callable[..., Any], upstream: RecordingUpstream,
) -> None:  # fmt: skip
    gateway = await make_gateway()
    owner = auth(tenant)
    source = await create_source(gateway, owner, tenant, "github")
    signed = signed_headers("github", source.secret, BODY)
    query = "?secret-ish=1"
    ua = {"User-Agent": "GitHub-Hookshot/abc"}
    r = await gateway.post(source.path + query, data=b"tampered", headers=signed | ua)
    assert (r.status, (await r.json())["error"]) == (401, "invalid_signature")
    await gateway.post(source.path, data=BODY, headers=ua)  # no signature headers
    path = f"/api/v1/ingest/{tenant}/plain"
    await gateway.post(path, data=BODY, headers={"X-Api-Key": UNKNOWN_KEY})
    await gateway.post(path, data=BODY)
    other = await new_key(gateway, await new_tenant())
    r = await gateway.post(path, data=BODY, headers={"X-Api-Key": other.key})
    assert r.status == 403
    body = await wait_for(gateway, owner, 5)
    reasons = [item["reason"] for item in body["items"]]
    assert reasons == [
        "tenant_mismatch",
        "missing_api_key",
        "invalid_api_key",
        "missing_signature",
        "invalid_signature",
    ]  # newest first; fmt: skip
    newest, oldest = body["items"][0], body["items"][-1]
    assert newest["keyId"] is None  # another tenant's key id is not this tenant's to see
    assert oldest["sourceId"] == source.id and oldest["path"] == source.path  # no query
    assert oldest["userAgent"] == "GitHub-Hookshot/abc" and oldest["senderIp"] == "127.0.0.1"
    assert set(oldest) == {"at", "reason", "sourceId", "keyId", "senderIp", "userAgent",
                           "requestId", "path"}  # fmt: skip
    assert oldest["requestId"] == r.headers["X-Request-Id"] or oldest["requestId"]
    text = str(body)
    for secret in (source.secret, signed["X-Hub-Signature-256"], UNKNOWN_KEY, other.key, query):
        assert secret.removeprefix("sha256=") not in text
    # Paging, newest first, and only the caller's tenant.
    assert [i["reason"] for i in (await records(gateway, owner, "?Qt=2&Pg=2"))["items"]] == [
        "invalid_api_key", "missing_signature"]  # fmt: skip
    assert (await records(gateway, auth(other.tenant_id)))["total"] == 0


async def test_a_delivery_in_progress_and_a_rate_limit_are_recorded(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, new_key: NewKey,
    upstream: RecordingUpstream,
) -> None:  # fmt: skip
    import asyncio

    gateway = await make_gateway(rate_limit=1, rate_limit_burst=1)
    owner = auth(tenant)
    key = await new_key(gateway, tenant)
    assert (
        await gateway.post(key.ingest_path, data=BODY, headers={"X-Api-Key": key.key})
    ).status == 202
    r = await gateway.post(key.ingest_path, data=BODY, headers={"X-Api-Key": key.key})
    assert r.status == 429
    unlimited = await make_gateway()  # a second process in spirit, on the same Redis
    source = await create_source(unlimited, owner, tenant, "shopify")
    signed = signed_headers("shopify", source.secret, BODY)
    upstream.delay = 0.5
    upstream.arrived.clear()
    first = asyncio.create_task(unlimited.post(source.path, data=BODY, headers=signed))
    await upstream.arrived.wait()
    assert (await unlimited.post(source.path, data=BODY, headers=signed)).status == 409
    await first
    body = await wait_for(gateway, owner, 2)
    assert [i["reason"] for i in body["items"]] == ["delivery_in_progress", "rate_limited"]
    assert body["items"][1]["keyId"] == str(key.key_id)
    assert body["items"][0]["sourceId"] == source.id


async def test_unknown_and_inactive_tenants_get_no_records(
    make_gateway: MakeGateway, auth: Auth, new_tenant: Callable[..., Any], db: Any,
) -> None:  # fmt: skip
    gateway = await make_gateway()
    gone = await new_tenant(active=False)
    for tenant in (gone, uuid.uuid4()):
        path = f"/api/v1/ingest/{tenant}/x"
        assert (await gateway.post(path, headers={"X-Api-Key": UNKNOWN_KEY})).status == 401
    live = await new_tenant()
    await gateway.post(f"/api/v1/ingest/{live}/x", headers={"X-Api-Key": UNKNOWN_KEY})
    await wait_for(gateway, auth(live), 1)  # written after the two above, by the same writer
    text = await (await gateway.get("/metrics")).text()
    assert 'hooksentry_rejection_records_dropped_total{cause="inactive"} 2.0' in text
    assert 'hooksentry_rejections_total{reason="invalid_api_key"} 3.0' in text


async def test_a_page_far_past_the_end_is_empty(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID
) -> None:
    gateway = await make_gateway()
    await gateway.post(f"/api/v1/ingest/{tenant}/x", headers={"X-Api-Key": UNKNOWN_KEY})
    await wait_for(gateway, auth(tenant), 1)
    far = await records(gateway, auth(tenant), "?Qt=10&Pg=999999999999999998")
    assert far == {"total": 1, "items": []}


async def test_redis_down_loses_records_not_requests(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, new_key: NewKey,
    own_redis: OwnRedis, upstream: RecordingUpstream,
) -> None:  # fmt: skip
    gateway = await make_gateway(redis_url=own_redis.url)
    key = await new_key(gateway, tenant)
    good = {"X-Api-Key": key.key}
    assert (await gateway.post(key.ingest_path, data=BODY, headers=good)).status == 202
    own_redis.stop()
    for _ in range(20):
        r = await gateway.post(key.ingest_path, headers={"X-Api-Key": UNKNOWN_KEY})
        assert r.status == 401
    assert (await gateway.post(key.ingest_path, data=BODY, headers=good)).status == 202
    r = await gateway.get("/api/v1/rejections", headers=auth(tenant))
    assert (r.status, (await r.json())["error"]) == (503, "rejections_unavailable")
    own_redis.start()


def test_sender_ip_is_the_peer_unless_a_trusted_proxy_forwarded_it() -> None:
    import ipaddress

    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert sender_ip("203.0.113.9", "198.51.100.1", trusted) == "203.0.113.9"
    assert sender_ip("10.0.0.1", "198.51.100.1, 10.0.0.2", trusted) == "198.51.100.1"
    assert sender_ip("10.0.0.1", "not-an-ip", trusted) == "10.0.0.1"
    assert sender_ip("10.0.0.1", None, trusted) == "10.0.0.1"

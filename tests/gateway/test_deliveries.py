"""Duplicates and replays (SPEC §7) through one gateway: done, released, in flight, off, and
Redis unavailable (fail-open counted, fail-closed 503). Across processes: test_deliveries_serve."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.deliveries import delivery_identity
from gateway.signatures import parse_signed_headers
from tests.gateway.cache_rig import OwnRedis
from tests.gateway.conftest import MakeGateway, RecordingUpstream
from tests.gateway.signing import signed_headers
from tests.gateway.sources_fixtures import Source, create_source

pytestmark = pytest.mark.timeout(60)
BODY = b'{"action":"opened"}'
Auth = Callable[..., dict[str, str]]


async def source_of(gateway: TestClient, auth: Auth, tenant: uuid.UUID, provider: str = "github",
                    **extra: Any) -> Source:  # fmt: skip
    return await create_source(gateway, auth(tenant), tenant, provider, **extra)


def metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_delivery_sent_twice_is_forwarded_once_and_the_copy_is_a_duplicate(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway()
    source = await source_of(gateway, auth, tenant)
    headers = signed_headers("github", source.secret, BODY)
    first = await gateway.post(source.path, data=BODY, headers=headers)
    assert first.status == 202
    again = await gateway.post(source.path, data=BODY, headers=headers)
    assert again.status == 200
    assert await again.json() == {"duplicate": True}
    assert again.headers["X-HookSentry-Duplicate"] == "true"
    assert again.headers["Content-Type"].startswith("application/json")
    assert len(upstream.received) == 1
    text = await (await gateway.get("/metrics")).text()
    assert metric(text, 'hooksentry_deliveries_total{result="forwarded"}') == 1
    assert metric(text, 'hooksentry_deliveries_total{result="duplicate"}') == 1


async def test_a_failed_forward_releases_the_claim_so_the_retry_goes_through(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway()
    source = await source_of(gateway, auth, tenant, "stripe")
    headers = signed_headers("stripe", source.secret, BODY)
    upstream.status = 500
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 500
    upstream.status = 202
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 202
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 200
    assert len(upstream.received) == 2


async def test_an_unreachable_upstream_releases_the_claim(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway(ingest_upstream="http://127.0.0.1:9")  # nothing listens
    source = await source_of(gateway, auth, tenant, "shopify")
    headers = signed_headers("shopify", source.secret, BODY)
    r = await gateway.post(source.path, data=BODY, headers=headers)
    assert r.status == 502
    r = await gateway.post(source.path, data=BODY, headers=headers)
    assert r.status == 502  # released again, not "in progress" and not a duplicate


async def test_a_copy_arriving_while_the_first_is_in_flight_gets_409_retry_after(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway()
    source = await source_of(gateway, auth, tenant, "standard-webhooks")
    headers = signed_headers("standard-webhooks", source.secret, BODY)
    upstream.delay = 0.5
    first = asyncio.create_task(gateway.post(source.path, data=BODY, headers=headers))
    await upstream.arrived.wait()
    copy = await gateway.post(source.path, data=BODY, headers=headers)
    assert copy.status == 409
    assert (await copy.json())["error"] == "delivery_in_progress"
    assert copy.headers["Retry-After"] == "1"
    assert (await first).status == 202
    assert len(upstream.received) == 1


async def test_dedup_seconds_zero_forwards_every_copy(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway()
    source = await source_of(gateway, auth, tenant, "hmac-sha256", dedupSeconds=0)
    headers = signed_headers("hmac-sha256", source.secret, BODY)
    for _ in range(3):
        assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 202
    assert len(upstream.received) == 3


async def test_github_and_shopify_identity_is_the_delivery_id_header(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream
) -> None:
    gateway = await make_gateway()
    source = await source_of(gateway, auth, tenant)
    headers = signed_headers("github", source.secret, BODY)
    other = BODY.replace(b"opened", b"closed")
    resent = signed_headers("github", source.secret, other) | {
        "X-GitHub-Delivery": headers["X-GitHub-Delivery"]
    }
    assert (await gateway.post(source.path, data=BODY, headers=headers)).status == 202
    assert (await gateway.post(source.path, data=other, headers=resent)).status == 200
    fresh = signed_headers("github", source.secret, BODY)  # same body, a new delivery id
    assert (await gateway.post(source.path, data=BODY, headers=fresh)).status == 202


def test_identity_per_provider() -> None:
    sig = bytes(range(32))
    github = parse_signed_headers("github", {"X-Hub-Signature-256": "sha256=" + sig.hex(),
                                             "X-GitHub-Delivery": "d-1"})  # fmt: skip
    assert delivery_identity(github, sig) == "i:d-1"
    no_id = parse_signed_headers("github", {"X-Hub-Signature-256": "sha256=" + sig.hex()})
    assert delivery_identity(no_id, sig) == "s:" + sig.hex()
    slack = parse_signed_headers(
        "slack", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=" + sig.hex()}
    )
    assert delivery_identity(slack, sig) == "s:" + sig.hex()


@pytest.mark.parametrize("fail_closed", [False, True])
async def test_redis_stopped_forwards_unchecked_and_counts_or_answers_503_fail_closed(
    make_gateway: MakeGateway, auth: Auth, tenant: uuid.UUID, upstream: RecordingUpstream,
    own_redis: OwnRedis, fail_closed: bool,
) -> None:  # fmt: skip
    gateway = await make_gateway(redis_url=own_redis.url, dedup_fail_closed=fail_closed)
    source = await source_of(gateway, auth, tenant)
    warm = signed_headers("github", source.secret, BODY)
    assert (await gateway.post(source.path, data=BODY, headers=warm)).status == 202  # cached
    own_redis.stop()
    headers = signed_headers("github", source.secret, BODY)
    statuses = [
        (await gateway.post(source.path, data=BODY, headers=headers)).status for _ in range(2)
    ]
    text = await (await gateway.get("/metrics")).text()
    skipped = metric(text, "hooksentry_dedup_skipped_total")
    if fail_closed:
        assert statuses == [503, 503]
        r = await gateway.post(source.path, data=BODY, headers=headers)
        assert (await r.json())["error"] == "dedup_unavailable"
        assert r.headers["Retry-After"] == "1"
        assert len(upstream.received) == 1 and skipped == 0
    else:
        assert statuses == [202, 202]  # unchecked: both copies reach the upstream
        assert len(upstream.received) == 3 and skipped == 2
        assert metric(text, 'hooksentry_deliveries_total{result="skipped"}') == 2
    own_redis.start()

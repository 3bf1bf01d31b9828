"""/metrics as Prometheus and an operator read it, and the figures of the console's page."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway.keys import KEY_CACHE, METRICS
from gateway.metrics import snapshot
from gateway.metrics_host import merge
from tests.gateway.conftest import INGEST, MakeGateway, NewKey

ROUTE = "/api/v1/ingest/{tenant_id}/{token}"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient) -> Samples:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def ingest(client: TestClient, path: str, key: str | None) -> int:
    headers = {"X-Api-Key": key} if key is not None else {}
    resp = await client.post(path, data=b'{"event":"push"}', headers=headers)
    await resp.read()
    return resp.status


def worker_files(folder: Path) -> int:
    return len(list(folder.glob("*.json")))


async def test_requests_are_counted_by_route_template_and_status(
    make_gateway: MakeGateway,
) -> None:
    client = await make_gateway()
    path = f"{INGEST}/{uuid.uuid4()}/tok-1"
    unknown = "hks_" + "0" * 32
    assert await ingest(client, path, None) == 401
    assert await ingest(client, path, unknown) == 401
    assert await ingest(client, path, unknown) == 401  # the negative entry answers this one
    assert (await client.get("/healthz")).status == 200

    samples = await scrape(client)
    total = "hooksentry_http_requests_total"
    assert value(samples, total, route=ROUTE, status="401") == 3
    assert value(samples, total, route="/healthz", status="200") == 1
    assert value(samples, "hooksentry_http_request_duration_seconds_count", route=ROUTE) == 3
    assert value(samples, "hooksentry_http_errors_total") == 3  # the gateway's own 401s
    checks = "hooksentry_key_checks_total"
    assert value(samples, checks, result="db_miss") == 1
    assert value(samples, checks, result="l1_negative_hit") == 1
    assert value(samples, checks, result="unavailable") == 0
    text = await (await client.get("/metrics")).text()
    assert path not in text and unknown not in text  # templates only: no tenant, token or key


async def test_accepted_requests_show_cache_hits_and_upstream_latency(
    make_gateway: MakeGateway, new_key: NewKey
) -> None:
    client = await make_gateway()
    key = await new_key(client)
    for _ in range(3):
        assert await ingest(client, key.ingest_path, key.key) == 202

    samples = await scrape(client)
    assert value(samples, "hooksentry_http_requests_total", route=ROUTE, status="202") == 3
    checks = "hooksentry_key_checks_total"
    assert value(samples, checks, result="db_hit") + value(samples, checks, result="redis_hit") == 1
    assert value(samples, checks, result="l1_hit") == 2
    assert value(samples, "hooksentry_l1_entries") >= 1
    assert value(samples, "hooksentry_pg_pool_size") >= 1
    assert value(samples, "hooksentry_http_errors_total") == 0
    assert key.key not in await (await client.get("/metrics")).text()
    assert value(samples, "hooksentry_upstream_request_duration_seconds_count") == 3
    assert value(samples, "hooksentry_upstream_request_duration_seconds_bucket", le="+Inf") == 3


async def test_upstream_failures_are_counted_by_kind(
    make_gateway: MakeGateway, new_key: NewKey
) -> None:
    client = await make_gateway(ingest_upstream="http://127.0.0.1:9")  # nothing listens there
    key = await new_key(client)
    assert await ingest(client, key.ingest_path, key.key) == 502

    samples = await scrape(client)
    assert value(samples, "hooksentry_http_requests_total", route=ROUTE, status="502") == 1
    assert value(samples, "hooksentry_http_errors_total") == 1
    kind = "upstream_unavailable"
    assert value(samples, "hooksentry_upstream_errors_total", kind=kind) == 1


async def test_invalidation_messages_are_counted_and_their_age_reported(
    make_gateway: MakeGateway, new_key: NewKey
) -> None:
    client = await make_gateway()
    cache = client.server.app[KEY_CACHE]
    before = cache.stats.invalidations_received
    cache.stats.last_invalidation -= 1000  # as if the last message were long ago
    await new_key(client)  # a create publishes the new key's hash
    deadline = time.monotonic() + 5
    # No event to await: the listener only counts. Poll with a deadline.
    while cache.stats.invalidations_received == before and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    samples = await scrape(client)
    assert value(samples, "hooksentry_invalidations_received_total") >= before + 1
    assert 0 <= value(samples, "hooksentry_invalidation_last_message_age_seconds") < 2
    assert value(samples, "hooksentry_pubsub_resubscribes_total") == cache.stats.resubscribes


async def test_workers_sharing_a_folder_report_the_host_totals(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    # Two apps in one process stand in for two workers: each writes its own file.
    settings = {"workers": 2, "metrics_dir": str(tmp_path)}
    first = await make_gateway(**settings)
    second = await make_gateway(**settings)
    for _ in range(3):
        assert (await first.get("/healthz")).status == 200
    for _ in range(2):
        assert (await second.get("/healthz")).status == 200

    await scrape(second)  # a scrape writes the answering worker's file first
    samples = await scrape(first)
    assert value(samples, "hooksentry_http_requests_total", route="/healthz", status="200") == 5
    assert value(samples, "hooksentry_workers") == 2
    assert worker_files(tmp_path) == 2


async def test_snapshot_gives_the_operator_page_its_figures(
    make_gateway: MakeGateway, new_key: NewKey
) -> None:
    client = await make_gateway()
    key = await new_key(client)
    assert await ingest(client, key.ingest_path, key.key) == 202
    assert await ingest(client, key.ingest_path, key.key) == 202
    assert await ingest(client, key.ingest_path, "hks_" + "1" * 32) == 401

    figures = snapshot(client.server.app)
    assert set(figures) == {
        "timestamp",
        "requests_total",
        "errors_total",
        "l1_hits",
        "l1_lookups",
        "invalidations_total",
        "upstream_p99_seconds",
    }
    assert figures["requests_total"] >= 4  # the key's creation and three ingests
    assert figures["errors_total"] == 1
    assert figures["l1_lookups"] == 3 and figures["l1_hits"] == 1
    assert abs(figures["timestamp"] - time.time()) < 5
    assert all(isinstance(v, float) for v in figures.values())
    if client.server.app[METRICS].recent_upstream:
        assert 0 < figures["upstream_p99_seconds"] < 5


def test_dead_workers_keep_their_counts_but_not_their_gauges() -> None:
    def state(requests: int, l1: int) -> dict[str, dict[str, object]]:
        return {
            "counters": {"requests": {"/healthz\t200": requests}},
            "histograms": {"upstream_seconds": {"": [1, 0, 2, 0.5]}},
            "gauges": {"l1_entries": l1, "workers": 1, "invalidation_age": float(l1)},
        }

    merged = merge([(state(3, 10), True), (state(4, 20), False), (state(5, 30), True)])
    assert merged["counters"]["requests"] == {"/healthz\t200": 12}
    assert merged["histograms"]["upstream_seconds"][""] == [3, 0, 6, 1.5]
    assert merged["gauges"] == {"l1_entries": 40, "workers": 2, "invalidation_age": 30.0}

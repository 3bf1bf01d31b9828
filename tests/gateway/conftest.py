"""Fixtures shared by the gateway tests (additive: the cache tests may add theirs here)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import create_app
from gateway.config import Config
from gateway.server import make_runner
from tests.gateway.cache_rig import CacheRig, OwnRedis, build_rig
from tests.relay import Relay

INGEST = "/api/v1/ingest"


@dataclass
class Received:
    method: str
    path_qs: str
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class RecordingUpstream:
    """A real aiohttp server standing in for the ingest service; records every request."""

    received: list[Received] = field(default_factory=list)
    status: int = 202
    body: bytes = b'{"accepted":true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.raw_path, request.headers, body))
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status, body=self.body, headers=CIMultiDict(self.headers))


@pytest.fixture
async def upstream(aiohttp_server: Any) -> RecordingUpstream:
    recorder = RecordingUpstream()
    # The recorder sees the bytes as the gateway sent them: no decompression on its side either.
    app = web.Application(client_max_size=64 * 1024 * 1024, handler_args={"auto_decompress": False})
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    recorder.server = await aiohttp_server(app)
    return recorder


class GatewayTestServer(TestServer):
    """The app served as `serve` serves it: through gateway.server's runner (connection limits,
    parser errors in the gateway's format)."""

    def __init__(self, config: Config, **kwargs: Any) -> None:
        super().__init__(create_app(config), **kwargs)
        self.config = config

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        return make_runner(self.app, self.config, **kwargs)


MakeGateway = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def make_gateway(
    aiohttp_client: Any, make_config: Callable[..., Config], upstream: RecordingUpstream
) -> MakeGateway:
    """A gateway client in front of the recording upstream; keyword arguments override settings."""

    async def make(**overrides: Any) -> TestClient:
        settings = {"ingest_upstream": upstream.url} | overrides
        client: TestClient = await aiohttp_client(GatewayTestServer(make_config(**settings)))
        return client

    return make


@dataclass(frozen=True)
class ApiKey:
    key: str
    key_id: uuid.UUID
    tenant_id: uuid.UUID

    @property
    def ingest_path(self) -> str:
        return f"{INGEST}/{self.tenant_id}/tok-1"


NewKey = Callable[..., Awaitable[ApiKey]]


@pytest.fixture
def new_key(new_tenant: Callable[..., Any], auth: Callable[..., dict[str, str]]) -> NewKey:
    """Create a key through the admin API of the given gateway (a fresh tenant unless named)."""

    async def create(gateway: TestClient, tenant_id: uuid.UUID | None = None) -> ApiKey:
        tenant_id = tenant_id or await new_tenant()
        r = await gateway.post("/api/v1/apikeys", json={"name": "ingest"}, headers=auth(tenant_id))
        assert r.status == 201, await r.text()
        body = await r.json()
        return ApiKey(body["key"], uuid.UUID(body["id"]), tenant_id)

    return create


# --- Key cache and fault fixtures (keycache/invalidation tests; reusable by the proxy tests) ---

# Short timeouts so fault tests finish fast; keyword arguments of fast_config override them.
FAST = {
    "redis_timeout": 0.25,  # the default: a loaded 2-core machine needs it for the first connect
    "redis_health_check_interval": 0.2,
    "pg_acquire_timeout": 0.5,
    "pg_command_timeout": 1.0,
}


@pytest.fixture
def fast_config(make_config: Callable[..., Config]) -> Callable[..., Config]:
    def make(**overrides: Any) -> Config:
        return make_config(**(FAST | overrides))

    return make


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A private Redis (Valkey) server for tests that stop, restart or SIGSTOP it."""
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def pg_relay(database_url: str) -> AsyncIterator[Relay]:
    """A relay in front of the test PostgreSQL; `relay.rewrite(database_url)` goes through it."""
    relay = await Relay.for_url(database_url)
    try:
        yield relay
    finally:
        await relay.close()


@pytest.fixture
async def make_rig() -> AsyncIterator[Callable[..., Awaitable[CacheRig]]]:
    """Build KeyCache rigs (one per simulated process); all are closed at the end of the test."""
    rigs: list[CacheRig] = []

    async def make(config: Config, *, listen: bool = True) -> CacheRig:
        rig = await build_rig(config, listen=listen)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        await rig.close()


ServeEnviron = Callable[..., dict[str, str]]
SERVE_SECRETS_KEY = "c2VydmUtdGVzdHMtc2VjcmV0cy1rZXktMzItYnl0ZXM="  # base64 of 32 bytes


@pytest.fixture
def serve_environ(config: Config) -> ServeEnviron:
    """The environment of a gateway subprocess: this session's stores and secret, nothing
    inherited from the caller's HOOKSENTRY_*; keyword arguments add settings (PORT="8080")."""

    def environ(**settings: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSENTRY_")}
        base = {
            "DATABASE_URL": config.database_url,
            "REDIS_URL": config.redis_url,
            "REDIS_PREFIX": config.redis_prefix,
            "JWT_SECRET": ",".join(config.jwt_secret),
            # Sources made by other tests in this session's database would make `serve` refuse
            # to start without a secrets key (SPEC §6).
            "SECRETS_KEY": ",".join(config.secrets_key) or SERVE_SECRETS_KEY,
        }
        return env | {f"HOOKSENTRY_{k}": v for k, v in (base | settings).items()}

    return environ

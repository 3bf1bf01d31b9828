"""Throwaway PostgreSQL databases and servers for tests and the bench; never used in production.

A named server is used as it is; without one, the embedded wheels (as `hooksentry-gateway dev`
uses them) start a private server in a temporary folder that is gone when the context exits.
Each run gets a fresh, migrated database of its own, dropped at the end.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from gateway.db import migrate
from gateway.embedded import run_postgres, run_valkey


@contextmanager
def postgres_or_throwaway(url: str | None) -> Iterator[str]:
    """The PostgreSQL server `url` names, else a throwaway embedded one (tests and bench)."""
    if url:
        yield url
        return
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hs-pg-"))
        yield run_postgres(Path(tmp) / "pgdata", stack)


@contextmanager
def redis_or_throwaway(url: str | None) -> Iterator[str]:
    """The Redis `url` names, else a throwaway embedded Valkey on a free loopback port."""
    if url:
        yield url
        return
    with ExitStack() as stack:
        yield run_valkey(stack)


def with_database(dsn: str, name: str) -> str:
    """The same server URL, another database (host:port and socket-directory URLs alike)."""
    return urlunsplit(urlsplit(dsn)._replace(path="/" + name))


async def create_database(server_dsn: str, prefix: str) -> str:
    """A new database named `prefix` + random suffix, migrated; returns its URL."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    await _admin(server_dsn, f'CREATE DATABASE "{name}"')
    dsn = with_database(server_dsn, name)
    await migrate(dsn)
    return dsn


async def drop_database(server_dsn: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    await _admin(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()

"""The PostgreSQL and Redis that tests talk to: the machine's (when configured) or embedded ones.

`HOOKSENTRY_TEST_DATABASE_URL` / `HOOKSENTRY_TEST_REDIS_URL` name running servers; without them
the embedded wheels start private servers in a temporary folder. Either way each test session
gets a fresh database, and a Redis key prefix of its own, so runs never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from bench.throwaway import (
    create_database,
    drop_database,
    postgres_or_throwaway,
    redis_or_throwaway,
    with_database,
)

__all__ = ["free_port", "fresh_database", "postgres_server", "redis_server", "with_database"]


def postgres_server() -> AbstractContextManager[str]:
    """The admin DSN of a PostgreSQL server (the `postgres` database)."""
    return postgres_or_throwaway(os.environ.get("HOOKSENTRY_TEST_DATABASE_URL"))


def redis_server() -> AbstractContextManager[str]:
    return redis_or_throwaway(os.environ.get("HOOKSENTRY_TEST_REDIS_URL"))


@contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new, migrated database for this test session; dropped at the end."""
    dsn = asyncio.run(create_database(server_dsn, "hs_test_"))
    try:
        yield dsn
    finally:
        asyncio.run(drop_database(server_dsn, dsn))


def free_port() -> int:
    """A loopback port nobody listens on right now (for servers a test starts itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

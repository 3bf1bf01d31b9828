"""PostgreSQL: the pool (with the timeouts asyncpg leaves off), named queries and migrations."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from gateway.config import ROOT, Config
from gateway.errors import StoreUnavailable
from gateway.keys import CONFIG, DB, PG_POOL, REPLICA_DB, REPLICA_POOL

log = logging.getLogger(__name__)
T = TypeVar("T")

SQL_DIR = ROOT / "sql"
MIGRATION_LOCK = 0x48_6B_53_6E  # pg_advisory_lock id shared by every migrating process
STORE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def load_queries(path: Path = SQL_DIR / "queries.sql") -> dict[str, str]:
    queries: dict[str, str] = {}
    for block in re.split(r"^-- name: ", path.read_text(), flags=re.M)[1:]:
        name, _, body = block.partition("\n")
        queries[name.strip()] = body.strip()
    return queries


QUERIES = load_queries()


async def create_pool(config: Config, dsn: str | None = None) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn or config.database_url,
        min_size=config.pg_pool_min,
        max_size=config.pg_pool_max,
        command_timeout=config.pg_command_timeout,
        timeout=config.pg_command_timeout,  # connect
        server_settings={"application_name": "hooksentry-gateway"},
    )
    return pool


async def pg_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pool = await create_pool(config)
    app[PG_POOL] = pool
    app[DB] = Database(pool, config)
    replica = None
    try:
        # A replica that is down at start is not fatal: lookups fall back to the primary,
        # and /readyz says so. asyncpg creates the pool's connections lazily beyond min_size.
        if config.database_replica_url:
            replica = await _replica_pool(config)
        app[REPLICA_POOL] = replica
        app[REPLICA_DB] = None if replica is None else Database(replica, config, "replica")
        yield
    finally:
        for closing in (replica, pool):
            if closing is not None:
                await _close_pool(closing)


async def _replica_pool(config: Config) -> asyncpg.Pool | None:
    try:
        return await create_pool(
            dataclasses.replace(config, pg_pool_min=0), config.database_replica_url
        )
    except STORE_ERRORS as exc:
        log.warning("postgresql replica not reachable at start: %s", type(exc).__name__)
        return None


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await pool.close()  # waits for connections to be released, bounded below
    except Exception:
        pool.terminate()


class Database:
    """Runs one statement on a pooled connection, bounded in time; failures -> StoreUnavailable."""

    def __init__(self, pool: asyncpg.Pool, config: Config, role: str = "primary"):
        self._pool = pool
        self._acquire_timeout = config.pg_acquire_timeout
        self._label = "postgresql" if role == "primary" else f"postgresql {role}"

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run("fetch", query, args)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        return await self._run("fetchrow", query, args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._run("fetchval", query, args)

    async def in_transaction(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` on one connection inside one transaction (a change and its audit row)."""
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                async with conn.transaction():
                    return await work(conn)
        except asyncpg.UniqueViolationError:
            raise
        except STORE_ERRORS as exc:
            log.warning("postgresql unavailable: %s", type(exc).__name__)
            raise StoreUnavailable() from exc

    async def _run(self, method: str, query: str, args: tuple[Any, ...]) -> Any:
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                return await getattr(conn, method)(query, *args)
        except asyncpg.UniqueViolationError:
            raise
        except STORE_ERRORS as exc:
            log.warning("%s unavailable: %s", self._label, type(exc).__name__)
            raise StoreUnavailable() from exc


async def migrate(dsn: str) -> list[str]:
    """Apply the numbered migrations not yet applied, under an advisory lock; return their names."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        await conn.execute(QUERIES["lock_migrations"], MIGRATION_LOCK)
        try:
            return await _apply_pending(conn)
        finally:
            await conn.execute(QUERIES["unlock_migrations"], MIGRATION_LOCK)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection) -> list[str]:
    await conn.execute(QUERIES["create_migrations_table"])
    done = {r["version"] for r in await conn.fetch(QUERIES["applied_migrations"])}
    applied = []
    for path in sorted(SQL_DIR.glob("[0-9][0-9][0-9]_*.sql")):
        if path.stem in done:
            continue
        async with conn.transaction():
            await conn.execute(path.read_text())
            await conn.execute(QUERIES["record_migration"], path.stem)
        log.info("applied migration %s", path.stem)
        applied.append(path.stem)
    return applied

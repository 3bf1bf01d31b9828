"""Migrations: numbered, applied once, safe when several processes start together."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gateway.db import SQL_DIR, migrate
from tests.services import with_database

MIGRATIONS = sorted(p.stem for p in SQL_DIR.glob("[0-9][0-9][0-9]_*.sql"))


@pytest.fixture
async def empty_database(pg_server: str) -> AsyncIterator[str]:
    """A brand-new database on the test server, dropped afterwards."""
    name = f"hs_mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield with_database(pg_server, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def applied(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        return [r["version"] for r in rows]
    finally:
        await conn.close()


def test_migrations_are_numbered_without_gaps() -> None:
    numbers = [int(name[:3]) for name in MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))


async def test_two_processes_migrating_together_apply_each_migration_once(
    empty_database: str,
) -> None:
    first, second = await asyncio.gather(migrate(empty_database), migrate(empty_database))

    assert sorted(first + second) == MIGRATIONS
    assert [] in (first, second)
    assert await applied(empty_database) == MIGRATIONS


async def test_many_concurrent_migrations_on_a_fresh_database_do_not_fail(
    empty_database: str,
) -> None:
    results = await asyncio.gather(*(migrate(empty_database) for _ in range(5)))

    assert sorted(name for names in results for name in names) == MIGRATIONS
    assert await applied(empty_database) == MIGRATIONS


async def test_migrating_again_applies_nothing_and_keeps_data(empty_database: str) -> None:
    assert await migrate(empty_database) == MIGRATIONS
    conn = await asyncpg.connect(empty_database)
    try:
        tenant = uuid.uuid4()
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'Kept')", tenant)

        assert await migrate(empty_database) == []

        assert await conn.fetchval("SELECT name FROM tenants WHERE id = $1", tenant) == "Kept"
    finally:
        await conn.close()


async def test_the_schema_keeps_one_row_per_key_hash_and_only_32_byte_hashes(
    empty_database: str,
) -> None:
    await migrate(empty_database)
    conn = await asyncpg.connect(empty_database)
    try:
        tenant = uuid.uuid4()
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'T')", tenant)
        insert = "INSERT INTO api_keys (id, tenant_id, name, key_hash) VALUES ($1, $2, 'k', $3)"
        await conn.execute(insert, uuid.uuid4(), tenant, b"h" * 32)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, uuid.uuid4(), tenant, b"h" * 32)
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(insert, uuid.uuid4(), tenant, b"short")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.execute(insert, uuid.uuid4(), uuid.uuid4(), b"o" * 32)
    finally:
        await conn.close()

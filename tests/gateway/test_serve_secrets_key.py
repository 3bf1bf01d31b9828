"""`serve` and HOOKSENTRY_SECRETS_KEY (SPEC §6), run as a user runs the command.

Each test has a database of its own: a source row in the session's database would make every
other `serve` of the run refuse to start.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import Callable, Iterator

import asyncpg
import pytest

from gateway.config import Config
from gateway.secretbox import SecretBox, generate_key
from gateway.secrets_check import sources_exist
from tests.gateway.conftest import ServeEnviron
from tests.services import free_port, fresh_database

CLI = [sys.executable, "-m", "gateway"]


@pytest.fixture
def own_database(pg_server: str) -> Iterator[str]:
    with fresh_database(pg_server) as dsn:
        yield dsn


@pytest.fixture
def environ(serve_environ: ServeEnviron, own_database: str) -> Callable[..., dict[str, str]]:
    def make(**settings: str) -> dict[str, str]:
        base = {
            "DATABASE_URL": own_database,
            "INGEST_UPSTREAM": "http://127.0.0.1:9",
            "PG_POOL_MIN": "1",
            "PG_POOL_MAX": "2",
            "LOG_LEVEL": "INFO",
            "SECRETS_KEY": "",
        }
        return serve_environ(**(base | settings))

    return make


async def add_source(dsn: str, key: str) -> None:
    """A source as the admin API stores it: its secret sealed under `key`."""
    tenant_id, source_id = uuid.uuid4(), uuid.uuid4()
    blob = SecretBox.from_keys([key]).encrypt(b"0123456789abcdef0123456789abcdef")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'Acme')", tenant_id)
        await conn.execute(
            "INSERT INTO sources (id, tenant_id, name, provider, token)"
            " VALUES ($1, $2, 'GitHub', 'github', 'gh')",
            source_id,
            tenant_id,
        )
        await conn.execute(
            "INSERT INTO source_secrets (id, source_id, ciphertext) VALUES ($1, $2, $3)",
            uuid.uuid4(),
            source_id,
            blob,
        )
    finally:
        await conn.close()


async def serve_until_listening(env: dict[str, str]) -> None:
    """Start `serve`, wait for its worker to listen, stop it with SIGTERM; it must exit 0."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "serve",
        "--port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen: list[bytes] = []
    try:
        while not seen or b"listening on" not in seen[-1]:
            line = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert line, "serve exited before listening: " + b"".join(seen).decode()
            seen.append(line)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_serve_with_sources_and_no_secrets_key_refuses_with_one_line(
    environ: Callable[..., dict[str, str]], own_database: str
) -> None:
    await add_source(own_database, generate_key())
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "serve",
        "--port",
        str(free_port()),
        env=environ(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    text = err.decode()
    assert text.count("\n") == 1 and "Traceback" not in text, text
    assert text.startswith("hooksentry-gateway: configuration error: sources exist")
    assert "HOOKSENTRY_SECRETS_KEY (secrets_key) is not set" in text
    assert out == b""


async def test_serve_with_sources_and_a_secrets_key_starts(
    environ: Callable[..., dict[str, str]], own_database: str
) -> None:
    old, new = generate_key(), generate_key()
    await add_source(own_database, old)
    await serve_until_listening(environ(SECRETS_KEY=f"{new},{old}"))


async def test_serve_without_sources_needs_no_secrets_key(
    environ: Callable[..., dict[str, str]],
) -> None:
    await serve_until_listening(environ())


async def test_a_database_before_the_sources_migration_has_no_sources(
    own_database: str, make_config: Callable[..., Config]
) -> None:
    config = make_config(database_url=own_database)
    await add_source(own_database, generate_key())
    assert await sources_exist(config)
    conn = await asyncpg.connect(own_database)
    try:
        await conn.execute("DROP TABLE source_secrets, sources")
    finally:
        await conn.close()
    assert not await sources_exist(config)

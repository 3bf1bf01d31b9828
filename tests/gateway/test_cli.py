"""The `hooksentry-gateway` command as a user runs it: a real subprocess, real stores."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
import asyncpg
import jwt
import pytest

from gateway.config import Config
from tests.gateway.cache_rig import eventually
from tests.gateway.conftest import ServeEnviron
from tests.services import free_port

CLI = [sys.executable, "-m", "gateway"]


@pytest.fixture
def cli_env(serve_environ: ServeEnviron) -> dict[str, str]:
    return serve_environ(LOG_LEVEL="WARNING")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def test_tenant_create_list_and_deactivate(cli_env: dict[str, str]) -> None:
    wanted = uuid.uuid4()
    created = run(cli_env, "tenant", "create", "--name", "Globex", "--id", str(wanted))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == str(wanted)

    listed = run(cli_env, "tenant", "list")
    assert re.search(rf"^{wanted}\s+active\s+\S+\s+Globex$", listed.stdout, re.M)

    assert run(cli_env, "tenant", "deactivate", str(wanted)).returncode == 0
    assert re.search(rf"^{wanted}\s+inactive", run(cli_env, "tenant", "list").stdout, re.M)
    missing = run(cli_env, "tenant", "deactivate", str(uuid.uuid4()))
    assert missing.returncode == 1 and "no tenant" in missing.stderr


async def test_deactivating_a_tenant_stops_its_cached_keys_at_once(
    cli_env: dict[str, str], make_gateway: Callable[..., Any], new_key: Callable[..., Any]
) -> None:
    gateway = await make_gateway()
    key = await new_key(gateway)
    headers = {"X-Api-Key": key.key}
    assert (await gateway.post(key.ingest_path, data=b"{}", headers=headers)).status == 202

    proc = await asyncio.create_subprocess_exec(
        *CLI, "tenant", "deactivate", str(key.tenant_id), env=cli_env
    )
    assert await proc.wait() == 0

    async def rejected() -> bool:
        r = await gateway.post(key.ingest_path, data=b"{}", headers=headers)
        return r.status == 401

    # The key was in this process's L1 (60 s) and in Redis as active (300 s): only the
    # revocation markers and invalidations the command sends can stop it this soon.
    await eventually(rejected, within=5)


async def test_deactivating_a_tenant_stops_its_cached_sources_at_once(
    cli_env: dict[str, str],
    make_gateway: Callable[..., Any],
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
) -> None:
    from tests.gateway.signing import signed_headers
    from tests.gateway.sources_fixtures import create_source

    gateway = await make_gateway()
    source = await create_source(gateway, auth(tenant), tenant, "github")
    headers = signed_headers("github", source.secret, b"{}")
    assert (await gateway.post(source.path, data=b"{}", headers=headers)).status == 202

    proc = await asyncio.create_subprocess_exec(
        *CLI, "tenant", "deactivate", str(tenant), env=cli_env
    )
    assert await proc.wait() == 0

    async def rejected() -> bool:
        r = await gateway.post(source.path, data=b"{}", headers=headers)
        return r.status == 401  # no source any more: an X-Api-Key is required

    await eventually(rejected, within=5)


def test_store_errors_are_one_line_not_a_traceback(cli_env: dict[str, str]) -> None:
    tenant = str(uuid.uuid4())
    assert run(cli_env, "tenant", "create", "--name", "A", "--id", tenant).returncode == 0
    again = run(cli_env, "tenant", "create", "--name", "A", "--id", tenant)
    assert again.returncode == 1
    assert again.stderr.strip() == f"hooksentry-gateway: a tenant with id {tenant} already exists"

    down = cli_env | {"HOOKSENTRY_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    out = run(down, "migrate")
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr


def test_token_is_signed_with_the_configured_secret(
    cli_env: dict[str, str], config: Config
) -> None:
    tenant = uuid.uuid4()
    out = run(cli_env, "token", "--tenant", str(tenant), "--role", "Viewer", "--ttl", "120")
    assert out.returncode == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), config.jwt_secret[0], algorithms=["HS256"])
    assert claims["tenantId"] == str(tenant) and claims["role"] == "Viewer"
    assert claims["exp"] - claims["iat"] == 120


def test_migrate_reports_an_up_to_date_database(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "migrate")
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOOKSENTRY_PORT": "eighty"}, "HOOKSENTRY_PORT (port) has a bad value"),
        ({"HOOKSENTRY_DATABASE_URL": "mysql://x"}, "HOOKSENTRY_DATABASE_URL (database_url) must"),
        ({"HOOKSENTRY_JWT_SECRET": "short"}, "HOOKSENTRY_JWT_SECRET (jwt_secret) entries must"),
    ],
)
def test_bad_configuration_is_one_line_not_a_traceback(
    cli_env: dict[str, str], env: dict[str, str], message: str
) -> None:
    out = run(cli_env | env, "serve")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_without_a_database_names_the_missing_setting(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k != "HOOKSENTRY_DATABASE_URL"}
    out = run(env, "serve")
    assert out.returncode == 2
    assert out.stderr.strip().endswith("HOOKSENTRY_DATABASE_URL (database_url) is not set")


async def test_dev_quickstart_gets_202_then_401_after_the_printed_revoke_and_a_signed_202(
    tmp_path: Path,
) -> None:
    """The README's first command on a machine with nothing configured: embedded everything."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSENTRY_")}
    env |= {"HOOKSENTRY_DATA_DIR": str(tmp_path / "data"), "HOOKSENTRY_PORT": str(port)}
    log = tmp_path / "dev.log"
    proc = await asyncio.create_subprocess_exec(
        *CLI, "dev", env=env, stdout=asyncio.subprocess.PIPE, stderr=log.open("wb")
    )
    try:
        banner = await asyncio.wait_for(_read_banner(proc, log), 60)
        send = _curl(banner, "Send a webhook")
        revoke = _curl(banner, "revoke the quickstart key", skip=1)
        signed = _curl(banner, "Send a signed GitHub-style delivery")
        assert "X-Api-Key" not in signed
        assert re.search(r"secret: +[0-9a-f]{64}   \(shown once\)", banner)
        async with aiohttp.ClientSession() as http:
            assert await _replay(http, send) == 202
            assert await _replay(http, signed) == 202
            assert await _replay(http, revoke) == 200
            assert await _replay(http, send) == 401
            assert await _replay(http, signed) == 200  # verified, and a duplicate (SPEC §7)
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 30) == 0


async def test_dev_keeps_its_github_source_across_restarts(tmp_path: Path) -> None:
    """The secret pasted into GitHub keeps working: a restart shows it no more, and the printed
    delivery is signed with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSENTRY_")}
    env |= {"HOOKSENTRY_DATA_DIR": str(tmp_path / "data"), "HOOKSENTRY_PORT": str(free_port())}
    banners = []
    for expected in (202, 200):  # the second time, the same delivery is a verified duplicate
        log = tmp_path / f"dev-{expected}.log"
        proc = await asyncio.create_subprocess_exec(
            *CLI, "dev", env=env, stdout=asyncio.subprocess.PIPE, stderr=log.open("wb")
        )
        try:
            banners.append(await asyncio.wait_for(_read_banner(proc, log), 60))
            signed = _curl(banners[-1], "Send a signed GitHub-style delivery")
            async with aiohttp.ClientSession() as http:
                assert await _replay(http, signed) == expected
        finally:
            proc.terminate()
            assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert "(shown once)" in banners[0] and "(shown when it was created)" in banners[1]
    first = _curl(banners[0], "Send a signed GitHub-style delivery")
    assert first == _curl(banners[1], "Send a signed GitHub-style delivery")  # same secret


async def _read_banner(proc: asyncio.subprocess.Process, log: Path) -> str:
    assert proc.stdout is not None
    lines = []
    while not lines or not lines[-1].startswith("Console:"):
        line = await proc.stdout.readline()
        assert line, "dev exited before printing its quickstart:\n" + log.read_text()[-3000:]  # noqa: ASYNC240
        lines.append(line.decode().strip())
    return "\n".join(lines)


def _curl(banner: str, heading: str, skip: int = 0) -> str:
    """The curl command printed under a heading (continuation lines joined)."""
    after = banner.split(heading, 1)[1].splitlines()[1:]
    commands = " ".join(after).replace("\\ ", " ").split("curl ")[1:]
    return commands[skip]


async def _replay(http: aiohttp.ClientSession, command: str) -> int:
    method = re.search(r"-X (\w+)", command)
    url = re.search(r"(http://\S+)", command)
    headers = dict(h.split(": ", 1) for h in re.findall(r"-H '([^']+)'", command))
    data = re.search(r"-d '([^']+)'", command)
    assert url is not None
    async with http.request(
        method.group(1) if method else "GET",
        url.group(1),
        headers=headers,
        data=data.group(1) if data else None,
    ) as r:
        return r.status


def test_version_prints_the_installed_package_version(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"hooksentry-gateway {importlib.metadata.version('hooksentry-gateway')}\n"


async def test_serve_says_once_what_it_serves_and_which_stores_it_reached(
    cli_env: dict[str, str], config: Config
) -> None:
    port = free_port()
    # A password in the URL (PostgreSQL here trusts loopback and ignores it): never printed.
    pg = urlsplit(config.database_url)
    at = f"{pg.hostname}:{pg.port}" if pg.hostname else ""  # embedded: a socket in ?host=
    database_url = urlunsplit(pg._replace(netloc=f"{pg.username}:pw-s3cr3t@{at}"))
    env = cli_env | {
        "HOOKSENTRY_LOG_LEVEL": "INFO",
        "HOOKSENTRY_ACCESS_LOG": "false",
        "HOOKSENTRY_PORT": str(port),
        "HOOKSENTRY_WORKERS": "2",
        "HOOKSENTRY_DATABASE_URL": database_url,
        "HOOKSENTRY_INGEST_UPSTREAM": f"http://127.0.0.1:{free_port()}",
    }
    proc = await asyncio.create_subprocess_exec(
        *CLI, "serve", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert proc.stdout is not None
    output: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not any("serving on" in line for line in output):
                line = await proc.stdout.readline()
                assert line, "serve exited before its start-up line:\n" + "".join(output)
                output.append(line.decode())
    finally:
        proc.terminate()
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        output.append(rest.decode())
    text = "".join(output)
    pg_host = pg.hostname or parse_qs(pg.query)["host"][0]
    redis = urlsplit(config.redis_url)
    expected = (
        f"hooksentry-gateway {importlib.metadata.version('hooksentry-gateway')} serving on "
        f"127.0.0.1:{port}, 2 workers, PostgreSQL {pg_host}:{pg.port or 5432}{pg.path}, "
        f"Redis {redis.hostname}:{redis.port}{redis.path}"
    )
    assert text.count("serving on") == 1 and expected in text, text
    assert "pw-s3cr3t" not in text and "Traceback" not in text


def test_start_up_line_says_which_store_was_not_reached() -> None:
    from gateway.config import load_config
    from gateway.startup import startup_line

    config = load_config(
        {},
        overrides={
            "database_url": "postgresql://app:hunter2@db.internal:6543/hooks?sslmode=require",
            "redis_url": "redis://:hunter2@cache.internal/2",
            "workers": 1,
        },
    )
    line = startup_line(config, {"PostgreSQL": True, "Redis": False})
    assert line.endswith(
        ", 1 worker, PostgreSQL db.internal:6543/hooks, Redis cache.internal:6379/2 (not reached)"
    )
    assert "hunter2" not in line and "app" not in line.split("serving on")[1]


async def test_tenant_commands_are_audited_with_actor_cli(
    cli_env: dict[str, str], db: asyncpg.Connection
) -> None:
    tenant = uuid.uuid4()
    for args in (["create", "--name", "Audited", "--id", str(tenant)], ["deactivate", str(tenant)]):
        done = await asyncio.to_thread(run, cli_env, "tenant", *args)
        assert done.returncode == 0, done.stderr

    rows = await db.fetch(
        "SELECT actor, action, target_id FROM audit_log WHERE tenant_id = $1 ORDER BY at", tenant
    )
    assert [(r["actor"], r["action"], r["target_id"]) for r in rows] == [
        ("cli", "tenant.create", str(tenant)),
        ("cli", "tenant.deactivate", str(tenant)),
    ]

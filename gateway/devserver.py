"""`hooksentry-gateway dev`: the whole thing on one machine, with nothing installed beforehand.

Embedded PostgreSQL and Valkey (unless URLs are configured), a stand-in ingest upstream, one
tenant, a fresh API key, and the commands to try it printed on start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import uuid
from contextlib import ExitStack
from pathlib import Path

from aiohttp import web

from admin_api.service import CreatedKey
from admin_api.store import TenantStore
from admin_api.views import key_service_of
from gateway.access_log import AccessLogger
from gateway.app import create_app
from gateway.config import Config, ConfigError
from gateway.db import Database, migrate
from gateway.embedded import with_embedded
from gateway.keys import DB
from gateway.secretbox import decode_keys, generate_key
from gateway.standin import create_standin_app
from gateway.tokens import Principal, Role, mint_token

DEV_TENANT = "Dev tenant"


def run_dev(config: Config) -> int:
    with ExitStack() as stack:
        config = with_embedded(config, stack)
        if not config.secrets_key:
            config = dataclasses.replace(config, secrets_key=(dev_secrets_key(config),))
        asyncio.run(_serve(config))
    return 0


def dev_secrets_key(config: Config) -> str:
    """The secrets key `dev` made on first start, kept in data_dir beside its JWT secret, so the
    source secrets it encrypted stay readable across restarts."""
    path = Path(config.data_dir).expanduser().resolve() / "secrets_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(generate_key())
    key = path.read_text().strip()
    try:
        decode_keys([key])
    except ValueError:
        raise ConfigError(
            f"{path} does not hold a secrets key (the base64 of 32 bytes); delete it to make a "
            "new one (the secrets of sources created with the old one are then lost)"
        ) from None
    return key


async def _serve(config: Config) -> None:
    await migrate(config.database_url)
    runners: list[web.AppRunner] = []
    try:
        if not config.ingest_upstream:
            standin = await _start(create_standin_app(), "127.0.0.1", 0, runners)
            config = dataclasses.replace(config, ingest_upstream=f"http://127.0.0.1:{standin}")
        app = create_app(config)
        port = await _start(app, config.host, config.port, runners)
        tenant_id = await _dev_tenant(app[DB])
        key = await _fresh_key(app, tenant_id)
        # Handlers first: whoever reads the banner may send SIGTERM as soon as it appears.
        stop = _stop_on_signals()
        _print_quickstart(config, port, tenant_id, key)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def _start(app: web.Application, host: str, port: int, runners: list[web.AppRunner]) -> int:
    runner = web.AppRunner(app, handle_signals=False, access_log_class=AccessLogger)
    await runner.setup()
    runners.append(runner)
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return int(runner.addresses[-1][1])  # the port actually bound (0 asks for a free one)


async def _dev_tenant(db: Database) -> uuid.UUID:
    tenants = TenantStore(db)
    for row in await tenants.all():
        if row.name == DEV_TENANT and row.is_active:
            return row.id
    return (await tenants.create(uuid.uuid4(), DEV_TENANT)).id


async def _fresh_key(app: web.Application, tenant_id: uuid.UUID) -> CreatedKey:
    owner = Principal(tenant_id, Role.OWNER, "dev")
    return await key_service_of(app).create(owner, {"name": "quickstart"})


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _print_quickstart(config: Config, port: int, tenant_id: uuid.UUID, created: CreatedKey) -> None:
    key = created.key
    base = f"http://{config.host}:{port}"
    token = mint_token(config, tenant_id, Role.OWNER, ttl=24 * 3600)
    print(
        f"""
HookSentry Gateway (dev) listening on {base}   upstream: {config.ingest_upstream}
tenant:       {tenant_id}
bearer token: {token}
api key:      {key}   (shown once; create more with the admin API)

Send a webhook through the gateway (202):
  curl -i -X POST {base}/api/v1/ingest/{tenant_id}/demo -H 'X-Api-Key: {key}' \\
       -H 'Content-Type: application/json' -d '{{"event":"ping"}}'
Create another key:
  curl -i -X POST {base}/api/v1/apikeys -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d '{{"name":"my key"}}'
List keys; revoke the quickstart key (the webhook line above then answers 401):
  curl -s {base}/api/v1/apikeys -H 'Authorization: Bearer {token}'
  curl -i -X DELETE {base}/api/v1/apikeys/{created.row.id} -H 'Authorization: Bearer {token}'
Console: {base}/console   (sign in with the bearer token)      Stop: Ctrl-C
""",
        flush=True,
    )

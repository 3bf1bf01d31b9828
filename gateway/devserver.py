"""`hooksentry-gateway dev`: the whole thing on one machine, with nothing installed beforehand.

Embedded PostgreSQL and Valkey (unless URLs are configured), a stand-in ingest upstream, one
tenant, a fresh API key, a GitHub source, and the commands to try them printed on start.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import signal
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from aiohttp import web

from admin_api.service import CreatedKey
from admin_api.sources_service import SourceConflict
from admin_api.sources_views import source_service_of
from admin_api.store import TenantStore
from admin_api.views import key_service_of
from gateway.access_log import AccessLogger
from gateway.app import create_app
from gateway.config import Config, ConfigError
from gateway.db import Database, migrate
from gateway.embedded import with_embedded
from gateway.keys import DB, SOURCE_CACHE
from gateway.secretbox import decode_keys, generate_key
from gateway.standin import create_standin_app
from gateway.tokens import Principal, Role, mint_token

DEV_TENANT = "Dev tenant"
GITHUB_TOKEN = "github"  # the quickstart source's {token}
GITHUB_BODY = '{"zen":"Keep it logically awesome.","hook_id":1}'


@dataclasses.dataclass(frozen=True, slots=True)
class Quickstart:
    tenant_id: uuid.UUID
    key: CreatedKey
    github_secret: str | None  # only on the start that created the source: shown once
    github_signature: str  # X-Hub-Signature-256 of GITHUB_BODY under the source's newest secret


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
        secret = await _github_source(app, tenant_id)
        quickstart = Quickstart(tenant_id, key, secret, await _github_signature(app, tenant_id))
        # Handlers first: whoever reads the banner may send SIGTERM as soon as it appears.
        stop = _stop_on_signals()
        _print_quickstart(config, port, quickstart)
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


async def _github_source(app: web.Application, tenant_id: uuid.UUID) -> str | None:
    """The quickstart's GitHub source: created on the first start (its generated secret is
    returned, to be shown once), kept as it is on later starts (None)."""
    owner = Principal(tenant_id, Role.OWNER, "dev")
    body = {"name": "GitHub (quickstart)", "provider": "github", "token": GITHUB_TOKEN}
    try:
        return (await source_service_of(app).create(owner, body)).secret
    except SourceConflict:
        return None


async def _github_signature(app: web.Application, tenant_id: uuid.UUID) -> str:
    """What GitHub would send for GITHUB_BODY, signed with the source's newest secret (read
    through the gateway's own source cache; the secret itself is not printed again)."""
    source = await app[SOURCE_CACHE].source_for(str(tenant_id), GITHUB_TOKEN)
    assert source is not None
    key = source.keys_at(time.time())[-1]
    return "sha256=" + hmac.new(key, GITHUB_BODY.encode(), hashlib.sha256).hexdigest()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _print_quickstart(config: Config, port: int, quickstart: Quickstart) -> None:
    tenant_id, created = quickstart.tenant_id, quickstart.key
    key = created.key
    base = f"http://{config.host}:{port}"
    github_url = f"{base}/api/v1/ingest/{tenant_id}/{GITHUB_TOKEN}"
    secret = quickstart.github_secret
    shown = f"{secret}   (shown once)" if secret else "(shown when it was created)"
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
A GitHub source: senders that sign instead of sending X-Api-Key (GitHub: Settings > Webhooks >
Add webhook; Payload URL below, Content type application/json, Secret below):
  payload URL:    {github_url}
  secret:         {shown}
Send a signed GitHub-style delivery, no X-Api-Key (202; the same one again: 200, a duplicate):
  curl -i -X POST {github_url} -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' \\
       -H 'X-Hub-Signature-256: {quickstart.github_signature}' -d '{GITHUB_BODY}'
Console: {base}/console   (sign in with the bearer token)      Stop: Ctrl-C
""",
        flush=True,
    )

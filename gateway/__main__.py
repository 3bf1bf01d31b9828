"""The `hooksentry-gateway` command: serve, dev, migrate, tenant, token."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import asyncpg

from gateway.config import Config, ConfigError, load_config, require
from gateway.errors import GatewayError
from gateway.tokens import Role, mint_token


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(os.environ, overrides=_overrides(args))
        from gateway.logs import configure_logging

        configure_logging(config)
        result: int = args.run(config, args)
        return result
    except ConfigError as exc:
        print(f"hooksentry-gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError, GatewayError) as exc:
        # A store that is down or says no: one line for the operator, not a traceback.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"hooksentry-gateway: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = ("host", "port", "workers")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _parser() -> argparse.ArgumentParser:
    from gateway.startup import PACKAGE, version

    parser = argparse.ArgumentParser(prog="hooksentry-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"{PACKAGE} {version()}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = _command(sub, "serve", cmd_serve, "run the gateway (stores from configuration)")
    serve.add_argument("--workers", type=int, help="processes sharing the port (SO_REUSEPORT)")
    _listen_args(serve)
    dev = _command(
        sub, "dev", cmd_dev, "run everything locally: embedded stores, stand-in upstream"
    )
    _listen_args(dev)
    _command(sub, "migrate", cmd_migrate, "apply pending database migrations")

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(required=True)
    create = _command(tenant, "create", cmd_tenant_create, "create a tenant; prints its id")
    create.add_argument("--name", required=True, type=_tenant_name)
    create.add_argument("--id", type=uuid.UUID, help="use this UUID instead of a new one")
    _command(tenant, "list", cmd_tenant_list, "list tenants")
    deactivate = _command(tenant, "deactivate", cmd_tenant_deactivate, "deactivate a tenant")
    deactivate.add_argument("id", type=uuid.UUID)

    token = _command(sub, "token", cmd_token, "mint a development JWT for the admin API")
    token.add_argument("--tenant", type=uuid.UUID, required=True)
    token.add_argument(
        "--role", type=_role, default=Role.OWNER, help="Owner|Admin|Developer|Viewer"
    )
    token.add_argument("--ttl", type=int, default=900, help="lifetime in seconds (default 900)")
    return parser


def _command(sub: Any, name: str, run: Callable[..., int], help: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(run=run)
    return parser


def _listen_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (HOOKSENTRY_HOST)")
    parser.add_argument("--port", type=int, help="listen port (HOOKSENTRY_PORT)")


def _tenant_name(text: str) -> str:
    name = text.strip()
    if not 1 <= len(name) <= 200:
        raise argparse.ArgumentTypeError("a tenant name is 1 to 200 characters")
    return name


def _role(text: str) -> Role:
    role = Role.parse(int(text) if text.isdigit() else text)
    if role is None:
        raise argparse.ArgumentTypeError(f"unknown role {text!r}")
    return role


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    require(config, "database_url", "redis_url", "jwt_secret", "ingest_upstream")
    from gateway.secrets_check import missing_secrets_key

    problem = missing_secrets_key(config)
    if problem:
        raise ConfigError(problem)
    from gateway.workers import serve

    return serve(config)


def cmd_dev(config: Config, args: argparse.Namespace) -> int:
    from gateway.devserver import run_dev

    return run_dev(config)


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    from gateway.db import migrate

    with ExitStack() as stack:
        config = _with_database(config, stack)
        applied = asyncio.run(migrate(config.database_url))
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def cmd_tenant_create(config: Config, args: argparse.Namespace) -> int:
    try:
        row = _run_tenants(config, lambda s: s.create(args.id or uuid.uuid4(), args.name))
    except asyncpg.UniqueViolationError:
        print(f"hooksentry-gateway: a tenant with id {args.id} already exists", file=sys.stderr)
        return 1
    print(row.id)
    return 0


def cmd_tenant_list(config: Config, args: argparse.Namespace) -> int:
    for row in _run_tenants(config, lambda s: s.all()):
        state = "active" if row.is_active else "inactive"
        print(f"{row.id}  {state:<8}  {row.created_at:%Y-%m-%d}  {row.name}")
    return 0


def cmd_tenant_deactivate(config: Config, args: argparse.Namespace) -> int:
    from admin_api.service import deactivate_tenant
    from gateway.apikeys import KEY_CODEC
    from gateway.l2 import RedisL2
    from gateway.redis_client import close_redis, create_redis
    from gateway.secretbox import SecretBox
    from gateway.sources import SourceSetCodec

    async def deactivate(store: Any) -> bool:
        if not config.redis_url:  # the keys still die within the cache TTLs
            print("note: no Redis configured; cached keys expire within their TTLs")
            return await deactivate_tenant(store, None, args.id)
        client = create_redis(config)
        l2 = RedisL2(client, config, KEY_CODEC)
        box = SecretBox.from_keys(config.secrets_key)
        sources = RedisL2(client, config, SourceSetCodec(box))
        try:
            return await deactivate_tenant(store, l2, args.id, sources)
        finally:
            await l2.cancel_background()  # a one-shot command: a failed marker was logged above
            await sources.cancel_background()
            await close_redis(client)

    if not _run_tenants(config, deactivate):
        print(f"hooksentry-gateway: no tenant {args.id}", file=sys.stderr)
        return 1
    print(f"deactivated {args.id}")
    return 0


def cmd_token(config: Config, args: argparse.Namespace) -> int:
    if not config.jwt_secret:
        from gateway.embedded import dev_secret

        config = dataclasses.replace(config, jwt_secret=(dev_secret(config),))
    print(mint_token(config, args.tenant, args.role, ttl=args.ttl))
    return 0


def _with_database(config: Config, stack: ExitStack) -> Config:
    """The configured database, or the embedded one that `dev` uses."""
    if config.database_url:
        return config
    from gateway.embedded import with_embedded

    return with_embedded(config, stack, redis=False)


def _run_tenants(config: Config, action: Callable[[Any], Any]) -> Any:
    from admin_api.store import TenantStore
    from gateway.db import Database, create_pool

    async def run(config: Config) -> Any:
        pool = await create_pool(dataclasses.replace(config, pg_pool_min=1, pg_pool_max=1))
        try:
            return await action(TenantStore(Database(pool, config)))
        finally:
            await pool.close()

    with ExitStack() as stack:
        return asyncio.run(run(_with_database(config, stack)))


if __name__ == "__main__":
    sys.exit(main())

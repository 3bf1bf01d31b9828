"""What `serve` says once it is up, and what `--version` prints.

One line an operator can read at a glance: the version, where the gateway listens, how many
workers, and which stores it reached. Store URLs are shown as host, port and database only:
never a user name or a password.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from urllib.parse import parse_qs, urlsplit

import asyncpg

from gateway.config import Config
from gateway.redis_client import REDIS_ERRORS, close_redis, create_redis
from gateway.redis_url import parse_redis_url

PACKAGE = "hooksentry-gateway"


def version() -> str:
    try:
        return package_version(PACKAGE)
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def describe_url(url: str, default_port: int) -> str:
    """`host:port/database` from a store URL; credentials and options are left out."""
    parts = urlsplit(url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    database = parts.path.lstrip("/")
    return f"{host}:{port}/{database}" if database else f"{host}:{port}"


def describe_redis(url: str) -> str:
    """Like describe_url, for every HOOKSENTRY_REDIS_URL form (no password)."""
    target = parse_redis_url(url)
    if target.mode == "single":
        return describe_url(url, 6379)
    first = "{}:{}".format(*target.nodes[0])
    if target.mode == "cluster":
        return f"cluster via {first} (+{len(target.nodes) - 1} seed nodes)"
    return f"sentinel master {target.master!r} via {first} (+{len(target.nodes) - 1} sentinels)"


def startup_line(config: Config, reached: dict[str, bool]) -> str:
    workers = f"{config.workers} worker" + ("" if config.workers == 1 else "s")
    stores = [
        f"PostgreSQL {describe_url(config.database_url, 5432)}",
        f"Redis {describe_redis(config.redis_url)}",
    ]
    shown = [s if reached.get(s.split(" ")[0], False) else f"{s} (not reached)" for s in stores]
    return f"{PACKAGE} {version()} serving on {config.host}:{config.port}, {workers}, " + ", ".join(
        shown
    )


async def reach_stores(config: Config) -> dict[str, bool]:
    """Whether each store answers now (one connection each, bounded by its timeout)."""
    postgres, redis = await asyncio.gather(_reach_postgres(config), _reach_redis(config))
    return {"PostgreSQL": postgres, "Redis": redis}


async def _reach_postgres(config: Config) -> bool:
    try:
        conn = await asyncpg.connect(config.database_url, timeout=config.pg_command_timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _reach_redis(config: Config) -> bool:
    client = create_redis(config)
    try:
        return bool(await client.ping())
    except REDIS_ERRORS:
        return False
    finally:
        await close_redis(client)


async def announce(config: Config) -> str:
    return startup_line(config, await reach_stores(config))

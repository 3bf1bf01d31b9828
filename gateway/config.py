"""Configuration: defaults file -> optional file -> HOOKSENTRY_* environment, parsed once.

`config/default.toml` is the documented source of the defaults. Every setting is a flat key
there; its environment variable is `HOOKSENTRY_` + the key in upper case. The loader takes an
`environ` mapping so tests never patch `os.environ`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.redis_url import SCHEMES, BadRedisUrl, parse_redis_url
from gateway.secretbox import decode_keys

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_FILE = ROOT / "config" / "default.toml"
ENV_PREFIX = "HOOKSENTRY_"
MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    host: str
    port: int
    database_url: str
    database_replica_url: str
    redis_url: str
    redis_prefix: str
    jwt_secret: tuple[str, ...]
    jwt_algorithms: tuple[str, ...]
    jwt_issuer: str
    jwt_audience: str
    jwt_leeway: float
    jwt_tenant_claim: str
    jwt_max_lifetime: float
    ingest_upstream: str
    body_limit: int
    rate_limit: float
    rate_limit_burst: int
    trusted_proxies: tuple[str, ...]
    l1_max_entries: int
    l1_negative_max_entries: int
    l1_positive_ttl: float
    l1_negative_ttl: float
    redis_key_ttl: int
    redis_timeout: float
    redis_health_check_interval: float
    pg_pool_min: int
    pg_pool_max: int
    pg_acquire_timeout: float
    pg_command_timeout: float
    upstream_connect_timeout: float
    upstream_timeout: float
    upstream_pool_size: int
    workers: int
    shutdown_timeout: float
    header_timeout: float
    body_idle_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int
    access_log: bool
    log_format: str
    log_level: str
    allow_python_parser: bool
    data_dir: str
    metrics_dir: str
    secrets_key: tuple[str, ...]
    last_used_flush_interval: float
    dedup_fail_closed: bool

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(n, strict=False) for n in self.trusted_proxies)


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_CHOICES = {"log_format": ("json", "text"), "log_level": ("DEBUG", "INFO", "WARNING", "ERROR")}
_POSITIVE = {
    "port",
    "body_limit",
    "l1_max_entries",
    "l1_negative_max_entries",
    "l1_positive_ttl",
    "l1_negative_ttl",
    "redis_key_ttl",
    "redis_timeout",
    "redis_health_check_interval",
    "pg_pool_max",
    "pg_acquire_timeout",
    "pg_command_timeout",
    "upstream_connect_timeout",
    "upstream_timeout",
    "upstream_pool_size",
    "workers",
    "shutdown_timeout",
    "header_timeout",
    "body_idle_timeout",
    "body_timeout",
    "keepalive_timeout",
    "max_connections",
    "jwt_max_lifetime",
    "last_used_flush_interval",
}


def load_config(
    environ: Mapping[str, str],
    *,
    file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the Config; raise ConfigError naming the first bad setting."""
    raw: dict[str, Any] = _read_toml(DEFAULTS_FILE)
    extra = file or environ.get(ENV_PREFIX + "CONFIG_FILE")
    if extra:
        raw.update(_read_toml(Path(extra)))
    for name in _FIELDS:
        value = environ.get(ENV_PREFIX + name.upper())
        if value is not None:
            raw[name] = value
    raw.update(overrides or {})
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}")
    values = {name: _coerce(name, raw.get(name)) for name in _FIELDS}
    config = Config(**values)
    _validate(config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None


def _coerce(name: str, value: Any) -> Any:
    env = ENV_PREFIX + name.upper()
    if value is None:
        raise ConfigError(f"{env} ({name}) is not set")
    kind = _FIELDS[name].type
    try:
        if kind == "bool":
            return _to_bool(value)
        if isinstance(value, bool) or (kind == "int" and isinstance(value, float)):
            raise ValueError(value)  # TOML `true` or `8080.9` for a number is a mistake, not 1/8080
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    except (TypeError, ValueError):
        raise ConfigError(f"{env} ({name}) has a bad value: expected {kind}") from None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _validate(config: Config) -> None:
    def bad(name: str, why: str) -> ConfigError:
        return ConfigError(f"{ENV_PREFIX}{name.upper()} ({name}) {why}")

    for field in _FIELDS.values():
        value = getattr(config, field.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(field.name, "must be a finite number")  # inf would lift a bound silently
    for name in _POSITIVE:
        if getattr(config, name) <= 0:
            raise bad(name, "must be greater than 0")
    for name, allowed in _CHOICES.items():
        if getattr(config, name) not in allowed:
            raise bad(name, f"must be one of {', '.join(allowed)}")
    if config.rate_limit < 0 or config.rate_limit_burst < 0 or config.pg_pool_min < 0:
        raise bad("rate_limit", "and rate_limit_burst, pg_pool_min must not be negative")
    if not 0 <= config.jwt_leeway <= 30:
        raise bad("jwt_leeway", "must be between 0 and 30 seconds")
    if config.pg_pool_min > config.pg_pool_max:
        raise bad("pg_pool_min", "must not exceed pg_pool_max")
    if config.port > 65535:
        raise bad("port", "must be a TCP port (1-65535)")
    for secret in config.jwt_secret:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise bad("jwt_secret", f"entries must be at least {MIN_SECRET_BYTES} bytes long")
    try:
        decode_keys(config.secrets_key)
    except ValueError as exc:
        raise bad("secrets_key", str(exc)) from None
    if not config.jwt_algorithms or set(config.jwt_algorithms) - {"HS256", "HS384", "HS512"}:
        raise bad("jwt_algorithms", "must list HMAC algorithms only (HS256, HS384, HS512)")
    for name in ("database_url", "database_replica_url", "redis_url", "ingest_upstream"):
        _check_url(name, getattr(config, name), bad)
    try:
        config.trusted_networks  # noqa: B018 - parse once to fail early
    except ValueError:
        raise bad("trusted_proxies", "must list IP addresses or networks") from None


def _check_url(name: str, url: str, bad: Any) -> None:
    if not url:
        return  # empty means "not configured"; `serve` requires them, `dev` embeds them
    schemes = {
        "database_url": ("postgres", "postgresql"),
        "database_replica_url": ("postgres", "postgresql"),
        "redis_url": SCHEMES,
        "ingest_upstream": ("http", "https"),
    }[name]
    if name == "redis_url":
        try:
            parse_redis_url(url)
        except BadRedisUrl as exc:
            raise bad(name, str(exc)) from None
        return
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise bad(name, f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}")
    if name == "ingest_upstream" and not parts.hostname:
        raise bad(name, "must name a host")


def require(config: Config, *names: str) -> None:
    """Fail with one line when a setting that this command needs is empty."""
    for name in names:
        if not getattr(config, name):
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} ({name}) is not set")

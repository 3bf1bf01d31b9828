"""Configuration: documented defaults, file, HOOKSENTRY_* environment, and one-line errors."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gateway.config import DEFAULTS_FILE, Config, ConfigError, load_config, require

SECRET = "s" * 32


def load(env: dict[str, str] | None = None, **kwargs: Any) -> Config:
    return load_config(env or {}, **kwargs)


def config_error(env: dict[str, str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(env, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.strip() == message, message
    return message


def test_defaults_come_from_the_documented_file() -> None:
    documented = tomllib.loads(DEFAULTS_FILE.read_text())
    config = load()

    assert config.port == documented["port"] == 8080
    assert config.host == documented["host"]
    assert config.redis_prefix == documented["redis_prefix"]
    assert config.jwt_algorithms == ("HS256",)
    assert config.jwt_secret == ()


def test_every_setting_is_documented_in_the_defaults_file() -> None:
    documented = set(tomllib.loads(DEFAULTS_FILE.read_text()))
    assert {f.name for f in dataclasses.fields(Config)} == documented


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ("HOOKSENTRY_DATABASE_URL", "database_url", "postgresql://gw@db.internal:5432/gateway"),
        ("HOOKSENTRY_REDIS_URL", "redis_url", "redis://cache.internal:6379/2"),
        ("HOOKSENTRY_JWT_SECRET", "jwt_secret", (SECRET,)),
        ("HOOKSENTRY_INGEST_UPSTREAM", "ingest_upstream", "http://ingest.internal:8000"),
        ("HOOKSENTRY_HOST", "host", "0.0.0.0"),
        ("HOOKSENTRY_PORT", "port", 9000),
    ],
)
def test_the_spec_environment_variables_override_the_defaults(
    env: str, field: str, value: Any
) -> None:
    raw = ",".join(value) if isinstance(value, tuple) else str(value)
    assert getattr(load({env: raw}), field) == value


# Valid, non-default values for settings whose text has rules; other settings get a generic one.
SAMPLES = {
    "database_url": ("postgresql://gw@db:5432/gw", "postgresql://gw@db:5432/gw"),
    "database_replica_url": ("postgresql://gw@replica:5432/gw", "postgresql://gw@replica:5432/gw"),
    "redis_url": ("redis://cache:6379/1", "redis://cache:6379/1"),
    "ingest_upstream": ("http://ingest:8000", "http://ingest:8000"),
    "jwt_secret": (SECRET, (SECRET,)),
    "jwt_algorithms": ("HS384", ("HS384",)),
    "secrets_key": ("A" * 43 + "=", ("A" * 43 + "=",)),  # base64 of 32 bytes
    "trusted_proxies": ("10.0.0.0/8", ("10.0.0.0/8",)),
    "log_format": ("text", "text"),
    "log_level": ("DEBUG", "DEBUG"),
    "jwt_leeway": ("3", 3.0),
    "pg_pool_min": ("2", 2),
}
GENERIC = {"int": ("7", 7), "float": ("7.5", 7.5), "str": ("sample", "sample")}


def test_every_setting_has_an_environment_variable() -> None:
    for field in dataclasses.fields(Config):
        env, expected = SAMPLES.get(field.name) or GENERIC.get(str(field.type), ("", None))
        if field.type == "bool":
            env, expected = ("false", False) if getattr(load(), field.name) else ("true", True)
        assert expected is not None, f"add a sample value for {field.name}"
        config = load({f"HOOKSENTRY_{field.name.upper()}": env})
        assert getattr(config, field.name) == expected, field.name


def test_the_environment_overrides_a_config_file(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text('port = 7000\nhost = "10.0.0.1"\nl1_positive_ttl = 5.0\n')

    from_file = load(file=file)
    assert (from_file.port, from_file.host, from_file.l1_positive_ttl) == (7000, "10.0.0.1", 5.0)

    overridden = load({"HOOKSENTRY_PORT": "7001"}, file=file)
    assert (overridden.port, overridden.host) == (7001, "10.0.0.1")


def test_the_config_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("port = 7002\n")
    assert load({"HOOKSENTRY_CONFIG_FILE": str(file)}).port == 7002


def test_comma_separated_lists_are_parsed() -> None:
    other = "o" * 40
    config = load(
        {
            "HOOKSENTRY_JWT_SECRET": f" {SECRET} , {other},",
            "HOOKSENTRY_JWT_ALGORITHMS": "HS256,HS512",
            "HOOKSENTRY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
        }
    )
    assert config.jwt_secret == (SECRET, other)
    assert config.jwt_algorithms == ("HS256", "HS512")
    assert config.trusted_proxies == ("10.0.0.0/8", "192.168.1.7")
    assert len(config.trusted_networks) == 2


def test_toml_lists_are_accepted_too(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(f'jwt_secret = ["{SECRET}", "{"t" * 33}"]\n')
    assert load(file=file).jwt_secret == (SECRET, "t" * 33)


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("1", True), ("yes", True), ("off", False), ("FALSE", False), ("0", False)],
)
def test_booleans_from_the_environment(text: str, value: bool) -> None:
    assert load({"HOOKSENTRY_ACCESS_LOG": text}).access_log is value


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"HOOKSENTRY_PORT": "abc"}, "HOOKSENTRY_PORT"),
        ({"HOOKSENTRY_PORT": "70000"}, "HOOKSENTRY_PORT"),
        ({"HOOKSENTRY_PORT": "0"}, "HOOKSENTRY_PORT"),
        ({"HOOKSENTRY_PORT": "-1"}, "HOOKSENTRY_PORT"),
        ({"HOOKSENTRY_L1_POSITIVE_TTL": "-5"}, "HOOKSENTRY_L1_POSITIVE_TTL"),
        ({"HOOKSENTRY_L1_NEGATIVE_TTL": "0"}, "HOOKSENTRY_L1_NEGATIVE_TTL"),
        ({"HOOKSENTRY_REDIS_KEY_TTL": "-1"}, "HOOKSENTRY_REDIS_KEY_TTL"),
        ({"HOOKSENTRY_REDIS_TIMEOUT": "soon"}, "HOOKSENTRY_REDIS_TIMEOUT"),
        ({"HOOKSENTRY_BODY_LIMIT": "1MB"}, "HOOKSENTRY_BODY_LIMIT"),
        ({"HOOKSENTRY_JWT_SECRET": "too-short"}, "HOOKSENTRY_JWT_SECRET"),
        ({"HOOKSENTRY_JWT_SECRET": f"{SECRET},short"}, "HOOKSENTRY_JWT_SECRET"),
        ({"HOOKSENTRY_JWT_ALGORITHMS": "none"}, "HOOKSENTRY_JWT_ALGORITHMS"),
        ({"HOOKSENTRY_JWT_ALGORITHMS": "HS256,RS256"}, "HOOKSENTRY_JWT_ALGORITHMS"),
        ({"HOOKSENTRY_JWT_LEEWAY": "31"}, "HOOKSENTRY_JWT_LEEWAY"),
        ({"HOOKSENTRY_JWT_LEEWAY": "-1"}, "HOOKSENTRY_JWT_LEEWAY"),
        ({"HOOKSENTRY_DATABASE_URL": "mysql://db/gw"}, "HOOKSENTRY_DATABASE_URL"),
        ({"HOOKSENTRY_DATABASE_URL": "db.internal:5432"}, "HOOKSENTRY_DATABASE_URL"),
        ({"HOOKSENTRY_REDIS_URL": "http://cache:6379"}, "HOOKSENTRY_REDIS_URL"),
        ({"HOOKSENTRY_INGEST_UPSTREAM": "ftp://ingest"}, "HOOKSENTRY_INGEST_UPSTREAM"),
        ({"HOOKSENTRY_INGEST_UPSTREAM": "http://"}, "HOOKSENTRY_INGEST_UPSTREAM"),
        ({"HOOKSENTRY_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "HOOKSENTRY_TRUSTED_PROXIES"),
        ({"HOOKSENTRY_ACCESS_LOG": "maybe"}, "HOOKSENTRY_ACCESS_LOG"),
        ({"HOOKSENTRY_LOG_FORMAT": "xml"}, "HOOKSENTRY_LOG_FORMAT"),
        ({"HOOKSENTRY_LOG_LEVEL": "LOUD"}, "HOOKSENTRY_LOG_LEVEL"),
        ({"HOOKSENTRY_PG_POOL_MIN": "20", "HOOKSENTRY_PG_POOL_MAX": "5"}, "HOOKSENTRY_PG_POOL_MIN"),
        ({"HOOKSENTRY_WORKERS": "0"}, "HOOKSENTRY_WORKERS"),
    ],
    ids=lambda v: ",".join(f"{k[11:]}={x}" for k, x in v.items()) if isinstance(v, dict) else "",
)
def test_a_bad_value_is_one_line_naming_the_setting(env: dict[str, str], setting: str) -> None:
    assert setting in config_error(env)


def test_a_secret_value_is_not_echoed_in_the_error() -> None:
    message = config_error({"HOOKSENTRY_JWT_SECRET": "my-short-but-secret"})
    assert "my-short-but-secret" not in message


def test_an_unknown_key_in_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text("prot = 8080\n")
    assert "prot" in config_error(file=file)


def test_a_bad_value_in_a_file_names_the_setting(tmp_path: Path) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text('port = "eighty"\n')
    assert "port" in config_error(file=file)


@pytest.mark.parametrize("line", ["port = 8080.9", "port = true", "workers = 2.5"])
def test_a_non_integer_in_a_file_for_an_integer_setting_is_an_error_not_truncated(
    tmp_path: Path, line: str
) -> None:
    file = tmp_path / "gateway.toml"
    file.write_text(line + "\n")
    assert line.split(" ")[0] in config_error(file=file)


def test_a_missing_or_invalid_file_is_one_line(tmp_path: Path) -> None:
    assert "does-not-exist.toml" in config_error(file=tmp_path / "does-not-exist.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1\n")
    assert "broken.toml" in config_error(file=broken)


def test_unrelated_environment_variables_are_ignored() -> None:
    assert load({"HOOKSENTRY_NOT_A_SETTING": "x", "PATH": "/bin", "PORT": "1"}).port == 8080


def test_require_names_an_empty_setting_in_one_line() -> None:
    config = load()
    with pytest.raises(ConfigError) as info:
        require(config, "database_url")
    assert "HOOKSENTRY_DATABASE_URL" in str(info.value) and "\n" not in str(info.value)
    require(load({"HOOKSENTRY_DATABASE_URL": "postgresql://h/db"}), "database_url")


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_duration_must_be_finite(value: str) -> None:
    # inf would silently lift the revocation bound or a timeout; nan would switch L1 off.
    message = config_error({"HOOKSENTRY_L1_POSITIVE_TTL": value})
    assert "HOOKSENTRY_L1_POSITIVE_TTL (l1_positive_ttl) must be a finite number" in message

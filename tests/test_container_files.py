"""Dockerfile and docker-compose.yml, checked by reading them (Docker does not run here)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def last_stage() -> list[tuple[str, str]]:
    steps = instructions()
    start = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[start:]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_image_is_multi_stage_on_slim_python_311() -> None:
    bases = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert len(bases) >= 2
    assert all(base.startswith("python:3.11-slim") for base in bases)
    copies = [args for word, args in last_stage() if word == "COPY"]
    assert copies and all(args.startswith("--from=builder") for args in copies)


def test_image_runs_as_a_non_root_user() -> None:
    users = [args for word, args in last_stage() if word == "USER"]
    assert users, "the runtime stage must switch user"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_image_serves_on_all_interfaces_by_environment_only() -> None:
    stage = last_stage()
    [cmd] = [json.loads(args) for word, args in stage if word == "CMD"]
    assert cmd == ["hooksentry-gateway", "serve"]
    env = " ".join(args for word, args in stage if word == "ENV")
    assert "HOOKSENTRY_HOST=0.0.0.0" in env
    assert "HOOKSENTRY_PORT=8080" in env
    assert ("EXPOSE", "8080") in stage
    assert not any(word == "ENV" and "SECRET" in args for word, args in stage)


def test_image_healthcheck_probes_healthz_with_python() -> None:
    [check] = [args for word, args in last_stage() if word == "HEALTHCHECK"]
    assert "--interval=" in check and "--timeout=" in check
    command = json.loads(check[check.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2] and "urllib" in command[2]
    compile(command[2], "healthcheck", "exec")  # the probe is valid Python


def test_image_copies_what_the_code_reads_next_to_it() -> None:
    copied = " ".join(args for word, args in instructions() if word == "COPY")
    for folder in ("config", "sql", "gateway", "admin_api", "pyproject.toml"):
        assert folder in copied
    runs = " ".join(args for word, args in instructions() if word == "RUN")
    assert "pip install --no-deps -e /app" in runs  # config/ and sql/ stay beside the code


def test_compose_runs_two_gateway_workers_behind_port_8080(compose: dict[str, Any]) -> None:
    gateway = compose["services"]["gateway"]
    command = gateway["command"]
    command = shlex.split(command) if isinstance(command, str) else command
    assert command[:2] == ["hooksentry-gateway", "serve"]
    assert command[command.index("--workers") + 1] == "2"
    assert "8080:8080" in gateway["ports"]
    env = gateway["environment"]
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "INGEST_UPSTREAM"):
        assert f"HOOKSENTRY_{name}" in env
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])


def test_compose_migrates_once_before_the_gateway_starts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"gateway", "migrate", "postgres", "redis"} <= set(services)
    assert services["migrate"]["command"] == ["hooksentry-gateway", "migrate"]
    depends = services["gateway"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]


def test_compose_has_no_baked_in_jwt_secret(compose: dict[str, Any]) -> None:
    secret = compose["services"]["gateway"]["environment"]["HOOKSENTRY_JWT_SECRET"]
    assert secret.startswith("${HOOKSENTRY_JWT_SECRET:?")  # compose refuses to start without it
    key = compose["services"]["gateway"]["environment"]["HOOKSENTRY_SECRETS_KEY"]
    assert key == "${HOOKSENTRY_SECRETS_KEY:-}"  # passed through, never baked in

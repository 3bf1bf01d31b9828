"""The session-wide log guard is on, sees what the gateway logs, and recognises secrets.

The check itself runs when the session ends (tests/log_guard.py): it fails the run if any API
key, JWT or key hash was logged by any test.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from gateway.apikeys import generate_key
from tests.log_guard import Recorder, find_secrets, recorder_of

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRJZCI6IjEyMyJ9.c2lnbmF0dXJl"


def test_the_guard_records_every_log_line_of_the_session(pytestconfig: pytest.Config) -> None:
    recorder = recorder_of(pytestconfig)
    assert recorder is not None
    assert recorder in logging.getLogger().handlers
    logging.getLogger("gateway.test_guard").info("guard check %s", "visible", extra={"k": "v"})
    text = recorder.path.read_text(encoding="utf-8")
    assert "guard check visible {'k': 'v'}" in text


def test_the_guard_recognises_keys_tokens_and_hashes() -> None:
    key = generate_key()
    text = "\n".join(
        [
            "clean line request_id=0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            f"key={key}",
            f"Authorization: Bearer {JWT}",
            f"hash={hashlib.sha256(key.encode()).hexdigest()}",
        ]
    )
    assert find_secrets(text) == [(2, "API key"), (3, "JWT"), (4, "key hash")]


def test_third_party_lines_are_judged_as_production_writes_them(tmp_path: Path) -> None:
    # aiohttp logs a malformed request's raw bytes; the production handler redacts them. Our own
    # loggers get no such allowance: their raw records must never carry a key.
    recorder = Recorder(tmp_path / "guard.log")
    key = generate_key()
    third_party = {
        "name": "aiohttp.server",
        "msg": "bad request %r",
        "args": (f"X-Api-Key: {key}",),
    }
    recorder.emit(logging.makeLogRecord(third_party))
    recorder.emit(logging.makeLogRecord({"name": "gateway.proxy", "msg": f"checking {key}"}))
    recorder.close()
    lines = recorder.path.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ")[0] for line in lines] == ["OUT", "OUT", "RAW"]
    assert find_secrets("\n".join(lines)) == [(3, "API key")]

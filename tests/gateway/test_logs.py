"""Logs as an operator reads them: JSON lines with the request's context, never a secret.

Secrets are logged here on purpose, to check the redaction. These tests log through their own
loggers that do not propagate, so the session-wide guard (tests/log_guard.py) never sees them.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import re
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from gateway.access_log import AccessLogger
from gateway.apikeys import generate_key
from gateway.app import create_app
from gateway.config import ROOT, Config
from gateway.keys import REQUEST_ID
from gateway.logs import ACCESS_LOGGER, batching, build_handler, configure_logging, redact
from tests.gateway.conftest import NewKey, RecordingUpstream, ServeEnviron
from tests.services import free_port

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRJZCI6IjEyMyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


class Captured:
    def __init__(self, config: Config, name: str):
        self.stream = io.StringIO()
        self.logger = logging.getLogger(name)
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.handler = build_handler(config, self.stream)
        self.logger.addHandler(self.handler)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def close(self) -> None:
        self.logger.removeHandler(self.handler)


@pytest.fixture
def capture(make_config: Callable[..., Config]) -> Iterator[Callable[..., Captured]]:
    made: list[Captured] = []

    def make(name: str = "", **settings: Any) -> Captured:
        captured = Captured(make_config(**settings), name or f"test.logs.{uuid.uuid4().hex}")
        made.append(captured)
        return captured

    yield make
    for captured in made:
        captured.close()


def test_a_line_is_one_json_object_with_the_context_passed_in(
    capture: Callable[..., Captured],
) -> None:
    logs = capture()
    tenant, key_id = uuid.uuid4(), uuid.uuid4()
    logs.logger.warning(
        "upstream %s", "slow", extra={"request_id": "r-1", "tenant_id": tenant, "key_id": key_id}
    )
    [line] = logs.records()
    assert TIMESTAMP.fullmatch(line["timestamp"])
    assert line["level"] == "WARNING"
    assert line["logger"] == logs.logger.name
    assert line["message"] == "upstream slow"
    assert line["request_id"] == "r-1"
    assert line["tenant_id"] == str(tenant) and line["key_id"] == str(key_id)


def test_a_traceback_stays_on_one_line_of_json(capture: Callable[..., Captured]) -> None:
    logs = capture()
    try:
        raise ValueError("boom")
    except ValueError:
        logs.logger.exception("unhandled error")
    [raw] = logs.lines()
    line = json.loads(raw)
    assert "ValueError: boom" in line["exception"]


def test_text_format_reads_like_a_terminal_line(capture: Callable[..., Captured]) -> None:
    logs = capture(log_format="text")
    logs.logger.info("listening", extra={"port": 8080})
    [line] = logs.lines()
    assert re.fullmatch(rf"{TIMESTAMP.pattern} INFO +\S+ listening port=8080", line)


def test_keys_tokens_hashes_and_credential_headers_are_redacted(
    capture: Callable[..., Captured],
) -> None:
    logs = capture()
    key = generate_key()
    digest = hashlib.sha256(key.encode()).hexdigest()
    logs.logger.info("saw key %s", key)
    logs.logger.info("headers %s", {"X-Api-Key": "s3cret", "Authorization": f"Bearer {JWT}"})
    logs.logger.info("cookie header", extra={"header": "Cookie: hs_session=abcdef"})
    logs.logger.info("hash", extra={"key_hash": digest})
    logs.logger.info("auth: Bearer opaque-token-value")
    try:
        raise RuntimeError(f"lookup failed for {key}")
    except RuntimeError:
        logs.logger.exception("failed")
    output = "\n".join(logs.lines())
    for secret in (key, digest, JWT, "s3cret", "abcdef", "opaque-token-value"):
        assert secret not in output
    assert "hks_[redacted]" in output
    assert all(json.loads(line) for line in logs.lines())  # still valid JSON


def test_redaction_leaves_ordinary_text_alone() -> None:
    text = "GET /api/v1/apikeys 200 request_id=0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert redact(text) == text


def test_configure_logging_installs_one_handler_and_keeps_others(
    make_config: Callable[..., Config],
) -> None:
    root = logging.getLogger()
    access = logging.getLogger("aiohttp.access")
    saved = (list(root.handlers), root.level, access.level)
    try:
        first, second = io.StringIO(), io.StringIO()
        configure_logging(make_config(log_level="WARNING"), first)
        configure_logging(make_config(log_level="WARNING", access_log=False), second)
        ours = [h for h in root.handlers if h not in saved[0]]
        assert len(ours) == 1  # the second call replaced the first handler
        assert all(h in root.handlers for h in saved[0])  # others (pytest's, the guard) stay
        assert root.level == logging.WARNING
        assert not AccessLogger(access, "").enabled  # access_log = false turns it off
        configure_logging(make_config(log_level="WARNING", access_log=True), second)
        assert AccessLogger(access, "").enabled
    finally:
        for handler in [h for h in root.handlers if h not in saved[0]]:
            root.removeHandler(handler)
        root.setLevel(saved[1])
        access.setLevel(saved[2])


async def test_access_log_has_context_and_no_secrets(
    aiohttp_client: Any,
    make_config: Callable[..., Config],
    capture: Callable[..., Captured],
    new_key: NewKey,
    upstream: RecordingUpstream,
) -> None:
    logs = capture()
    config = make_config(ingest_upstream=upstream.url)
    app = create_app(config)
    server = TestServer(app)  # as gateway.workers runs it: our access logger class
    await server.start_server(access_log_class=AccessLogger, access_log=logs.logger)
    client: TestClient = await aiohttp_client(server)
    key = await new_key(client)
    headers = {"X-Api-Key": key.key, "Authorization": f"Bearer {JWT}", "Cookie": "a=b"}
    resp = await client.post(key.ingest_path, data=b"{}", headers=headers)
    await resp.read()
    assert resp.status == 202

    # aiohttp writes the access line just after the response: no event to await, so poll.
    deadline = time.monotonic() + 5
    while "/api/v1/ingest/" not in logs.stream.getvalue() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    lines = logs.records()
    ingest = [line for line in lines if line["path"].startswith("/api/v1/ingest/")]
    assert len(ingest) == 1
    line = ingest[0]
    assert line["method"] == "POST"
    assert line["status"] == resp.status
    assert line["request_id"] == resp.headers["X-Request-Id"]
    assert line["duration"] >= 0
    assert line["path"] == f"/api/v1/ingest/{key.tenant_id}/***"  # the ingest token is masked
    output = "\n".join(logs.lines())
    assert key.key not in output and JWT not in output and "tok-1" not in output
    creation = [line for line in lines if line["path"] == "/api/v1/apikeys"]
    assert creation and creation[0]["status"] == 201


def test_access_logger_is_a_drop_in_for_aiohttp() -> None:
    runner = web.AppRunner(web.Application(), access_log_class=AccessLogger)
    assert runner is not None  # aiohttp validates the class when the runner is made


def _eager(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """What the pipeline wrote before redaction became lazy: filter every record, render,
    redact the whole line."""
    from gateway.logs import RedactionFilter

    RedactionFilter().filter(record)
    return redact(formatter.render(record))  # type: ignore[attr-defined]


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_lazy_redaction_writes_what_redacting_every_field_first_wrote(
    make_config: Callable[..., Config], log_format: str
) -> None:
    key = generate_key()
    digest = hashlib.sha256(key.encode()).hexdigest()
    formatter = build_handler(make_config(log_format=log_format)).formatter
    assert formatter is not None
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("clean %s", ("line",), {"request_id": "r-1", "status": 202}),
        ("saw key %s", (key,), {}),
        ("headers", (), {"headers": {"X-Api-Key": "s3cret", "Authorization": f"Bearer {JWT}"}}),
        ("nested\nbearer %s", ("tok\nvalue",), {"authorization": "opaque"}),
        ("hash", (), {"key_hash": digest, "note": f'quoted "{key}"'}),
        ("cookie", (), {"header": "Cookie: hs_session=abcdef", "path": f"/x/{JWT}"}),
    ]
    for message, args, extra in cases:
        lazy = logging.makeLogRecord({"msg": message, "args": args, **extra})
        eager = logging.makeLogRecord({"msg": message, "args": args, **extra})
        lazy.created = eager.created
        assert formatter.format(lazy) == _eager(formatter, eager)
    try:
        raise RuntimeError(f"lookup failed for {key}")
    except RuntimeError:
        exc_info = sys.exc_info()
    lazy, eager = (logging.makeLogRecord({"msg": "boom", "exc_info": exc_info}) for _ in "ab")
    lazy.created = eager.created
    assert formatter.format(lazy) == _eager(formatter, eager)
    assert key not in formatter.format(lazy)


def test_access_records_match_what_logger_makerecord_makes(
    make_config: Callable[..., Config],
) -> None:
    from gateway.access_log import _access_record

    extra = {"request_id": "r-1", "method": "POST", "path": "/p", "status": 202, "remote": None}
    fast = _access_record("aiohttp.access", "POST /p 202", dict(extra))
    slow = logging.getLogger("aiohttp.access").makeRecord(
        "aiohttp.access", logging.INFO, fast.pathname, 0, "POST /p 202", (), None, None, extra
    )
    for name in ("thread", "threadName", "process", "processName"):
        setattr(slow, name, None)  # configure_logging turns them off; never printed
    assert abs(fast.created - slow.created) < 1
    assert 0 <= fast.msecs < 1000 and fast.relativeCreated > 0
    for name in ("created", "msecs", "relativeCreated"):
        setattr(fast, name, getattr(slow, name))
    assert fast.__dict__ == slow.__dict__
    for log_format in ("json", "text"):
        formatter = build_handler(make_config(log_format=log_format)).formatter
        assert formatter is not None
        assert formatter.format(fast) == formatter.format(slow)


async def test_a_key_sent_as_request_id_is_redacted_in_the_access_line(
    aiohttp_client: Any,
    make_config: Callable[..., Config],
    capture: Callable[..., Captured],
) -> None:
    logs = capture()
    server = TestServer(create_app(make_config()))
    await server.start_server(access_log_class=AccessLogger, access_log=logs.logger)
    client: TestClient = await aiohttp_client(server)
    key = generate_key()
    resp = await client.get("/healthz", headers={"X-Request-Id": key})
    assert resp.status == 200
    deadline = time.monotonic() + 5
    while "/healthz" not in logs.stream.getvalue() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    [line] = [line for line in logs.records() if line["path"] == "/healthz"]
    assert line["request_id"] == "hks_[redacted]" and key not in logs.stream.getvalue()


async def test_batching_holds_info_lines_until_a_flush_and_writes_warnings_at_once(
    make_config: Callable[..., Config],
) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
    try:
        configure_logging(make_config(log_level="INFO"), stream)
        async with batching(interval=0.05):
            logger.info("one")
            logger.info("two")
            assert stream.getvalue() == ""  # gathered, not written yet
            logger.warning("three")  # trouble is written at once, after what came before
            assert [json.loads(x)["message"] for x in stream.getvalue().splitlines()] == [
                "one",
                "two",
                "three",
            ]
            logger.info("four")
            deadline = time.monotonic() + 5  # the periodic flush: no event to await, so poll
            while "four" not in stream.getvalue() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            assert "four" in stream.getvalue()
            logger.info("five")
        assert stream.getvalue().splitlines()[-1].find('"five"') > 0  # written when it ends
        logger.info("six")
        assert '"six"' in stream.getvalue()  # line by line again
    finally:
        for handler in [h for h in root.handlers if h not in saved[0]]:
            root.removeHandler(handler)
        root.setLevel(saved[1])


@pytest.mark.parametrize("log_format", ["json", "text"])
async def test_a_serving_worker_writes_access_lines_directly_and_exactly_as_logging_would(
    make_config: Callable[..., Config], log_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a worker serves with our handler alone, clean access lines skip the record and
    logging's dispatch; they must read exactly as the logging path writes them. Lines whose
    sender text looks like a secret, or is not printable (JSON escapes it), take the record
    path and are redacted there."""
    root, access_logger = logging.getLogger(), logging.getLogger(ACCESS_LOGGER)
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    key = generate_key()
    requests = []
    unprintable = "r-2\x08earer"  # JSON writes \b: "bearer" appears only in the line
    for rid in ("r-1", key, unprintable):
        request = make_mocked_request("POST", "/api/v1/ingest/t-1/x?q=1")
        request[REQUEST_ID] = rid
        requests.append(request)
    response = web.Response(status=401)
    handled: list[str] = []  # the records that took logging's path, by request id
    real_handle = access_logger.handle
    monkeypatch.setattr(
        access_logger, "handle", lambda r: (handled.append(r.request_id), real_handle(r))
    )
    try:
        configure_logging(make_config(log_format=log_format), stream)
        async with batching(interval=60):
            # pytest's handlers are on the root logger too: every record must reach them.
            AccessLogger(access_logger, "").log(requests[0], response, 0.0012)
        assert handled == ["r-1"]
        for handler in saved[0]:  # as in a worker: ours alone
            root.removeHandler(handler)
        access = AccessLogger(access_logger, "")  # aiohttp makes one per connection
        written = len(stream.getvalue())
        async with batching(interval=60):
            for request in requests:
                access.log(request, response, 0.0012)
            assert len(stream.getvalue()) == written  # gathered like every other line
        assert handled == ["r-1", key, unprintable]  # the clean line went directly
        for request in requests:  # line by line now: every one through a record
            access.log(request, response, 0.0012)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])

    def without_time(line: str) -> str:
        return TIMESTAMP.sub("T", line, count=1)

    lines = stream.getvalue().splitlines()[1:]
    batched, logged = lines[:3], lines[3:]
    assert [without_time(x) for x in batched] == [without_time(x) for x in logged]
    assert "r-1" in batched[0] and "hks_[redacted]" in batched[1] and key not in "".join(lines)


async def test_serve_writes_every_access_line_before_it_exits(
    serve_environ: ServeEnviron, tmp_path: Path
) -> None:
    port = free_port()
    environ = serve_environ(
        INGEST_UPSTREAM="http://127.0.0.1:9", PG_POOL_MIN="1", PG_POOL_MAX="2", ACCESS_LOG="true"
    )
    log = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "gateway", "serve", "--workers", "2", "--port", str(port)]
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *argv, env=environ, stdout=out, stderr=out, cwd=ROOT
        )
    try:
        deadline = time.monotonic() + 30
        while log.read_text().count("listening on") < 2:
            assert proc.returncode is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)  # another process's output: no event to await
        sent = 200
        async with aiohttp.ClientSession() as session:
            for _ in range(sent):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    assert resp.status == 200
        proc.send_signal(signal.SIGTERM)  # at once: most lines are still gathered in memory
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    assert sum(1 for line in lines if line.get("path") == "/healthz") == sent

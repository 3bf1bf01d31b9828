"""Session-wide guard (RELIABILITY 22): nothing logged during the test run may carry a secret.

A handler on the root logger, installed before collection, writes every record to a file twice
over: as the production handler would write it (gateway.logs: redaction filter, JSON), for every
logger; and as it was emitted, before any redaction, for the project's own loggers (`gateway.*`,
`admin_api.*`), which must never be handed a secret at all. Third-party loggers (aiohttp logs a
malformed request's raw bytes, headers included) are held to the production output. At the end
of the session the file is scanned for API keys, JWTs and SHA-256 key hashes; one hit fails the
run. Loaded from tests/conftest.py (`pytest_plugins`).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import tempfile
import traceback
from pathlib import Path
from typing import Any

import pytest

from gateway.logs import JsonFormatter, RedactionFilter

SECRETS = {
    "API key": re.compile(r"hks_[0-9a-f]{32}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    "key hash": re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])"),
}
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_RECORDER = pytest.StashKey["Recorder"]()
OWN_LOGGERS = ("gateway", "admin_api")


class Recorder(logging.Handler):
    """Appends the production line of every record, and the raw one of the project's own."""

    def __init__(self, path: Path):
        super().__init__(logging.DEBUG)
        self.path = path
        self._file = path.open("a", encoding="utf-8")
        self._redaction = RedactionFilter()
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        out = copy.copy(record)  # the filter rewrites records; others' handlers see the original
        try:
            self._redaction.filter(out)
            self._file.write("OUT " + self._json.format(out).replace("\n", "\\n") + "\n")
        except Exception:  # a record production could not format either: keep its raw form
            self._write_raw(record)
        if record.name.split(".")[0] in OWN_LOGGERS:
            self._write_raw(record)
        self._file.flush()

    def _write_raw(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still shows its parts
            message = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        trace = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        line = f"RAW {record.name} {record.levelname} {message} {extras!r} {trace}"
        self._file.write(line.replace("\n", "\\n") + "\n")

    def close(self) -> None:
        self._file.close()
        super().close()


def find_secrets(text: str) -> list[tuple[int, str]]:
    """(line number, kind) of every secret-looking string; the secret itself is not returned."""
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        hits.extend((number, kind) for kind, pattern in SECRETS.items() if pattern.search(line))
    return hits


def recorder_of(config: pytest.Config) -> Recorder | None:
    return config.stash.get(_RECORDER, None)


def pytest_configure(config: pytest.Config) -> None:
    fd, name = tempfile.mkstemp(prefix="hooksentry-test-logs-", suffix=".log")
    os.close(fd)
    recorder = Recorder(Path(name))
    config.stash[_RECORDER] = recorder
    root = logging.getLogger()
    root.addHandler(recorder)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)  # INFO lines (access log, warnings' context) are scanned too


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = recorder_of(session.config)
    if recorder is None:
        return
    logging.getLogger().removeHandler(recorder)
    recorder.close()
    hits = find_secrets(recorder.path.read_text(encoding="utf-8"))
    session.config.stash[_HITS] = hits
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        recorder.path.unlink(missing_ok=True)


_HITS = pytest.StashKey[list[tuple[int, str]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    hits = config.stash.get(_HITS, [])
    recorder = recorder_of(config)
    if not hits or recorder is None:
        return
    terminalreporter.section("secrets in logs", sep="=", red=True, bold=True)
    for number, kind in hits[:50]:
        terminalreporter.line(f"{recorder.path}:{number}: {kind} logged")
    terminalreporter.line("FAILED: a key, token or key hash reached a log line (RELIABILITY 22)")

"""Logging, configured once at start: JSON lines (or text), an access log, and redaction.

Code logs with `logging.getLogger(__name__)` and passes what it knows through `extra=`
(`request_id`, `tenant_id`, `key_id`, `status`, `duration`, ...); the formatter writes every
extra field. Nothing here should ever see a key or a token, but the formatters remove anything
that looks like one (API keys, JWTs, bearer values, key hashes, and the values of X-Api-Key,
Authorization and cookie headers) as a second line of defence.

Redaction is lazy: a formatter renders the line, and only when the finished line trips the cheap
suspicion test (`suspect`) does it redact the record's raw fields (`RedactionFilter`), render
again and redact the whole line. Every trigger and a 64-hex run survive JSON escaping and text
formatting unchanged, so a clean line means every field was clean and the output is exactly
what redacting each field first would give. Most lines are clean and pay one test.

The access log (one line per request) lives in gateway.access_log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from gateway.config import Config

ACCESS_LOGGER = "aiohttp.access"
_MARK = "_hooksentry_handler"  # tags the handler configure_logging installed, to replace it
API_KEY_PATTERN = (re.compile(r"hks_[A-Za-z0-9]{8,}"), "hks_[redacted]")
_PATTERNS = (
    API_KEY_PATTERN,
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)\b(x-api-key|authorization|cookie|set-cookie)([\"']?\s*[:=]\s*[\"']?)[^\"',;\n]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"\b[0-9a-fA-F]{64}\b"), "[redacted-hash]"),
)
# Attributes every LogRecord has; anything else came through `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


# A cheap test decides whether the substitutions need to run at all (most lines are clean):
# substring checks on the lower-cased text, and a 64-hex run found through bytes.translate.
# A regex alternation doing the same would scan every position of every line.
_TRIGGERS = ("hks_", "eyj", "bearer", "api-key", "authorization", "cookie")
_HEX_MAP = bytes(ord("h") if chr(b) in "0123456789abcdefABCDEF" else ord(".") for b in range(256))
_HEX_RUN = b"h" * 64


def suspect(text: str) -> bool:
    lower = text.lower()
    for trigger in _TRIGGERS:
        if trigger in lower:
            return True
    return len(text) >= 64 and _HEX_RUN in text.encode("utf-8", "replace").translate(_HEX_MAP)


def redact(text: str) -> str:
    if not suspect(text):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactionFilter(logging.Filter):
    """Rewrites the record in place: message, string extras and traceback text."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}


class RedactingFormatter(logging.Formatter):
    """Renders a record; redacts it (fields, then the whole line) only when the line is suspect."""

    _fields = RedactionFilter()

    def format(self, record: logging.LogRecord) -> str:
        line = self.render(record)
        if not suspect(line):
            return line
        # Raw fields first (a pattern may not survive escaping), then the whole line: the
        # per-field pass does not see nested extras (header dicts) or credential-named extras.
        self._fields.filter(record)
        return redact(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return self.render_parts(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            extras(record),
            record.exc_text,
            record.stack_info,
        )

    def render_info(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        """What `render` makes of an INFO record with these extras and no traceback, without
        making the record: the access log's direct path (gateway.access_log)."""
        present = {k: v for k, v in fields.items() if v is not None}
        return self.render_parts(created, "INFO", name, message, present)

    def render_parts(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: dict[str, Any],
        exception: str | None = None,
        stack: str | None = None,
    ) -> str:
        raise NotImplementedError


class JsonFormatter(RedactingFormatter):
    """One JSON object per line: timestamp (UTC, ms, Z), level, logger, message, extras."""

    def render_parts(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: dict[str, Any],
        exception: str | None = None,
        stack: str | None = None,
    ) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(created),
            "level": level,
            "logger": name,
            "message": message,
            **fields,
        }
        if exception:
            line["exception"] = exception
        if stack:
            line["stack"] = stack
        return orjson.dumps(line, default=str).decode()


class TextFormatter(RedactingFormatter):
    """`timestamp LEVEL logger message key=value ...` for people reading a terminal (a traceback
    follows on its own lines; stacks are left to the JSON format)."""

    def render_parts(
        self,
        created: float,
        level: str,
        name: str,
        message: str,
        fields: dict[str, Any],
        exception: str | None = None,
        stack: str | None = None,
    ) -> str:
        line = f"{_timestamp(created)} {level:<7} {name} {message}"
        line += "".join(f" {k}={v}" for k, v in fields.items())
        return f"{line}\n{exception}" if exception else line


def _timestamp(created: float) -> str:
    second = int(created)
    return f"{_second(second)}.{int((created - second) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC; many lines share a second, so it is formatted once."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that can batch its writes.

    Lines are written and flushed one by one, as StreamHandler does, until `batching()` turns
    batching on (a serving worker does). Then lines gather in memory and reach the stream in one
    write when `BATCH_BYTES` have gathered, at once when a WARNING or worse arrives (an
    operator sees trouble without delay, in order), and on every `flush()`: `batching()` calls
    it every `BATCH_INTERVAL` seconds and when it ends. A write per line was a system call per
    request with the access log on.
    """

    BATCH_BYTES = 64 << 10

    def __init__(self, stream: IO[str]) -> None:
        super().__init__(stream)
        self.batch = False
        self._pending: list[str] = []
        self._size = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not self.batch:
            super().emit(record)
            return
        try:
            self.add_line(self.format(record), urgent=record.levelno >= logging.WARNING)
        except RecursionError:  # as logging.StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)

    def add_line(self, line: str, *, urgent: bool = False) -> None:
        """A finished line, in turn with the records' lines (batching only)."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            self._size += len(line) + 1
            if urgent or self._size >= self.BATCH_BYTES:
                self._write_pending()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                self._write_pending()
            else:
                super().flush()

    def _write_pending(self) -> None:
        pending, self._pending, self._size = self._pending, [], 0
        self.stream.write("\n".join(pending) + "\n")
        self.stream.flush()


BATCH_INTERVAL = 0.1


@contextlib.asynccontextmanager
async def batching(interval: float = BATCH_INTERVAL) -> AsyncIterator[None]:
    """While inside, our handler batches its writes, flushed every `interval` seconds and at
    the end (however the block ends): no line is lost when a worker stops."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, LineHandler)]
    for handler in handlers:
        handler.batch = True
    task = asyncio.create_task(_flush_every(handlers, interval), name="log-flush")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for handler in handlers:
            handler.flush()
            handler.batch = False


async def _flush_every(handlers: list[LineHandler], interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        for handler in handlers:
            handler.flush()


def build_handler(config: Config, stream: IO[str] | None = None) -> logging.Handler:
    handler = LineHandler(stream or sys.stderr)
    # The formatters redact (lazily, see the module docstring): no filter on the handler.
    handler.setFormatter(JsonFormatter() if config.log_format == "json" else TextFormatter())
    setattr(handler, _MARK, True)
    return handler


def configure_logging(config: Config, stream: IO[str] | None = None) -> None:
    """Install the one handler on the root logger (replacing an earlier one of ours)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        old.flush()
        root.removeHandler(old)
        if isinstance(old, LineHandler):
            old.batch = False  # access loggers that found it go back to logging's path
    root.addHandler(build_handler(config, stream))
    root.setLevel(config.log_level)
    # WARNING turns the access log off: AccessLogger.enabled is then False and aiohttp skips it.
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.INFO if config.access_log else logging.WARNING
    )
    logging.captureWarnings(True)
    # Never printed, and each costs per record: os.getpid() is a system call on every line.
    logging.logThreads = logging.logMultiprocessing = logging.logProcesses = False

"""Logging, configured once at start: JSON lines (or text), an access log, and redaction.

Code logs with `logging.getLogger(__name__)` and passes what it knows through `extra=`
(`request_id`, `tenant_id`, `key_id`, `status`, `duration`, ...); the formatter writes every
extra field. Nothing here should ever see a key or a token, but the formatters remove anything
that looks like one (API keys, JWTs, bearer values, key hashes, and the values of X-Api-Key,
Authorization and cookie headers) as a second line of defence.

Redaction is lazy: a formatter renders the line, and only when the finished line trips the cheap
suspicion test (`_suspect`) does it redact the record's raw fields (`RedactionFilter`), render
again and redact the whole line. Every trigger and a 64-hex run survive JSON escaping and text
formatting unchanged, so a clean line means every field was clean and the output is exactly
what redacting each field first would give. Most lines are clean and pay one test.

The access log, one line per request, has a direct path while a worker serves (`batching`) with
our handler alone: `AccessLogger.log` renders the line and adds it to the batch itself, with no
record and none of logging's dispatch (docs/decisions.md, "Logs").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import IO, Any, cast

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from gateway.config import Config
from gateway.keys import KEY_ID, REQUEST_ID, TENANT_ID

ACCESS_LOGGER = "aiohttp.access"
_MARK = "_hooksentry_handler"  # tags the handler configure_logging installed, to replace it
_PATTERNS = (
    (re.compile(r"hks_[A-Za-z0-9]{8,}"), "hks_[redacted]"),
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
# A regex alternation doing the same scans every position and costs ~10x more per line.
_TRIGGERS = ("hks_", "eyj", "bearer", "api-key", "authorization", "cookie")
_HEX_MAP = bytes(ord("h") if chr(b) in "0123456789abcdefABCDEF" else ord(".") for b in range(256))
_HEX_RUN = b"h" * 64


def _suspect(text: str) -> bool:
    lower = text.lower()
    for trigger in _TRIGGERS:
        if trigger in lower:
            return True
    return len(text) >= 64 and _HEX_RUN in text.encode("utf-8", "replace").translate(_HEX_MAP)


def redact(text: str) -> str:
    if not _suspect(text):
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


class _RedactingFormatter(logging.Formatter):
    """Renders a record; redacts it (fields, then the whole line) only when the line is suspect."""

    _fields = RedactionFilter()

    def format(self, record: logging.LogRecord) -> str:
        line = self.render(record)
        if not _suspect(line):
            return line
        # Raw fields first (a pattern may not survive escaping), then the whole line: the
        # per-field pass does not see nested extras (header dicts) or credential-named extras.
        self._fields.filter(record)
        return redact(self.render(record))

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError

    def render_info(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        """What `render` makes of an INFO record with these extras (no arguments, no traceback),
        without the record: the access log's direct path (`AccessLogger.log`)."""
        raise NotImplementedError


class JsonFormatter(_RedactingFormatter):
    """One JSON object per line: timestamp (UTC, ms, Z), level, logger, message, extras."""

    def render(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **extras(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode()

    def render_info(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        return orjson.dumps(
            {
                "timestamp": _timestamp(created),
                "level": "INFO",
                "logger": name,
                "message": message,
                **{k: v for k, v in fields.items() if v is not None},
            },
            default=str,
        ).decode()


class TextFormatter(_RedactingFormatter):
    """`timestamp LEVEL logger message key=value ...` for people reading a terminal."""

    def render(self, record: logging.LogRecord) -> str:
        line = self._line(record.created, record.levelname, record.name, record.getMessage())
        line += _pairs(extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return line

    def render_info(self, created: float, name: str, message: str, fields: dict[str, Any]) -> str:
        return self._line(created, "INFO", name, message) + _pairs(
            {k: v for k, v in fields.items() if v is not None}
        )

    @staticmethod
    def _line(created: float, levelname: str, name: str, message: str) -> str:
        return f"{_timestamp(created)} {levelname:<7} {name} {message}"


def _pairs(fields: dict[str, Any]) -> str:
    return "".join(f" {k}={v}" for k, v in fields.items())


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
    global _direct
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, LineHandler)]
    for handler in handlers:
        handler.batch = True
    _direct = _direct_handler()
    task = asyncio.create_task(_flush_every(handlers, interval), name="log-flush")
    try:
        yield
    finally:
        _direct = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for handler in handlers:
            handler.flush()
            handler.batch = False


# The handler the access log writes its lines to directly while a worker serves, or None: then
# access lines take logging's path like any other.
_direct: LineHandler | None = None


def _direct_handler() -> LineHandler | None:
    """Ours, when it is the only place an access record could go and nothing could change the
    record on its way: no other handler, no filter, no record factory."""
    root = logging.getLogger()
    chain = [logging.getLogger(ACCESS_LOGGER), logging.getLogger("aiohttp"), root]
    handlers = [h for logger in chain for h in logger.handlers]
    ours = handlers[0] if len(handlers) == 1 else None
    if (
        not isinstance(ours, LineHandler)
        or not isinstance(ours.formatter, _RedactingFormatter)
        or ours.filters
        or ours.level > logging.INFO
        or any(logger.filters or not logger.propagate for logger in chain[:-1])
        or root.filters
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    return ours


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
    root.addHandler(build_handler(config, stream))
    root.setLevel(config.log_level)
    # WARNING turns the access log off: AccessLogger.enabled is then False and aiohttp skips it.
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.INFO if config.access_log else logging.WARNING
    )
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestFilter) for f in server.filters):
        server.addFilter(MalformedRequestFilter())
    logging.captureWarnings(True)
    # Never printed, and each costs per record: os.getpid() is a system call on every line.
    logging.logThreads = logging.logMultiprocessing = logging.logProcesses = False


class MalformedRequestFilter(logging.Filter):
    """A request the HTTP parser refused (smuggling shapes, bad lines) is the sender's mistake:
    one INFO line without a traceback, not an ERROR a flood of bad requests could fill logs with."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = f"refused a malformed request: {type(exc).__name__}", ()
            record.exc_info = record.exc_text = None
        return True


class AccessLogger(AbstractAccessLogger):
    """One line per request (pass as `access_log_class=` to web.run_app / AppRunner)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = _safe_path(request)
        method, status = request.method, response.status
        extra = {
            "request_id": request.get(REQUEST_ID),
            "tenant_id": request.get(TENANT_ID),
            "key_id": request.get(KEY_ID),
            "method": method,
            "path": path,
            "status": status,
            "duration": round(time, 6),
            "bytes": response.body_length,
            "remote": request.remote,
        }
        logger, message = self.logger, f"{method} {path} {status}"
        direct = _direct
        # A worker serving: render here and skip the record and logging's machinery (together
        # with the whole-line test, about a tenth of the gateway's CPU per request). Only the
        # sender's own text can look like a secret (the other fields are UUIDs from the store,
        # numbers and the peer's address, and JSON keeps fields apart): if it does, the line
        # takes the redacting path below.
        if direct is not None and logger.name == ACCESS_LOGGER:
            if not _suspect(f"{extra['request_id']} {method} {path}"):
                formatter = cast(_RedactingFormatter, direct.formatter)
                direct.add_line(formatter.render_info(_now(), logger.name, message, extra))
                return
        if logging.getLogRecordFactory() is logging.LogRecord:
            record = _access_record(logger.name, message, extra)
        else:  # someone installed a record factory: let it make the record
            record = logger.makeRecord(
                logger.name, logging.INFO, __file__, 0, message, (), None, None, extra
            )
        logger.handle(record)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


_now = time.time  # AccessLogger.log's `time` argument (aiohttp's name) hides the module

# An INFO record made once from this file; each access record starts as a copy of its fields.
_PROTOTYPE = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 0, "", (), None)
# Thread and process fields as configure_logging sets them (off: never printed, and the values
# seen at import would be the supervisor's, not a worker's).
_PROTOTYPE_FIELDS = _PROTOTYPE.__dict__ | dict.fromkeys(
    ("thread", "threadName", "process", "processName")
)


def _access_record(name: str, message: str, extra: dict[str, Any]) -> logging.LogRecord:
    """What `Logger.makeRecord` returns for an INFO line with `extra`, for a fifth of its cost.

    LogRecord.__init__ recomputes per call what is the same for every access line (level name,
    file name and module, argument checks). Here only the time, name, message and extras change.
    (AccessLogger.log uses Logger.makeRecord instead when a record factory is installed.)
    """
    ns = time.time_ns()
    record: logging.LogRecord = object.__new__(logging.LogRecord)
    fields = record.__dict__
    fields.update(_PROTOTYPE_FIELDS)
    created = ns / 1e9
    fields["created"] = created
    fields["msecs"] = (ns % 1_000_000_000) // 1_000_000 + 0.0
    fields["relativeCreated"] = (created - _PROTOTYPE.created) * 1000 + _PROTOTYPE.relativeCreated
    fields["name"] = name
    fields["msg"] = message
    fields.update(extra)
    return record


def _safe_path(request: web.BaseRequest) -> str:
    """The path without its query, the ingest token masked (it addresses an endpoint), and any
    API key a user pasted into the URL masked."""
    match_info = getattr(request, "match_info", None)
    token = match_info.get("token") if match_info else None
    path = request.path
    if token:  # the route's last segment: mask it there, not where the same text first occurs
        head, _, last = path.rpartition("/")
        path = f"{head}/***" if last == token else path.replace(token, "***")
    if "hks_" in path:
        key_pattern, masked = _PATTERNS[0]
        path = key_pattern.sub(masked, path)
    return path

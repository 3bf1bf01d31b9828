"""Logging, configured once at start: JSON lines (or text), an access log, and redaction.

Code logs with `logging.getLogger(__name__)` and passes what it knows through `extra=`
(`request_id`, `tenant_id`, `key_id`, `status`, `duration`, ...); the formatter writes every
extra field. Nothing here should ever see a key or a token, but the redaction filter on the
handler removes anything that looks like one (API keys, JWTs, bearer values, key hashes, and the
values of X-Api-Key, Authorization and cookie headers) as a second line of defence.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.config import Config
from gateway.keys import KEY_ID, REQUEST_ID, TENANT_ID

ACCESS_LOGGER = "aiohttp.access"
_MARK = "_hooksentry_handler"
_KEY_IN_PATH = re.compile(
    r"hks_[0-9a-f]{32}"
)  # tags the handler configure_logging installed, to replace it
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (UTC, ms, Z), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
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
        # Last pass over the whole line: the filter does not see nested extras (header dicts).
        return redact(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    """`timestamp LEVEL logger message key=value ...` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        line = f"{_timestamp(record.created)} {record.levelname:<7} {record.name} "
        line += record.getMessage() + (f" {fields}" if fields else "")
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        return redact(line)


def _timestamp(created: float) -> str:
    second = int(created)
    return f"{_second(second)}.{int((created - second) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _second(second: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC; many lines share a second, so it is formatted once."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def build_handler(config: Config, stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if config.log_format == "json" else TextFormatter())
    handler.addFilter(RedactionFilter())
    setattr(handler, _MARK, True)
    return handler


def configure_logging(config: Config, stream: IO[str] | None = None) -> None:
    """Install the one handler on the root logger (replacing an earlier one of ours)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(build_handler(config, stream))
    root.setLevel(config.log_level)
    # WARNING turns the access log off: AccessLogger.enabled is then False and aiohttp skips it.
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.INFO if config.access_log else logging.WARNING
    )
    logging.captureWarnings(True)
    # Never printed, and each costs per record: os.getpid() is a system call on every line.
    logging.logThreads = logging.logMultiprocessing = logging.logProcesses = False


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
        # makeRecord + handle is what Logger.info does, minus the walk up the stack for a
        # caller that no line prints (a few microseconds on every request).
        logger = self.logger
        record = logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            0,
            f"{method} {path} {status}",
            (),
            None,
            None,
            extra,
        )
        logger.handle(record)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def _safe_path(request: web.BaseRequest) -> str:
    """The path without its query, the ingest token masked (it addresses an endpoint), and any
    API key a user pasted into the URL masked."""
    match_info = getattr(request, "match_info", None)
    token = match_info.get("token") if match_info else None
    path = request.path
    if token:
        path = path.replace(token, "***", 1)
    if "hks_" in path:
        path = _KEY_IN_PATH.sub("hks_[redacted]", path)
    return path

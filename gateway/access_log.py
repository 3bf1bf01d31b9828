"""The access log: one line per request, as aiohttp's `access_log_class`.

Lines carry the request's context (request id, tenant and key ids, method, masked path, status,
duration, bytes, peer) and go through the logging configured by gateway.logs. While a worker
serves with our handler alone, `AccessLogger.log` renders its line itself and adds it to the
handler's batch (no record, none of logging's dispatch: about a tenth of the gateway's CPU per
request); anywhere else, and for any line whose sender-supplied text looks like a secret, it
makes a record and logs it like any other line (docs/decisions.md, "Logs").
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, cast

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gateway.keys import KEY_ID, REQUEST_ID, TENANT_ID
from gateway.logs import ACCESS_LOGGER, API_KEY_PATTERN, LineHandler, RedactingFormatter, suspect


class AccessLogger(AbstractAccessLogger):
    """One line per request (pass as `access_log_class=` to web.run_app / AppRunner).

    aiohttp makes one per connection; each finds once where its lines may go directly.
    """

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logger, log_format)
        self._direct = _direct_handler() if logger.name == ACCESS_LOGGER else None

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
        direct = self._direct
        if direct is not None and direct.batch and _clean(f"{extra['request_id']} {method} {path}"):
            formatter = cast(RedactingFormatter, direct.formatter)
            with contextlib.suppress(Exception):  # a failed write: the record path reports it
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
    try:
        token = request.match_info.get("token")  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):  # refused by the parser: no route was resolved
        token = None
    path = request.path
    if token:  # the route's last segment: mask it there, not where the same text first occurs
        head, _, last = path.rpartition("/")
        path = f"{head}/***" if last == token else path.replace(token, "***")
    if "hks_" in path:
        key_pattern, masked = API_KEY_PATTERN
        path = key_pattern.sub(masked, path)
    return path


def _clean(sender_text: str) -> bool:
    """Whether a line may skip redaction: only the sender's own text (request id, method, path)
    can look like a secret; the other fields are UUIDs from the store, numbers and the peer's
    address. Printable text is written as it is, bar a backslash before `"` and `\\`, which
    neither makes nor breaks a trigger, so testing it is testing the rendered line."""
    return sender_text.isprintable() and not suspect(sender_text)


def _direct_handler() -> LineHandler | None:
    """Ours, when it is the only place an access record could go and nothing could change the
    record on its way: no other handler, no filter, no record factory."""
    root = logging.getLogger()
    chain = [logging.getLogger(ACCESS_LOGGER), logging.getLogger("aiohttp"), root]
    handlers = [h for logger in chain for h in logger.handlers]
    ours = handlers[0] if len(handlers) == 1 else None
    if (
        not isinstance(ours, LineHandler)
        or not isinstance(ours.formatter, RedactingFormatter)
        or ours.filters
        or ours.level > logging.INFO
        or any(logger.filters or not logger.propagate for logger in chain[:-1])
        or root.filters
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    return ours

"""The HTTP server's per-connection limits: slow senders, the connection cap, parser errors.

aiohttp bounds none of a connection's phases but the keep-alive idle time: a sender that
trickles its headers or its body one byte at a time holds a connection (and its memory) for as
long as it likes. `GatewayRunner` serves the app with `GuardedRequestHandler`, which adds:
- a deadline for a request's headers, from their first byte (from connect for the first request);
- an idle timeout between two pieces of a body and a deadline for the whole body (408 while the
  handler reads it, the connection closed otherwise);
- a cap on open connections per process (503 and close beyond it);
- parser errors (smuggling shapes, bad lines) answered with the JSON error body and a request id,
  logged as one INFO line.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from gateway.access_log import AccessLogger
from gateway.config import Config
from gateway.errors import RequestTimeout
from gateway.middlewares import REQUEST_ID, error_response, request_id_of

log = logging.getLogger(__name__)

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: 83\r\n\r\n"
    b'{"error":"too_many_connections","message":"The gateway is at its connection limit."}'
)
_PARSER_CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large"}


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float
    body_idle_timeout: float
    body_timeout: float
    max_connections: int

    @classmethod
    def from_config(cls, config: Config) -> ConnectionLimits:
        return cls(
            config.header_timeout,
            config.body_idle_timeout,
            config.body_timeout,
            config.max_connections,
        )


def make_runner(app: web.Application, config: Config, **kwargs: Any) -> GatewayRunner:
    """The runner `serve`, the tests and the bench serve the app with."""
    limits = ConnectionLimits.from_config(config)
    kwargs.setdefault("access_log_class", AccessLogger)
    return GatewayRunner(app, limits, keepalive_timeout=config.keepalive_timeout, **kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections are `GuardedRequestHandler`s."""

    def __init__(self, app: web.Application, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The app built a plain Server (its request factory, handler arguments); only the
        # protocol it makes per connection differs, so the instance is given the subclass.
        server.__class__ = _GuardedServer
        server.limits = self._limits  # type: ignore[attr-defined]
        return server


class _GuardedServer(web.Server):
    limits: ConnectionLimits

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)

    def is_full(self) -> bool:
        return len(self._connections) >= self.limits.max_connections


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler with deadlines on reading headers and bodies."""

    def __init__(self, manager: _GuardedServer, *, limits: ConnectionLimits, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._limits = limits
        self._header_timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_ends_at = self._body_idle_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        if isinstance(manager, _GuardedServer) and manager.is_full():
            self._manager = None  # never registered: connection_lost has nothing to undo
            transport.write(_BUSY)  # type: ignore[attr-defined]
            transport.close()
            return
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_header_timer()
        self._end_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self._body is None and not self._request_in_progress:
            self._arm_header_timer()  # the first byte of the next request
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:  # a request's headers are complete
            self._cancel_header_timer()
            payload = self._messages[-1][1] if self._messages else None
            if isinstance(payload, StreamReader) and not payload.is_eof():
                self._start_body(payload)
        elif self._body is not None:
            if self._body.is_eof():
                self._end_body()
            else:
                self._body_idle_at = self._loop.time() + self._limits.body_idle_timeout

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Requests the parser refused, in the gateway's own error format; other errors (500s
        outside the app's middleware) as aiohttp renders them."""
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        log.info("refused a malformed request: %s", type(exc).__name__)
        if request.writer.output_size > 0:
            raise ConnectionError("the response had already started")
        code = _PARSER_CODES.get(status, f"http_{status}")
        response = error_response(status, code, "The request is not valid HTTP.")
        response.headers[REQUEST_ID] = request_id_of(request)
        response.force_close()
        return response

    def _arm_header_timer(self) -> None:
        self._header_timer = self._loop.call_later(
            self._limits.header_timeout, self._on_header_timeout
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if not self._request_in_progress and not self._messages:
            self.force_close()

    def _start_body(self, payload: StreamReader) -> None:
        self._end_body()
        now = self._loop.time()
        self._body = payload
        self._body_ends_at = now + self._limits.body_timeout
        self._body_idle_at = now + self._limits.body_idle_timeout
        self._body_timer = self._loop.call_at(self._body_idle_at, self._on_body_timer)

    def _end_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
        self._body = self._body_timer = None

    def _on_body_timer(self) -> None:
        """Checked when the earlier of the two deadlines may have passed; re-armed otherwise (a
        timer per body, not per piece of it)."""
        body = self._body
        self._body_timer = None
        if body is None or body.is_eof():
            self._body = None
            return
        due = min(self._body_ends_at, self._body_idle_at)
        if self._loop.time() < due:
            self._body_timer = self._loop.call_at(due, self._on_body_timer)
            return
        self._body = None
        if self._request_in_progress:
            body.set_exception(RequestTimeout())  # the handler's read answers 408
            self.close()  # and the connection ends after that answer
        else:
            self.force_close()

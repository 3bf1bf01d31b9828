"""A lean HTTP/1.1 client for the one upstream: kept-alive connections, httptools parsing.

Profiling showed aiohttp's `ClientSession` spending about two thirds of the proxy's CPU on a
request whose shape never changes (one host, a buffered body, a buffered answer). This client
does only that: asyncio protocol callbacks, the llhttp response parser (httptools), a bounded
pool of kept-alive connections, and failures sorted by what the upstream may have seen:

- `ConnectFailed`: no connection was made, nothing was sent; the caller may retry.
- `Disconnected`: the connection failed after the request was written (also a reused connection
  the upstream had just closed, even before any answer byte): it may have arrived, never retry.
- `BadResponse`: the answer could not be parsed; the connection is dropped.
- `TimeoutError`: connecting took longer than the connect timeout, or the whole exchange (pool
  wait, connect, send, answer) longer than the total timeout.

Answers framed by Content-Length, chunked encoding, or the end of the connection are read whole;
1xx interim answers are skipped. HEAD is not supported (the proxy forwards POST only).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from typing import NamedTuple

import httptools

RawHeaders = list[tuple[bytes, bytes]]
_IDLE_LIMIT = 15.0  # seconds a pooled connection may sit unused (aiohttp's default keep-alive)
_BODYLESS = frozenset({204, 304})


class ConnectFailed(Exception):
    """The connection could not be made: nothing reached the upstream."""


class Disconnected(Exception):
    """The connection failed after the request was written: it may have reached the upstream."""


class BadResponse(Exception):
    """The upstream's answer is not valid HTTP/1.1."""


class RawReply(NamedTuple):
    status: int
    headers: RawHeaders
    body: bytes


class _Connection(asyncio.Protocol):
    """One kept-alive connection; one exchange at a time."""

    def __init__(self, pool: UpstreamClient) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[RawReply] | None = None
        self._headers: RawHeaders = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._reply: RawReply | None = None  # set by on_message_complete, sent by data_received
        self._extra = False  # the upstream began a second answer nobody asked for
        self._keep_alive = False

    def send(self, data: bytes, waiter: asyncio.Future[RawReply]) -> None:
        assert self.transport is not None
        self._waiter = waiter
        self.transport.write(data)

    def abort(self) -> None:
        """Drop the connection (an exchange that did not finish leaves it in an unknown state)."""
        self._waiter = None
        if self.transport is not None:
            self.transport.abort()

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # --- asyncio callbacks -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._pool._forget(self)
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        status = self._parser.get_status_code() if self._headers_done else 0
        if exc is None and self._headers_done and _ends_at_eof(status, self._headers):
            waiter.set_result(RawReply(status, self._headers, b"".join(self._body)))
        else:
            waiter.set_exception(Disconnected(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: the connection cannot be trusted any more
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.abort()
            waiter.set_exception(BadResponse(str(exc)))
            return
        reply, self._reply = self._reply, None
        if reply is None:
            return
        self._waiter = None
        waiter.set_result(reply)
        if self._extra or not self._keep_alive:
            self.abort()
        else:
            self._pool._release(self)

    # --- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._extra = self._reply is not None
        self._headers, self._body, self._headers_done = [], [], False

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        # Asked here: once the message is complete, llhttp has reset what the answer depends on.
        self._keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if status >= 200 and self._reply is None:  # 1xx: an interim answer, the real one follows
            self._reply = RawReply(status, self._headers, b"".join(self._body))


def _ends_at_eof(status: int, headers: RawHeaders) -> bool:
    """True when the answer has no length and no chunking: its body ends with the connection."""
    if status in _BODYLESS or status < 200:
        return False
    names = {name.lower() for name, _ in headers}
    return b"content-length" not in names and b"transfer-encoding" not in names


class UpstreamClient:
    """A bounded pool of kept-alive connections to one host; `request()` is one exchange."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        pool_size: int = 256,
        connect_timeout: float = 2.0,
        timeout: float = 30.0,
    ) -> None:
        self._host, self._port = host, port
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if tls else None
        self._limit = pool_size
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._idle: list[_Connection] = []  # a stack: the warmest connection is reused first
        self._all: set[_Connection] = set()
        self._busy = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def request(self, data: bytes) -> RawReply:
        """Send one serialised request (head and body) and read the whole answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        if self._busy < self._limit and not self._slot_waiters:
            self._busy += 1
        else:
            await self._wait_for_slot(deadline)  # the slot is handed over already counted
        try:
            conn = self._idle_connection(loop.time()) or await self._connect(deadline)
            waiter: asyncio.Future[RawReply] = loop.create_future()
            timer = loop.call_at(deadline, _expire, waiter)
            conn.send(data, waiter)
            try:
                return await waiter
            except BaseException:
                conn.abort()
                raise
            finally:
                timer.cancel()
        finally:
            self._release_slot()

    async def close(self) -> None:
        """Close every connection, idle or not (in-flight exchanges end with Disconnected)."""
        self._closed = True
        self._idle.clear()
        for conn in list(self._all):
            conn.abort()
        self._all.clear()
        await asyncio.sleep(0)  # let the transports run their connection_lost callbacks

    def _idle_connection(self, now: float) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable and now - conn.idle_since < _IDLE_LIMIT:
                return conn
            conn.abort()
        return None

    async def _wait_for_slot(self, deadline: float) -> None:
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(slot)
        try:
            async with asyncio.timeout_at(deadline):
                await slot
        except BaseException:
            if slot.done() and not slot.cancelled():  # handed a slot at the last moment
                self._release_slot()
            raise

    def _release_slot(self) -> None:
        """Hand the slot to the next waiter, or give it back."""
        while self._slot_waiters:
            slot = self._slot_waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self._busy -= 1

    async def _connect(self, deadline: float) -> _Connection:
        if self._closed:
            raise ConnectFailed("the client is closed")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self._connect_timeout)):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError:
            raise  # too slow, not refused (TimeoutError is an OSError): 504, never retried
        except OSError as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}") from exc
        self._all.add(conn)
        return conn

    def _release(self, conn: _Connection) -> None:
        if self._closed or not conn.usable:
            conn.abort()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.append(conn)

    def _forget(self, conn: _Connection) -> None:
        self._all.discard(conn)
        with contextlib.suppress(ValueError):
            self._idle.remove(conn)


def _expire(waiter: asyncio.Future[RawReply]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())

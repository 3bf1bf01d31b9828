"""Minimal HTTP/1.1 plumbing on httptools, shared by the lean upstream and the floor proxy.

Protocol callbacks only, no framework: this is the cheapest way Python can speak HTTP, which is
exactly what the floor reference and the stand-in upstream are for. One request at a time per
connection (no pipelining); keep-alive as the client asks.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools

REASONS = {200: b"OK", 202: b"Accepted", 401: b"Unauthorized", 502: b"Bad Gateway"}


@dataclass(slots=True)
class Request:
    method: bytes
    url: bytes
    headers: dict[bytes, bytes]  # lower-case names
    body: bytes
    keep_alive: bool


@dataclass(slots=True)
class _Pending:
    url: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: list[bytes] = field(default_factory=list)


def render_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b"Status"))]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class ServerProtocol(asyncio.Protocol):
    """Parses requests and hands each complete one to `handle(protocol, request)`."""

    def __init__(self, handle: Callable[[ServerProtocol, Request], None]) -> None:
        self._handle = handle
        self._parser = httptools.HttpRequestParser(self)
        self._pending = _Pending()
        self.transport: asyncio.Transport | None = None
        self._keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.respond(400, [], b"", close=True)

    def on_message_begin(self) -> None:
        self._pending = _Pending()

    def on_url(self, url: bytes) -> None:
        self._pending.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._pending.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._pending.body.append(body)

    def on_message_complete(self) -> None:
        p = self._pending
        self._keep_alive = self._parser.should_keep_alive()
        method = self._parser.get_method()
        request = Request(method, p.url, p.headers, b"".join(p.body), self._keep_alive)
        self._handle(self, request)

    def respond(
        self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, close: bool = False
    ) -> None:
        if self.transport is None:
            return
        self.transport.write(render_response(status, headers, body))
        if close or not self._keep_alive:
            self.transport.close()


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket that several processes can bind at once (the kernel spreads load)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock

"""The floor reference: what a Python proxy can do at all.

uvloop + httptools protocol callbacks, no framework, no coroutine per request on the hot path:
read `X-Api-Key`, one dict lookup, forward to the upstream over a kept-alive connection from a
pool, copy the status and body back. Anything the gateway costs above this is the price of
aiohttp, of the gateway's own work, or both.

    python -m bench.floor --port 9002 --upstream 127.0.0.1:9001 --keys keys.tsv
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httptools

from bench.httpproto import Request, ServerProtocol, reuse_port_socket
from bench.keyfile import run_reference

Reply = Callable[[int, list[tuple[bytes, bytes]], bytes], None]
_UNAUTHORIZED = b'{"error":"invalid_api_key","message":"The API key is not valid."}'
_BAD_GATEWAY = b'{"error":"upstream_unavailable","message":"The upstream failed."}'
_JSON = [(b"Content-Type", b"application/json")]


class UpstreamConnection(asyncio.Protocol):
    """One kept-alive connection to the upstream; one exchange at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self._pool = pool
        self._parser = httptools.HttpResponseParser(self)
        self._reply: Reply | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._pool.discard(self)
        if self._reply is not None:
            reply, self._reply = self._reply, None
            reply(502, _JSON, _BAD_GATEWAY)

    def send(self, data: bytes, reply: Reply) -> None:
        assert self.transport is not None
        self._reply = reply
        self._headers, self._body = [], []
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type":
            self._headers.append((b"Content-Type", value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        reply, self._reply = self._reply, None
        status = self._parser.get_status_code()
        self._pool.release(self)
        if reply is not None:
            reply(status, self._headers, b"".join(self._body))


class UpstreamPool:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._idle: list[UpstreamConnection] = []
        self.host_header = f"{host}:{port}".encode()

    def forward(self, data: bytes, reply: Reply) -> None:
        if self._idle:
            self._idle.pop().send(data, reply)
        else:
            asyncio.get_running_loop().create_task(self._connect_and_send(data, reply))

    async def _connect_and_send(self, data: bytes, reply: Reply) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(
                lambda: UpstreamConnection(self), self._host, self._port
            )
        except OSError:
            reply(502, _JSON, _BAD_GATEWAY)
            return
        conn.send(data, reply)

    def release(self, conn: UpstreamConnection) -> None:
        if conn.transport is not None:
            self._idle.append(conn)

    def discard(self, conn: UpstreamConnection) -> None:
        if conn in self._idle:
            self._idle.remove(conn)


def make_handler(keys: dict[str, str], pool: UpstreamPool) -> Callable[..., None]:
    bkeys = {k.encode(): t.encode() for k, t in keys.items()}

    def handle(protocol: ServerProtocol, request: Request) -> None:
        tenant = bkeys.get(request.headers.get(b"x-api-key", b""))
        if tenant is None:
            protocol.respond(401, _JSON, _UNAUTHORIZED)
            return
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n" % (
            request.url,
            pool.host_header,
            request.headers.get(b"content-type", b"application/octet-stream"),
        )
        head += b"X-HookSentry-Tenant-Id: %s\r\nContent-Length: %d\r\n\r\n" % (
            tenant,
            len(request.body),
        )
        pool.forward(head + request.body, protocol.respond)

    return handle


async def serve(host: str, port: int, upstream: str, keys: dict[str, str]) -> None:
    up_host, _, up_port = upstream.rpartition(":")
    handle = make_handler(keys, UpstreamPool(up_host, int(up_port)))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ServerProtocol(handle), sock=reuse_port_socket(host, port)
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    run_reference("python -m bench.floor", __doc__, serve)


if __name__ == "__main__":
    main()

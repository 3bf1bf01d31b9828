"""A small asyncio TCP relay for fault tests: put it between a client and a server, then make it
delay, black-hole, reset or refuse connections. Loopback only; runs in the test's event loop.

    relay = await Relay.start("127.0.0.1", 5432)
    dsn = relay.rewrite(dsn)          # same URL, relay's port
    relay.blackhole()                 # bytes stop flowing (a silent hang); relay.heal() resumes
    await relay.reset()               # every open connection gets an RST
    await relay.refuse()              # connections refused; `await relay.reopen()` listens again
    relay.delay = 0.2                 # each chunk waits this long in both directions
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_CHUNK = 65536


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Relay:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.target_unix: str | None = None  # a Unix socket path instead of host:port
        self.host = host
        self.port = 0
        self.delay = 0.0
        self.accepted = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    @classmethod
    async def start(cls, target_host: str, target_port: int) -> Relay:
        relay = cls(target_host, target_port)
        await relay._listen()
        return relay

    @classmethod
    async def for_url(cls, url: str) -> Relay:
        """In front of the server a postgresql:// or redis:// URL names (TCP or, for libpq-style
        `?host=/socket/dir` URLs such as the embedded PostgreSQL's, a Unix socket)."""
        parts = urlsplit(url)
        default_port = 5432 if parts.scheme.startswith("postgres") else 6379
        relay = cls(parts.hostname or "127.0.0.1", parts.port or default_port)
        socket_dir = dict(parse_qsl(parts.query)).get("host", "")
        if socket_dir.startswith("/"):
            relay.target_unix = f"{socket_dir}/.s.PGSQL.{parts.port or default_port}"
        await relay._listen()
        return relay

    def rewrite(self, url: str) -> str:
        """The same URL with this relay's host and port (and no socket-directory `host`)."""
        parts = urlsplit(url)
        userinfo, at, _ = parts.netloc.rpartition("@")
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
        netloc = f"{userinfo}{at}{self.host}:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    @property
    def open_connections(self) -> int:
        return len(self._links)

    def blackhole(self) -> None:
        """Accept and hold everything, forward nothing: the server looks hung."""
        self._flowing.clear()

    def heal(self) -> None:
        """Bytes flow again (after blackhole())."""
        self._flowing.set()

    async def reopen(self) -> None:
        """Listen again on the same port (after refuse()), and let bytes flow."""
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def reset(self) -> None:
        """Abort every open connection with an RST (what a killed server looks like)."""
        for link in list(self._links):
            _abort(link.client)
            if link.server is not None:
                _abort(link.server)
            for task in link.tasks:
                task.cancel()
        self._links.clear()
        await asyncio.sleep(0)

    async def refuse(self) -> None:
        """Stop listening (new connections are refused) and reset the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.reset()

    async def close(self) -> None:
        self._flowing.set()
        await self.refuse()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._flowing.wait()
            if self.target_unix:
                up_reader, up_writer = await asyncio.open_unix_connection(self.target_unix)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            link.server = up_writer
            link.tasks = [
                asyncio.create_task(self._pipe(reader, up_writer)),
                asyncio.create_task(self._pipe(up_reader, writer)),
            ]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._links.discard(link)
            for task in link.tasks:
                task.cancel()
            for w in (writer, link.server):
                if w is not None:
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(_CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

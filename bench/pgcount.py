"""A TCP relay in front of PostgreSQL that counts the key lookups the gateway sends.

The gateway connects to the relay; the relay copies bytes both ways and reads the frontend
messages as they pass: `Parse` tells which prepared statement holds which SQL text, each `Bind`
of a statement that selects by `key_hash` is one key lookup, and every `Execute` or simple
`Query` is one statement. Counting on the wire is independent of the gateway's code and of
PostgreSQL's statistics delays. SSL must be off between gateway and relay (`sslmode=disable`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
from urllib.parse import parse_qs, urlsplit, urlunsplit

LOOKUP_SQL = re.compile(r"^\s*select\b.*\bkey_hash\s*=\s*\$1", re.I | re.S)
_SSL_REQUEST, _GSS_REQUEST, _CANCEL = 80877103, 80877104, 80877102


class WireCounter:
    """Parses one client->server stream; updates the shared counts."""

    def __init__(self, counts: Counts) -> None:
        self._counts = counts
        self._buf = bytearray()
        self._startup = True
        self._statements: dict[bytes, bool] = {}  # statement name -> is a key lookup

    def feed(self, data: bytes) -> None:
        self._buf += data
        while True:
            if self._startup:
                if len(self._buf) < 8:
                    return
                length, code = struct.unpack_from("!ii", self._buf)
                if len(self._buf) < length:
                    return
                del self._buf[:length]
                self._startup = code in (_SSL_REQUEST, _GSS_REQUEST)
                continue
            if len(self._buf) < 5:
                return
            kind = bytes(self._buf[0:1])
            length = struct.unpack_from("!i", self._buf, 1)[0]
            if len(self._buf) < 1 + length:
                return
            self._message(kind, bytes(self._buf[5 : 1 + length]))
            del self._buf[: 1 + length]

    def _message(self, kind: bytes, payload: bytes) -> None:
        if kind == b"P":
            name, query = payload.split(b"\0", 2)[:2]
            self._statements[name] = bool(LOOKUP_SQL.match(query.decode(errors="replace")))
        elif kind == b"B":
            statement = payload.split(b"\0", 2)[1]
            if self._statements.get(statement):
                self._counts.lookups += 1
        elif kind == b"E":
            self._counts.statements += 1
        elif kind == b"Q":
            self._counts.statements += 1
            if LOOKUP_SQL.match(payload.rstrip(b"\0").decode(errors="replace")):
                self._counts.lookups += 1


class Counts:
    def __init__(self) -> None:
        self.lookups = 0
        self.statements = 0


class PgRelay:
    def __init__(self, target_dsn: str) -> None:
        self.target_dsn = target_dsn
        self.counts = Counts()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def dsn(self) -> str:
        """The target's URL pointed at the relay (same user and database, SSL off)."""
        parts = urlsplit(self.target_dsn)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}@" if parts.password else f"{user}@"
        return urlunsplit(
            ("postgresql", f"{auth}127.0.0.1:{self.port}", parts.path, "sslmode=disable", "")
        )

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.target_dsn)
        socket_dir = parse_qs(parts.query).get("host", [""])[0]
        port = parts.port or 5432
        if socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}")
        return await asyncio.open_connection(parts.hostname or "127.0.0.1", port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await self._open_target()
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        counter = WireCounter(self.counts)
        try:
            await asyncio.gather(
                _pipe(reader, up_writer, counter.feed), _pipe(up_reader, writer, None)
            )
        finally:
            for w in (writer, up_writer):
                w.close()
            self._tasks.discard(task)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, observe: object
) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            if callable(observe):
                observe(data)
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        writer.write_eof()

"""Fallback load generator when `wrk` is not installed: one process of keep-alive connections.

Closed loop, like wrk: each connection sends a request, waits for the whole response, sends the
next one, until the deadline. `bench.load` starts several of these processes and merges their
JSON. Python is slower than wrk: the client takes more of the machine, so throughput figures
from this fallback are lower; the README says so.

    python -m bench.pyload URL REQUESTS_FILE BODY_FILE --connections 32 --duration 5 --slice 0/2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httptools
import uvloop

GRACE = 5.0  # seconds a request in flight at the deadline may still take


class Client(asyncio.Protocol):
    def __init__(self, stats: Stats, requests: list[bytes], offset: int) -> None:
        self._stats, self._requests, self._pos = stats, requests, offset
        self._parser = httptools.HttpResponseParser(self)
        self._sent_at = 0.0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._sent_at and exc is not None:
            self._stats.socket_errors += 1
        if not self.closed.done():
            self.closed.set_result(None)

    def _send(self) -> None:
        if self.transport is None or time.monotonic() >= self._stats.deadline:
            if self.transport is not None:
                self.transport.close()
            return
        self._pos = (self._pos + 1) % len(self._requests)
        self._sent_at = time.perf_counter()
        request = self._requests[self._pos]
        if DELIVERY_SLOT in request:  # a signed delivery: a new delivery id each time (§7)
            request = request.replace(DELIVERY_SLOT, next_delivery_id(), 1)
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._stats.socket_errors += 1
            if self.transport is not None:
                self.transport.close()

    def on_message_complete(self) -> None:
        self._stats.latencies.append(int((time.perf_counter() - self._sent_at) * 1e6))
        status = self._parser.get_status_code()
        self._stats.statuses[status] = self._stats.statuses.get(status, 0) + 1
        self._sent_at = 0.0
        if self._parser.should_keep_alive():
            self._send()
        elif self.transport is not None:
            self.transport.close()


class Stats:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.latencies: list[int] = []
        self.statuses: dict[int, int] = {}
        self.socket_errors = 0


SIGNATURE_PREFIX = "sha256="  # bench.scenarios' signed lines (not imported: this stays lean)
DELIVERY_SLOT = b"{delivery}"
_RUN = os.urandom(6).hex()
_sent = itertools.count()


def next_delivery_id() -> bytes:
    """Unique per request and per run: the gateway forwards each GitHub delivery once."""
    return f"{_RUN}-{os.getpid()}-{next(_sent)}".encode()


def render(host: str, path: str, key: str, body: bytes) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    if key.startswith(SIGNATURE_PREFIX):  # the signed scenario: a GitHub delivery
        head += f"X-Hub-Signature-256: {key}\r\nX-GitHub-Delivery: {{delivery}}\r\n"
    elif key:
        head += f"X-Api-Key: {key}\r\n"
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


def load_slice(lines: list[str], index: int, count: int) -> list[str]:
    """The same contiguous slicing as loadgen.lua, so both generators send the same keys."""
    per = len(lines) // count
    if per == 0:
        return lines
    last = len(lines) if index == count - 1 else (index + 1) * per
    return lines[index * per : last]


def build_requests(args: argparse.Namespace) -> list[bytes]:
    body = Path(args.body_file).read_bytes()
    index, count = (int(x) for x in args.slice.split("/"))
    lines = load_slice(Path(args.requests_file).read_text().splitlines(), index, count)
    requests = []
    for line in lines:
        key, _, path = line.partition("\t")
        requests.append(render(urlsplit(args.url).netloc, path, key, body))
    return requests


async def run(args: argparse.Namespace, requests: list[bytes]) -> dict[str, object]:
    url = urlsplit(args.url)
    stats = Stats(time.monotonic() + args.duration)
    started = time.monotonic()
    clients: list[Client] = []
    loops = [
        asyncio.ensure_future(
            connection_loop(
                url.hostname or "",
                url.port or 80,
                stats,
                clients,
                requests,
                i * len(requests) // args.connections,
            )
        )
        for i in range(args.connections)
    ]
    _, late = await asyncio.wait(loops, timeout=args.duration + GRACE)
    for task in late:  # a server that stopped answering: give up on it, count the loss
        task.cancel()
        stats.socket_errors += 1
    for client in clients:
        if client.transport is not None:
            client.transport.abort()
    return {
        "seconds": time.monotonic() - started,
        "latencies_us": stats.latencies,
        "statuses": stats.statuses,
        "socket_errors": stats.socket_errors,
    }


async def connection_loop(
    host: str, port: int, stats: Stats, clients: list[Client], requests: list[bytes], offset: int
) -> None:
    loop = asyncio.get_running_loop()
    while time.monotonic() < stats.deadline:
        try:
            _, client = await loop.create_connection(
                lambda: Client(stats, requests, offset), host, port
            )
        except OSError:
            stats.socket_errors += 1
            await asyncio.sleep(0.05)  # refused: back off a little rather than spin
            continue
        clients.append(client)
        await client.closed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pyload", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("requests_file")
    parser.add_argument("body_file")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--slice", default="0/1")
    args = parser.parse_args()
    json.dump(uvloop.run(run(args, build_requests(args))), sys.stdout)


if __name__ == "__main__":
    main()

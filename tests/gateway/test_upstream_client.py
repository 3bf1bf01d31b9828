"""The lean upstream client against a raw TCP server: framing, keep-alive, failures, the pool."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.upstream_client import (
    BadResponse,
    ConnectFailed,
    Disconnected,
    RawReply,
    UpstreamClient,
)

pytestmark = pytest.mark.timeout(30)

Answer = Callable[[bytes], Awaitable[bytes | None]]  # request body -> raw answer (None: close)


def request(body: bytes = b"{}") -> bytes:
    head = f"POST /in HTTP/1.1\r\nHost: up\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def answer(status: str, body: bytes = b"", *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawUpstream:
    """Reads Content-Length-framed requests; `answer` decides the bytes sent back (or a close)."""

    def __init__(self, reply: Answer) -> None:
        self.reply = reply
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.bodies: list[bytes] = []
        self.closed = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.close_after_answer = False

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.bodies.append(body)
                data = await self.reply(body)
                if data is None:
                    return
                writer.write(data)
                await writer.drain()
                if self.close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self.closed.set()
            writer.close()


Serve = Callable[[Answer], Awaitable[RawUpstream]]
Clients = Callable[..., UpstreamClient]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[RawUpstream]]]:
    servers: list[asyncio.Server] = []

    async def start(reply: Answer) -> RawUpstream:
        upstream = RawUpstream(reply)
        upstream.server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
        servers.append(upstream.server)
        return upstream

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def fixed(data: bytes | None) -> Answer:
    async def reply(_: bytes) -> bytes | None:
        return data

    return reply


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., UpstreamClient]]:
    made: list[UpstreamClient] = []

    def make(port: int, **kw: float) -> UpstreamClient:
        client = UpstreamClient("127.0.0.1", port, **kw)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_content_length_answers_reuse_one_kept_alive_connection(
    serve: Serve, clients: Clients
) -> None:
    upstream = await serve(fixed(answer("202 Accepted", b"{}", "Content-Length: 2", "X-A: 1")))
    client = clients(upstream.port)
    replies = [await client.request(request(f'{{"n":{i}}}'.encode())) for i in range(5)]
    assert replies[0] == RawReply(202, [(b"Content-Length", b"2"), (b"X-A", b"1")], b"{}")
    assert all(r.status == 202 for r in replies)
    assert upstream.connections == 1
    assert upstream.bodies == [f'{{"n":{i}}}'.encode() for i in range(5)]


async def test_chunked_answer_is_read_whole(serve: Serve, clients: Clients) -> None:
    chunks = b"5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
    upstream = await serve(fixed(answer("200 OK", chunks, "Transfer-Encoding: chunked")))
    client = clients(upstream.port)
    for _ in range(2):
        reply = await client.request(request())
        assert (reply.status, reply.body) == (200, b"hello world")
    assert upstream.connections == 1


async def test_answer_without_length_is_read_to_the_end_of_the_connection(
    serve: Serve, clients: Clients
) -> None:
    upstream = await serve(fixed(answer("200 OK", b"all of it, until EOF", "X-C: 3")))
    upstream.close_after_answer = True
    client = clients(upstream.port)
    for _ in range(2):
        reply = await client.request(request())
        assert (reply.status, reply.body) == (200, b"all of it, until EOF")
    assert upstream.connections == 2  # such a connection cannot be reused


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
async def test_bodyless_statuses_complete_without_a_body(
    serve: Serve, clients: Clients, status: str
) -> None:
    upstream = await serve(fixed(answer(status, b"", "X-B: 2")))
    client = clients(upstream.port)
    for _ in range(2):
        reply = await client.request(request())
        assert reply.status == int(status[:3]) and reply.body == b""
    assert upstream.connections == 1


async def test_interim_100_continue_is_skipped(serve: Serve, clients: Clients) -> None:
    final = answer("201 Created", b"ok", "Content-Length: 2")
    upstream = await serve(fixed(answer("100 Continue") + final))
    reply = await clients(upstream.port).request(request())
    assert (reply.status, reply.body) == (201, b"ok")


async def test_large_bodies_both_ways_arrive_intact(serve: Serve, clients: Clients) -> None:
    big_answer = bytes(range(256)) * 8192  # 2 MiB
    upstream = await serve(
        fixed(answer("200 OK", big_answer, f"Content-Length: {len(big_answer)}"))
    )
    big_request = b"z" * (1 << 20)
    reply = await clients(upstream.port).request(request(big_request))
    assert reply.body == big_answer
    assert upstream.bodies == [big_request]


async def test_connection_close_answer_is_not_reused(serve: Serve, clients: Clients) -> None:
    upstream = await serve(fixed(answer("200 OK", b"x", "Content-Length: 1", "Connection: close")))
    client = clients(upstream.port)
    for _ in range(2):
        assert (await client.request(request())).body == b"x"
    assert upstream.connections == 2


async def test_an_idle_connection_the_upstream_closed_is_not_reused(
    serve: Serve, clients: Clients
) -> None:
    upstream = await serve(fixed(answer("202 Accepted", b"", "Content-Length: 0")))
    client = clients(upstream.port)
    assert (await client.request(request())).status == 202
    upstream.closed.clear()
    upstream.writers[-1].close()  # the upstream's idle timeout
    await upstream.closed.wait()
    deadline = time.monotonic() + 5
    # The FIN reaching the client's loop is no event the test can await: poll, bounded.
    while client._idle and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    assert (await client.request(request())).status == 202
    assert upstream.connections == 2
    assert len(upstream.bodies) == 2


async def test_refused_connection_raises_connect_failed(clients: Clients) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(ConnectFailed):
            await clients(port).request(request())


@pytest.mark.parametrize(
    "data",
    [None, answer("200 OK", b"partial", "Content-Length: 100")],
    ids=["closed-before-answer", "closed-mid-body"],
)
async def test_failure_after_sending_raises_disconnected_once(
    serve: Serve, clients: Clients, data: bytes | None
) -> None:
    upstream = await serve(fixed(data))
    upstream.close_after_answer = True
    with pytest.raises(Disconnected):
        await clients(upstream.port).request(request())
    assert len(upstream.bodies) == 1


async def test_garbage_answer_raises_bad_response(serve: Serve, clients: Clients) -> None:
    upstream = await serve(fixed(b"NOT HTTP AT ALL\r\n\r\n"))
    with pytest.raises(BadResponse):
        await clients(upstream.port).request(request())


async def test_slow_answer_times_out_within_the_total_timeout(
    serve: Serve, clients: Clients
) -> None:
    release = asyncio.Event()

    async def hang(_: bytes) -> bytes | None:
        await release.wait()
        return None

    upstream = await serve(hang)
    client = clients(upstream.port, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        await client.request(request())
    assert 0.25 <= time.monotonic() - start < 1.0
    release.set()


async def test_pool_is_bounded_and_waiters_get_connections_in_turn(
    serve: Serve, clients: Clients
) -> None:
    async def slow(_: bytes) -> bytes | None:
        await asyncio.sleep(0.05)
        return answer("202 Accepted", b"", "Content-Length: 0")

    upstream = await serve(slow)
    client = clients(upstream.port, pool_size=2)
    replies = await asyncio.gather(*(client.request(request()) for _ in range(8)))
    assert [r.status for r in replies] == [202] * 8
    assert upstream.max_open <= 2 and upstream.connections == 2


async def test_waiting_for_a_full_pool_counts_against_the_timeout(
    serve: Serve, clients: Clients
) -> None:
    release = asyncio.Event()

    async def hang(_: bytes) -> bytes | None:
        await release.wait()
        return answer("202 Accepted", b"", "Content-Length: 0")

    upstream = await serve(hang)
    client = clients(upstream.port, pool_size=1, timeout=0.3)
    results = await asyncio.gather(
        client.request(request()), client.request(request()), return_exceptions=True
    )
    assert all(isinstance(r, TimeoutError) for r in results)
    assert len(upstream.bodies) == 1  # the second never got a connection
    release.set()
    assert client._busy == 0


async def test_close_closes_idle_connections(serve: Serve, clients: Clients) -> None:
    upstream = await serve(fixed(answer("202 Accepted", b"", "Content-Length: 0")))
    client = clients(upstream.port)
    await client.request(request())
    upstream.closed.clear()
    await client.close()
    await asyncio.wait_for(upstream.closed.wait(), 5)
    assert upstream.open == 0
    with pytest.raises(ConnectFailed):
        await client.request(request())


async def test_a_connect_that_hangs_is_a_timeout_not_a_refusal() -> None:
    """SYNs to a listener whose accept queue is full are dropped: connecting hangs, as with a
    black-holed upstream. That is "too slow" (504 upstream), never "refused" (retried, 502)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue (its size is backlog + 1 on Linux)
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        client = UpstreamClient("127.0.0.1", port, connect_timeout=0.3, timeout=5)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.request(request())
        assert time.monotonic() - started < 1.0
        await client.close()
    finally:
        for filler in fillers:
            filler.close()
        listener.close()

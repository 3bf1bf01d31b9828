"""`serve` as a subprocess: SO_REUSEPORT workers, supervision, graceful SIGTERM (RELIABILITY 17)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from gateway.config import ROOT
from tests.gateway.conftest import RecordingUpstream, ServeEnviron
from tests.services import free_port

pytestmark = pytest.mark.timeout(90)

SERVE = (
    "import logging, os, sys\n"
    "from gateway.config import load_config\n"
    "from gateway.workers import serve\n"
    "logging.basicConfig(level=logging.INFO, format='%(process)d %(name)s %(message)s')\n"
    "sys.exit(serve(load_config(os.environ)))\n"
)
SHUTDOWN_TIMEOUT = 5.0


class Served:
    """A `serve` parent process and what a test needs to talk to it."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []

    def listening_pids(self) -> set[int]:
        pids = set()
        for worker in self.workers():
            try:
                conns = worker.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in conns):
                pids.add(worker.pid)
        return pids

    def server_pid_of(self, client_port: int) -> int | None:
        for worker in self.workers():
            for c in worker.net_connections(kind="tcp"):
                if c.raddr and c.raddr.port == client_port and c.laddr.port == self.port:
                    return worker.pid
        return None

    def kill_all(self) -> None:
        for process in [*self.workers(), psutil.Process(self.proc.pid)]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(5)


async def until(predicate: Callable[[], Any], deadline: float, what: str) -> Any:
    """Poll a condition that has no event to await (another process's state), bounded."""
    end = time.monotonic() + deadline
    while not (value := predicate()):
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


@pytest.fixture
def start_serve(serve_environ: ServeEnviron, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    started: list[Served] = []

    def start(upstream: RecordingUpstream, workers: int = 2, **env: str) -> Served:
        port = free_port()
        environ = serve_environ(
            INGEST_UPSTREAM=upstream.url,
            PORT=str(port),
            WORKERS=str(workers),
            SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT),
            ACCESS_LOG="false",
            PG_POOL_MIN="1",
            PG_POOL_MAX="4",
        )
        environ |= env | {"PYTHONPATH": str(ROOT)}
        log = tmp_path / f"serve-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", SERVE], env=environ, stdout=out, stderr=out, cwd=ROOT
            )
        served = Served(proc, port, log)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.kill_all()


async def ready(served: Served, workers: int = 2) -> None:
    await until(
        lambda: len(served.listening_pids()) == workers or served.proc.poll() is not None,
        30,
        "workers to listen",
    )
    assert served.proc.poll() is None, served.log.read_text()


@pytest.fixture
async def api_key(new_tenant: Callable[..., Any], auth: Callable[..., dict[str, str]]) -> Any:
    async def create(served: Served) -> tuple[str, str]:
        tenant = await new_tenant()
        async with aiohttp.ClientSession() as s:
            r = await s.post(
                served.base + "/api/v1/apikeys", json={"name": "w"}, headers=auth(tenant)
            )
            assert r.status == 201, await r.text()
            key = (await r.json())["key"]
        return key, f"/api/v1/ingest/{tenant}/tok"

    return create


async def raw_post(port: int, path: str, key: str) -> tuple[int, asyncio.StreamWriter, int]:
    """One request on a fresh connection, left open: (status, writer, client port)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"POST {path} HTTP/1.1\r\nHost: gw\r\nX-Api-Key: {key}\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    writer.write(request.encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    return int(head.split(b" ", 2)[1]), writer, writer.get_extra_info("sockname")[1]


async def test_serve_with_two_workers_answers_from_two_pids(
    start_serve: Callable[..., Any], upstream: RecordingUpstream, api_key: Any
) -> None:
    served = start_serve(upstream)
    await ready(served)
    key, path = await api_key(served)
    seen: dict[int, int] = {}
    writers = []
    for _ in range(24):
        status, writer, client_port = await raw_post(served.port, path, key)
        assert status == 202
        writers.append(writer)
        pid = served.server_pid_of(client_port)
        assert pid is not None
        seen[pid] = seen.get(pid, 0) + 1
    for writer in writers:
        writer.close()
    assert set(seen) == served.listening_pids()
    assert len(seen) == 2
    assert served.proc.pid not in seen  # the parent only supervises


async def test_a_worker_that_dies_is_replaced(
    start_serve: Callable[..., Any], upstream: RecordingUpstream, api_key: Any
) -> None:
    served = start_serve(upstream)
    await ready(served)
    before = served.listening_pids()
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    await until(
        lambda: len(pids := served.listening_pids()) == 2 and victim not in pids, 30, "a new worker"
    )
    key, path = await api_key(served)
    status, writer, _ = await raw_post(served.port, path, key)
    writer.close()
    assert status == 202


async def test_sigterm_under_load_drains_in_flight_requests_and_refuses_new_ones(
    start_serve: Callable[..., Any], upstream: RecordingUpstream, api_key: Any
) -> None:
    served = start_serve(upstream)
    await ready(served)
    key, path = await api_key(served)
    upstream.delay = 1.5  # every request is in flight when the signal lands
    in_flight = 16
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> tuple[int, bytes]:
            async with session.post(
                served.base + path, data=b'{"n":1}', headers={"X-Api-Key": key}
            ) as r:
                return r.status, await r.read()

        tasks = [asyncio.create_task(send()) for _ in range(in_flight)]
        await until(lambda: len(upstream.received) == in_flight, 20, "requests upstream")
        served.proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await until(lambda: refused(served.port), 3, "new connections to be refused")
        results = await asyncio.gather(*tasks)
        assert [status for status, _ in results] == [202] * in_flight
        assert all(body == upstream.body for _, body in results)
    code = await asyncio.to_thread(served.proc.wait, SHUTDOWN_TIMEOUT + 5)
    elapsed = time.monotonic() - signalled
    assert code == 0, served.log.read_text()
    assert elapsed < SHUTDOWN_TIMEOUT
    assert "all workers drained" in served.log.read_text()


async def test_sigterm_when_idle_exits_promptly(
    start_serve: Callable[..., Any], upstream: RecordingUpstream
) -> None:
    served = start_serve(upstream)
    await ready(served)
    served.proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    code = await asyncio.to_thread(served.proc.wait, SHUTDOWN_TIMEOUT + 5)
    assert code == 0
    assert time.monotonic() - start < 2.0


async def test_serve_refuses_to_start_without_the_c_http_parser(
    start_serve: Callable[..., Any], upstream: RecordingUpstream
) -> None:
    served = start_serve(upstream, AIOHTTP_NO_EXTENSIONS="1")
    code = await asyncio.to_thread(served.proc.wait, 20)
    assert code == 2
    assert "C HTTP parser" in served.log.read_text()
    assert "Traceback" not in served.log.read_text()


async def test_serve_stops_when_a_worker_cannot_start(
    start_serve: Callable[..., Any], upstream: RecordingUpstream
) -> None:
    with socket.socket() as taken:  # a plain (no SO_REUSEPORT) listener holds the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        served = start_serve(upstream, HOOKSENTRY_PORT=str(taken.getsockname()[1]))
        code = await asyncio.to_thread(served.proc.wait, 30)
    assert code == 1
    assert "address already in use" in served.log.read_text()


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False

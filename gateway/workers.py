"""`serve`: N worker processes sharing the port (SO_REUSEPORT), supervised by the parent.

Each worker builds its own app through `create_app` (own pools, listener, L1) on uvloop and
binds with `reuse_port=True`. The parent only supervises: it forwards SIGTERM/SIGINT, restarts a
worker that dies unexpectedly, and exits once every worker has drained. A worker that fails
before it listens (bad database URL, port taken) stops the whole start: restarting it would only
repeat the failure.

Graceful shutdown, per worker: the listening socket closes first (new connections are refused
once every worker has closed its socket), idle keep-alive connections close, in-flight requests
get most of `shutdown_timeout` to finish, then the resources close. The parent kills whatever is
still running when `shutdown_timeout` has passed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.context import ForkProcess
from multiprocessing.synchronize import Event
from typing import Any

from aiohttp import web

from gateway.app import create_app
from gateway.config import Config
from gateway.logs import batching
from gateway.server import make_runner
from gateway.startup import announce

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Of the shutdown budget, the part in-flight requests get; the rest closes pools and listeners.
_DRAIN_SHARE = 0.8
_CRASH_WINDOW, _MAX_CRASHES = 60.0, 5
_READY_POLL = 0.05


def serve(config: Config) -> int:
    """Run `config.workers` processes until SIGTERM/SIGINT; return the process exit code."""
    problem = parser_problem(config)
    if problem:
        log.error(problem)
        return EXIT_REFUSED
    if config.workers == 1:
        return run_worker(config, None)
    return _Supervisor(config).run()


def parser_problem(config: Config) -> str | None:
    """Why the server would run the pure-Python HTTP parser, unless that was allowed."""
    from aiohttp import http, http_parser  # the server takes its parser from aiohttp.http

    if http.HttpRequestParser is not http_parser.HttpRequestParserPy:
        return None
    if config.allow_python_parser:
        log.warning("running with aiohttp's pure-Python HTTP parser (allow_python_parser)")
        return None
    return (
        "aiohttp's C HTTP parser (llhttp) is not available (AIOHTTP_NO_EXTENSIONS set, or no "
        "compiled wheel); refusing to start. Set HOOKSENTRY_ALLOW_PYTHON_PARSER=true to override."
    )


def run_worker(config: Config, ready: Event | None) -> int:
    """One worker process: serve on uvloop until SIGTERM/SIGINT, then drain."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        try:
            return runner.run(_serve_until_signalled(config, ready))
        except OSError as exc:  # bind failures, mostly
            log.error("worker %d could not start: %s", os.getpid(), exc)
        except Exception as exc:
            log.error("worker %d could not start: %s: %s", os.getpid(), type(exc).__name__, exc)
    return EXIT_FAILED


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return None
    return uvloop.new_event_loop


async def _serve_until_signalled(config: Config, ready: Event | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    runner = make_runner(
        create_app(config),
        config,
        access_log=logging.getLogger("aiohttp.access") if config.access_log else None,
        shutdown_timeout=config.shutdown_timeout * _DRAIN_SHARE,
        handle_signals=False,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, reuse_port=True, backlog=1024)
        await site.start()
        # What start-up built lives as long as the worker: keep it out of every collection
        # (a full collection walks every tracked object and pauses the worker while it does).
        gc.collect()
        gc.freeze()
        if ready is not None:
            ready.set()
        log.info("worker %d listening on %s:%d", os.getpid(), config.host, config.port)
        if ready is None:  # the only worker: no parent to say it
            log.info(await announce(config))
        async with batching():  # log lines written in batches while serving (access log)
            await stop.wait()
        log.info("worker %d draining", os.getpid())
    finally:
        await runner.cleanup()
    return EXIT_OK


class _Supervisor:
    """The parent: starts the workers, restarts the ones that die, forwards the stop signal."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._ctx = multiprocessing.get_context("fork")
        self._workers: dict[int, tuple[ForkProcess, Event]] = {}
        self._stopping = False
        self._crashes: list[float] = []
        self._announced = False

    def run(self) -> int:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        old_wakeup = signal.set_wakeup_fd(wake_w)
        try:
            for slot in range(self._config.workers):
                self._start(slot)
            return self._supervise(wake_r)
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(wake_r)
            os.close(wake_w)
            self._kill_all()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stopping = True

    def _start(self, slot: int) -> None:
        ready = self._ctx.Event()
        process = self._ctx.Process(
            target=_worker_entry, args=(self._config, ready), name=f"gateway-worker-{slot}"
        )
        process.start()
        self._workers[slot] = (process, ready)

    def _supervise(self, wake_r: int) -> int:
        deadline: float | None = None
        while self._workers:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._announced:  # readiness is not a file descriptor: look again soon
                timeout = _READY_POLL if timeout is None else min(timeout, _READY_POLL)
            sentinels = [p.sentinel for p, _ in self._workers.values()]
            ready_fds = wait([*sentinels, wake_r], timeout)
            if wake_r in ready_fds:
                _drain(wake_r)
            if self._stopping and deadline is None:
                deadline = time.monotonic() + self._config.shutdown_timeout
                self._signal_all(signal.SIGTERM)
            if deadline is not None and time.monotonic() >= deadline:
                log.error("workers did not drain within shutdown_timeout; killing them")
                return EXIT_FAILED
            failed = self._reap()
            if failed:
                return failed
            self._announce_once_ready()
        log.info("all workers drained")
        return EXIT_OK

    def _announce_once_ready(self) -> None:
        """The start-up line, once, when every worker first listens."""
        if self._announced or self._stopping:
            return
        if all(ready.is_set() for _, ready in self._workers.values()):
            self._announced = True
            log.info(asyncio.run(announce(self._config)))

    def _reap(self) -> int | None:
        """Handle dead workers: forget them while stopping, restart them otherwise."""
        for slot, (process, ready) in list(self._workers.items()):
            if process.is_alive():
                continue
            process.join()
            del self._workers[slot]
            if self._stopping:
                continue
            if not ready.is_set():
                log.error("worker %s failed to start (exit %s); stopping", slot, process.exitcode)
                return self._abort()
            if self._crash_looping():
                log.error("workers keep dying (%d in %.0fs); stopping", _MAX_CRASHES, _CRASH_WINDOW)
                return self._abort()
            log.warning("worker %s died (exit %s); restarting it", slot, process.exitcode)
            self._start(slot)
        return None

    def _crash_looping(self) -> bool:
        now = time.monotonic()
        self._crashes = [t for t in self._crashes if now - t < _CRASH_WINDOW] + [now]
        return len(self._crashes) > _MAX_CRASHES

    def _abort(self) -> int:
        self._stopping = True
        self._signal_all(signal.SIGTERM)
        for process, _ in self._workers.values():
            process.join(self._config.shutdown_timeout)
        return EXIT_FAILED

    def _signal_all(self, sig: int) -> None:
        for process, _ in self._workers.values():
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, sig)

    def _kill_all(self) -> None:
        self._signal_all(signal.SIGKILL)
        for process, _ in self._workers.values():
            process.join(1.0)
        self._workers.clear()


def _worker_entry(config: Config, ready: Event) -> None:
    # The fork inherited the parent's handlers and wake-up pipe; the worker's loop sets its own.
    signal.set_wakeup_fd(-1)
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    sys.exit(run_worker(config, ready))


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass

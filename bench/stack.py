"""Start and stop the servers under test as separate OS processes on 127.0.0.1.

The upstream, the references (one process per worker, each binding with SO_REUSEPORT) and the
gateway exactly as users run it: `hooksentry-gateway serve --workers N`. Their output goes to
log files in the bench's work folder; a server that fails to start raises with its log's tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent  # servers run from the checkout
_START_TIMEOUT = 30.0
# An INFO or DEBUG line of the gateway's logs, JSON or text format.
_INFO = re.compile(rb'^(\{"timestamp":"[^"]*","level":"(INFO|DEBUG)"|\S+ (INFO|DEBUG) )')
_STOP_TIMEOUT = 20.0
# The console script `hooksentry-gateway` is exactly this: run the CLI's main().
GATEWAY_CLI = [
    sys.executable,
    "-c",
    "import sys; from gateway.__main__ import main; sys.exit(main())",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listeners(port: int) -> int:
    """How many sockets listen on 127.0.0.1/0.0.0.0:port (one per SO_REUSEPORT worker)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            count += 1
    return count


@dataclass(slots=True)
class Service:
    name: str
    port: int
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def log_tail(self, lines: int = 20) -> str:
        tails = []
        for path in self.logs:
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            tails.append("\n".join(text[-lines:]))
        return "\n".join(tails)

    def trim_logs(self, max_bytes: int = 32 << 20) -> None:
        """Access logs grow with every request; keep the disk bounded over a long matrix, but
        keep every line that is not INFO (a warning explains a strange run)."""
        for path in self.logs:
            if path.exists() and path.stat().st_size > max_bytes:
                with path.open("rb") as fh:
                    kept = [line for line in fh if not _INFO.search(line)]
                with path.open("r+b") as fh:
                    fh.truncate(0)
                with path.open("ab") as fh:  # appending, as the server does: nothing overwritten
                    fh.writelines(kept)

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def spawn(
    service: Service, argv: list[str], workdir: Path, env: dict[str, str] | None = None
) -> None:
    log = workdir / f"{service.name}-{len(service.procs)}.log"
    with log.open("ab") as fh:  # append mode: trim_logs() can cut the file while it is written
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=fh, stderr=asyncio.subprocess.STDOUT, env=env, cwd=ROOT
        )
    service.procs.append(proc)
    service.logs.append(log)


async def wait_ready(service: Service, workers: int, probe: str | None = None) -> None:
    """Until `workers` sockets listen on the port (and `probe` answers 200), bounded in time."""
    deadline = time.monotonic() + _START_TIMEOUT
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            dead = [p for p in service.procs if p.returncode is not None]
            if dead:
                raise RuntimeError(f"{service.name} exited at start:\n{service.log_tail()}")
            if listeners(service.port) >= workers and await _probe(session, service, probe):
                return
            await asyncio.sleep(0.1)  # no event to await: a foreign process binding a port
    await service.stop()
    raise RuntimeError(f"{service.name} did not start in {_START_TIMEOUT}s:\n{service.log_tail()}")


async def _probe(session: aiohttp.ClientSession, service: Service, path: str | None) -> bool:
    if path is None:
        return True
    try:
        async with session.get(service.url + path, timeout=aiohttp.ClientTimeout(total=2)) as r:
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def start_upstream(workdir: Path) -> Service:
    service = Service("upstream", free_port())
    await spawn(
        service, [sys.executable, "-m", "bench.upstream", "--port", str(service.port)], workdir
    )
    await wait_ready(service, 1)
    return service


async def start_reference(
    kind: str, workers: int, upstream: Service, keys_file: Path, workdir: Path
) -> Service:
    service = Service(f"{kind}-{workers}w", free_port())
    argv = [
        sys.executable,
        "-m",
        f"bench.{kind}",
        "--port",
        str(service.port),
        "--upstream",
        f"127.0.0.1:{upstream.port}",
        "--keys",
        str(keys_file),
    ]
    for _ in range(workers):
        await spawn(service, argv, workdir)
    await wait_ready(service, workers)
    return service


async def start_gateway(workers: int, env: dict[str, str], workdir: Path) -> Service:
    service = Service(f"gateway-{workers}w", free_port())
    argv = [*GATEWAY_CLI, "serve", "--workers", str(workers), "--port", str(service.port)]
    await spawn(service, argv, workdir, env | {"HOOKSENTRY_HOST": "127.0.0.1"})
    await wait_ready(service, workers, "/readyz")
    return service

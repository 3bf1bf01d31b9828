"""Drive load at a server: `wrk` with bench/loadgen.lua when installed, else bench/pyload.py.

Both are closed-loop keep-alive generators with a fixed number of connections, both send the
same requests (a file of `key<TAB>path` lines, a body file), and both stop by themselves after
`duration` seconds (wrk: its own timer; the fallback: its deadline plus a grace period).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("loadgen.lua")
_KILL_AFTER = 15.0  # seconds past the run's duration before a stuck generator is killed


@dataclass(frozen=True, slots=True)
class LoadSpec:
    url: str  # http://127.0.0.1:port
    requests_file: Path
    body_file: Path
    duration: float
    connections: int
    threads: int
    expected: Collection[int]  # statuses that are correct answers in this scenario


@dataclass(slots=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: int = 0  # responses whose status is not in LoadSpec.expected

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.unexpected


def pick_tool(requested: str = "auto") -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return requested


async def run_load(spec: LoadSpec, tool: str) -> LoadResult:
    result = await (_run_wrk(spec) if tool == "wrk" else _run_python(spec))
    result.unexpected = sum(n for s, n in result.statuses.items() if s not in spec.expected)
    return result


async def _run_wrk(spec: LoadSpec) -> LoadResult:
    argv = [
        "wrk",
        f"-t{spec.threads}",
        f"-c{max(spec.connections, spec.threads)}",
        f"-d{max(1, round(spec.duration))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "-s",
        str(LUA_SCRIPT),
        spec.url,
        "--",
        str(spec.requests_file),
        str(spec.body_file),
        str(spec.threads),
    ]
    out = await _communicate(argv, spec.duration)
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out[-500:]!r}")
    return parse_wrk(json.loads(line.removeprefix("BENCHJSON ")))


def parse_wrk(data: dict[str, object]) -> LoadResult:
    def n(name: str) -> int:
        value = data[name]
        assert isinstance(value, int)
        return value

    statuses = data["statuses"]
    assert isinstance(statuses, dict)
    return LoadResult(
        requests=n("requests"),
        seconds=n("duration_us") / 1e6,
        p50_ms=n("p50_us") / 1e3,
        p99_ms=n("p99_us") / 1e3,
        socket_errors=n("connect") + n("read") + n("write") + n("timeout"),
        statuses={int(k): int(v) for k, v in statuses.items()},
    )


async def _run_python(spec: LoadSpec) -> LoadResult:
    procs = spec.threads
    per_proc = max(1, spec.connections // procs)
    argv = [
        sys.executable,
        "-m",
        "bench.pyload",
        spec.url,
        str(spec.requests_file),
        str(spec.body_file),
        "--connections",
        str(per_proc),
        "--duration",
        str(spec.duration),
    ]
    outs = await asyncio.gather(
        *(_communicate([*argv, "--slice", f"{i}/{procs}"], spec.duration) for i in range(procs))
    )
    return merge_python([json.loads(out) for out in outs])


def merge_python(parts: list[dict[str, object]]) -> LoadResult:
    latencies: list[int] = sorted(x for p in parts for x in p["latencies_us"])  # type: ignore[attr-defined]
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part["statuses"].items():  # type: ignore[attr-defined]
            statuses[int(status)] = statuses.get(int(status), 0) + int(count)
    return LoadResult(
        requests=len(latencies),
        seconds=max(float(p["seconds"]) for p in parts),  # type: ignore[arg-type]
        p50_ms=percentile(latencies, 50) / 1e3,
        p99_ms=percentile(latencies, 99) / 1e3,
        socket_errors=sum(int(p["socket_errors"]) for p in parts),  # type: ignore[call-overload]
        statuses=statuses,
    )


def percentile(sorted_values: list[int], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(len(sorted_values) * pct / 100))
    return float(sorted_values[index])


async def _communicate(argv: list[str], duration: float) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), duration + _KILL_AFTER)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{argv[0]} did not stop in time") from None
    if proc.returncode != 0:
        detail = (err or out).decode()[-500:]
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {detail}")
    return out.decode()

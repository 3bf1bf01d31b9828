"""The bench harness's parts work: references forward, the load generator counts, the relay counts
PostgreSQL key lookups, and the report renders. Fast: no matrix, real servers on loopback."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench import bare_proxy, floor, report
from bench.load import LoadSpec, run_load
from bench.pgcount import PgRelay
from bench.scenarios import json_body, malformed_keys, write_requests
from bench.stack import Service, start_upstream
from gateway.apikeys import generate_key, hash_key, is_well_formed
from gateway.db import QUERIES

KEY, TENANT = "hks_0123456789abcdef0123456789abcdef", "7d6f2c1e-0000-4000-8000-000000000001"
PATH = f"/api/v1/ingest/{TENANT}/tok?x=1"


@pytest.fixture
async def recording_upstream() -> AsyncIterator[tuple[TestServer, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def accept(request: web.Request) -> web.Response:
        seen.append(
            {
                "path": request.path_qs,
                "headers": request.headers.copy(),
                "body": await request.read(),
            }
        )
        return web.json_response({"accepted": True}, status=202)

    app = web.Application()
    app.router.add_post("/api/v1/ingest/{tenant}/{token}", accept)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, seen
    await server.close()


async def post(url: str, key: str | None, body: bytes) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} | ({"X-Api-Key": key} if key else {})
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as resp:
            return resp.status, await resp.read()


async def check_forwarding(base: str, seen: list[dict[str, Any]]) -> None:
    body = json_body()
    assert await post(base + PATH, KEY, body) == (202, b'{"accepted": true}')
    assert seen[-1]["body"] == body and seen[-1]["path"] == PATH
    assert seen[-1]["headers"]["X-HookSentry-Tenant-Id"] == TENANT
    assert "X-Api-Key" not in seen[-1]["headers"]
    status, _ = await post(base + PATH, "hks_" + "f" * 32, body)
    assert status == 401 and len(seen) == 1


async def test_floor_reference_forwards_valid_keys_and_rejects_others(recording_upstream):
    server, seen = recording_upstream
    pool = floor.UpstreamPool("127.0.0.1", server.port)
    handler = floor.make_handler({KEY: TENANT}, pool)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: floor.ServerProtocol(handler), "127.0.0.1", 0)
    try:
        await check_forwarding(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", seen)
    finally:
        srv.close()


async def test_bare_reference_forwards_valid_keys_and_rejects_others(recording_upstream):
    server, seen = recording_upstream
    app = bare_proxy.create_app(f"127.0.0.1:{server.port}", {KEY: TENANT})
    proxy = TestServer(app, host="127.0.0.1")
    await proxy.start_server()
    try:
        await check_forwarding(f"http://127.0.0.1:{proxy.port}", seen)
    finally:
        await proxy.close()


@pytest.mark.parametrize("tool", ["python", "wrk"])
async def test_load_generator_counts_requests_and_statuses(tool: str, tmp_path: Path):
    if tool == "wrk" and not shutil.which("wrk"):
        pytest.fail("wrk is not installed: apt-get install -y wrk (.ci/run does)")
    upstream = await start_upstream(tmp_path)
    try:
        result = await run_load(spec(upstream, tmp_path, expected={401}), tool)
    finally:
        await upstream.stop()
    assert result.requests > 100 and result.socket_errors == 0
    assert result.statuses == {202: result.requests}
    assert result.unexpected == result.requests  # 202 is wrong when 401 was expected
    assert 0 < result.p50_ms <= result.p99_ms


def spec(upstream: Service, tmp_path: Path, expected: set[int]) -> LoadSpec:
    body = tmp_path / "body.json"
    body.write_bytes(json_body())
    requests = write_requests(tmp_path / "requests.tsv", TENANT, [KEY, generate_key()])  # type: ignore[arg-type]
    return LoadSpec(
        upstream.url, requests, body, duration=1, connections=4, threads=2, expected=expected
    )


async def test_relay_counts_each_key_lookup_sent_to_postgresql(database_url: str):
    relay = PgRelay(database_url)
    await relay.start()
    try:
        conn = await asyncpg.connect(relay.dsn())
        try:
            for _ in range(3):
                await conn.fetchrow(QUERIES["lookup_key"], hash_key(generate_key()))
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    finally:
        await relay.close()
    assert relay.counts.lookups == 3
    assert relay.counts.statements >= 4


def test_malformed_keys_are_all_rejected_by_the_format_check():
    assert not any(is_well_formed(k) for k in malformed_keys())


def run(workers: int, target: str, scenario: str, n: int, rps: float, p99: float) -> dict:
    return {
        "workers": workers,
        "target": target,
        "scenario": scenario,
        "run": n,
        "rps": rps,
        "p50_ms": p99 / 4,
        "p99_ms": p99,
        "errors": 0,
        "proxy_cpu_us": 1e6 / rps,
        "upstream_cpu_us": 20.0,
        "pg_lookups": 5 if target == "gateway" else None,
        "pg_bound": 10 if scenario == "unknown" else None,
        "distinct_keys": 10,
    }


def test_report_renders_medians_ratios_table_json_and_chart(tmp_path: Path):
    runs = []
    for n, noise in enumerate((1.0, 0.5, 1.1)):
        runs += [
            run(1, "direct", "valid", n, 40000 * noise, 2.0),
            run(1, "bare", "valid", n, 4000 * noise, 20.0),
            run(1, "gateway", "valid", n, 3600 * noise, 22.0),
            run(1, "gateway", "unknown", n, 3800 * noise, 23.0),
        ]
    meta = {"tool": "wrk", "options": {"runs": 3, "duration": 5, "connections": 64}}
    table, paths = report.write_all(tmp_path, {"meta": meta, "runs": runs})
    rows = {(r["target"], r["scenario"]): r for r in report.summarize(runs)}
    gateway = rows[("gateway", "valid")]
    assert gateway["rps"] == 3600 and gateway["x_bare_rps"] == pytest.approx(0.9)
    assert gateway["x_direct_rps"] == pytest.approx(0.09)
    assert "| 1 | valid | gateway | 3,600 |" in table
    assert "- PASS 1w gateway/bare throughput >= 0.9: 0.9" in table
    assert "- PASS 1w unknown keys: PostgreSQL lookups <= 10" in table
    assert '"summary"' in paths[1].read_text()
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_l1_hit_bench_reports_a_figure_from_real_hits():
    from bench import l1hit

    assert l1hit.measure(hits=1000, runs=1) > 0  # it checks that every call was an L1 hit


def test_cli_help_runs():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=20,
    )
    assert out.returncode == 0 and "--quick" in out.stdout


def test_trimming_a_long_log_keeps_its_warnings(tmp_path: Path) -> None:
    log = tmp_path / "gateway-1w-0.log"
    info = b'{"timestamp":"2026-11-27T00:00:00.000Z","level":"INFO","message":"POST /x 202"}\n'
    text_info = b"2026-11-27T00:00:00.000Z INFO    aiohttp.access POST /x 202\n"
    warning = b'{"timestamp":"2026-11-27T00:00:01.000Z","level":"WARNING","message":"gap"}\n'
    log.write_bytes(info * 50 + warning + text_info * 50 + b"Traceback (most recent call last)\n")
    service = Service("gateway-1w", 0, logs=[log])

    service.trim_logs(max_bytes=1024)

    assert log.read_bytes() == warning + b"Traceback (most recent call last)\n"
    service.trim_logs(max_bytes=1024)  # small enough now: left alone
    assert log.read_bytes() == warning + b"Traceback (most recent call last)\n"

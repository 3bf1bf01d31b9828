"""The matrix: for each worker count, start the servers, then repeat every cell `runs` times.

Cells run interleaved (run 1 of every cell, then run 2 ...), so a noisy moment on the machine
hits the gateway and its references alike and the ratios compare runs measured side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procstat, scenarios, stack
from bench.keyfile import write_keys
from bench.load import LoadSpec, pick_tool, run_load
from bench.pgcount import PgRelay
from bench.revoker import measure_propagation, revoke_during
from bench.scenarios import COLD_KEYS, SCENARIOS, Material
from bench.stores import delete_prefix, fresh_database, postgres_server, redis_server
from gateway.config import Config, load_config
from gateway.secretbox import generate_key

# (target, scenario) in the order one repetition runs them; references next to the gateway.
PLAN = (
    ("direct", "valid"),
    ("floor", "valid"),
    ("bare", "valid"),
    ("gateway", "valid"),
    ("gateway", "signed"),
    ("gateway", "signed-nodedup"),  # right after: the duplicate check's cost, paired
    ("bare", "unknown"),
    ("gateway", "unknown"),
    ("gateway", "cold"),
    ("gateway", "revoke"),
    ("bare", "malformed"),
    ("gateway", "malformed"),
)


@dataclass(frozen=True, slots=True)
class Options:
    workers: tuple[int, ...] = (1, 2)
    runs: int = 3
    duration: float = 5.0
    warmup: float = 1.0
    connections: int = 64
    threads: int = 2
    tool: str = "auto"
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    targets: tuple[str, ...] = ("direct", "floor", "bare", "gateway")
    cold_keys: int = COLD_KEYS
    propagation_revocations: int = 100  # scenario 4's figure, by bench/revocation.py

    def plan(self) -> list[tuple[str, str]]:
        return [(t, s) for t, s in PLAN if t in self.targets and s in self.scenarios]


@dataclass(slots=True)
class Bench:
    options: Options
    workdir: Path
    tool: str
    material: Material
    relay: PgRelay
    gateway_env: dict[str, str]
    gateway_config: Config
    body_file: Path
    dsn: str
    redis_url: str
    runs: list[dict[str, Any]] = field(default_factory=list)


async def run_matrix(options: Options, workdir: Path, environ: dict[str, str]) -> dict[str, Any]:
    started = time.monotonic()
    async with _environment(options, workdir, environ) as bench:
        upstream = await stack.start_upstream(workdir)
        try:
            for workers in options.workers:
                await _run_worker_count(bench, upstream, workers)
        finally:
            await upstream.stop()
        propagation = None
        if "revoke" in options.scenarios and "gateway" in options.targets:
            count = options.propagation_revocations
            propagation = await measure_propagation(bench.dsn, bench.redis_url, workdir, count)
    meta = {
        "tool": bench.tool,
        "options": {k: getattr(options, k) for k in Options.__slots__},
        "wall_seconds": round(time.monotonic() - started, 1),
        "negative_ttl": bench.gateway_config.l1_negative_ttl,
        "revocation_propagation": propagation,
    }
    return {"meta": meta, "runs": bench.runs}


@contextlib.asynccontextmanager
async def _environment(
    options: Options, workdir: Path, environ: dict[str, str]
) -> AsyncIterator[Bench]:
    prefix = f"hs-bench-{secrets.token_hex(4)}:"
    secrets_key = generate_key()  # seals the signed scenario's source secret
    with postgres_server(environ) as pg_server, redis_server(environ) as redis_url:
        async with fresh_database(pg_server) as dsn:
            material = await scenarios.seed(
                dsn, list(options.workers), options.runs, options.cold_keys, secrets_key
            )
            relay = PgRelay(dsn)
            await relay.start()
            env = _gateway_env(environ, relay.dsn(), redis_url, prefix)
            env["HOOKSENTRY_SECRETS_KEY"] = secrets_key
            body_file = workdir / "body.json"
            body_file.write_bytes(scenarios.json_body())
            try:
                yield Bench(
                    options,
                    workdir,
                    pick_tool(options.tool),
                    material,
                    relay,
                    env,
                    load_config(env),
                    body_file,
                    dsn,
                    redis_url,
                )
            finally:
                await relay.close()
                await delete_prefix(redis_url, prefix)


def _gateway_env(environ: dict[str, str], dsn: str, redis_url: str, prefix: str) -> dict[str, str]:
    """The operator's HOOKSENTRY_* settings apply (e.g. ACCESS_LOG); the stores are the bench's."""
    return environ | {
        "HOOKSENTRY_DATABASE_URL": dsn,
        "HOOKSENTRY_REDIS_URL": redis_url,
        "HOOKSENTRY_REDIS_PREFIX": prefix,
        "HOOKSENTRY_JWT_SECRET": secrets.token_hex(32),
        "HOOKSENTRY_INGEST_UPSTREAM": "",  # set per run, once the upstream has its port
    }


async def _run_worker_count(bench: Bench, upstream: stack.Service, workers: int) -> None:
    keys_file = bench.workdir / "reference-keys.tsv"
    write_keys(keys_file, ((k, str(bench.material.tenant_id)) for k in bench.material.all_valid()))
    env = bench.gateway_env | {"HOOKSENTRY_INGEST_UPSTREAM": upstream.url}
    targets: dict[str, stack.Service] = {"direct": upstream}
    try:
        for kind, module in (("floor", "floor"), ("bare", "bare_proxy")):
            if kind in bench.options.targets:
                targets[kind] = await stack.start_reference(
                    module, workers, upstream, keys_file, bench.workdir
                )
        if "gateway" in bench.options.targets:
            targets["gateway"] = await stack.start_gateway(workers, env, bench.workdir)
        for service in targets.values():
            await _load(bench, service, "valid", (workers, 0), bench.options.warmup)
        for run in range(bench.options.runs):
            for target, scenario in bench.options.plan():
                record = await _run_cell(bench, targets, upstream, target, scenario, workers, run)
                bench.runs.append(record)
                _print_run(record)
                targets[target].trim_logs()
    finally:
        for name, service in targets.items():
            if name != "direct":
                await service.stop()


async def _load(
    bench: Bench, service: stack.Service, scenario: str, cell: tuple[int, int], duration: float
) -> Any:
    keys = scenarios.request_keys(bench.material, scenario, cell)
    requests_file = bench.workdir / f"requests-{scenario}.tsv"
    token = scenarios.NODEDUP_TOKEN if scenario == "signed-nodedup" else scenarios.SIGNED_TOKEN
    scenarios.write_requests(requests_file, bench.material.tenant_id, keys, token)
    spec = LoadSpec(
        url=service.url,
        requests_file=requests_file,
        body_file=bench.body_file,
        duration=duration,
        connections=bench.options.connections,
        threads=bench.options.threads,
        expected=SCENARIOS[scenario].expected,
    )
    return await run_load(spec, bench.tool)


async def _run_cell(
    bench: Bench,
    targets: dict[str, stack.Service],
    upstream: stack.Service,
    target: str,
    scenario: str,
    workers: int,
    run: int,
) -> dict[str, Any]:
    service = targets[target]
    proxy_pids = [] if target == "direct" else service.pids
    cpu0, up0 = procstat.snapshot(proxy_pids), procstat.snapshot(upstream.pids)
    lookups0, statements0 = bench.relay.counts.lookups, bench.relay.counts.statements
    revoking = None
    if scenario == "revoke":
        revoking = asyncio.ensure_future(
            revoke_during(
                service.url,
                bench.gateway_config,
                bench.material,
                (workers, run),
                bench.options.duration,
            )
        )
    result = await _load(bench, service, scenario, (workers, run), bench.options.duration)
    revocations = await revoking if revoking is not None else None
    cpu1, up1 = procstat.snapshot(proxy_pids), procstat.snapshot(upstream.pids)
    lookups = bench.relay.counts.lookups - lookups0
    distinct, bound = _pg_bound(bench, scenario, workers)
    return {
        "workers": workers,
        "target": target,
        "scenario": scenario,
        "run": run,
        "requests": result.requests,
        "seconds": round(result.seconds, 3),
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 3),
        "p99_ms": round(result.p99_ms, 3),
        "errors": result.errors,
        "socket_errors": result.socket_errors,
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "proxy_cpu_us": _round(procstat.us_per_request(cpu0, cpu1, result.requests)),
        "upstream_cpu_us": _round(procstat.us_per_request(up0, up1, result.requests)),
        "pg_lookups": lookups if target == "gateway" else None,
        "pg_statements": bench.relay.counts.statements - statements0
        if target == "gateway"
        else None,
        "distinct_keys": distinct if target == "gateway" else None,
        "pg_bound": bound if target == "gateway" else None,
        "revocations": revocations,
    }


def _pg_bound(bench: Bench, scenario: str, workers: int) -> tuple[int | None, int | None]:
    """The most PostgreSQL lookups the issue allows in one run of this scenario."""
    if scenario == "unknown":
        # Negative answers live in each worker's L1 only: once per key, per worker, per TTL.
        periods = int(bench.options.duration // bench.gateway_config.l1_negative_ttl) + 1
        distinct = len(bench.material.unknown)
        return distinct, distinct * workers * periods
    if scenario == "cold":
        distinct = bench.options.cold_keys
        return distinct, distinct
    return None, None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _print_run(r: dict[str, Any]) -> None:
    pg = f" pg={r['pg_lookups']}" if r["pg_lookups"] is not None else ""
    print(
        f"  {r['workers']}w run{r['run'] + 1} {r['target']:>7} {r['scenario']:<9} "
        f"{r['rps']:>9.0f} req/s  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
        f"errors {r['errors']}{pg}",
        flush=True,
    )

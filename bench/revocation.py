"""Revocation propagation: how soon after a revoke does EVERY gateway process reject the key?

    python -m bench.revocation --processes 3 --revocations 200
    python -m bench.revocation --subject source-deactivate   (or source-rotate)

Starts the lean upstream and N gateway processes exactly as users run them
(`hooksentry-gateway serve --workers 1`, each on its own port so that each process can be asked
separately; SO_REUSEPORT workers would hide which one answered). For every revocation: a key is
created through the admin API, every process is shown to accept it (202 from the upstream),
then probe loops keep POSTing real ingest requests (`X-Api-Key`) to every process while the key
is revoked with `DELETE /api/v1/apikeys/{id}` on one of them (rotating). The delay of a process
is from sending the DELETE to receiving its first 401, so it includes the whole revoke call and
one request round trip: an upper bound. Optional background loops keep other traffic flowing.

With `--subject source-deactivate` / `source-rotate` the same is measured for sources (SPEC §6):
a GitHub-style source is created, every process accepts its signed deliveries, then it is
deactivated (deliveries need an X-Api-Key again: 401) or its secret rotated with overlap 0
(the old secret's signature: 401).

SPEC §4: p99 <= 100 ms across processes while Redis is up. Stores: HOOKSENTRY_BENCH_DATABASE_URL
/ HOOKSENTRY_BENCH_REDIS_URL, else embedded servers (bench/stores.py).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.stack import Service, start_gateway, start_upstream
from bench.stores import delete_prefix, fresh_database, postgres_server, redis_server
from gateway.config import load_config
from gateway.tokens import Role, mint_token

_TIMEOUT = aiohttp.ClientTimeout(total=10)
_GIVE_UP = 5.0  # a process that still accepts the key this long after the DELETE: "never"
_BODY = b'{"event":"bench.revocation"}'


Headers = dict[str, str]


def key_headers(key: str) -> Headers:
    return {"X-Api-Key": key, "Content-Type": "application/json"}


def github_headers(secret: str) -> Headers:
    signature = hmac.new(secret.encode(), _BODY, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={signature}", "Content-Type": "application/json"}


async def ingest(session: aiohttp.ClientSession, url: str, headers: Headers) -> int:
    async with session.post(url, data=_BODY, headers=headers, timeout=_TIMEOUT) as r:
        await r.read()
        return r.status


async def until_accepted(session: aiohttp.ClientSession, url: str, key: Headers) -> None:
    deadline = time.monotonic() + _GIVE_UP
    while (status := await ingest(session, url, key)) != 202:
        if time.monotonic() > deadline:
            raise RuntimeError(f"a fresh key was never accepted (last status {status})")


async def first_rejection(session: aiohttp.ClientSession, url: str, key: Headers) -> float:
    """Keep sending until the process answers 401; the monotonic time of that answer."""
    deadline = time.monotonic() + _GIVE_UP
    while time.monotonic() < deadline:
        status = await ingest(session, url, key)
        if status == 401:
            return time.monotonic()
        if status != 202:
            raise RuntimeError(f"unexpected status {status} while the key was being revoked")
    return float("inf")


class Admin:
    def __init__(self, session: aiohttp.ClientSession, token: str):
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"}

    async def create(self, gateway: Service) -> tuple[str, str]:
        url = gateway.url + "/api/v1/apikeys"
        async with self.session.post(url, json={"name": "bench"}, headers=self.headers) as r:
            body = await r.json()
            if r.status != 201:
                raise RuntimeError(f"create failed: {r.status} {body}")
            return body["id"], body["key"]

    async def revoke(self, gateway: Service, key_id: str) -> None:
        url = f"{gateway.url}/api/v1/apikeys/{key_id}"
        async with self.session.delete(url, headers=self.headers) as r:
            if r.status != 200:
                raise RuntimeError(f"revoke failed: {r.status} {await r.text()}")

    async def create_source(self, gateway: Service, token: str) -> tuple[str, str]:
        url = gateway.url + "/api/v1/sources"
        body = {"name": "bench", "provider": "github", "token": token}
        async with self.session.post(url, json=body, headers=self.headers) as r:
            answer = await r.json()
            if r.status != 201:
                raise RuntimeError(f"source create failed: {r.status} {answer}")
            return answer["id"], answer["secret"]

    async def change_source(self, gateway: Service, source_id: str, subject: str) -> None:
        url = f"{gateway.url}/api/v1/sources/{source_id}"
        if subject == "source-deactivate":
            call = self.session.delete(url, headers=self.headers)
        else:
            call = self.session.post(
                url + "/secrets", json={"overlapSeconds": 0}, headers=self.headers
            )
        async with call as r:
            if r.status not in (200, 201):
                raise RuntimeError(f"{subject} failed: {r.status} {await r.text()}")


async def one_revocation(
    admin: Admin, gateways: list[Service], tenant: uuid.UUID, n: int, subject: str = "key"
) -> list[float]:
    """[change round trip] + seconds from sending the change until each process rejected."""
    answering = gateways[n % len(gateways)]
    token = f"bench-{n}"
    if subject == "key":
        key_id, key = await admin.create(answering)
        headers = key_headers(key)
    else:
        key_id, secret = await admin.create_source(answering, token)
        headers = github_headers(secret)
    urls = [f"{g.url}/api/v1/ingest/{tenant}/{token}" for g in gateways]
    await asyncio.gather(*(until_accepted(admin.session, url, headers) for url in urls))
    probes = [asyncio.create_task(first_rejection(admin.session, url, headers)) for url in urls]
    await asyncio.sleep(0)  # the probes are sending before the change goes out
    sent = time.monotonic()
    if subject == "key":
        await admin.revoke(answering, key_id)
    else:
        await admin.change_source(answering, key_id, subject)
    answered = time.monotonic() - sent
    return [answered] + [at - sent for at in await asyncio.gather(*probes)]


async def background(
    session: aiohttp.ClientSession, url: str, key: str, stop: asyncio.Event
) -> None:
    headers = key_headers(key)
    while not stop.is_set():  # other senders' traffic, so that the processes are not idle
        await ingest(session, url, headers)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(percentile(values, 99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


async def create_tenant(dsn: str) -> uuid.UUID:
    tenant = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO tenants (id, name) VALUES ($1, 'bench')", tenant)
    finally:
        await conn.close()
    return tenant


async def measure(
    args: argparse.Namespace, dsn: str, redis_url: str, workdir: Path
) -> dict[str, Any]:
    prefix = f"hs-bench-rev-{uuid.uuid4().hex[:8]}:"
    secret = secrets.token_hex(32)
    upstream = await start_upstream(workdir)
    env = dict(os.environ) | {
        "HOOKSENTRY_DATABASE_URL": dsn,
        "HOOKSENTRY_REDIS_URL": redis_url,
        "HOOKSENTRY_REDIS_PREFIX": prefix,
        "HOOKSENTRY_JWT_SECRET": secret,
        "HOOKSENTRY_SECRETS_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "HOOKSENTRY_INGEST_UPSTREAM": upstream.url,
        "HOOKSENTRY_ACCESS_LOG": "false",
        "HOOKSENTRY_LOG_LEVEL": "WARNING",
    }
    gateways = list(
        await asyncio.gather(*(start_gateway(1, env, workdir) for _ in range(args.processes)))
    )
    try:
        tenant = await create_tenant(dsn)
        config = load_config({}, overrides={"jwt_secret": secret})
        stop = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            admin = Admin(session, mint_token(config, tenant, Role.OWNER))
            _, busy_key = await admin.create(gateways[0])
            loops = [
                asyncio.create_task(
                    background(session, f"{g.url}/api/v1/ingest/{tenant}/bg", busy_key, stop)
                )
                for g in gateways
                for _ in range(args.background)
            ]
            try:
                samples = [
                    await one_revocation(admin, gateways, tenant, n, _subject(args))
                    for n in range(args.revocations)
                ]
            finally:
                stop.set()
                await asyncio.gather(*loops, return_exceptions=True)
    finally:
        for service in (*gateways, upstream):
            await service.stop()
        await delete_prefix(redis_url, prefix)
    per_process = [d for sample in samples for d in sample[1:]]
    every = [max(sample[1:]) for sample in samples]
    return {
        "subject": _subject(args),
        "processes": args.processes,
        "revocations": args.revocations,
        "background_loops_per_process": args.background,
        "never_rejected": sum(d == float("inf") for d in per_process),
        "every_process": summary(every),
        "per_process": summary(per_process),
        "revoke_call": summary([sample[0] for sample in samples]),
        # How long after the 200 the last process rejected (negative: before the 200 arrived).
        "every_process_after_200": summary([max(sample[1:]) - sample[0] for sample in samples]),
    }


def _subject(args: argparse.Namespace) -> str:
    return getattr(args, "subject", "key")  # bench.revoker's Namespace predates --subject


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hs-bench-rev-") as tmp:
        with postgres_server(dict(os.environ)) as pg, redis_server(dict(os.environ)) as redis_url:
            async with fresh_database(pg) as dsn:
                return await measure(args, dsn, redis_url, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.revocation", description=__doc__)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--revocations", type=int, default=200)
    parser.add_argument("--background", type=int, default=1, help="busy loops per process")
    parser.add_argument(
        "--subject",
        choices=("key", "source-deactivate", "source-rotate"),
        default="key",
        help="what is revoked: an API key, a source (deactivated), or a source's secret "
        "(rotated with overlap 0)",
    )
    parser.add_argument("--out", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    print(
        f"{result['subject']} revocation across {result['processes']} processes, "
        f"{result['revocations']} revocations: "
        f"every process rejects after p50 {result['every_process']['p50_ms']} ms, "
        f"p99 {result['every_process']['p99_ms']} ms, max {result['every_process']['max_ms']} ms "
        f"(per process: p50 {result['per_process']['p50_ms']} ms, "
        f"p99 {result['per_process']['p99_ms']} ms); the DELETE itself took "
        f"p50 {result['revoke_call']['p50_ms']} ms, so after its 200 every process rejects within "
        f"p50 {result['every_process_after_200']['p50_ms']} ms, "
        f"p99 {result['every_process_after_200']['p99_ms']} ms; "
        f"never rejected: {result['never_rejected']}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

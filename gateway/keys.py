"""Typed application keys: the one place where shared state is declared."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.config import Config

if TYPE_CHECKING:  # the modules below import this one: their types are for annotations only
    from prometheus_client import CollectorRegistry

    from gateway.apikeys import KeyRecord
    from gateway.db import Database
    from gateway.deliveries import DeliveryClaims
    from gateway.keycache import KeyCache
    from gateway.l2 import RedisL2
    from gateway.lastused import LastUsed
    from gateway.metrics import Metrics
    from gateway.proxy import ProxySettings
    from gateway.rejections import RejectionLog
    from gateway.secretbox import SecretBox
    from gateway.sourcecache import SourceCache
    from gateway.sources import TenantSources
    from gateway.tokens import TokenVerifier
    from gateway.upstream import Upstream

CONFIG = web.AppKey("config", Config)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS: web.AppKey[Redis | RedisCluster] = web.AppKey("redis")  # gateway.redis_client
TOKENS: web.AppKey[TokenVerifier] = web.AppKey("tokens")
DB: web.AppKey[Database] = web.AppKey("db")
# HOOKSENTRY_DATABASE_REPLICA_URL's pool and Database (None without one): key and source lookups.
REPLICA_POOL: web.AppKey[asyncpg.Pool | None] = web.AppKey("replica_pool")
REPLICA_DB: web.AppKey[Database | None] = web.AppKey("replica_db")
L2: web.AppKey[RedisL2[KeyRecord]] = web.AppKey("l2")
KEY_CACHE: web.AppKey[KeyCache] = web.AppKey("key_cache")
LAST_USED: web.AppKey[LastUsed] = web.AppKey("last_used")
SOURCE_L2: web.AppKey[RedisL2[TenantSources]] = web.AppKey("source_l2")
SOURCE_CACHE: web.AppKey[SourceCache] = web.AppKey("source_cache")
SECRET_BOX: web.AppKey[SecretBox] = web.AppKey("secret_box")
UPSTREAM: web.AppKey[Upstream] = web.AppKey("upstream")
PROXY: web.AppKey[ProxySettings] = web.AppKey("proxy")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
CLAIMS: web.AppKey[DeliveryClaims] = web.AppKey("claims")
REJECTIONS: web.AppKey[RejectionLog] = web.AppKey("rejections")
METRICS_REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics_registry")

REQUEST_ID = web.RequestKey("request_id", str)
# Set by the proxy once the key is known; the access log and error logs carry them.
TENANT_ID = web.RequestKey("tenant_id", str)
KEY_ID = web.RequestKey("key_id", str)
# Set once a source was found for the path: the rejection log names it.
SOURCE_ID = web.RequestKey("source_id", str)

"""The one app factory: wires the parts together and does no I/O."""

from __future__ import annotations

from aiohttp import web

from admin_api.app import setup_admin
from gateway.caches import caches_ctx
from gateway.config import Config
from gateway.db import pg_pool_ctx
from gateway.health import setup_health
from gateway.keys import CONFIG, SECRET_BOX, TOKENS
from gateway.lastused import last_used_ctx
from gateway.metrics import setup_metrics
from gateway.middlewares import request_context
from gateway.proxy import setup_proxy
from gateway.redis_client import redis_ctx
from gateway.secretbox import SecretBox
from gateway.server_header import hide_server_version
from gateway.tokens import TokenVerifier


def create_app(config: Config) -> web.Application:
    # auto_decompress=False: the server must hand the proxy the body bytes as sent (a gzip body
    # is relayed gzipped, and client_max_size bounds the wire size, not a decompressed size).
    hide_server_version()
    app = web.Application(
        middlewares=[request_context],
        client_max_size=config.body_limit,
        handler_args={"auto_decompress": False},
    )
    app[CONFIG] = config
    app[TOKENS] = TokenVerifier(config)
    app[SECRET_BOX] = SecretBox.from_keys(config.secrets_key)  # validated by load_config
    # One cleanup_ctx per resource, in dependency order: a failed start closes what was opened.
    app.cleanup_ctx.append(pg_pool_ctx)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(caches_ctx)  # keys, source sets, their listener
    app.cleanup_ctx.append(last_used_ctx)  # batched lastUsedAt; flushed at shutdown
    setup_proxy(app, config)  # upstream session (cleanup_ctx) and the ingest route
    setup_admin(app)
    setup_health(app)  # /healthz, /readyz
    setup_metrics(app)  # after the key cache: /metrics, request counting middleware
    return app

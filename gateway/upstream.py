"""The upstream ingest service behind one small interface: forward(...) -> UpstreamReply.

One `ClientSession` per process owns the keep-alive pool. Retry rule (SPEC §2 failures): only a
refused connection, where nothing was sent, is retried, once and at once. Anything that may
have reached the upstream (a reset, a pooled connection the upstream had closed, a half answer)
becomes a 502 and is never sent again; a timeout becomes a 504.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import NamedTuple

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy, MultiMapping
from yarl import URL

from gateway.config import Config
from gateway.errors import UpstreamTimeout, UpstreamUnavailable
from gateway.keys import CONFIG, UPSTREAM

log = logging.getLogger(__name__)

# The gateway adds nothing of its own: a sender that sent no User-Agent or Content-Type must
# reach the upstream without one, and compressed answers are relayed as they are.
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_CLOSE_TIMEOUT = 5.0


class UpstreamReply(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Upstream:
    """Relays one request to the ingest service; owns the process's pool of connections."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")

    @classmethod
    def from_config(cls, config: Config) -> Upstream:
        connector = aiohttp.TCPConnector(limit=config.upstream_pool_size, limit_per_host=0)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # upstream cookies must not leak across tenants
            auto_decompress=False,  # relay the bytes as they came
            timeout=aiohttp.ClientTimeout(
                total=config.upstream_timeout, sock_connect=config.upstream_connect_timeout
            ),
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            raise_for_status=False,
        )
        return cls(session, config.ingest_upstream)

    async def forward(
        self, method: str, path_qs: str, headers: MultiMapping[str], body: bytes
    ) -> UpstreamReply:
        """Send once (twice only when the first connection was refused); map failures."""
        url = URL(self._base + path_qs, encoded=True)
        try:
            try:
                return await self._send(method, url, headers, body)
            except aiohttp.ClientConnectorError:
                # Raised only while connecting (refused, unreachable, unresolved): nothing left.
                log.info("upstream refused the connection; retrying once", extra={"host": url.host})
                return await self._send(method, url, headers, body)
        except TimeoutError as exc:
            log.warning("upstream timed out", extra={"error": type(exc).__name__})
            raise UpstreamTimeout() from None
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("upstream failed", extra={"error": type(exc).__name__})
            raise UpstreamUnavailable() from None

    async def _send(
        self, method: str, url: URL, headers: MultiMapping[str], body: bytes
    ) -> UpstreamReply:
        async with self._session.request(method, url, headers=headers, data=body) as resp:
            return UpstreamReply(resp.status, resp.headers, await resp.read())

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._session.close(), _CLOSE_TIMEOUT)
        except (TimeoutError, OSError):
            log.warning("closing the upstream session timed out")


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    upstream = Upstream.from_config(app[CONFIG])
    app[UPSTREAM] = upstream
    yield
    await upstream.close()

"""The upstream ingest service behind one small interface: forward(...) -> UpstreamReply.

One `UpstreamClient` per process (gateway/upstream_client.py) owns the keep-alive pool. Retry
rule (SPEC §2 failures): only a refused connection, where nothing was sent, is retried, once and
at once. Anything that may have reached the upstream (a reset, a pooled connection the upstream
had closed, a half answer) becomes a 502 and is never sent again; a timeout becomes a 504.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.config import Config
from gateway.errors import UpstreamTimeout, UpstreamUnavailable
from gateway.keys import CONFIG, UPSTREAM
from gateway.upstream_client import (
    BadResponse,
    ConnectFailed,
    Disconnected,
    RawHeaders,
    UpstreamClient,
)

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamReply(NamedTuple):
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class Upstream:
    """Relays one request to the ingest service; owns the process's pool of connections."""

    def __init__(self, client: UpstreamClient, host_header: str, path_prefix: str = "") -> None:
        self._client = client
        self._host = host_header
        self._prefix = path_prefix

    @classmethod
    def from_config(cls, config: Config) -> Upstream:
        url = urlsplit(config.ingest_upstream)
        default_port = _DEFAULT_PORTS[url.scheme]
        port = url.port or default_port
        host = url.netloc.rpartition("@")[2]
        if url.port == default_port:
            host = host.rpartition(":")[0]
        client = UpstreamClient(
            url.hostname or "",
            port,
            tls=url.scheme == "https",
            pool_size=config.upstream_pool_size,
            connect_timeout=config.upstream_connect_timeout,
            timeout=config.upstream_timeout,
        )
        return cls(client, host, url.path.rstrip("/"))

    async def forward(
        self, method: str, path_qs: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> UpstreamReply:
        """Send once (twice only when the first connection was refused); map failures.

        `headers`: (name, value) pairs in order, e.g. a list or `multidict.items()`.
        """
        data = serialise(method, self._prefix + path_qs, self._host, headers, body)
        try:
            try:
                raw = await self._client.request(data)
            except ConnectFailed:
                # Nothing was sent: the connection was never made.
                log.info(
                    "upstream refused the connection; retrying once", extra={"host": self._host}
                )
                raw = await self._client.request(data)
        except TimeoutError as exc:
            log.warning("upstream timed out", extra={"error": type(exc).__name__})
            raise UpstreamTimeout() from None
        except (ConnectFailed, Disconnected, BadResponse, OSError) as exc:
            log.warning("upstream failed", extra={"error": type(exc).__name__})
            raise UpstreamUnavailable() from None
        return UpstreamReply(raw.status, _decode(raw.headers), raw.body)

    async def close(self) -> None:
        await self._client.close()


def serialise(
    method: str, target: str, host: str, headers: Iterable[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes: request line, Host, the headers, Content-Length, body.

    Every value here already passed aiohttp's strict parser or is the gateway's own; a line break
    in one would still split the head into more lines than it has headers, so that is checked.
    """
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}\r\n\r\n")
    head = "".join(lines)
    if head.count("\n") != len(lines) + 2 or head.count("\r") != len(lines) + 2:
        raise ValueError("a line break in the upstream request's head")
    return head.encode("utf-8", "surrogateescape") + body


def _decode(raw: RawHeaders) -> CIMultiDictProxy[str]:
    """As aiohttp decodes a header block: UTF-8, undecodable bytes kept as surrogates."""
    pairs = [
        (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
        for name, value in raw
    ]
    return CIMultiDictProxy(CIMultiDict(pairs))


async def upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    upstream = Upstream.from_config(app[CONFIG])
    app[UPSTREAM] = upstream
    yield
    await upstream.close()

"""The ingest proxy handler: reads top to bottom like the checklist in SPEC §2."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import ClientPayloadError, web
from aiohttp.http_writer import HttpVersion11

from gateway.apikeys import hash_key, is_well_formed
from gateway.config import Config
from gateway.errors import (
    BadRequest,
    InvalidApiKey,
    InvalidPath,
    MethodNotAllowed,
    MissingApiKey,
    PayloadTooLarge,
    RateLimited,
    TenantMismatch,
)
from gateway.headers import (
    Network,
    copy_response_headers,
    peer_is_trusted,
    upstream_request_pairs,
)
from gateway.keys import KEY_CACHE, KEY_ID, METRICS, PROXY, TENANT_ID, UPSTREAM
from gateway.middlewares import request_id_of
from gateway.paths import checked_ingest_target
from gateway.ratelimit import RateLimiter, retry_after
from gateway.upstream import upstream_ctx

# Any segment reaches the handler: a non-canonical one gets 400 there, not the router's 404.
INGEST_PATH = "/api/v1/ingest/{tenant_id:[^/]+}/{token:[^/]+}"
_ALLOW = {"Allow": "POST"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """What the handler needs from the configuration, computed once per process."""

    body_limit: int
    trusted: tuple[Network, ...]
    limiter: RateLimiter | None

    @classmethod
    def from_config(cls, config: Config) -> ProxySettings:
        return cls(config.body_limit, config.trusted_networks, RateLimiter.from_config(config))


def setup_proxy(app: web.Application, config: Config) -> None:
    app[PROXY] = ProxySettings.from_config(config)
    app.cleanup_ctx.append(upstream_ctx)
    app.router.add_route("*", INGEST_PATH, ingest, expect_handler=defer_continue)


async def ingest(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[PROXY]
    if request.method != "POST":
        raise MethodNotAllowed(headers=_ALLOW)
    url = request.rel_url  # origin-form: an absolute-form target's authority is not forwarded
    target = checked_ingest_target(url.raw_path, url.raw_query_string)
    if target is None:
        raise InvalidPath()
    key = request.headers.get("X-Api-Key")
    if not key:
        raise MissingApiKey()
    if not is_well_formed(key):
        raise InvalidApiKey()
    record = await app[KEY_CACHE].resolve(hash_key(key))
    if record is None or record.revoked:
        raise InvalidApiKey()
    if request.match_info["tenant_id"].lower() != record.tenant_id_str:
        raise TenantMismatch()
    if settings.limiter is not None and (wait := settings.limiter.take(record.key_id_str)):
        raise RateLimited(headers={"Retry-After": retry_after(wait)})
    request[TENANT_ID] = tenant_id = record.tenant_id_str  # for the access log
    request[KEY_ID] = key_id = record.key_id_str
    body = await _read_body(request, settings.body_limit)
    headers = _upstream_headers(request, tenant_id, key_id, settings.trusted)
    exchange = app[UPSTREAM].forward("POST", target, headers, body)
    reply = await app[METRICS].track_upstream(exchange)
    response = web.Response(status=reply.status)
    copy_response_headers(reply.headers, response.headers)
    response.body = reply.body
    return response


async def defer_continue(request: web.Request) -> None:
    """Expect handler: say nothing yet; `_read_body` sends 100 Continue once the checks passed."""


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, bounded: 413 from Content-Length up front, or as a chunked body arrives."""
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge()
    expect = request.headers.get("Expect")
    if expect and request.version == HttpVersion11 and expect.lower() == "100-continue":
        await request.writer.write(_CONTINUE)
        request.writer.output_size = 0
    try:
        return await request.read()  # aiohttp stops at client_max_size (= body_limit)
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge() from None
    except (ClientPayloadError, ConnectionError) as exc:
        # The sender went away or broke the framing mid-upload: nothing is forwarded, and the
        # 400 goes nowhere if the connection is gone. Not a crash.
        raise BadRequest("The request body ended before it was complete.") from exc


def _upstream_headers(
    request: web.Request, tenant_id: str, key_id: str, trusted: tuple[Network, ...]
) -> list[tuple[str, str]]:
    peer = request.remote
    return upstream_request_pairs(
        request.headers,
        peer=peer,
        peer_trusted=bool(trusted) and peer_is_trusted(peer, trusted),
        scheme=request.scheme,
        host=request.headers.get("Host"),  # not request.host: its fallback is a blocking getfqdn()
        request_id=request_id_of(request),
        tenant_id=tenant_id,
        key_id=key_id,
    )

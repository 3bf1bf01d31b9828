"""The ingest proxy handler: reads top to bottom like the checklist in SPEC §2."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import ClientPayloadError, web
from aiohttp.http_writer import HttpVersion11

from gateway.authenticate import Caller, authenticate
from gateway.config import Config
from gateway.errors import (
    BadRequest,
    InvalidPath,
    MethodNotAllowed,
    PayloadTooLarge,
    RateLimited,
)
from gateway.headers import (
    Network,
    copy_response_headers,
    peer_is_trusted,
    upstream_request_pairs,
)
from gateway.keys import KEY_ID, METRICS, PROXY, TENANT_ID, UPSTREAM
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
    caller = await authenticate(request, settings.body_limit)  # key, source or both
    signed_body = await _signed_body(request, caller, settings.body_limit)
    if settings.limiter is not None and (wait := settings.limiter.take(caller.limit_key)):
        raise RateLimited(headers={"Retry-After": retry_after(wait)})
    request[TENANT_ID] = caller.tenant_id  # for the access log
    if caller.key_id is not None:
        request[KEY_ID] = caller.key_id
    body = (
        signed_body if signed_body is not None else await _read_body(request, settings.body_limit)
    )
    headers = _upstream_headers(request, caller, settings.trusted)
    exchange = app[UPSTREAM].forward("POST", target, headers, body)
    reply = await app[METRICS].track_upstream(exchange)
    response = web.Response(status=reply.status)
    copy_response_headers(reply.headers, response.headers)
    response.body = reply.body
    return response


async def defer_continue(request: web.Request) -> None:
    """Expect handler: say nothing yet; `_read_body` sends 100 Continue once the checks passed."""


async def _signed_body(request: web.Request, caller: Caller, limit: int) -> bytes | None:
    """§6 step 5, before the rate limit: the body of a source's request, verified (else None)."""
    if caller.source is None:
        return None
    body = await _read_body(request, limit)
    caller.verify_signature(body)
    return body


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
    request: web.Request, caller: Caller, trusted: tuple[Network, ...]
) -> list[tuple[str, str]]:
    peer = request.remote
    return upstream_request_pairs(
        request.headers,
        peer=peer,
        peer_trusted=bool(trusted) and peer_is_trusted(peer, trusted),
        scheme=request.scheme,
        host=request.headers.get("Host"),  # not request.host: its fallback is a blocking getfqdn()
        request_id=request_id_of(request),
        tenant_id=caller.tenant_id,
        key_id=caller.key_id,
        source=None if caller.source is None else (caller.source.source_id, caller.source.provider),
    )

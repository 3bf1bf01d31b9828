"""The ingest proxy handler: reads top to bottom like the checklist in SPEC §2."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import ClientPayloadError, web
from aiohttp.http_writer import HttpVersion11

from gateway.authenticate import Caller, authenticate
from gateway.config import Config
from gateway.deliveries import Claim, Duplicate, deliveries_ctx, delivery_identity
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
from gateway.keys import CLAIMS, KEY_ID, METRICS, PROXY, TENANT_ID, UPSTREAM
from gateway.middlewares import json_response, request_id_of
from gateway.paths import checked_ingest_target
from gateway.ratelimit import RateLimiter, retry_after
from gateway.rejections import recorded_rejections, rejections_ctx
from gateway.upstream import upstream_ctx

# Any segment reaches the handler: a non-canonical one gets 400 there, not the router's 404.
INGEST_PATH = "/api/v1/ingest/{tenant_id:[^/]+}/{token:[^/]+}"
_ALLOW = {"Allow": "POST"}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_DUPLICATE = {"X-HookSentry-Duplicate": "true"}


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
    app.cleanup_ctx.append(deliveries_ctx)  # after the Redis client's
    app.cleanup_ctx.append(rejections_ctx)  # after the Redis client's and the caches'
    app.router.add_route("*", INGEST_PATH, ingest, expect_handler=defer_continue)


@recorded_rejections
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
    delivery = await _signed_delivery(request, caller, settings.body_limit)
    request[TENANT_ID] = caller.tenant_id  # for the access log and the rejection log
    if caller.key_id is not None:
        request[KEY_ID] = caller.key_id
    if settings.limiter is not None and (wait := settings.limiter.take(caller.limit_key)):
        raise RateLimited(headers={"Retry-After": retry_after(wait)})
    body = delivery.body if delivery is not None else await _read_body(request, settings.body_limit)
    headers = _upstream_headers(request, caller, settings.trusted)
    if delivery is None or not delivery.dedup_seconds:
        return await _forward(app, target, headers, body)
    try:  # §7: claimed here, after verification and the rate limit, before forwarding
        claim = await app[CLAIMS].claim(
            delivery.source_id, delivery.identity, delivery.dedup_seconds
        )
    except Duplicate:
        response = json_response({"duplicate": True})
        response.headers.update(_DUPLICATE)
        return response
    if claim is None:  # Redis unavailable, fail-open: forwarded unchecked (counted)
        return await _forward(app, target, headers, body)
    return await _forward_claimed(app, claim, target, headers, body)


@dataclass(frozen=True, slots=True)
class SignedDelivery:
    body: bytes
    source_id: str
    identity: str
    dedup_seconds: int


async def _forward(
    app: web.Application, target: str, headers: list[tuple[str, str]], body: bytes
) -> web.Response:
    exchange = app[UPSTREAM].forward("POST", target, headers, body)
    reply = await app[METRICS].track_upstream(exchange)
    response = web.Response(status=reply.status)
    copy_response_headers(reply.headers, response.headers)
    response.body = reply.body
    return response


async def _forward_claimed(
    app: web.Application, claim: Claim, target: str, headers: list[tuple[str, str]], body: bytes
) -> web.Response:
    """Forward under a claim: done on a 2xx, released on anything else (the retry goes through)."""
    claims = app[CLAIMS]
    claims.count("forwarded")
    try:
        response = await _forward(app, target, headers, body)
    except asyncio.CancelledError:
        claims.settle_later(claim)
        raise
    except BaseException:
        await claims.settle(claim, delivered=False)
        raise
    await claims.settle(claim, delivered=200 <= response.status < 300)
    return response


async def defer_continue(request: web.Request) -> None:
    """Expect handler: say nothing yet; `_read_body` sends 100 Continue once the checks passed."""


async def _signed_delivery(
    request: web.Request, caller: Caller, limit: int
) -> SignedDelivery | None:
    """§6 step 5, before the rate limit: a source's request, verified (else None)."""
    if caller.source is None or caller.signed is None:
        return None
    body = await _read_body(request, limit)
    matched = caller.verify_signature(body)
    source = caller.source
    identity = delivery_identity(caller.signed, matched)
    return SignedDelivery(body, source.source_id, identity, source.dedup_seconds)


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

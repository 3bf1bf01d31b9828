"""Header filtering for the ingest proxy (SPEC §2 steps 7-8): pure functions, no I/O.

Requests lose hop-by-hop headers (RFC 9110 §7.6.1), every header named in `Connection`, the
credentials (`X-Api-Key`, `Authorization`) and anything a sender could use to impersonate the
gateway (`X-HookSentry-*`, forwarding headers and `X-Real-IP` from untrusted peers, and the
underscore spellings of all of these, which CGI/WSGI servers read as the same names); the
gateway then adds its own
`X-Forwarded-*`, `X-Request-Id` and `X-HookSentry-*` headers. Responses lose hop-by-hop and
Connection-named headers only: everything else goes back to the sender unchanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TypeAlias

from multidict import CIMultiDict, MultiMapping

Network: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Recomputed by the client for the buffered body (Content-Length), set by the client from the
# upstream URL (Host), answered by the gateway itself (Expect), or replaced below.
_REQUEST_DROP = HOP_BY_HOP | {
    "host",
    "content-length",
    "expect",
    "x-api-key",
    "authorization",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
}
_RESPONSE_DROP = HOP_BY_HOP | {"content-length"}
_OWN_PREFIX = "x-hooksentry-"
# Kept from a trusted proxy: it already set them for the original client.
_TRUSTED_KEEP = frozenset({"x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip"})


def connection_tokens(headers: MultiMapping[str]) -> frozenset[str]:
    """Header names listed in every `Connection` header, lower-cased."""
    values = headers.getall("Connection", ())
    if not values:
        return frozenset()
    return frozenset(t.strip().lower() for v in values for t in v.split(",") if t.strip())


def peer_is_trusted(peer: str | None, networks: Iterable[Network]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def upstream_request_pairs(
    incoming: MultiMapping[str],
    *,
    peer: str | None,
    peer_trusted: bool,
    scheme: str,
    host: str | None,
    request_id: str,
    tenant_id: str,
    key_id: str | None,
    source: tuple[str, str] | None = None,
) -> list[tuple[str, str]]:
    """The headers the upstream receives for a sender's request, as (name, value) pairs in
    order: what the proxy serialises, without building a multidict on every request.
    `key_id` when a key was checked; `source` = (source id, provider) when a signature was."""
    named = connection_tokens(incoming)
    out: list[tuple[str, str]] = []
    kept: set[str] = set()
    for name, value in incoming.items():
        lower = name.lower()
        if "_" in lower:  # CGI/WSGI servers read `X_Api_Key` as X-Api-Key: a look-alike
            folded = lower.replace("_", "-")
            if not _dropped(folded, named):
                out.append((name, value))
        elif peer_trusted and lower in _TRUSTED_KEEP:
            out.append((name, value))
            kept.add(lower)
        elif not _dropped(lower, named):
            out.append((name, value))
    forwarded_for = _forwarded_for(incoming, peer, peer_trusted)
    if forwarded_for:
        out.append(("X-Forwarded-For", forwarded_for))
    if "x-forwarded-proto" not in kept:
        out.append(("X-Forwarded-Proto", scheme))
    if host and "x-forwarded-host" not in kept:
        out.append(("X-Forwarded-Host", host))
    out.append(("X-Request-Id", request_id))
    out.append(("X-HookSentry-Tenant-Id", tenant_id))
    if key_id is not None:
        out.append(("X-HookSentry-Api-Key-Id", key_id))
    if source is not None:
        out.append(("X-HookSentry-Source-Id", source[0]))
        out.append(("X-HookSentry-Verified", source[1]))
    return out


def _dropped(lower: str, named: frozenset[str]) -> bool:
    return lower in _REQUEST_DROP or lower in named or lower.startswith(_OWN_PREFIX)


def _forwarded_for(incoming: MultiMapping[str], peer: str | None, peer_trusted: bool) -> str:
    hops = [peer] if peer else []
    if peer_trusted:
        hops[:0] = [c.strip() for c in incoming.getall("X-Forwarded-For", ()) if c.strip()]
    return ", ".join(hops)


def copy_response_headers(upstream: MultiMapping[str], into: CIMultiDict[str]) -> None:
    """Add the upstream's end-to-end headers to the sender's response headers."""
    named = connection_tokens(upstream)
    for name, value in upstream.items():
        lower = name.lower()
        if lower in _RESPONSE_DROP or lower in named:
            continue
        into.add(name, value)


Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


def sender_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Iterable[Network]
) -> Address | None:
    """The sender's address (SPEC §8): the peer's, or behind a trusted proxy the first
    X-Forwarded-For hop that is not itself trusted, read from the right (the hops to its left
    were written by the sender and prove nothing). None when it cannot be read."""
    address = _address(peer)
    networks = tuple(trusted)
    if address is None or not networks or not _in(address, networks):
        return address
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        hop_address = _address(hop)
        if hop_address is None or not _in(hop_address, networks):
            return hop_address
        address = hop_address
    return address  # every hop trusted: the leftmost one is the sender


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _in(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == n.version and address in n for n in networks)

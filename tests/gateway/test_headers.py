"""Header filtering as pure functions (SPEC §2 steps 7-8, RELIABILITY 12), no server."""

from __future__ import annotations

import ipaddress
from typing import Any

from multidict import CIMultiDict

from gateway.headers import (
    connection_tokens,
    copy_response_headers,
    peer_is_trusted,
    upstream_request_pairs,
)

TRUSTED = (ipaddress.ip_network("10.0.0.0/8"),)


def forward(headers: list[tuple[str, str]], **kw: Any) -> CIMultiDict[str]:
    args: dict[str, Any] = {
        "peer": "203.0.113.7",
        "peer_trusted": False,
        "scheme": "https",
        "host": "hooks.example.com",
        "request_id": "rid-1",
        "tenant_id": "t-1",
        "key_id": "k-1",
    } | kw
    return CIMultiDict(upstream_request_pairs(CIMultiDict(headers), **args))


def test_credentials_and_hop_by_hop_headers_are_removed() -> None:
    out = forward(
        [
            ("X-Api-Key", "hks_" + "a" * 32),
            ("Authorization", "Bearer x"),
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("Keep-Alive", "timeout=5"),
            ("X-Secret-Hop", "1"),
            ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"),
            ("Trailer", "X-Foo"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic x"),
            ("Proxy-Connection", "keep-alive"),
            ("Host", "hooks.example.com"),
            ("Content-Length", "5"),
            ("Expect", "100-continue"),
        ]
    )
    names = {n.lower() for n in out}
    for gone in (
        "x-api-key",
        "authorization",
        "connection",
        "keep-alive",
        "x-secret-hop",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "host",
        "content-length",
        "expect",
    ):
        assert gone not in names


def test_end_to_end_headers_pass_untouched_in_order_with_duplicates() -> None:
    sent = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("X-Hub-Signature-256", "sha256=abc"),
        ("Stripe-Signature", "t=1,v1=def"),
        ("X-Idempotency-Key", "idem-42"),
        ("User-Agent", "GitHub-Hookshot/1"),
        ("X-Custom", "one"),
        ("X-Custom", "two"),
        ("Content-Encoding", "gzip"),
    ]
    out = forward(sent)
    assert [(k, v) for k, v in out.items() if not k.lower().startswith("x-forwarded")][:8] == sent


def test_gateway_headers_are_added_and_sender_copies_replaced() -> None:
    out = forward(
        [
            ("X-HookSentry-Tenant-Id", "spoofed"),
            ("X-HookSentry-Api-Key-Id", "spoofed"),
            ("X-HookSentry-Anything", "spoofed"),
            ("X-Request-Id", "spoofed"),
            ("X-Forwarded-For", "1.2.3.4"),
            ("X-Forwarded-Proto", "gopher"),
            ("X-Forwarded-Host", "evil.example"),
            ("Forwarded", "for=1.2.3.4"),
        ]
    )
    assert out.getall("X-HookSentry-Tenant-Id") == ["t-1"]
    assert out.getall("X-HookSentry-Api-Key-Id") == ["k-1"]
    assert "X-HookSentry-Anything" not in out
    assert out.getall("X-Request-Id") == ["rid-1"]
    assert out.getall("X-Forwarded-For") == ["203.0.113.7"]
    assert out.getall("X-Forwarded-Proto") == ["https"]
    assert out.getall("X-Forwarded-Host") == ["hooks.example.com"]
    assert "Forwarded" not in out


def test_a_trusted_proxys_forwarding_chain_is_extended() -> None:
    out = forward(
        [
            ("X-Forwarded-For", "198.51.100.1, 10.1.1.1"),
            ("X-Forwarded-For", "10.2.2.2"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "public.example"),
        ],
        peer="10.0.0.5",
        peer_trusted=True,
        scheme="http",
    )
    assert out["X-Forwarded-For"] == "198.51.100.1, 10.1.1.1, 10.2.2.2, 10.0.0.5"
    assert out.getall("X-Forwarded-Proto") == ["https"]
    assert out.getall("X-Forwarded-Host") == ["public.example"]


LOOK_ALIKES = [
    ("X_HookSentry_Tenant_Id", "other-tenant"),
    ("X_HookSentry_Api_Key_Id", "other-key"),
    ("x_hooksentry_anything", "1"),
    ("X_Forwarded_For", "198.51.100.1"),
    ("X-Forwarded_Host", "evil.example"),
    ("X_Request_Id", "forged"),
    ("X_Api_Key", "hks_" + "b" * 32),
    ("X_Real_IP", "198.51.100.2"),
]


def test_underscore_spellings_of_trusted_headers_never_reach_the_upstream() -> None:
    for trusted in (False, True):
        out = forward(
            [*LOOK_ALIKES, ("X_Custom_Thing", "kept")], peer="10.0.0.2", peer_trusted=trusted
        )
        names = {n.lower().replace("_", "-") for n in out}
        assert "x-custom-thing" in names
        assert out["X-HookSentry-Tenant-Id"] == "t-1"
        assert out.getall("X-Forwarded-For") == ["10.0.0.2"]
        assert "x-real-ip" not in names
        assert "x-api-key" not in names
        assert out["X-Request-Id"] == "rid-1"


def test_x_real_ip_follows_the_trusted_proxy_rule() -> None:
    assert "X-Real-IP" not in forward([("X-Real-IP", "198.51.100.2")])
    kept = forward([("X-Real-IP", "198.51.100.2")], peer="10.0.0.2", peer_trusted=True)
    assert kept["X-Real-IP"] == "198.51.100.2"


def test_no_peer_address_means_no_forwarded_for() -> None:
    assert "X-Forwarded-For" not in forward([], peer=None)


def test_peer_trust_follows_the_configured_networks() -> None:
    assert peer_is_trusted("10.9.8.7", TRUSTED)
    assert not peer_is_trusted("192.168.1.1", TRUSTED)
    assert not peer_is_trusted(None, TRUSTED)
    assert not peer_is_trusted("not-an-ip", TRUSTED)
    assert not peer_is_trusted("::1", TRUSTED)


def test_connection_tokens_from_every_connection_header() -> None:
    headers = CIMultiDict([("Connection", "close, X-A"), ("connection", " x-b ,")])
    assert connection_tokens(headers) == {"close", "x-a", "x-b"}
    assert connection_tokens(CIMultiDict()) == frozenset()


def test_response_keeps_end_to_end_headers_and_drops_hop_by_hop() -> None:
    upstream = CIMultiDict(
        [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Retry-After", "30"),
            ("Connection", "close, X-Hop"),
            ("X-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Content-Length", "10"),
        ]
    )
    into: CIMultiDict[str] = CIMultiDict()
    copy_response_headers(upstream, into)
    assert list(into.items()) == [
        ("Content-Type", "application/json"),
        ("Content-Encoding", "gzip"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Retry-After", "30"),
    ]


def test_the_sender_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    import ipaddress

    from gateway.headers import sender_address

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    ip = ipaddress.ip_address
    assert sender_address("192.0.2.1", ["203.0.113.5"], trusted) == ip("192.0.2.1")
    assert sender_address("10.0.0.1", ["203.0.113.5, 10.9.9.9"], trusted) == ip("203.0.113.5")
    assert sender_address("10.0.0.1", ["198.51.100.1, 203.0.113.5"], trusted) == ip("203.0.113.5")
    assert sender_address("10.0.0.1", ["198.51.100.1", "203.0.113.5"], trusted) == ip("203.0.113.5")
    assert sender_address("10.0.0.1", [], trusted) == ip("10.0.0.1")
    assert sender_address("10.0.0.1", ["10.0.0.2"], trusted) == ip("10.0.0.2")
    assert sender_address("10.0.0.1", ["not-an-ip"], trusted) is None
    assert sender_address("::ffff:192.0.2.1", [], trusted) == ip("192.0.2.1")
    assert sender_address(None, [], trusted) is None

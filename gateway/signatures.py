"""Provider signature schemes (SPEC §6): headers + raw body + secrets -> verdict. No I/O.

Every scheme is HMAC-SHA256; they differ in where the signature travels, how it is encoded and
what is signed. The ingest path parses the headers first (before reading the body, so a request
with no signature costs nothing more), checks the signed timestamp, then verifies the raw body
bytes against the key of every unexpired secret of the source.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from gateway.errors import InvalidSignature, MissingSignature, StaleTimestamp

PROVIDERS: tuple[str, ...] = (
    "github",
    "stripe",
    "shopify",
    "slack",
    "standard-webhooks",
    "hmac-sha256",
)
SECRET_MIN, SECRET_MAX = 8, 512
WHSEC_PREFIX = "whsec_"
WHSEC_MIN_BYTES, WHSEC_MAX_BYTES = 24, 64
DIGEST_SIZE = 32  # HMAC-SHA256

SECRET_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # refused in any secret


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """What a request's headers claim, parsed before its body is read."""

    provider: str
    timestamp: int | None  # the signed timestamp (stripe, slack, standard-webhooks), else None
    signatures: tuple[bytes, ...]  # decoded candidate digests, 32 bytes each
    message_id: str | None  # standard-webhooks' webhook-id / svix-id (part of the signed content)
    delivery_id: str | None  # the provider's delivery identity header, when it has one


def parse_signed_headers(provider: str, headers: Mapping[str, str]) -> SignedHeaders:
    """Parse the provider's signature headers (`headers` is case-insensitive).

    Raises MissingSignature when a header is missing or cannot be parsed: bad hex or base64, a
    digest of the wrong length, a non-numeric timestamp, no `t=` or `v1=` in Stripe's header.
    """
    parse = _PARSERS.get(provider)
    if parse is None:
        raise ValueError(f"unknown provider {provider!r}")
    return parse(headers)


def check_timestamp(signed: SignedHeaders, now: float, tolerance: int) -> None:
    """Raise StaleTimestamp when the signed timestamp is more than `tolerance` s from `now`."""
    if signed.timestamp is not None and abs(now - signed.timestamp) > tolerance:
        raise StaleTimestamp(
            f"The request's signed timestamp is more than {tolerance} seconds from the "
            "gateway's clock."
        )


def verify(signed: SignedHeaders, body: bytes, keys: Iterable[bytes]) -> bytes:
    """Return the candidate digest that one of `keys` produces over the signed content.

    Every key is tried against every candidate with a constant-time comparison (no early exit,
    so the time taken does not depend on which secret matched). Raises InvalidSignature when
    none matches, including when there is no key at all.
    """
    prefix = _signed_prefix(signed)
    message = prefix + body if prefix else body
    matched: bytes | None = None
    for key in keys:
        digest = hmac.digest(key, message, "sha256")
        for candidate in signed.signatures:
            if hmac.compare_digest(digest, candidate) and matched is None:
                matched = candidate
    if matched is None:
        raise InvalidSignature()
    return matched


def signing_key(provider: str, secret: str) -> bytes:
    """The HMAC key of a secret: standard-webhooks' is the base64 after `whsec_`.

    Raises ValueError for a standard-webhooks secret that is not base64 (check_secret refuses
    those before they are stored).
    """
    if provider == "standard-webhooks":
        return _b64decode(secret.removeprefix(WHSEC_PREFIX))
    return secret.encode()


def check_secret(provider: str, secret: str) -> str | None:
    """None when `secret` is acceptable for `provider`, else a sentence saying why not."""
    if provider not in PROVIDERS:
        return f"The provider must be one of {', '.join(PROVIDERS)}."
    return check_secret_text(secret) or check_secret_form(provider, secret)


def check_secret_text(secret: str) -> str | None:
    """The rules every provider's secret follows: None when `secret` keeps them."""
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        return f"The secret must be {SECRET_MIN} to {SECRET_MAX} characters long."
    if SECRET_CONTROL.search(secret):
        # A pasted line break would make every signature fail with nothing to show why.
        return "The secret must not contain control characters such as line breaks."
    return None


def check_secret_form(provider: str, secret: str) -> str | None:
    """The provider's own form, on top of check_secret_text: None when `secret` has it."""
    if provider == "standard-webhooks":
        why = (
            f"A standard-webhooks secret is {WHSEC_PREFIX} followed by the base64 of "
            f"{WHSEC_MIN_BYTES} to {WHSEC_MAX_BYTES} bytes."
        )
        if not secret.startswith(WHSEC_PREFIX):
            return why
        try:
            key = signing_key(provider, secret)
        except ValueError:
            return why
        if not WHSEC_MIN_BYTES <= len(key) <= WHSEC_MAX_BYTES:
            return why
    return None


def generate_secret(provider: str) -> str:
    """A new random secret in the form the provider's own tools would create."""
    if provider == "standard-webhooks":
        return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_hex(32)


# --- per-provider header parsing ------------------------------------------------------------


def _github(headers: Mapping[str, str]) -> SignedHeaders:
    name = "X-Hub-Signature-256"
    value = _header(headers, name)
    if not value.startswith("sha256="):
        raise _missing(name)
    signature = _hex(value.removeprefix("sha256="), name)
    delivery = _optional(headers, "X-GitHub-Delivery")
    return SignedHeaders("github", None, (signature,), None, delivery)


def _stripe(headers: Mapping[str, str]) -> SignedHeaders:
    name = "Stripe-Signature"
    timestamp: int | None = None
    signatures: list[bytes] = []
    for item in _header(headers, name).split(","):
        scheme, sep, value = item.strip().partition("=")
        if not sep:
            raise _missing(name)
        if scheme == "t":
            if timestamp is not None:
                raise _missing(name)
            timestamp = _timestamp(value, name)
        elif scheme == "v1":
            signatures.append(_hex(value, name))
        # Other schemes (v0: test-mode legacy; future ones) are ignored, as Stripe's SDKs do.
    if timestamp is None or not signatures:
        raise _missing(name)
    return SignedHeaders("stripe", timestamp, tuple(signatures), None, None)


def _shopify(headers: Mapping[str, str]) -> SignedHeaders:
    name = "X-Shopify-Hmac-Sha256"
    signature = _b64digest(_header(headers, name), name)
    delivery = _optional(headers, "X-Shopify-Webhook-Id")
    return SignedHeaders("shopify", None, (signature,), None, delivery)


def _slack(headers: Mapping[str, str]) -> SignedHeaders:
    timestamp = _timestamp(
        _header(headers, "X-Slack-Request-Timestamp"), "X-Slack-Request-Timestamp"
    )
    name = "X-Slack-Signature"
    value = _header(headers, name)
    if not value.startswith("v0="):
        raise _missing(name)
    return SignedHeaders("slack", timestamp, (_hex(value.removeprefix("v0="), name),), None, None)


def _standard_webhooks(headers: Mapping[str, str]) -> SignedHeaders:
    # Svix sends the same headers under svix-*; one request uses one family throughout.
    family = "webhook-" if headers.get("webhook-signature") is not None else "svix-"
    message_id = _header(headers, family + "id")
    timestamp = _timestamp(_header(headers, family + "timestamp"), family + "timestamp")
    name = family + "signature"
    signatures: list[bytes] = []
    for item in _header(headers, name).split(" "):
        if not item:
            continue
        version, sep, value = item.partition(",")
        if not sep:
            raise _missing(name)
        if version == "v1":
            signatures.append(_b64digest(value, name))
        # v1a (asymmetric, ed25519) and future versions are not HMAC: not ours to check.
    if not signatures:
        raise _missing(name)
    return SignedHeaders("standard-webhooks", timestamp, tuple(signatures), message_id, message_id)


def _hmac_sha256(headers: Mapping[str, str]) -> SignedHeaders:
    name = "X-Signature-256"
    signature = _hex(_header(headers, name).removeprefix("sha256="), name)
    return SignedHeaders("hmac-sha256", None, (signature,), None, None)


_PARSERS: dict[str, Callable[[Mapping[str, str]], SignedHeaders]] = {
    "github": _github,
    "stripe": _stripe,
    "shopify": _shopify,
    "slack": _slack,
    "standard-webhooks": _standard_webhooks,
    "hmac-sha256": _hmac_sha256,
}


def _signed_prefix(signed: SignedHeaders) -> bytes:
    """What the provider signs before the body (the body itself follows, as received)."""
    if signed.provider == "stripe":
        return f"{signed.timestamp}.".encode()
    if signed.provider == "slack":
        return f"v0:{signed.timestamp}:".encode()
    if signed.provider == "standard-webhooks":
        return f"{signed.message_id}.{signed.timestamp}.".encode()
    return b""


def _missing(name: str) -> MissingSignature:
    # Names the header, never echoes its value.
    return MissingSignature(f"The {name} header is missing or malformed.")


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None or not value.strip():
        raise _missing(name)
    return value.strip()


def _optional(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.strip() or None


def _timestamp(value: str, name: str) -> int:
    # Canonical decimal only: the verifier rebuilds the signed content from the parsed int, so
    # "0123", "+123" or non-ASCII digits (all of which int() accepts) must not parse.
    canonical = value == "0" or (value[:1] != "0" and len(value) <= 12)
    if not (canonical and value.isascii() and value.isdigit()):
        raise _missing(name)
    return int(value)


def _hex(value: str, name: str) -> bytes:
    # Length first: fromhex skips spaces, so 64 characters giving 32 bytes means no spaces.
    # (A length check and fromhex cost a fraction of a regular expression here.)
    try:
        digest = bytes.fromhex(value) if len(value) == 2 * DIGEST_SIZE else b""
    except ValueError:
        digest = b""
    if len(digest) != DIGEST_SIZE:
        raise _missing(name)
    return digest


def _b64digest(value: str, name: str) -> bytes:
    try:
        digest = _b64decode(value)
    except ValueError:
        raise _missing(name) from None
    if len(digest) != DIGEST_SIZE:
        raise _missing(name)
    return digest


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # non-ASCII text raises a plain ValueError
        raise ValueError("not base64") from None

"""Provider signature schemes (SPEC §6), against signatures computed here, not by the gateway.

Every expected signature below is either a provider's published example (GitHub's "Validating
webhook deliveries" page, Slack's "Verifying requests from Slack" page, the Standard Webhooks
specification) or computed in this file with hmac/hashlib/base64 from the provider's documented
algorithm. The gateway's own code only parses, checks and compares.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import pytest
from multidict import CIMultiDict

from gateway.errors import InvalidSignature, MissingSignature, StaleTimestamp
from gateway.signatures import (
    PROVIDERS,
    SignedHeaders,
    check_secret,
    check_timestamp,
    generate_secret,
    parse_signed_headers,
    signing_key,
    verify,
)

NOW = 1_700_000_000
BODY = b'{"action":"opened","number":1}'
SECRET = "s3cr3t-for-the-tests"
OTHER = "an-entirely-different-secret"
WHSEC = "whsec_" + base64.b64encode(bytes(range(32))).decode()
WHSEC_OTHER = "whsec_" + base64.b64encode(bytes(range(1, 33))).decode()


def mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def whsec_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


# --- How each provider signs a delivery (its published algorithm, written out here) ----------


def github(secret: str, body: bytes, ts: int) -> dict[str, str]:
    sig = mac(secret.encode(), body).hex()
    return {"X-Hub-Signature-256": f"sha256={sig}", "X-GitHub-Delivery": "72d3162e-cc78-11e3"}


def stripe(secret: str, body: bytes, ts: int) -> dict[str, str]:
    sig = mac(secret.encode(), f"{ts}.".encode() + body).hex()
    return {"Stripe-Signature": f"t={ts},v1={sig}"}


def shopify(secret: str, body: bytes, ts: int) -> dict[str, str]:
    sig = base64.b64encode(mac(secret.encode(), body)).decode()
    return {"X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37"}


def slack(secret: str, body: bytes, ts: int) -> dict[str, str]:
    sig = mac(secret.encode(), f"v0:{ts}:".encode() + body).hex()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={sig}"}


def standard_webhooks(secret: str, body: bytes, ts: int) -> dict[str, str]:
    msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    sig = base64.b64encode(mac(whsec_key(secret), f"{msg_id}.{ts}.".encode() + body)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig}"}


def hmac_sha256(secret: str, body: bytes, ts: int) -> dict[str, str]:
    return {"X-Signature-256": "sha256=" + mac(secret.encode(), body).hex()}


Signer = Callable[[str, bytes, int], dict[str, str]]
SIGNERS: dict[str, Signer] = {
    "github": github,
    "stripe": stripe,
    "shopify": shopify,
    "slack": slack,
    "standard-webhooks": standard_webhooks,
    "hmac-sha256": hmac_sha256,
}
TIMESTAMPED = ("stripe", "slack", "standard-webhooks")


def secrets_for(provider: str) -> tuple[str, str]:
    return (WHSEC, WHSEC_OTHER) if provider == "standard-webhooks" else (SECRET, OTHER)


def accept(
    provider: str, headers: dict[str, str], body: bytes, secrets: list[str], now: float = NOW
) -> bytes:
    """The gateway's checks in SPEC §6's order; returns the matching digest."""
    signed = parse_signed_headers(provider, CIMultiDict(headers))
    check_timestamp(signed, now, 300)
    return verify(signed, body, [signing_key(provider, s) for s in secrets])


def test_every_provider_of_the_spec_has_a_signer_here() -> None:
    assert tuple(SIGNERS) == PROVIDERS


# --- Published examples --------------------------------------------------------------------


def test_github_published_example() -> None:
    headers = {
        "X-Hub-Signature-256": (
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        )
    }
    digest = accept("github", headers, b"Hello, World!", ["It's a Secret to Everybody"])
    assert digest.hex() == "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
    b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
    b"d2c447fce8b6703c"
)


def test_slack_published_example() -> None:
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": (
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        ),
    }
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    accept("slack", headers, SLACK_BODY, [secret], now=1531420618)


SW_EXAMPLE = {
    "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": "1614265330",
    "signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_BODY = b'{"test": 2432232314}'


@pytest.mark.parametrize("family", ["webhook-", "svix-", "Svix-", "WEBHOOK-"])
def test_standard_webhooks_published_example_under_both_header_names(family: str) -> None:
    headers = {family + k: v for k, v in SW_EXAMPLE.items()}
    signed = parse_signed_headers("standard-webhooks", CIMultiDict(headers))
    assert signed.message_id == signed.delivery_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert signed.timestamp == 1614265330  # seconds
    accept("standard-webhooks", headers, SW_BODY, [SW_SECRET], now=1614265330)
    with pytest.raises(InvalidSignature):
        accept("standard-webhooks", headers, SW_BODY + b" ", [SW_SECRET], now=1614265330)


# --- The matrix: accepted, tampered body, wrong secret, stale timestamp ----------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_delivery_signed_as_the_provider_signs_it_is_accepted(provider: str) -> None:
    secret, _ = secrets_for(provider)
    headers = SIGNERS[provider](secret, BODY, NOW)
    digest = accept(provider, headers, BODY, [secret])
    assert len(digest) == 32


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tampered_body_is_an_invalid_signature(provider: str) -> None:
    secret, _ = secrets_for(provider)
    headers = SIGNERS[provider](secret, BODY, NOW)
    # Same JSON, re-serialised with a space: the raw bytes differ, so the signature must too.
    for body in (BODY.replace(b":", b": "), BODY + b"\n", b"", BODY[:-1]):
        with pytest.raises(InvalidSignature) as caught:
            accept(provider, headers, body, [secret])
        assert (caught.value.status, caught.value.code) == (401, "invalid_signature")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_secret_is_an_invalid_signature(provider: str) -> None:
    secret, other = secrets_for(provider)
    headers = SIGNERS[provider](other, BODY, NOW)
    with pytest.raises(InvalidSignature):
        accept(provider, headers, BODY, [secret])


@pytest.mark.parametrize("provider", TIMESTAMPED)
@pytest.mark.parametrize("skew", [-301, 301, -86_400, 10**9])
def test_a_stale_timestamp_is_refused_before_the_signature(provider: str, skew: int) -> None:
    secret, _ = secrets_for(provider)
    headers = SIGNERS[provider](secret, BODY, NOW + skew)  # correctly signed, but too old/new
    with pytest.raises(StaleTimestamp) as caught:
        accept(provider, headers, BODY, [secret])
    assert (caught.value.status, caught.value.code) == (401, "stale_timestamp")


@pytest.mark.parametrize("provider", TIMESTAMPED)
@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_a_timestamp_within_the_tolerance_passes(provider: str, skew: int) -> None:
    secret, _ = secrets_for(provider)
    accept(provider, SIGNERS[provider](secret, BODY, NOW + skew), BODY, [secret])


@pytest.mark.parametrize("provider", ["github", "shopify", "hmac-sha256"])
def test_providers_without_a_signed_timestamp_have_no_freshness_check(provider: str) -> None:
    secret, _ = secrets_for(provider)
    signed = parse_signed_headers(provider, CIMultiDict(SIGNERS[provider](secret, BODY, NOW)))
    assert signed.timestamp is None
    check_timestamp(signed, NOW + 10**9, 1)


@pytest.mark.parametrize("provider", TIMESTAMPED)
def test_the_timestamp_is_part_of_the_signed_content(provider: str) -> None:
    secret, _ = secrets_for(provider)
    headers = SIGNERS[provider](secret, BODY, NOW + 1)  # signed for one second...
    if provider == "stripe":  # ...presented as signed for another
        headers["Stripe-Signature"] = headers["Stripe-Signature"].replace(
            f"t={NOW + 1}", f"t={NOW}"
        )
    elif provider == "slack":
        headers["X-Slack-Request-Timestamp"] = str(NOW)
    else:
        headers["webhook-timestamp"] = str(NOW)
    with pytest.raises(InvalidSignature):
        accept(provider, headers, BODY, [secret])


# --- Several secrets (rotation overlap) -------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_any_of_several_secrets_may_match(provider: str) -> None:
    old, new = secrets_for(provider)
    for signer_secret in (old, new):
        headers = SIGNERS[provider](signer_secret, BODY, NOW)
        accept(provider, headers, BODY, [new, old])
        accept(provider, headers, BODY, [old, new])
    with pytest.raises(InvalidSignature):  # every secret expired: nothing to check against
        accept(provider, SIGNERS[provider](new, BODY, NOW), BODY, [])


# --- Header variants -----------------------------------------------------------------------


def test_header_names_are_case_insensitive() -> None:
    headers = {k.lower(): v for k, v in github(SECRET, BODY, NOW).items()}
    signed = parse_signed_headers("github", CIMultiDict(headers))
    assert signed.delivery_id == "72d3162e-cc78-11e3"
    verify(signed, BODY, [SECRET.encode()])


@pytest.mark.parametrize("prefix", ["sha256=", ""])
def test_hmac_sha256_prefix_is_optional(prefix: str) -> None:
    headers = {"X-Signature-256": prefix + mac(SECRET.encode(), BODY).hex()}
    accept("hmac-sha256", headers, BODY, [SECRET])


def test_upper_case_hex_is_accepted() -> None:
    headers = {"X-Hub-Signature-256": "sha256=" + mac(SECRET.encode(), BODY).hex().upper()}
    accept("github", headers, BODY, [SECRET])


def test_stripe_several_v1_signatures_and_unknown_schemes() -> None:
    good = mac(SECRET.encode(), f"{NOW}.".encode() + BODY)
    wrong = mac(OTHER.encode(), f"{NOW}.".encode() + BODY).hex()
    header = f"v0={'ab' * 7},v1={wrong},t={NOW},v1={good.hex()},v9=whatever"
    assert accept("stripe", {"Stripe-Signature": header}, BODY, [SECRET]) == good


def test_standard_webhooks_several_signatures_and_other_versions() -> None:
    headers = standard_webhooks(WHSEC, BODY, NOW)
    wrong = base64.b64encode(bytes(32)).decode()
    good = headers["webhook-signature"]
    headers["webhook-signature"] = f"v1a,bm90IG91cnM= v1,{wrong}  {good}"
    digest = accept("standard-webhooks", headers, BODY, [WHSEC])
    assert base64.b64encode(digest).decode() == good.removeprefix("v1,")


def test_delivery_identity_headers() -> None:
    def delivery(provider: str) -> str | None:
        secret, _ = secrets_for(provider)
        headers = CIMultiDict(SIGNERS[provider](secret, BODY, NOW))
        return parse_signed_headers(provider, headers).delivery_id

    assert delivery("github") == "72d3162e-cc78-11e3"
    assert delivery("shopify") == "b54557e4-bdd9-4b37"
    assert delivery("standard-webhooks") == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert delivery("stripe") is delivery("slack") is delivery("hmac-sha256") is None


# --- Missing or unparseable headers -> missing_signature ---------------------------------------

HEX = "ab" * 32
B64 = base64.b64encode(bytes(32)).decode()
ARABIC_DIGITS = "\u0661\u0667" + "\u0660" * 8  # str.isdigit() and int() accept these
UNPARSEABLE = [
    ("github", {}),
    ("github", {"X-Hub-Signature-256": ""}),
    ("github", {"X-Hub-Signature-256": HEX}),  # GitHub always sends the prefix
    ("github", {"X-Hub-Signature": "sha1=" + "ab" * 20}),  # the legacy SHA-1 header alone
    ("github", {"X-Hub-Signature-256": "sha256=" + "zz" * 32}),
    ("github", {"X-Hub-Signature-256": "sha256=" + HEX[:-2]}),
    ("github", {"X-Hub-Signature-256": "sha256=" + HEX + "ab"}),
    ("github", {"X-Hub-Signature-256": "sha256=" + HEX[:30] + "  " + HEX[32:]}),
    ("github", {"X-Hub-Signature-256": "sha256=" + "\u0661" * 64}),
    ("stripe", {}),
    ("stripe", {"Stripe-Signature": f"v1={HEX}"}),  # no t=
    ("stripe", {"Stripe-Signature": f"t={NOW}"}),  # no v1=
    ("stripe", {"Stripe-Signature": f"t={NOW},v0={HEX}"}),  # only an unknown scheme
    ("stripe", {"Stripe-Signature": f"t=soon,v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t={NOW}.5,v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t=+{NOW},v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t=0{NOW},v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t=-{NOW},v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t={NOW}000,v1={HEX}"}),  # 13 digits: not seconds
    ("stripe", {"Stripe-Signature": f"t=,v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t={NOW},t={NOW},v1={HEX}"}),
    ("stripe", {"Stripe-Signature": f"t={NOW},v1=not-hex"}),
    ("stripe", {"Stripe-Signature": f"t={NOW},{HEX}"}),
    ("shopify", {}),
    ("shopify", {"X-Shopify-Hmac-Sha256": "not base64!"}),
    ("shopify", {"X-Shopify-Hmac-Sha256": B64.rstrip("=")}),  # padding is part of base64
    ("shopify", {"X-Shopify-Hmac-Sha256": base64.b64encode(bytes(20)).decode()}),
    ("shopify", {"X-Shopify-Hmac-Sha256": HEX}),
    ("slack", {"X-Slack-Signature": f"v0={HEX}"}),  # no timestamp
    ("slack", {"X-Slack-Request-Timestamp": str(NOW)}),  # no signature
    ("slack", {"X-Slack-Request-Timestamp": ARABIC_DIGITS, "X-Slack-Signature": f"v0={HEX}"}),
    ("slack", {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": HEX}),
    ("slack", {"X-Slack-Request-Timestamp": str(NOW), "X-Slack-Signature": f"v1={HEX}"}),
    ("standard-webhooks", {"webhook-timestamp": str(NOW), "webhook-signature": f"v1,{B64}"}),
    ("standard-webhooks", {"webhook-id": "m", "webhook-signature": f"v1,{B64}"}),
    ("standard-webhooks", {"webhook-id": "m", "webhook-timestamp": str(NOW)}),
    (
        "standard-webhooks",
        {"webhook-id": "m", "webhook-timestamp": "1e9", "webhook-signature": f"v1,{B64}"},
    ),
    (
        "standard-webhooks",
        {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": "v1,%%%"},
    ),
    (
        "standard-webhooks",
        {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": B64},
    ),
    (
        "standard-webhooks",
        {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": f"v1a,{B64}"},
    ),
    # One family per request: a webhook-signature with svix-id and svix-timestamp is incomplete.
    (
        "standard-webhooks",
        {"svix-id": "m", "svix-timestamp": str(NOW), "webhook-signature": f"v1,{B64}"},
    ),
    ("hmac-sha256", {}),
    ("hmac-sha256", {"X-Signature-256": "sha256="}),
    ("hmac-sha256", {"X-Signature-256": "sha1=" + HEX}),
    ("hmac-sha256", {"X-Signature-256": B64}),
]


@pytest.mark.parametrize(("provider", "headers"), UNPARSEABLE)
def test_missing_or_unparseable_headers_are_a_missing_signature(
    provider: str, headers: dict[str, str]
) -> None:
    with pytest.raises(MissingSignature) as caught:
        parse_signed_headers(provider, CIMultiDict(headers))
    assert (caught.value.status, caught.value.code) == (401, "missing_signature")
    for value in headers.values():  # the message names the header, never echoes a value
        assert len(value) < 8 or value not in caught.value.message


def test_an_unknown_provider_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        parse_signed_headers("gitlab", {})


def test_verify_returns_the_matching_candidate() -> None:
    good = mac(SECRET.encode(), BODY)
    signed = SignedHeaders("github", None, (bytes(32), good), None, None)
    assert verify(signed, BODY, [OTHER.encode(), SECRET.encode()]) == good


# --- Secrets: what may be stored, what the gateway generates ---------------------------------


@pytest.mark.parametrize(
    ("provider", "secret", "problem"),
    [
        ("github", "x" * 7, "8 to 512 characters"),
        ("github", "x" * 513, "8 to 512 characters"),
        ("github", "my secret\n", "control characters"),
        ("stripe", "whsec_\x00abcdefgh", "control characters"),
        ("slack", "x" * 8, None),
        ("hmac-sha256", "x" * 512, None),
        ("gitlab", "x" * 32, "one of github, stripe"),
        ("standard-webhooks", "x" * 32, "whsec_"),
        ("standard-webhooks", "whsec_not*base64*at*all", "whsec_"),
        ("standard-webhooks", "whsec_" + base64.b64encode(bytes(23)).decode(), "24 to 64"),
        ("standard-webhooks", "whsec_" + base64.b64encode(bytes(65)).decode(), "24 to 64"),
        ("standard-webhooks", "whsec_" + base64.b64encode(bytes(24)).decode(), None),
        ("standard-webhooks", "whsec_" + base64.b64encode(bytes(64)).decode(), None),
        ("standard-webhooks", SW_SECRET, None),
    ],
)
def test_check_secret(provider: str, secret: str, problem: str | None) -> None:
    found = check_secret(provider, secret)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and secret not in found


@pytest.mark.parametrize("provider", PROVIDERS)
def test_generated_secrets_are_acceptable_and_random(provider: str) -> None:
    first, second = generate_secret(provider), generate_secret(provider)
    assert first != second
    assert check_secret(provider, first) is None
    if provider == "standard-webhooks":
        assert first.startswith("whsec_") and len(whsec_key(first)) == 32
    else:
        assert len(first) == 64 and bytes.fromhex(first)
    # The generated secret works end to end when given to a sender.
    accept(provider, SIGNERS[provider](first, BODY, NOW), BODY, [first])


def test_signing_key_of_standard_webhooks_is_the_decoded_secret() -> None:
    assert signing_key("standard-webhooks", SW_SECRET) == whsec_key(SW_SECRET)
    assert signing_key("github", "It's a Secret") == b"It's a Secret"
    with pytest.raises(ValueError):
        signing_key("standard-webhooks", "whsec_%%%")

"""Bearer token verification (RELIABILITY item 18) and dev-token minting, without a server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
import warnings
from typing import Any

import jwt
import pytest

from gateway.config import Config, load_config
from gateway.errors import Unauthorized
from gateway.tokens import Principal, Role, TokenVerifier, mint_token

SECRET = "primary-secret-0123456789abcdef0123456789"
OLD_SECRET = "previous-secret-0123456789abcdef012345678"
TENANT = uuid.UUID("6f1c9a52-3b1e-4c55-9d0e-1a2b3c4d5e6f")


def make(**overrides: Any) -> Config:
    return load_config({}, overrides={"jwt_secret": SECRET, **overrides})


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"tenantId": str(TENANT), "role": "Owner", "iat": now, "exp": now + 900}
    return {k: v for k, v in (base | extra).items() if v is not None}


def sign(payload: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm=alg)


def b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rejected(verifier: TokenVerifier, token: str) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        verifier.verify(token)
    assert info.value.status == 401
    assert info.value.headers["WWW-Authenticate"] == "Bearer"
    return info.value


def test_a_valid_token_gives_the_tenant_role_and_subject() -> None:
    principal = TokenVerifier(make()).verify(sign(claims(sub="user-7")))
    assert principal == Principal(TENANT, Role.OWNER, "user-7")


def test_alg_none_is_rejected() -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}."
    rejected(TokenVerifier(make()), unsigned)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_another_hmac_algorithm_with_the_right_secret_is_rejected(alg: str) -> None:
    rejected(TokenVerifier(make()), sign(claims(), alg=alg))


def test_an_rs256_token_is_rejected_when_only_hs256_is_configured() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rejected(TokenVerifier(make()), jwt.encode(claims(), private, algorithm="RS256"))


def test_a_header_claiming_hs256_over_an_rs256_signature_is_rejected() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _, payload, signature = jwt.encode(claims(), private, algorithm="RS256").split(".")
    rejected(TokenVerifier(make()), f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{payload}.{signature}")


def test_a_configured_algorithm_list_is_honoured() -> None:
    long_secret = "s" * 64  # HS512 wants 64 bytes
    verifier = TokenVerifier(make(jwt_algorithms="HS512", jwt_secret=long_secret))
    assert verifier.verify(sign(claims(), long_secret, alg="HS512")).tenant_id == TENANT
    rejected(verifier, sign(claims(), long_secret, alg="HS256"))


def test_a_bad_signature_is_rejected() -> None:
    header, payload, signature = sign(claims()).split(".")
    tampered = b64(claims(tenantId=str(uuid.uuid4())))
    rejected(TokenVerifier(make()), f"{header}.{tampered}.{signature}")
    rejected(TokenVerifier(make()), f"{header}.{payload}.{signature[::-1]}")
    rejected(TokenVerifier(make()), sign(claims(), secret="another-secret-0123456789abcdef01234"))


def test_an_expired_token_is_rejected_as_expired() -> None:
    error = rejected(TokenVerifier(make()), sign(claims(exp=int(time.time()) - 60)))
    assert "expired" in error.message


def test_leeway_accepts_a_token_that_expired_within_it() -> None:
    token = sign(claims(exp=int(time.time()) - 5))
    assert TokenVerifier(make(jwt_leeway=10)).verify(token).tenant_id == TENANT
    rejected(TokenVerifier(make(jwt_leeway=0)), token)


def test_a_token_not_yet_valid_beyond_the_leeway_is_rejected() -> None:
    now = int(time.time())
    rejected(TokenVerifier(make(jwt_leeway=10)), sign(claims(nbf=now + 60)))
    assert TokenVerifier(make(jwt_leeway=10)).verify(sign(claims(nbf=now + 5)))


def test_a_token_issued_in_the_future_beyond_the_leeway_is_rejected() -> None:
    rejected(TokenVerifier(make(jwt_leeway=10)), sign(claims(iat=int(time.time()) + 60)))


@pytest.mark.parametrize(
    "payload",
    [
        claims(exp=None),
        claims(exp="tomorrow"),
        claims(exp=float("inf")),
        claims(nbf="now"),
        claims(iat="then"),
        claims(tenantId=None),
        claims(tenantId="acme"),
        claims(tenantId=""),
        claims(tenantId=42),
        claims(tenantId=["6f1c9a52-3b1e-4c55-9d0e-1a2b3c4d5e6f"]),
        claims(tenantId={"id": str(TENANT)}),
    ],
    ids=[
        "exp-missing",
        "exp-text",
        "exp-infinite",
        "nbf-text",
        "iat-text",
        "tenant-missing",
        "tenant-not-a-uuid",
        "tenant-empty",
        "tenant-number",
        "tenant-list",
        "tenant-object",
    ],
)
def test_missing_or_malformed_claims_are_rejected(payload: dict[str, Any]) -> None:
    rejected(TokenVerifier(make()), sign(payload))


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "a.b", "...", "é.é.é", f"{b64([1])}.{b64(claims())}.x", "x" * 5000],
    ids=["empty", "word", "three-parts", "two-parts", "dots", "non-ascii", "header-list", "huge"],
)
def test_garbage_is_rejected(token: str) -> None:
    rejected(TokenVerifier(make()), token)


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    header, _, _ = sign(claims()).split(".")
    body = b64(["not", "an", "object"])
    signing_input = f"{header}.{body}".encode()
    mac = hmac.new(SECRET.encode(), signing_input, hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    rejected(TokenVerifier(make()), f"{header}.{body}.{signature}")


def test_the_tenant_claim_name_is_configurable() -> None:
    verifier = TokenVerifier(make(jwt_tenant_claim="tid"))
    assert verifier.verify(sign(claims(tid=str(TENANT), tenantId=None))).tenant_id == TENANT
    rejected(verifier, sign(claims()))


def test_issuer_is_checked_when_configured() -> None:
    verifier = TokenVerifier(make(jwt_issuer="https://auth.hooksentry.example"))
    assert verifier.verify(sign(claims(iss="https://auth.hooksentry.example")))
    rejected(verifier, sign(claims(iss="https://evil.example")))
    rejected(verifier, sign(claims()))  # iss missing


def test_audience_is_checked_when_configured() -> None:
    verifier = TokenVerifier(make(jwt_audience="hooksentry-gateway"))
    assert verifier.verify(sign(claims(aud="hooksentry-gateway")))
    assert verifier.verify(sign(claims(aud=["other", "hooksentry-gateway"])))
    rejected(verifier, sign(claims(aud="another-service")))
    rejected(verifier, sign(claims()))  # aud missing


def test_issuer_and_audience_are_not_required_when_not_configured() -> None:
    verifier = TokenVerifier(make())
    assert verifier.verify(sign(claims(iss="anyone", aud="anything")))


def test_rotation_accepts_tokens_of_every_listed_secret_and_only_those() -> None:
    old_token = sign(claims(), secret=OLD_SECRET)
    new_token = sign(claims(), secret=SECRET)

    during = TokenVerifier(make(jwt_secret=f"{SECRET},{OLD_SECRET}"))
    assert during.verify(old_token).tenant_id == TENANT
    assert during.verify(new_token).tenant_id == TENANT

    after = TokenVerifier(make(jwt_secret=SECRET))
    assert after.verify(new_token).tenant_id == TENANT
    rejected(after, old_token)


def test_an_expired_token_of_the_old_secret_is_expired_not_retried() -> None:
    verifier = TokenVerifier(make(jwt_secret=f"{SECRET},{OLD_SECRET}"))
    rejected(verifier, sign(claims(exp=int(time.time()) - 60), secret=OLD_SECRET))


def test_without_any_secret_every_token_is_rejected() -> None:
    verifier = TokenVerifier(load_config({}, overrides={"jwt_secret": ""}))
    rejected(verifier, sign(claims()))


@pytest.mark.parametrize(
    ("value", "role"),
    [
        (0, Role.DEVELOPER),
        (1, Role.ADMIN),
        (10, Role.OWNER),
        (20, Role.VIEWER),
        ("Developer", Role.DEVELOPER),
        ("admin", Role.ADMIN),
        ("OWNER", Role.OWNER),
        ("vIeWeR", Role.VIEWER),
        ("Root", None),
        (99, None),
        (True, None),
        (None, None),
        (1.0, None),
        ("", None),
    ],
)
def test_roles_are_names_in_any_case_or_the_platforms_numbers(
    value: Any, role: Role | None
) -> None:
    assert Role.parse(value) is role
    verifier = TokenVerifier(make())
    assert verifier.verify(sign(claims() | {"role": value})).role is role


def test_only_the_viewer_role_is_read_only() -> None:
    assert [r for r in Role if not r.can_write] == [Role.VIEWER]


def test_minted_tokens_verify_and_carry_issuer_and_audience_when_configured() -> None:
    config = make(jwt_issuer="iss-x", jwt_audience="aud-y")
    token = mint_token(config, TENANT, Role.VIEWER, ttl=60)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == "iss-x" and payload["aud"] == "aud-y" and payload["role"] == "Viewer"
    assert 55 <= payload["exp"] - time.time() <= 61
    assert TokenVerifier(config).verify(token) == Principal(TENANT, Role.VIEWER, None)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("kind", ["numeric-string", "bool", "null", "list"])
def test_time_claims_that_are_not_numbers_are_rejected(claim: str, kind: str) -> None:
    now = int(time.time())
    payload = claims(nbf=now - 1)
    payload[claim] = {"numeric-string": str(payload[claim]), "bool": True, "null": None}.get(
        kind, [payload[claim]]
    )
    rejected(TokenVerifier(make()), sign(payload))


@pytest.mark.parametrize("with_iat", [True, False])
def test_a_token_living_longer_than_the_maximum_lifetime_is_rejected(with_iat: bool) -> None:
    now = int(time.time())
    token = sign(claims(exp=now + 3601, iat=now if with_iat else None))
    assert "lifetime" in rejected(TokenVerifier(make(jwt_max_lifetime=3590)), token).message
    assert TokenVerifier(make(jwt_max_lifetime=3700)).verify(token).tenant_id == TENANT


def test_the_default_maximum_lifetime_is_a_day() -> None:
    now = int(time.time())
    assert TokenVerifier(make()).verify(sign(claims(exp=now + 86400))).tenant_id == TENANT
    rejected(TokenVerifier(make()), sign(claims(exp=now + 86400 + 3600)))

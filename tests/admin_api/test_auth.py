"""Who may do what: bearer tokens (401), tenants (404), roles and tenant isolation (403)."""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.config import Config
from gateway.tokens import Role
from tests.admin_api.conftest import APIKEYS, CreateKey, assert_error
from tests.conftest import JWT_SECRET

Call = Callable[[TestClient, dict[str, str]], Awaitable[ClientResponse]]


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(tenant: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"tenantId": str(tenant), "role": "Owner", "iat": now, "exp": now + 900} | extra


def signed(claims: dict[str, Any], secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    with warnings.catch_warnings():  # the test secret is short for HS512: that's the point
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=alg)


async def list_call(client: TestClient, headers: dict[str, str]) -> ClientResponse:
    return await client.get(APIKEYS, headers=headers)


async def create_call(client: TestClient, headers: dict[str, str]) -> ClientResponse:
    return await client.post(APIKEYS, json={"name": "x"}, headers=headers)


async def revoke_call(client: TestClient, headers: dict[str, str]) -> ClientResponse:
    return await client.delete(f"{APIKEYS}/{uuid.uuid4()}", headers=headers)


CALLS = [
    pytest.param(list_call, id="list"),
    pytest.param(create_call, id="create"),
    pytest.param(revoke_call, id="revoke"),
]


def bad_authorizations(tenant: uuid.UUID) -> dict[str, str | None]:
    """Authorization header values that must all be 401 (None: header absent)."""
    good = signed(claims_for(tenant))
    header, payload, _ = good.split(".")
    now = int(time.time())
    return {
        "absent": None,
        "empty": "",
        "bearer-without-token": "Bearer",
        "bearer-blank-token": "Bearer    ",
        "wrong-scheme": f"Basic {good}",
        "token-without-scheme": good,
        "garbage": "Bearer garbage",
        "three-garbage-parts": "Bearer a.b.c",
        "alg-none": f"Bearer {b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "alg-none-with-signature": f"Bearer {b64({'alg': 'none'})}.{payload}.{good.split('.')[2]}",
        "hs512-with-the-right-secret": f"Bearer {signed(claims_for(tenant), alg='HS512')}",
        "bad-signature": f"Bearer {header}.{payload}.{'A' * 43}",
        "other-secret": f"Bearer {signed(claims_for(tenant), secret='x' * 40)}",
        "expired": f"Bearer {signed(claims_for(tenant, exp=now - 60))}",
        "not-yet-valid": f"Bearer {signed(claims_for(tenant, nbf=now + 120))}",
        "issued-in-the-future": f"Bearer {signed(claims_for(tenant, iat=now + 120))}",
        "exp-missing": f"Bearer {signed({'tenantId': str(tenant), 'role': 'Owner'})}",
        "exp-not-a-number": f"Bearer {signed(claims_for(tenant, exp='tomorrow'))}",
        "exp-infinite": f"Bearer {signed(claims_for(tenant, exp=float('inf')))}",
        "tenant-missing": f"Bearer {signed({'role': 'Owner', 'exp': now + 900})}",
        "tenant-not-a-uuid": f"Bearer {signed(claims_for(tenant, tenantId='acme'))}",
        "tenant-a-number": f"Bearer {signed(claims_for(tenant, tenantId=42))}",
        "tenant-null": f"Bearer {signed(claims_for(tenant, tenantId=None))}",
        "payload-not-an-object": f"Bearer {header}.{b64([1, 2])}.{good.split('.')[2]}",
    }


@pytest.mark.parametrize("call", CALLS)
async def test_a_missing_malformed_expired_or_badly_signed_token_is_401(
    client: TestClient, tenant: uuid.UUID, call: Call
) -> None:
    failures = []
    for case, value in bad_authorizations(tenant).items():
        headers = {} if value is None else {"Authorization": value}
        response = await call(client, headers)
        body = await response.json(content_type=None)
        if (
            response.status != 401
            or response.headers.get("WWW-Authenticate", "").split(" ")[0] != "Bearer"
            or response.content_type != "application/json"
            or not isinstance(body, dict)
            or body.get("error") != "unauthorized"
        ):
            failures.append((case, response.status, body))
    assert failures == []


async def test_an_rs256_token_is_refused_when_hs256_is_configured(
    client: TestClient, tenant: uuid.UUID
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims_for(tenant), private, algorithm="RS256")

    response = await client.get(APIKEYS, headers={"Authorization": f"Bearer {token}"})

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_bearer_scheme_is_case_insensitive(client: TestClient, tenant: uuid.UUID) -> None:
    token = signed(claims_for(tenant))
    response = await client.get(APIKEYS, headers={"Authorization": f"bearer {token}"})
    assert response.status == 200


async def test_401_messages_never_echo_the_token(client: TestClient, tenant: uuid.UUID) -> None:
    token = signed(claims_for(tenant, exp=int(time.time()) - 60))
    response = await client.get(APIKEYS, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401
    assert token.split(".")[1] not in await response.text()


@pytest.mark.parametrize("call", CALLS)
async def test_an_unknown_tenant_is_404(
    client: TestClient, auth: Callable[..., dict[str, str]], call: Call
) -> None:
    response = await call(client, auth(uuid.uuid4()))

    assert response.status == 404
    assert_error(await response.json(), "not_found")


@pytest.mark.parametrize("call", CALLS)
async def test_an_inactive_tenant_is_404(
    client: TestClient,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
    call: Call,
) -> None:
    response = await call(client, auth(await new_tenant(active=False)))

    assert response.status == 404
    assert_error(await response.json(), "not_found")


async def test_keys_of_a_deactivated_tenant_can_no_longer_be_managed(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], tenant: uuid.UUID, db: Any
) -> None:
    created = await create_key(owner)
    await db.execute("UPDATE tenants SET is_active = false WHERE id = $1", tenant)

    assert (await client.get(APIKEYS, headers=owner)).status == 404
    assert (await client.delete(f"{APIKEYS}/{created['id']}", headers=owner)).status == 404


WRITERS = [0, 1, 10, "Developer", "developer", "ADMIN", "Admin", "owner", "OWNER", " Owner "]


@pytest.mark.parametrize("role", WRITERS, ids=repr)
async def test_developers_admins_and_owners_may_create_list_and_revoke(
    client: TestClient, tenant: uuid.UUID, auth: Callable[..., dict[str, str]], role: Any
) -> None:
    headers = auth(tenant, role)

    created = await client.post(APIKEYS, json={"name": "w"}, headers=headers)
    assert created.status == 201
    key_id = (await created.json())["id"]
    assert (await client.get(APIKEYS, headers=headers)).status == 200
    assert (await client.delete(f"{APIKEYS}/{key_id}", headers=headers)).status == 200


@pytest.mark.parametrize("role", [Role.VIEWER, 20, "viewer", "VIEWER"], ids=repr)
async def test_a_viewer_may_list_but_not_create_or_revoke(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
    role: Any,
) -> None:
    created = await create_key(owner)
    viewer = auth(tenant, role)

    listed = await client.get(APIKEYS, headers=viewer)
    assert listed.status == 200
    assert [item["id"] for item in (await listed.json())["items"]] == [created["id"]]

    create = await client.post(APIKEYS, json={"name": "nope"}, headers=viewer)
    assert create.status == 403
    assert_error(await create.json(), "forbidden")

    revoke = await client.delete(f"{APIKEYS}/{created['id']}", headers=viewer)
    assert revoke.status == 403
    assert_error(await revoke.json(), "forbidden")
    assert (await (await client.get(APIKEYS, headers=owner)).json())["total"] == 1


@pytest.mark.parametrize(
    "role", ["Root", "superuser", "", 99, -1, 2, 20.5, True, None, ["Owner"]], ids=repr
)
async def test_an_unknown_role_grants_nothing(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
    role: Any,
) -> None:
    created = await create_key(owner)
    nobody = auth(tenant, role)

    for response in (
        await client.get(APIKEYS, headers=nobody),
        await client.post(APIKEYS, json={"name": "nope"}, headers=nobody),
        await client.delete(f"{APIKEYS}/{created['id']}", headers=nobody),
    ):
        assert response.status == 403
        assert_error(await response.json(), "forbidden")


async def test_a_token_without_a_role_grants_nothing(
    client: TestClient, tenant: uuid.UUID, config: Config
) -> None:
    claims = claims_for(tenant)
    del claims["role"]
    headers = {"Authorization": f"Bearer {signed(claims)}"}

    assert (await client.get(APIKEYS, headers=headers)).status == 403
    assert (await client.post(APIKEYS, json={"name": "x"}, headers=headers)).status == 403


async def test_tenant_a_can_neither_see_nor_revoke_tenant_bs_keys(
    client: TestClient,
    create_key: CreateKey,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
) -> None:
    tenant_a, tenant_b = auth(await new_tenant(name="A")), auth(await new_tenant(name="B"))
    b_key = await create_key(tenant_b, "b's key")

    listed = await (await client.get(APIKEYS, headers=tenant_a)).json()
    assert listed == {"total": 0, "items": []}
    revoke = await client.delete(f"{APIKEYS}/{b_key['id']}", headers=tenant_a)
    assert revoke.status == 403
    b_listed = await (await client.get(APIKEYS, headers=tenant_b)).json()
    assert b_listed["items"][0]["isActive"] is True


async def test_issuer_and_audience_are_enforced_over_http_when_configured(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    make_config: Callable[..., Config],
    tenant: uuid.UUID,
) -> None:
    config = make_config(jwt_issuer="https://auth.example", jwt_audience="hooksentry")
    client = await aiohttp_client(create_app(config))
    right = {"iss": "https://auth.example", "aud": "hooksentry"}

    async def status(**extra: Any) -> int:
        token = signed({k: v for k, v in claims_for(tenant, **extra).items() if v is not None})
        return (await client.get(APIKEYS, headers={"Authorization": f"Bearer {token}"})).status

    assert await status(**right) == 200
    assert await status(**(right | {"iss": "https://evil.example"})) == 401
    assert await status(**(right | {"aud": "another-service"})) == 401
    assert await status(**(right | {"iss": None})) == 401
    assert await status(**(right | {"aud": None})) == 401


async def test_a_rotated_secret_is_honoured_only_while_it_is_listed(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    make_config: Callable[..., Config],
    tenant: uuid.UUID,
) -> None:
    new_secret = "new-secret-0123456789abcdef0123456789abcdef"
    old = {"Authorization": f"Bearer {signed(claims_for(tenant), secret=JWT_SECRET)}"}
    new = {"Authorization": f"Bearer {signed(claims_for(tenant), secret=new_secret)}"}

    during = await aiohttp_client(create_app(make_config(jwt_secret=f"{new_secret},{JWT_SECRET}")))
    assert (await during.get(APIKEYS, headers=old)).status == 200
    assert (await during.get(APIKEYS, headers=new)).status == 200

    after = await aiohttp_client(create_app(make_config(jwt_secret=new_secret)))
    assert (await after.get(APIKEYS, headers=new)).status == 200
    dropped = await after.get(APIKEYS, headers=old)
    assert dropped.status == 401
    assert dropped.headers["WWW-Authenticate"].startswith("Bearer")


async def test_leeway_is_honoured_over_http(
    aiohttp_client: Callable[..., Awaitable[TestClient]],
    make_config: Callable[..., Config],
    tenant: uuid.UUID,
) -> None:
    client = await aiohttp_client(create_app(make_config(jwt_leeway=10)))
    now = int(time.time())

    async def status(**extra: Any) -> int:
        token = signed(claims_for(tenant, **extra))
        return (await client.get(APIKEYS, headers={"Authorization": f"Bearer {token}"})).status

    assert await status(exp=now - 5) == 200
    assert await status(nbf=now + 5) == 200
    assert await status(exp=now - 30) == 401
    assert await status(nbf=now + 30) == 401

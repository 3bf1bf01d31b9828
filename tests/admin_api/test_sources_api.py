"""The /api/v1/sources endpoints (SPEC §6): codes, roles, tenants, validation, secrets once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.tokens import Role
from tests.admin_api.conftest import assert_error, parse_timestamp

SOURCES = "/api/v1/sources"
Auth = Callable[..., dict[str, str]]


async def create(
    client: TestClient, headers: dict[str, str], status: int = 201, **body: Any
) -> dict[str, Any]:
    payload = {"name": "GitHub", "provider": "github", "token": f"gh-{uuid.uuid4().hex[:8]}"}
    response = await client.post(SOURCES, json=payload | body, headers=headers)
    assert response.status == status, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_create_returns_the_source_and_a_generated_secret_once(
    client: TestClient, owner: dict[str, str], tenant: uuid.UUID
) -> None:
    response = await client.post(
        SOURCES, json={"name": " Shop ", "provider": "github", "token": "gh.main"}, headers=owner
    )
    assert response.status == 201
    body = await response.json()
    assert response.headers["Location"] == f"{SOURCES}/{body['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert body["name"] == "Shop"
    assert body["ingestPath"] == f"/api/v1/ingest/{tenant}/gh.main"
    assert body["requireApiKey"] is False
    assert body["toleranceSeconds"] == 300
    assert body["dedupSeconds"] == 600
    assert body["isActive"] is True and body["deactivatedAt"] is None
    parse_timestamp(body["createdAt"])
    assert len(body["secret"]) == 64 and int(body["secret"], 16) >= 0
    assert [set(s) for s in body["secrets"]] == [{"id", "createdAt", "expiresAt"}]
    again = await client.get(f"{SOURCES}/{body['id']}", headers=owner)
    assert "secret" not in await again.json()
    listed = await (await client.get(SOURCES, headers=owner)).json()
    assert body["secret"] not in str(listed)


async def test_given_secret_is_never_returned(client: TestClient, owner: dict[str, str]) -> None:
    secret = "it-is-my-own-secret"
    response = await client.post(
        SOURCES,
        json={"name": "S", "provider": "stripe", "token": "st", "secret": secret},
        headers=owner,
    )
    assert response.status == 201
    assert secret not in await response.text()
    assert "Cache-Control" not in response.headers


async def test_standard_webhooks_generates_a_whsec_secret(
    client: TestClient, owner: dict[str, str]
) -> None:
    body = await create(client, owner, provider="standard-webhooks")
    assert body["secret"].startswith("whsec_")


async def test_second_active_source_for_a_token_is_409_until_deactivated(
    client: TestClient, owner: dict[str, str]
) -> None:
    first = await create(client, owner, token="same")
    assert_error(await create(client, owner, 409, token="same"), "source_exists")
    gone = await client.delete(f"{SOURCES}/{first['id']}", headers=owner)
    assert gone.status == 200
    assert (await gone.json())["isActive"] is False
    await create(client, owner, token="same")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "gitlab"}, "provider"),
        ({"provider": None}, "provider"),
        ({"token": "has space"}, "token"),
        ({"token": "x" * 129}, "token"),
        ({"token": ""}, "token"),
        ({"name": ""}, "name"),
        ({"name": "a\x07b"}, "name"),
        ({"secret": "short"}, "secret"),
        ({"secret": 12345678}, "secret"),
        ({"provider": "standard-webhooks", "secret": "not-whsec-secret"}, "secret"),
        ({"requireApiKey": "yes"}, "requireApiKey"),
        ({"toleranceSeconds": 0}, "toleranceSeconds"),
        ({"toleranceSeconds": 3601}, "toleranceSeconds"),
        ({"toleranceSeconds": True}, "toleranceSeconds"),
        ({"dedupSeconds": 86401}, "dedupSeconds"),
        ({"dedupSeconds": -1}, "dedupSeconds"),
        ({"dedupSeconds": 60.5}, "dedupSeconds"),
        # Present means given: null is not "use the default" (as for a key's name).
        ({"secret": None}, "secret"),
        ({"requireApiKey": None}, "requireApiKey"),
        ({"toleranceSeconds": None}, "toleranceSeconds"),
        ({"dedupSeconds": None}, "dedupSeconds"),
    ],
)
async def test_invalid_create_is_400_naming_the_field(
    client: TestClient, owner: dict[str, str], body: dict[str, Any], field: str
) -> None:
    error = await create(client, owner, 400, **body)
    assert_error(error, "validation_error")
    assert field in error["message"] or field == "secret"


async def test_body_that_is_not_a_json_object_is_400(
    client: TestClient, owner: dict[str, str]
) -> None:
    for raw in (b"{", b"[]", b'"x"'):
        response = await client.post(SOURCES, data=raw, headers=owner)
        assert response.status == 400


async def test_viewer_reads_but_does_not_write(
    client: TestClient, tenant: uuid.UUID, auth: Auth
) -> None:
    source = await create(client, auth(tenant))
    viewer = auth(tenant, Role.VIEWER)
    assert (await client.get(SOURCES, headers=viewer)).status == 200
    assert (await client.get(f"{SOURCES}/{source['id']}", headers=viewer)).status == 200
    await create(client, viewer, 403)
    url = f"{SOURCES}/{source['id']}"
    assert (await client.patch(url, json={"name": "x"}, headers=viewer)).status == 403
    assert (await client.post(f"{url}/secrets", json={}, headers=viewer)).status == 403
    assert (await client.delete(url, headers=viewer)).status == 403


async def test_no_token_is_401_and_unknown_tenant_is_404(client: TestClient, auth: Auth) -> None:
    response = await client.get(SOURCES)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get(SOURCES, headers=auth(uuid.uuid4()))).status == 404


async def test_another_tenants_source_is_403_and_unknown_is_404(
    client: TestClient, new_tenant: Callable[..., Any], auth: Auth
) -> None:
    mine, theirs = auth(await new_tenant()), auth(await new_tenant())
    source = await create(client, theirs)
    url = f"{SOURCES}/{source['id']}"
    assert (await client.get(url, headers=mine)).status == 403
    assert (await client.patch(url, json={"name": "x"}, headers=mine)).status == 403
    assert (await client.post(f"{url}/secrets", json={}, headers=mine)).status == 403
    assert (await client.delete(url, headers=mine)).status == 403
    for missing in (f"{SOURCES}/{uuid.uuid4()}", f"{SOURCES}/not-a-uuid"):
        assert (await client.get(missing, headers=mine)).status == 404
        assert (await client.delete(missing, headers=mine)).status == 404
    assert (await client.get(SOURCES, headers=mine)).status == 200
    assert (await (await client.get(SOURCES, headers=mine)).json())["total"] == 0


async def test_deactivate_twice_is_404_and_concurrent_deactivations_give_one_200(
    client: TestClient, owner: dict[str, str]
) -> None:
    source = await create(client, owner)
    url = f"{SOURCES}/{source['id']}"
    statuses = sorted(
        r.status for r in await asyncio.gather(*(client.delete(url, headers=owner) for _ in "ab"))
    )
    assert statuses == [200, 404]
    # Gone from its URL (HTTP's DELETE); still in the list, inactive.
    assert (await client.get(url, headers=owner)).status == 404
    listed = await (await client.get(SOURCES, params={"IsActive": "false"}, headers=owner)).json()
    assert [item["id"] for item in listed["items"]] == [source["id"]]
    assert (await client.patch(url, json={"name": "x"}, headers=owner)).status == 404
    assert (await client.post(f"{url}/secrets", json={}, headers=owner)).status == 404


async def test_patch_changes_only_what_is_given(client: TestClient, owner: dict[str, str]) -> None:
    source = await create(client, owner)
    url = f"{SOURCES}/{source['id']}"
    response = await client.patch(
        url, json={"requireApiKey": True, "toleranceSeconds": 60}, headers=owner
    )
    assert response.status == 200
    body = await response.json()
    assert (body["name"], body["requireApiKey"], body["toleranceSeconds"]) == ("GitHub", True, 60)
    assert body["dedupSeconds"] == 600 and "secret" not in body
    bad = await client.patch(url, json={"dedupSeconds": "x"}, headers=owner)
    assert bad.status == 400


async def test_rotation_expires_older_secrets_after_the_overlap(
    client: TestClient, owner: dict[str, str]
) -> None:
    source = await create(client, owner)
    url = f"{SOURCES}/{source['id']}/secrets"
    response = await client.post(url, json={"overlapSeconds": 3600}, headers=owner)
    assert response.status == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert len(body["secret"]) == 64 and body["secret"] != source["secret"]
    old, new = body["secrets"]
    assert new["expiresAt"] is None
    ends = parse_timestamp(old["expiresAt"]) - parse_timestamp(new["createdAt"])
    assert 3590 <= ends.total_seconds() <= 3610
    # A longer overlap never extends an earlier end; overlap 0 ends every older secret now.
    later = await (await client.post(url, json={"overlapSeconds": 7200}, headers=owner)).json()
    assert later["secrets"][0]["expiresAt"] == old["expiresAt"]
    now = await (await client.post(url, json={"overlapSeconds": 0}, headers=owner)).json()
    assert all(s["expiresAt"] is not None for s in now["secrets"][:-1])
    for overlap in (-1, 2_592_001, "1"):
        bad = await client.post(url, json={"overlapSeconds": overlap}, headers=owner)
        assert bad.status == 400
    given = await client.post(url, json={"secret": "my-new-secret-1"}, headers=owner)
    assert given.status == 201 and "my-new-secret-1" not in await given.text()


async def test_numbers_are_json_numbers_and_null_is_not_absent(
    client: TestClient, owner: dict[str, str]
) -> None:
    """300.0 is the JSON number 300 (as the OpenAPI document's `integer` says); null is refused."""
    source = await create(client, owner, toleranceSeconds=60.0, dedupSeconds=0.0)
    assert (source["toleranceSeconds"], source["dedupSeconds"]) == (60, 0)
    url = f"{SOURCES}/{source['id']}"
    patched = await client.patch(url, json={"dedupSeconds": 1e2}, headers=owner)
    assert (await patched.json())["dedupSeconds"] == 100
    for field in ("name", "requireApiKey", "toleranceSeconds", "dedupSeconds"):
        bad = await client.patch(url, json={field: None}, headers=owner)
        assert bad.status == 400, field
        assert_error(await bad.json(), "validation_error")
    for body in ({"overlapSeconds": None}, {"secret": None}, {"overlapSeconds": 1.5}):
        bad = await client.post(f"{url}/secrets", json=body, headers=owner)
        assert bad.status == 400, body
    rotated = await client.post(f"{url}/secrets", json={"overlapSeconds": 60.0}, headers=owner)
    assert rotated.status == 201


async def test_a_rotation_secret_of_another_providers_form_is_409(
    client: TestClient, owner: dict[str, str]
) -> None:
    """Valid as a secret, but not for this source: the conflict is with the source's provider."""
    source = await create(client, owner, provider="standard-webhooks")
    url = f"{SOURCES}/{source['id']}/secrets"
    response = await client.post(url, json={"secret": "plain-secret-1"}, headers=owner)
    assert response.status == 409
    error = await response.json()
    assert_error(error, "secret_mismatch")
    assert "whsec_" in error["message"] and "plain-secret-1" not in error["message"]
    assert (await client.post(url, json={"secret": "short"}, headers=owner)).status == 400


async def test_a_source_id_is_only_accepted_in_its_canonical_form(
    client: TestClient, owner: dict[str, str]
) -> None:
    source_id = uuid.UUID((await create(client, owner))["id"])
    for spelling in (source_id.hex, f"{{{source_id}}}", source_id.urn):
        response = await client.get(f"{SOURCES}/{spelling}", headers=owner)
        assert response.status == 404, spelling
    response = await client.get(f"{SOURCES}/{str(source_id).upper()}", headers=owner)
    assert response.status == 200


async def test_list_pages_sorts_and_filters(client: TestClient, owner: dict[str, str]) -> None:
    made = [await create(client, owner, name=f"s{i}", provider=p) for i, p in
            enumerate(["slack", "github", "stripe"])]  # fmt: skip
    await client.delete(f"{SOURCES}/{made[0]['id']}", headers=owner)
    page = await (await client.get(SOURCES, params={"cpord": "Provider", "tpord": "asc"},
                                   headers=owner)).json()  # fmt: skip
    assert page["total"] == 3
    assert [i["provider"] for i in page["items"]] == ["github", "slack", "stripe"]
    assert all("secret" not in i for i in page["items"])
    active = await (await client.get(SOURCES, params={"IsActive": "true"}, headers=owner)).json()
    assert active["total"] == 2
    one = await (await client.get(SOURCES, params={"Qt": "1", "Pg": "2"}, headers=owner)).json()
    assert len(one["items"]) == 1
    for params in ({"CpOrd": "revokedAt"}, {"Qt": "0"}, {"IsActive": "maybe"}):
        assert (await client.get(SOURCES, params=params, headers=owner)).status == 400

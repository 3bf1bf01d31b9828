"""SPEC §8 through the admin API: expiry on create, one key, PATCH, rotate, isActive and the
new list rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.admin_api.conftest import APIKEYS, CreateKey, assert_error, parse_timestamp


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


async def test_create_accepts_a_future_expiry_and_shows_it_on_the_key(
    client: TestClient, owner: dict[str, str]
) -> None:
    expiry = iso(timedelta(days=30))
    r = await client.post(APIKEYS, json={"name": "expiring", "expiresAt": expiry}, headers=owner)
    assert r.status == 201, await r.text()
    created = await r.json()
    assert set(created) == {"id", "name", "key", "createdAt"}  # the seed's answer, unchanged

    r = await client.get(f"{APIKEYS}/{created['id']}", headers=owner)
    assert r.status == 200
    key = await r.json()
    assert abs(parse_timestamp(key["expiresAt"]) - datetime.fromisoformat(expiry)) < timedelta(
        milliseconds=1
    )
    assert key["isActive"] is True and key["lastUsedAt"] is None and key["allowedCidrs"] is None
    assert "key" not in key and r.headers["Cache-Control"] == "no-store"


async def test_create_refuses_a_past_a_far_or_a_malformed_expiry(
    client: TestClient, owner: dict[str, str]
) -> None:
    for bad in (iso(-timedelta(minutes=1)), iso(timedelta(days=3660)), "tomorrow", 5,
                "2030-01-01T00:00:00"):  # fmt: skip
        r = await client.post(APIKEYS, json={"name": "x", "expiresAt": bad}, headers=owner)
        assert r.status == 400, bad
        assert_error(await r.json(), "validation_error")


async def test_patch_renames_sets_and_clears_expiry_and_addresses(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner, "before")
    url = f"{APIKEYS}/{created['id']}"
    body = {"name": " after ", "expiresAt": iso(timedelta(days=1)),
            "allowedCidrs": ["203.0.113.0/24", "2001:db8::1"]}  # fmt: skip
    r = await client.patch(url, json=body, headers=owner)
    assert r.status == 200, await r.text()
    key = await r.json()
    assert key["name"] == "after" and key["expiresAt"] is not None
    assert key["allowedCidrs"] == ["203.0.113.0/24", "2001:db8::1/128"]

    r = await client.patch(url, json={"expiresAt": None, "allowedCidrs": None}, headers=owner)
    key = await r.json()
    assert key["expiresAt"] is None and key["allowedCidrs"] is None and key["name"] == "after"


async def test_patch_refuses_past_expiry_bad_networks_and_revoked_keys(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner)
    url = f"{APIKEYS}/{created['id']}"
    bad_bodies: list[Any] = [
        {"expiresAt": iso(-timedelta(seconds=5))},
        {"allowedCidrs": ["10.0.0.01/8"]},
        {"allowedCidrs": [" 10.0.0.0/8"]},
        {"allowedCidrs": ["::ffff:10.0.0.1"]},
        {"allowedCidrs": []},
        {"expiresAt": "2030-02-30T00:00:00Z"},
        {"expiresAt": "2030-01-01 00:00:00Z"},
        {"name": None},
        {"allowedCidrs": "10.0.0.0/8"},
        {"name": ""},
        [],
    ]
    for bad in bad_bodies:
        r = await client.patch(url, json=bad, headers=owner)
        assert r.status == 400, bad
    # Host bits name their network (the OpenAPI pattern cannot see them).
    r = await client.patch(url, json={"allowedCidrs": ["10.0.0.1/8"]}, headers=owner)
    assert (await r.json())["allowedCidrs"] == ["10.0.0.0/8"]
    assert (await client.delete(url, headers=owner)).status == 200
    r = await client.patch(url, json={"name": "again"}, headers=owner)
    assert r.status == 404
    r = await client.get(url, headers=owner)  # gone from its URL, as a deactivated source is
    assert r.status == 404
    r = await client.get(f"{APIKEYS}?IsActive=false", headers=owner)  # still listed, revoked
    assert [k["isActive"] for k in (await r.json())["items"] if k["id"] == created["id"]] == [False]


async def test_rotate_gives_a_new_key_that_replaces_the_old_one_after_the_overlap(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner, "rotated")
    url = f"{APIKEYS}/{created['id']}"
    await client.patch(url, json={"allowedCidrs": ["198.51.100.0/24"]}, headers=owner)
    before = datetime.now(UTC)

    r = await client.post(f"{url}/rotate", json={"overlapSeconds": 3600}, headers=owner)
    assert r.status == 201, await r.text()
    new = await r.json()
    assert new["replaces"] == created["id"] and new["id"] != created["id"]
    assert new["key"] != created["key"] and new["key"].startswith("hks_")
    assert new["name"] == "rotated" and new["allowedCidrs"] == ["198.51.100.0/24"]
    assert new["expiresAt"] is None and new["isActive"] is True
    assert r.headers["Location"] == f"{APIKEYS}/{new['id']}"
    assert r.headers["Cache-Control"] == "no-store"
    old = await (await client.get(url, headers=owner)).json()
    ends = parse_timestamp(old["expiresAt"])
    assert before + timedelta(seconds=3599) <= ends <= datetime.now(UTC) + timedelta(seconds=3601)

    # A second rotation with a longer overlap never moves the old key's end later.
    r = await client.post(
        f"{url}/rotate", json={"overlapSeconds": 7200, "name": "n"}, headers=owner
    )
    assert r.status == 201 and (await r.json())["name"] == "n"
    again = await (await client.get(url, headers=owner)).json()
    assert again["expiresAt"] == old["expiresAt"]


async def test_rotate_with_no_body_uses_a_day_and_refuses_bad_overlaps(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner)
    url = f"{APIKEYS}/{created['id']}/rotate"
    for bad in (-1, 2_592_001, "60", True, 1.5):
        r = await client.post(url, json={"overlapSeconds": bad}, headers=owner)
        assert r.status == 400, bad
    r = await client.post(url, headers=owner)
    assert r.status == 201
    old = await (await client.get(f"{APIKEYS}/{created['id']}", headers=owner)).json()
    ends = parse_timestamp(old["expiresAt"]) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < ends <= timedelta(days=1)


async def test_expired_keys_are_inactive_and_listed_with_revoked_ones(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], db: asyncpg.Connection
) -> None:
    _live, expired, revoked = [await create_key(owner, n) for n in ("live", "expired", "revoked")]
    await db.execute(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(expired["id"]),
    )
    await client.delete(f"{APIKEYS}/{revoked['id']}", headers=owner)

    async def names(query: str) -> list[str]:
        r = await client.get(f"{APIKEYS}?{query}", headers=owner)
        assert r.status == 200
        return [i["name"] for i in (await r.json())["items"]]

    assert await names("IsActive=true") == ["live"]
    assert sorted(await names("IsActive=false")) == ["expired", "revoked"]
    assert (await names("CpOrd=expiresAt&TpOrd=Asc&IsActive=false"))[0] == "expired"
    assert len(await names("cpord=LASTUSEDAT")) == 3


async def test_other_tenants_keys_are_403_and_unknown_ids_404(
    client: TestClient,
    create_key: CreateKey,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
    owner: dict[str, str],
) -> None:
    theirs = await create_key(auth(await new_tenant()))
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/rotate")):
        r = await client.request(
            method, f"{APIKEYS}/{theirs['id']}{suffix}", json={}, headers=owner
        )
        assert r.status == 403, method
        r = await client.request(
            method, f"{APIKEYS}/{uuid.uuid4()}{suffix}", json={}, headers=owner
        )
        assert r.status == 404, method
        r = await client.request(method, f"{APIKEYS}/not-a-uuid{suffix}", json={}, headers=owner)
        assert r.status == 404, method


async def test_a_viewer_may_read_one_key_but_not_change_or_rotate_it(
    client: TestClient,
    create_key: CreateKey,
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
    owner: dict[str, str],
) -> None:
    created = await create_key(owner)
    viewer = auth(tenant, role="Viewer")
    url = f"{APIKEYS}/{created['id']}"
    assert (await client.get(url, headers=viewer)).status == 200
    assert (await client.patch(url, json={"name": "v"}, headers=viewer)).status == 403
    assert (await client.post(f"{url}/rotate", headers=viewer)).status == 403

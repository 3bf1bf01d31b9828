"""The audit trail (SPEC §8): one row per admin change, in the change's own transaction, read
through GET /api/v1/audit by every role, never holding a secret; the CLI audited as `cli`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.admin_api.conftest import APIKEYS, assert_error, parse_timestamp

AUDIT = "/api/v1/audit"


async def audit_items(client: TestClient, headers: dict[str, str], query: str = "") -> Any:
    r = await client.get(f"{AUDIT}{query}", headers=headers)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_every_key_change_is_one_audit_row_newest_first(
    client: TestClient, tenant: uuid.UUID, auth: Callable[..., dict[str, str]]
) -> None:
    alice = auth(tenant, sub="alice")
    r = await client.post(APIKEYS, json={"name": "audited"}, headers=alice)
    created = await r.json()
    request_id = r.headers["X-Request-Id"]
    url = f"{APIKEYS}/{created['id']}"
    await client.patch(url, json={"allowedCidrs": ["10.0.0.0/8"]}, headers=alice)
    rotated = await (await client.post(f"{url}/rotate", json={}, headers=alice)).json()
    await client.delete(f"{APIKEYS}/{rotated['id']}", headers=alice)
    await client.patch(f"{APIKEYS}/{uuid.uuid4()}", json={"name": "x"}, headers=alice)  # 404

    page = await audit_items(client, auth(tenant, role="Viewer"))  # every role may read

    assert page["total"] == 4
    actions = [i["action"] for i in page["items"]]
    assert actions == ["apikey.revoke", "apikey.rotate", "apikey.patch", "apikey.create"]
    first = page["items"][-1]
    assert set(first) == {"id", "at", "actor", "role", "action", "targetType", "targetId",
                          "requestId", "ip", "details"}  # fmt: skip
    assert first["actor"] == "alice" and first["role"] == "Owner"
    assert first["targetType"] == "apikey" and first["targetId"] == created["id"]
    assert first["requestId"] == request_id and first["ip"] == "127.0.0.1"
    assert first["details"] == {"name": "audited", "expiresAt": None}
    parse_timestamp(first["at"])
    assert page["items"][1]["details"]["newKeyId"] == rotated["id"]
    only = await audit_items(client, alice, "?Action=apikey.patch&qt=1")
    assert only["total"] == 1 and only["items"][0]["details"] == {"allowedCidrs": ["10.0.0.0/8"]}


async def test_audit_is_per_tenant_and_checks_its_parameters(
    client: TestClient,
    tenant: uuid.UUID,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
) -> None:
    await client.post(APIKEYS, json={"name": "mine"}, headers=auth(tenant))
    assert (await audit_items(client, auth(await new_tenant())))["total"] == 0
    for bad in ("?Action=apikey.delete", "?Qt=0", "?TpOrd=up"):
        r = await client.get(f"{AUDIT}{bad}", headers=auth(tenant))
        assert r.status == 400, bad
        assert_error(await r.json())
    assert (await client.get(AUDIT)).status == 401
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (await client.request(method, AUDIT, headers=auth(tenant))).status == 405


async def test_audit_details_never_hold_a_key_or_a_secret(
    client: TestClient,
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
    db: asyncpg.Connection,
) -> None:
    owner = auth(tenant)
    plain: list[str] = []
    created = await (await client.post(APIKEYS, json={"name": "k"}, headers=owner)).json()
    plain.append(created["key"])
    r = await client.post(f"{APIKEYS}/{created['id']}/rotate", json={}, headers=owner)
    plain.append((await r.json())["key"])
    body = {"name": "gh", "provider": "github", "token": f"t-{uuid.uuid4().hex[:8]}"}
    source = await (await client.post("/api/v1/sources", json=body, headers=owner)).json()
    plain.append(source["secret"])
    r = await client.post(
        f"/api/v1/sources/{source['id']}/secrets", json={"secret": "x" * 40}, headers=owner
    )
    assert r.status == 201
    plain.append("x" * 40)
    await client.patch(f"/api/v1/sources/{source['id']}", json={"name": "g2"}, headers=owner)
    await client.delete(f"/api/v1/sources/{source['id']}", headers=owner)

    rows = await db.fetch(
        "SELECT action, details::text FROM audit_log WHERE tenant_id = $1", tenant
    )
    assert {r["action"] for r in rows} == {
        "apikey.create", "apikey.rotate", "source.create", "source.rotate", "source.patch",
        "source.deactivate",
    }  # fmt: skip
    text = " ".join(r["details"] for r in rows)
    assert "hks_" not in text
    for value in plain:
        assert value not in text


async def test_a_change_whose_audit_row_cannot_be_written_does_not_happen(
    client: TestClient,
    tenant: uuid.UUID,
    auth: Callable[..., dict[str, str]],
    db: asyncpg.Connection,
) -> None:
    # A trigger that refuses this one actor's audit rows (other tests' rows are untouched).
    actor = f"refused-{uuid.uuid4().hex[:8]}"
    await db.execute(f"""
        CREATE FUNCTION refuse_{actor.replace("-", "_")}() RETURNS trigger AS $$
        BEGIN
            IF NEW.actor = '{actor}' THEN RAISE EXCEPTION 'audit refused'; END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_{actor.replace("-", "_")} BEFORE INSERT ON audit_log
            FOR EACH ROW EXECUTE FUNCTION refuse_{actor.replace("-", "_")}();
    """)  # fmt: skip
    try:
        refused = auth(tenant, sub=actor)
        ok = await (await client.post(APIKEYS, json={"name": "kept"}, headers=auth(tenant))).json()

        r = await client.post(APIKEYS, json={"name": "never"}, headers=refused)
        assert r.status == 503
        r = await client.patch(f"{APIKEYS}/{ok['id']}", json={"name": "renamed"}, headers=refused)
        assert r.status == 503
        r = await client.delete(f"{APIKEYS}/{ok['id']}", headers=refused)
        assert r.status == 503

        names = await db.fetch("SELECT name, revoked_at FROM api_keys WHERE tenant_id = $1", tenant)
        assert [(n["name"], n["revoked_at"]) for n in names] == [("kept", None)]
    finally:
        name = f"refuse_{actor.replace('-', '_')}"
        await db.execute(f"DROP TRIGGER {name} ON audit_log; DROP FUNCTION {name}();")


async def test_a_key_typed_into_a_name_is_redacted_from_the_audit_row(
    client: TestClient, tenant: uuid.UUID, auth: Callable[..., dict[str, str]]
) -> None:
    owner = auth(tenant)
    typed = "hks_" + "ab" * 16
    r = await client.post(APIKEYS, json={"name": f"oops {typed}"}, headers=owner)
    assert r.status == 201
    item = (await audit_items(client, owner))["items"][0]
    assert typed not in str(item) and item["details"]["name"] == "oops [redacted]"

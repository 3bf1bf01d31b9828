async def test_owner_creates_lists_and_revokes_a_key(client, tenant, auth):
    h = auth(tenant)
    r = await client.post("/api/v1/apikeys", json={"name": " ci key "}, headers=h)
    assert r.status == 201, await r.text()
    created = await r.json()
    assert created["name"] == "ci key"
    r = await client.get("/api/v1/apikeys", headers=h)
    page = await r.json()
    assert page["total"] == 1
    r = await client.delete(f"/api/v1/apikeys/{created['id']}", headers=h)
    assert r.status == 200
    assert (await r.json())["isActive"] is False

"""Admin and console answers are not stored, sniffed or referred (issue 14), errors included."""

from __future__ import annotations

import re
import uuid

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from gateway.config import Config
from gateway.tokens import Role, mint_token
from tests.admin_api.conftest import APIKEYS
from tests.admin_api.console_http import ConsoleUser


def assert_private(reply: ClientResponse, what: str) -> None:
    assert reply.headers.get("Cache-Control") == "no-store", what
    assert reply.headers.get("X-Content-Type-Options") == "nosniff", what
    assert reply.headers.get("Referrer-Policy") == "no-referrer", what


async def test_admin_api_answers_carry_no_store_nosniff_and_no_referrer(
    client: TestClient, owner: dict[str, str]
) -> None:
    created = await client.post(APIKEYS, json={"name": "ci"}, headers=owner)
    assert created.status == 201 and (await created.json())["key"].startswith("hks_")
    answers = {
        "create 201 (carries the key)": created,
        "list 200": await client.get(APIKEYS, headers=owner),
        "revoke 404": await client.delete(f"{APIKEYS}/{uuid.uuid4()}", headers=owner),
        "no token 401": await client.get(APIKEYS),
        "bad body 400": await client.post(APIKEYS, data=b"[", headers=owner),
        "method 405": await client.put(APIKEYS, headers=owner),
        "openapi": await client.get("/api/v1/openapi.json"),
    }
    for what, reply in answers.items():
        assert_private(reply, what)


async def test_console_pages_carry_csp_frame_ancestors_no_store_and_no_referrer(
    client: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    user = ConsoleUser(client)
    await user.sign_in(mint_token(config, tenant, Role.OWNER))
    created = await user.submit(
        "/console/keys/new",
        "/console/keys",
        name="from the console",
        submission="s-" + uuid.uuid4().hex,
    )
    assert created.status == 201
    assert re.search(r"hks_[0-9a-f]{32}", await created.text())  # the page shows the key
    answers: dict[str, ClientResponse] = {
        "created key page": created,
        "keys page": await user.get("/console/keys"),
        "unknown page 404": await user.get("/console/nope"),
        "sign-in page": await ConsoleUser(client).get("/console/sign-in"),
    }
    for what, reply in answers.items():
        assert_private(reply, what)
        csp = reply.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, what

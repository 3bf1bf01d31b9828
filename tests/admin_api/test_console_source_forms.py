"""The sources forms over plain HTTP: secrets the provider issues, errors, headers, tenants."""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from admin_api.console.middleware import CSP
from gateway.app import create_app
from gateway.config import Config
from gateway.standin import create_standin_app
from gateway.tokens import Role, mint_token
from tests.admin_api.console_http import ConsoleUser

SOURCES = "/api/v1/sources"
STRIPE_SECRET = "whsec_" + "9f8e7d6c5b4a" * 3
_URL = re.compile(r'id="ingest-url" type="text" value="([^"]+)"')


@pytest.fixture
async def site(aiohttp_client: Any, aiohttp_server: Any, make_config: Callable[..., Config]) -> Any:
    """The gateway in front of the stand-in upstream, so that deliveries get a real 202."""
    upstream = await aiohttp_server(create_standin_app())
    config = make_config(ingest_upstream=str(upstream.make_url("")).rstrip("/"))
    return await aiohttp_client(create_app(config))


async def signed_in(site: TestClient, config: Config, tenant: uuid.UUID, role: Role) -> ConsoleUser:
    user = ConsoleUser(site)
    await user.sign_in(mint_token(config, tenant, role))
    return user


def create_fields(**fields: str) -> dict[str, str]:
    return {"name": "Stripe live", "provider": "stripe", "token": "stripe-live"} | fields


def stripe_headers(secret: str, body: bytes) -> dict[str, str]:
    """Stripe's scheme: HMAC-SHA256 over `<t>.<body>` with the whole whsec_ string as the key."""
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


async def source_names(site: TestClient, headers: dict[str, str]) -> list[str]:
    reply = await site.get(SOURCES, headers=headers)
    return [item["name"] for item in (await reply.json())["items"]]


async def test_a_stripe_source_takes_the_secret_stripe_issued_and_its_deliveries_get_through(
    site: TestClient, config: Config, tenant: uuid.UUID, auth: Callable[..., dict[str, str]]
) -> None:
    user = await signed_in(site, config, tenant, Role.DEVELOPER)
    new = "/console/sources/new?provider=stripe"

    # No secret: the console does not generate one Stripe could never sign with.
    reply = await user.submit(new, "/console/sources", **create_fields(submission="s1"))
    assert reply.status == 400
    text = html.unescape(await reply.text())
    assert "Paste the signing secret Stripe shows you" in text
    assert await source_names(site, auth(tenant)) == []

    fields = create_fields(secret=f"  {STRIPE_SECRET}\n", submission="s2")  # as pasted
    reply = await user.submit(new, "/console/sources", **fields)
    assert reply.status == 201
    page = await reply.text()
    assert STRIPE_SECRET not in page
    assert "Now, in Stripe" in page and "Send test event" in page
    assert reply.headers["Cache-Control"] == "no-store"
    found = _URL.search(page)
    assert found is not None
    url = found.group(1)
    assert url == f"http://{site.host}:{site.port}/api/v1/ingest/{tenant}/stripe-live"

    body = b'{"id":"evt_1","type":"invoice.paid"}'
    path = url.split(str(site.port), 1)[1]
    delivered = await site.post(path, data=body, headers=stripe_headers(STRIPE_SECRET, body))
    assert delivered.status == 202
    forged = await site.post(path, data=body, headers=stripe_headers("whsec_wrong0123", body))
    assert forged.status == 401


async def test_a_pasted_secret_is_never_written_back_into_a_form(
    site: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    user = await signed_in(site, config, tenant, Role.OWNER)
    fields = create_fields(name="   ", secret=STRIPE_SECRET, submission="p1")
    reply = await user.submit("/console/sources/new", "/console/sources", **fields)
    assert reply.status == 400
    text = html.unescape(await reply.text())
    assert "name must be 1 to 100 characters long." in text
    assert "paste it again" in text
    assert STRIPE_SECRET not in text


async def test_a_token_in_use_is_shown_next_to_the_token_field(
    site: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    user = await signed_in(site, config, tenant, Role.ADMIN)
    fields = create_fields(provider="github", token="shared")
    first = await user.submit("/console/sources/new", "/console/sources", **fields, submission="t1")
    assert first.status == 201
    again = await user.submit("/console/sources/new", "/console/sources", **fields, submission="t2")
    assert again.status == 409
    text = html.unescape(await again.text())
    assert 'id="token-error"' in text and "Another active source already uses this token" in text


async def test_rotating_a_stripe_source_needs_stripes_new_secret(
    site: TestClient, config: Config, tenant: uuid.UUID, auth: Callable[..., dict[str, str]]
) -> None:
    made = await site.post(SOURCES, json=create_fields(secret=STRIPE_SECRET), headers=auth(tenant))
    source_id = (await made.json())["id"]
    user = await signed_in(site, config, tenant, Role.OWNER)
    rotate = f"/console/sources/{source_id}/rotate"
    page = html.unescape(await (await user.get(rotate)).text())
    assert "Roll secret" in page

    reply = await user.submit(rotate, rotate, overlapSeconds="3600", submission="r1")
    assert reply.status == 400
    assert "Paste the signing secret Stripe shows you" in html.unescape(await reply.text())

    rolled = "whsec_" + "0a1b2c3d4e5f" * 3
    reply = await user.submit(rotate, rotate, overlapSeconds="3600", secret=rolled, submission="r2")
    assert reply.status == 201
    assert rolled not in await reply.text()
    got = await (await site.get(f"{SOURCES}/{source_id}", headers=auth(tenant))).json()
    assert [s["expiresAt"] is None for s in got["secrets"]].count(True) == 1
    assert len(got["secrets"]) == 2


async def test_sources_pages_carry_the_consoles_security_headers(
    site: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    user = await signed_in(site, config, tenant, Role.OWNER)
    created = await user.submit(
        "/console/sources/new",
        "/console/sources",
        **create_fields(provider="github", token="gh", submission="h1"),
    )
    assert created.status == 201
    source_id = re.search(r"/console/sources/([0-9a-f-]{36})/rotate", await _list(user))
    assert source_id is not None
    pages = ["/console/sources", "/console/sources/new", f"/console/sources/{source_id[1]}/rotate"]
    for reply in [created, *[await user.get(p) for p in pages]]:
        assert reply.headers["Content-Security-Policy"] == CSP, reply.url
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        assert reply.headers["Cache-Control"] == "no-store"


async def _list(user: ConsoleUser) -> str:
    return await (await user.get("/console/sources")).text()


async def test_forms_without_a_csrf_token_and_other_tenants_sources_are_refused(
    site: TestClient,
    config: Config,
    tenant: uuid.UUID,
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
) -> None:
    other = await new_tenant(name="Other")
    made = await site.post(
        SOURCES, json=create_fields(provider="github", token="theirs"), headers=auth(other)
    )
    theirs = (await made.json())["id"]
    user = await signed_in(site, config, tenant, Role.OWNER)

    forged = await user.request(
        "POST", "/console/sources", data=create_fields(provider="github", submission="c1")
    )
    assert forged.status == 403
    assert "This form has expired" in await forged.text()

    assert (await user.get(f"/console/sources/{theirs}/rotate")).status == 403
    reply = await user.submit("/console/sources", f"/console/sources/{theirs}/deactivate")
    assert reply.status == 403
    still = await site.get(f"{SOURCES}/{theirs}", headers=auth(other))
    assert (await still.json())["isActive"] is True
    assert await source_names(site, auth(tenant)) == []


async def test_a_change_made_in_the_console_is_audited_with_its_request_and_address(
    site: TestClient, config: Config, tenant: uuid.UUID, auth: Callable[..., dict[str, str]]
) -> None:
    user = await signed_in(site, config, tenant, Role.DEVELOPER)
    fields = create_fields(secret=STRIPE_SECRET, submission="a1")
    reply = await user.submit("/console/sources/new?provider=stripe", "/console/sources", **fields)
    assert reply.status == 201

    audit = await (await site.get("/api/v1/audit", headers=auth(tenant))).json()
    [entry] = audit["items"]
    assert entry["action"] == "source.create" and entry["role"] == "Developer"
    assert entry["requestId"] == reply.headers["X-Request-Id"] and entry["ip"] == "127.0.0.1"
    assert STRIPE_SECRET not in str(entry["details"])


@pytest.mark.parametrize("page", ["/console/sources", "/console/rejections"])
async def test_a_bad_list_parameter_shows_the_default_view_with_a_message(
    site: TestClient, config: Config, tenant: uuid.UUID, page: str
) -> None:
    user = await signed_in(site, config, tenant, Role.VIEWER)
    reply = await user.get(f"{page}?Qt=1000")
    assert reply.status == 200
    text = await reply.text()
    assert "Qt" in text and "Showing the default view instead." in text

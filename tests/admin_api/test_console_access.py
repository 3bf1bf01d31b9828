"""Who may do what in the console, and how it refuses: roles, CSRF, expired tokens, headers."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect
from redis.asyncio import Redis

from gateway.config import Config
from gateway.tokens import Role, mint_token
from tests.gateway.cache_rig import eventually

APIKEYS = "/api/v1/apikeys"


async def key_names(client: TestClient, headers: dict[str, str]) -> list[str]:
    reply = await client.get(APIKEYS, params={"Qt": "100"}, headers=headers)
    assert reply.status == 200
    return [item["name"] for item in (await reply.json())["items"]]


async def test_viewer_sees_the_list_without_controls_and_the_server_refuses_changes(
    open_tab: Any,
    config: Config,
    tenant: uuid.UUID,
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    create_key: Any,
) -> None:
    owner = auth(tenant)
    existing = await create_key(owner, "Stripe webhooks")
    await create_key(owner, "Nightly import")
    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.VIEWER))

    await expect(page.locator("tbody tr")).to_have_count(2)
    await expect(page.locator(".role-badge")).to_have_text("Viewer")
    await expect(page.get_by_text("you can see keys but not create or revoke them")).to_be_visible()
    await expect(page.get_by_role("link", name=re.compile("New key"))).to_have_count(0)
    await expect(
        page.get_by_role("link", name=re.compile("^Revoke (Stripe|Nightly)"))
    ).to_have_count(0)
    await expect(page.locator("form[action*='/revoke']")).to_have_count(0)
    await expect(page.get_by_role("link", name="Operator")).to_have_count(0)
    await tab.screenshot("07-keys-viewer")

    # Hidden controls are not the protection: the server refuses a Viewer's valid forms.
    csrf = await tab.csrf()
    created = await page.request.post(
        tab.base + "/console/keys",
        form={"csrf_token": csrf, "name": "sneaky", "submission": "v1"},
        max_redirects=0,
    )
    assert created.status == 403
    assert "does not allow changing API keys" in await created.text()
    revoked = await page.request.post(
        tab.base + f"/console/keys/{existing['id']}/revoke",
        form={"csrf_token": csrf},
        max_redirects=0,
    )
    assert revoked.status == 403
    assert sorted(await key_names(client, owner)) == ["Nightly import", "Stripe webhooks"]

    reply = await tab.goto("/console/keys/new")
    assert reply.status == 403
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    reply = await tab.goto("/console/operator")
    assert reply.status == 403
    await tab.screenshot("08-viewer-refused")


async def test_forms_without_the_right_csrf_token_are_refused(
    open_tab: Any,
    config: Config,
    tenant: uuid.UUID,
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    create_key: Any,
) -> None:
    owner = auth(tenant)
    existing = await create_key(owner, "Keep me")
    tab = await open_tab()
    await tab.sign_in(mint_token(config, tenant, Role.OWNER))
    good = await tab.csrf()
    post = tab.page.request.post

    for form in ({"name": "forged"}, {"name": "forged", "csrf_token": "0" * 64}):
        reply = await post(tab.base + "/console/keys", form=form, max_redirects=0)
        assert reply.status == 403
        assert "This form has expired" in await reply.text()
    reply = await post(
        tab.base + f"/console/keys/{existing['id']}/revoke",
        form={"csrf_token": good[:-1] + ("0" if good[-1] != "0" else "1")},
        max_redirects=0,
    )
    assert reply.status == 403
    # Another browser's token (another CSRF cookie) does not work in this one.
    other = await open_tab()
    await other.sign_in(mint_token(config, tenant, Role.OWNER))
    stolen = await other.csrf()
    reply = await post(
        tab.base + f"/console/keys/{existing['id']}/revoke",
        form={"csrf_token": stolen},
        max_redirects=0,
    )
    assert reply.status == 403
    reply = await post(tab.base + "/console/sign-out", form={}, max_redirects=0)
    assert reply.status == 403
    listed = await (await client.get(APIKEYS, headers=owner)).json()
    assert [(i["name"], i["isActive"]) for i in listed["items"]] == [("Keep me", True)]

    # The same form with the right token goes through.
    reply = await post(
        tab.base + f"/console/keys/{existing['id']}/revoke",
        form={"csrf_token": good},
        max_redirects=0,
    )
    assert reply.status == 303


async def test_an_expired_token_sends_the_user_back_to_sign_in_with_a_message(
    open_tab: Any, config: Config, tenant: uuid.UUID, redis: Redis, redis_prefix: str
) -> None:
    tab = await open_tab()
    page = tab.page

    await tab.sign_in(mint_token(config, tenant, Role.OWNER, ttl=-120))
    await expect(page.locator("#token-error")).to_have_text("The token has expired.")
    await tab.screenshot("09-sign-in-expired-token")
    await tab.sign_in("not-a-jwt")
    await expect(page.locator("#token-error")).to_have_text("The token is not valid.")

    # A session whose token expires while the user works: the bookmarked view survives sign-in.
    fresh = mint_token(config, tenant, Role.OWNER)
    expiring = mint_token(config, tenant, Role.OWNER, ttl=1)
    await tab.sign_in(expiring)
    await expect(page).to_have_url(re.compile(r"/console/keys$"))
    cookie = next(c for c in await page.context.cookies() if c["name"] == "hs_console_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert not cookie["secure"]  # plain HTTP here; Secure is set when the request is HTTPS
    assert cookie["value"] != expiring  # the cookie holds a session id, not the token
    stored = f"{redis_prefix}console:session:{hashlib.sha256(cookie['value'].encode()).hexdigest()}"
    assert await redis.exists(stored) == 1
    await eventually(lambda: _gone(redis, stored), within=10)  # the token's lifetime is over
    await tab.goto("/console/keys?IsActive=false")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    await expect(page.get_by_role("alert").first).to_contain_text("Your session has ended")
    await tab.screenshot("10-session-expired")
    await page.get_by_label("Access token").fill(fresh)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/console/keys\?IsActive=false$"))
    tab.assert_no_secret_in_urls(fresh, expiring)


async def _gone(redis: Redis, key: str) -> bool:
    return await redis.exists(key) == 0


async def test_inactive_tenant_cannot_sign_in(
    open_tab: Any, config: Config, new_tenant: Callable[..., Any]
) -> None:
    gone = await new_tenant(active=False)
    tab = await open_tab()
    await tab.sign_in(mint_token(config, gone, Role.OWNER))
    await expect(tab.page.locator("#token-error")).to_contain_text("not active")


async def test_operator_page_shows_live_figures_for_owners_and_admins_only(
    open_tab: Any,
    console_site: str,
    config: Config,
    tenant: uuid.UUID,
) -> None:
    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.DEVELOPER))
    await expect(page.get_by_role("link", name="Operator")).to_have_count(0)
    assert (await tab.goto("/console/operator")).status == 403
    assert (await page.request.get(tab.base + "/console/operator/metrics.json")).status == 403

    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.ADMIN))
    await page.get_by_role("link", name="Operator").click()
    await expect(page.get_by_role("heading", name="Operator")).to_be_visible()
    # Traffic between polls, so the figures and the chart move without a reload.
    for _ in range(5):
        await page.request.post(
            console_site + f"/api/v1/ingest/{tenant}/t", headers={"X-Api-Key": "hks_" + "0" * 32}
        )
    await expect(page.locator("#fig-rps")).not_to_have_text("—", timeout=10_000)
    await expect(page.locator("#chart polyline")).to_have_count(2, timeout=10_000)
    await expect(page.locator("#live-state")).to_contain_text("Live")
    for figure in ("#fig-eps", "#fig-hit", "#fig-inval", "#fig-p99"):
        await expect(page.locator(figure)).not_to_have_text("")
    snapshot = await (await page.request.get(tab.base + "/console/operator/metrics.json")).json()
    assert snapshot["requests_total"] >= 5 and snapshot["errors_total"] >= 5
    await tab.screenshot("11-operator")
    assert tab.csp_violations == []


async def test_console_pages_send_a_strict_content_security_policy(client: TestClient) -> None:
    for path in (
        "/console/sign-in",
        "/console/keys",
        "/console/nope",
        "/console/static/console.js",
    ):
        reply = await client.get(path, allow_redirects=False)
        csp = reply.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
        assert "frame-ancestors 'none'" in csp
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    reply = await client.get("/console/sign-in")
    assert reply.headers["Cache-Control"] == "no-store"
    assert "<script>" not in await reply.text() and " style=" not in await reply.text()
    reply = await client.get("/console/nope")
    assert reply.status == 404 and reply.content_type == "text/html"


async def sign_in_cookie_header(client: TestClient, token: str, **headers: str) -> str:
    """The session's Set-Cookie line (sent by hand: a client jar keeps Secure cookies off HTTP)."""
    client.session.cookie_jar.clear()
    form_page = await client.get("/console/sign-in", headers=headers)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await form_page.text())
    assert csrf is not None
    nonce = form_page.cookies["hs_console_csrf"].value
    client.session.cookie_jar.clear()
    reply = await client.post(
        "/console/sign-in",
        data={"csrf_token": csrf.group(1), "token": token},
        headers={**headers, "Cookie": f"hs_console_csrf={nonce}"},
        allow_redirects=False,
    )
    assert reply.status == 303, await reply.text()
    assert reply.headers["Location"] == "/console/keys"
    cookie = next(
        v for v in reply.headers.getall("Set-Cookie") if v.startswith("hs_console_session=")
    )
    return cookie


async def test_session_cookie_is_secure_behind_a_trusted_tls_proxy(
    aiohttp_client: Any, make_config: Callable[..., Config], tenant: uuid.UUID
) -> None:
    from gateway.app import create_app

    config = make_config(trusted_proxies="127.0.0.1/32")
    client = await aiohttp_client(create_app(config))
    token = mint_token(config, tenant, Role.OWNER)
    cookie = await sign_in_cookie_header(client, token, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in await sign_in_cookie_header(client, token)

    untrusted = await aiohttp_client(create_app(make_config()))
    cookie = await sign_in_cookie_header(untrusted, token, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in cookie  # anyone can send the header; only a trusted proxy counts

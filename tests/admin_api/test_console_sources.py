"""The Sources section in a real browser: a tenant sets up a GitHub webhook the way the console
tells them to, GitHub-style deliveries get through, and deactivating the source stops them."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from gateway.config import Config
from gateway.tokens import Role, mint_token

SOURCES = "/api/v1/sources"
HEX_SECRET = re.compile(r"[0-9a-f]{64}")
BODY = b'{"zen":"Keep it logically awesome.","hook_id":1}'


def github_headers(secret: str, body: bytes = BODY) -> dict[str, str]:
    """What GitHub sends: HMAC-SHA256 of the raw body, hex, after `sha256=` (GitHub's docs)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }


async def deliver(url: str, secret: str) -> tuple[int, dict[str, Any]]:
    """A GitHub-signed delivery to `url`, without any X-Api-Key header."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=BODY, headers=github_headers(secret)) as reply,
    ):
        body = await reply.json(content_type=None)
        return reply.status, body if isinstance(body, dict) else {}


async def test_owner_creates_a_github_source_and_its_signed_deliveries_get_through(
    open_tab: Any, console_site: str, config: Config, tenant: uuid.UUID
) -> None:
    tab = await open_tab()
    page = tab.page
    token = mint_token(config, tenant, Role.OWNER)
    await tab.sign_in(token)
    await page.get_by_role("link", name="Sources", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/console/sources$"))
    await expect(page.get_by_role("link", name="Sources", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.get_by_role("heading", name="No sources yet")).to_be_visible()

    # The picker shows the chosen provider's own steps, and only those.
    await page.get_by_role("link", name="Create your first source").click()
    github, stripe = page.locator("[data-guide=github]"), page.locator("[data-guide=stripe]")
    await expect(page.get_by_role("radio", name="GitHub")).to_be_checked()
    await expect(github).to_be_visible()
    await expect(github).to_contain_text("Settings → Webhooks → Add webhook")
    await expect(github).to_contain_text("application/json")
    await expect(stripe).to_be_hidden()
    await page.get_by_role("radio", name="Stripe").check()
    await expect(stripe).to_be_visible()
    await expect(stripe).to_contain_text("Developers → Webhooks")
    await expect(stripe).to_contain_text("whsec_")
    await expect(github).to_be_hidden()
    await tab.screenshot("sources-01-new-stripe")
    await page.get_by_role("radio", name="GitHub").check()

    await page.get_by_label("Name").fill("GitHub acme/shop")
    await page.get_by_label("Token").fill("gh-shop")
    expected_url = f"{console_site}/api/v1/ingest/{tenant}/gh-shop"
    await expect(page.get_by_label("Ingest URL")).to_have_value(expected_url)
    await tab.screenshot("sources-02-new-github")
    await page.get_by_role("button", name="Create source").click()

    await expect(page.get_by_text("It will not be shown again")).to_be_visible()
    secret = await page.get_by_label("Signing secret").input_value()
    assert HEX_SECRET.fullmatch(secret), secret
    await expect(page.get_by_role("heading", name="Now, in GitHub")).to_be_visible()
    await page.locator("#copy-url").click()
    await expect(page.locator("#copy-url")).to_have_text("Copied")
    await expect(page.locator("#ingest-url-status")).to_have_text("The URL is on your clipboard.")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == expected_url
    await tab.screenshot("sources-03-created")

    # The copied URL, signed as GitHub signs, no X-Api-Key: through to the upstream.
    assert (await deliver(copied, secret))[0] == 202
    status, body = await deliver(copied, "not-the-secret-" + secret[:16])
    assert (status, body.get("error")) == (401, "invalid_signature")

    # Reloading neither creates a second source nor shows the secret again.
    await page.reload()
    await expect(page).to_have_url(re.compile(r"/console/sources$"))
    await expect(page.get_by_role("status").first).to_contain_text("already sent")
    await expect(page.locator("tbody tr")).to_have_count(1)
    assert secret not in await page.content()
    row = page.locator("tbody tr", has_text="GitHub acme/shop")
    await expect(row).to_contain_text(expected_url)

    # Deactivate, after a confirmation that says what happens.
    await page.get_by_role("link", name="Deactivate GitHub acme/shop").click()
    confirm = page.get_by_role("heading", name="Deactivate “GitHub acme/shop”?")
    await expect(confirm).to_be_visible()
    await expect(page.locator("#confirm-text")).to_contain_text("refused with 401")
    await tab.screenshot("sources-04-deactivate-confirm")
    await page.get_by_role("button", name="Deactivate “GitHub acme/shop”").click()
    await expect(page.get_by_role("status").first).to_contain_text("Deactivated “GitHub acme/shop”")
    await expect(row.get_by_text("Inactive", exact=True)).to_be_visible()
    await expect(row.get_by_role("link")).to_have_count(0)
    await tab.screenshot("sources-05-after-deactivate")

    # The same signed delivery is now an ordinary ingest request without a key.
    status, body = await deliver(copied, secret)
    assert (status, body.get("error")) == (401, "missing_api_key")

    # The filter keeps what it shows in the URL.
    await page.get_by_role("link", name="Active", exact=True).click()
    await expect(page).to_have_url(re.compile(r"IsActive=true"))
    await expect(page.get_by_role("heading", name="No active sources")).to_be_visible()
    await page.get_by_role("link", name="Inactive", exact=True).click()
    await expect(page).to_have_url(re.compile(r"IsActive=false"))
    await expect(page.locator("tbody tr")).to_have_count(1)

    assert secret not in await page.content()
    tab.assert_no_secret_in_urls(token, secret)
    assert tab.csp_violations == []


async def test_rotating_with_no_overlap_ends_the_old_secret_and_shows_the_new_one_once(
    open_tab: Any, console_site: str, config: Config, tenant: uuid.UUID
) -> None:
    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.ADMIN))
    await tab.goto("/console/sources/new?provider=hmac-sha256")
    await expect(page.get_by_role("radio", name="Other (HMAC-SHA256)")).to_be_checked()
    await page.get_by_label("Name").fill("Billing service")
    await page.get_by_label("Token").fill("billing")
    await page.get_by_role("button", name="Create source").click()
    old = await page.get_by_label("Signing secret").input_value()
    url = await page.get_by_label("Ingest URL").input_value()

    await page.get_by_role("link", name=re.compile("back to sources")).click()
    await page.get_by_role("link", name="Rotate secret of Billing service").click()
    heading = page.get_by_role("heading", name="Rotate the secret of “Billing service”")
    await expect(heading).to_be_visible()
    await expect(page.get_by_label("Older secrets keep working for")).to_have_value("86400")
    await page.get_by_label("Older secrets keep working for").select_option("0")
    await page.get_by_role("button", name="Rotate secret").click()
    heading = page.get_by_role("heading", name="“Billing service” has a new secret")
    await expect(heading).to_be_visible()
    new = await page.get_by_label("New signing secret").input_value()
    await expect(page.get_by_text("Give this secret to the sender.")).to_be_visible()
    assert HEX_SECRET.fullmatch(new) and new != old
    await page.locator("#copy-secret").click()
    assert await page.evaluate("navigator.clipboard.readText()") == new
    await tab.screenshot("sources-06-rotated")

    async def send(secret: str, body: bytes = BODY) -> int:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers={"X-Signature-256": digest}) as reply,
        ):
            return reply.status

    assert await send(new) == 202
    assert await send(old) == 401

    await page.reload()  # the form is not sent twice: the new secret still works
    await expect(page.get_by_role("status").first).to_contain_text("already sent")
    assert new not in await page.content()
    assert await send(new, b'{"n":2}') == 202  # another delivery (the first one is done)
    assert tab.csp_violations == []


async def test_viewer_sees_sources_without_controls_and_the_server_refuses_changes(
    open_tab: Any,
    config: Config,
    tenant: uuid.UUID,
    client: TestClient,
    auth: Callable[..., dict[str, str]],
) -> None:
    owner = auth(tenant)
    body = {"name": "Stripe live", "provider": "stripe", "token": "stripe-live"}
    made = await client.post(SOURCES, json=body | {"secret": "whsec_" + "a" * 32}, headers=owner)
    assert made.status == 201
    source = await made.json()
    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.VIEWER))
    await tab.goto("/console/sources")

    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr")).to_contain_text(source["ingestPath"])
    note = page.get_by_text("you can see sources but not create, rotate or deactivate them")
    await expect(note).to_be_visible()
    await expect(page.get_by_role("link", name=re.compile("New source"))).to_have_count(0)
    await expect(page.get_by_role("link", name=re.compile("^(Rotate|Deactivate)"))).to_have_count(0)
    await expect(page.locator("form[method=post][action*='/sources']")).to_have_count(0)
    await tab.screenshot("sources-07-viewer")

    # Hidden controls are not the protection: the server refuses a Viewer's valid forms.
    csrf = await tab.csrf()
    base = tab.base + "/console/sources"
    forms = {
        base: {"name": "sneaky", "provider": "github", "token": "sneaky", "submission": "v1"},
        f"{base}/{source['id']}/rotate": {"overlapSeconds": "0", "submission": "v2"},
        f"{base}/{source['id']}/deactivate": {},
    }
    for action, fields in forms.items():
        reply = await page.request.post(
            action, form={"csrf_token": csrf, **fields}, max_redirects=0
        )
        assert reply.status == 403, action
        assert "does not allow changing sources" in await reply.text()
    for path in ("/new", f"/{source['id']}/rotate"):
        assert (await tab.goto(f"/console/sources{path}")).status == 403
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()

    listed = await client.get(SOURCES, headers=owner)
    items = (await listed.json())["items"]
    assert [(i["name"], i["isActive"], len(i["secrets"])) for i in items] == [
        ("Stripe live", True, 1)
    ]
    assert tab.csp_violations == []

"""The console in a real browser: a tenant signs in, creates, copies, uses and revokes a key."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import expect

from gateway.config import Config
from gateway.tokens import Role, mint_token

KEY_FORM = re.compile(r"hks_[0-9a-f]{32}")


async def ingest(base: str, tenant: uuid.UUID, key: str) -> int:
    async with aiohttp.ClientSession() as http:
        url = f"{base}/api/v1/ingest/{tenant}/github"
        async with http.post(url, json={"event": "push"}, headers={"X-Api-Key": key}) as reply:
            return reply.status


async def test_owner_creates_copies_uses_and_revokes_a_key(
    open_tab: Any, console_site: str, config: Config, tenant: uuid.UUID
) -> None:
    token = mint_token(config, tenant, Role.OWNER)
    tab = await open_tab()
    page = tab.page

    await tab.goto("/console")
    await expect(page).to_have_url(re.compile(r"/console/sign-in"))
    await tab.screenshot("01-sign-in")
    await tab.sign_in(token)
    await expect(page).to_have_url(re.compile(r"/console/keys$"))
    await expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    await tab.screenshot("02-keys-empty")

    # The API's name rule, shown next to the field.
    await page.get_by_role("link", name="Create your first key").click()
    await page.get_by_label("Name").fill("   ")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.locator("#name-error")).to_have_text("name must be 1 to 100 characters long.")
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await tab.screenshot("03-key-new-error")

    await page.get_by_label("Name").fill("GitHub production")
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_text("It will not be shown again")).to_be_visible()
    key = await page.get_by_label("API key").input_value()
    assert KEY_FORM.fullmatch(key), key
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await tab.screenshot("04-key-created")

    # Reloading does not create a second key, and never shows this one again.
    await page.reload()
    assert key not in await page.content()
    await expect(page).to_have_url(re.compile(r"/console/keys$"))
    await expect(page.get_by_role("status").first).to_contain_text("already sent")
    await expect(page.locator("tbody tr")).to_have_count(1)

    assert await ingest(console_site, tenant, key) == 202

    # Revoke, with a confirmation step naming the key.
    await page.get_by_role("link", name="Revoke GitHub production").click()
    await expect(page.get_by_role("heading", name="Revoke “GitHub production”?")).to_be_visible()
    await tab.screenshot("05-revoke-confirm")
    await page.get_by_role("button", name="Revoke “GitHub production”").click()
    await expect(page.get_by_role("status").first).to_contain_text("Revoked “GitHub production”")
    row = page.locator("tbody tr", has_text="GitHub production")
    await expect(row.get_by_text("Revoked", exact=True)).to_be_visible()
    await expect(row.locator("td[data-label=Revoked] time")).to_have_count(1)
    await expect(row.get_by_role("link", name=re.compile("Revoke"))).to_have_count(0)
    await tab.screenshot("06-keys-after-revoke")

    assert await ingest(console_site, tenant, key) == 401

    assert key not in await page.content()
    tab.assert_no_secret_in_urls(token, key)
    assert tab.csp_violations == []

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    await expect(page.get_by_role("status").first).to_have_text("You have signed out.")
    await tab.goto("/console/keys")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))

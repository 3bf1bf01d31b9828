"""The keys page's table: sorting by each column, filtering and paging, all kept in the URL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from gateway.config import Config
from gateway.tokens import Role, mint_token


async def names_on_page(page: Any) -> list[str]:
    names: list[str] = await page.locator("tbody td.name").all_inner_texts()
    return names


async def test_keys_are_sorted_filtered_and_paged_through_the_url(
    open_tab: Any,
    config: Config,
    tenant: uuid.UUID,
    client: TestClient,
    auth: Callable[..., dict[str, str]],
    create_key: Any,
) -> None:
    owner = auth(tenant)
    created = [await create_key(owner, f"key {n:02d}") for n in range(12)]
    for item in created[:3]:  # key 00..02 revoked
        assert (await client.delete(f"/api/v1/apikeys/{item['id']}", headers=owner)).status == 200
    tab = await open_tab()
    page = tab.page
    await tab.sign_in(mint_token(config, tenant, Role.OWNER))

    # Default: newest first, 10 a page.
    assert await names_on_page(page) == [f"key {n:02d}" for n in range(11, 1, -1)]
    await expect(page.locator(".pager")).to_contain_text("1\u201310 of 12")

    await page.get_by_role("link", name=re.compile("^Name")).click()
    await expect(page).to_have_url(re.compile(r"CpOrd=name&TpOrd=Asc"))
    await expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    assert (await names_on_page(page))[:2] == ["key 00", "key 01"]
    await page.get_by_role("link", name=re.compile("^Name")).click()
    await expect(page).to_have_url(re.compile(r"CpOrd=name&TpOrd=Desc"))
    assert (await names_on_page(page))[0] == "key 11"

    await page.get_by_role("link", name="Next →").click()
    await expect(page).to_have_url(re.compile(r"CpOrd=name&TpOrd=Desc&Pg=2"))
    assert await names_on_page(page) == ["key 01", "key 00"]
    await expect(page.locator(".pager")).to_contain_text("Page 2 of 2")

    await page.get_by_role("link", name="Revoked", exact=True).click()
    await expect(page).to_have_url(re.compile(r"IsActive=false"))
    assert await names_on_page(page) == ["key 02", "key 01", "key 00"]
    await page.get_by_role("link", name=re.compile("^Revoked")).nth(1).click()  # the column
    await expect(page).to_have_url(re.compile(r"CpOrd=revokedAt"))
    await page.get_by_role("link", name="Active", exact=True).click()
    await expect(page.locator("tbody tr")).to_have_count(9)
    await page.get_by_role("link", name=re.compile("^Status")).click()
    await expect(page).to_have_url(re.compile(r"CpOrd=isActive"))
    await page.get_by_role("link", name=re.compile("^Created")).click()
    await expect(page).to_have_url(re.compile(r"/console/keys\?IsActive=true$"))  # the default

    # Page size from the select; a bookmarked view opens as it was.
    await tab.goto("/console/keys")
    await page.get_by_label("Per page").select_option("25")
    await expect(page).to_have_url(re.compile(r"Qt=25"))
    await expect(page.locator("tbody tr")).to_have_count(12)
    await tab.screenshot("12-keys-list")
    await tab.goto("/console/keys?CpOrd=name&TpOrd=Asc&IsActive=true&Qt=5&Pg=2")
    assert await names_on_page(page) == [f"key {n:02d}" for n in range(8, 12)]
    await expect(page.get_by_role("link", name="Active", exact=True)).to_have_attribute(
        "aria-current", "true"
    )

    # Nonsense in the URL: a notice and the default view, never a crash.
    await tab.goto("/console/keys?Qt=1000&CpOrd=password")
    await expect(page.get_by_role("alert")).to_contain_text("Showing the default view")
    await tab.goto("/console/keys?Pg=9")
    await expect(page.get_by_role("heading", name="Nothing on this page")).to_be_visible()

    phone = await open_tab(width=390, height=844)
    await phone.sign_in(mint_token(config, tenant, Role.OWNER))
    await expect(phone.page.locator("tbody tr").first).to_be_visible()
    await phone.screenshot("13-keys-phone")
    assert tab.csp_violations == [] and phone.csp_violations == []


async def test_keyboard_user_can_sign_in_and_reach_the_new_key_form(
    open_tab: Any, config: Config, tenant: uuid.UUID
) -> None:
    tab = await open_tab()
    page = tab.page
    await tab.goto("/console/sign-in")
    await expect(page.get_by_label("Access token")).to_be_focused()
    await page.keyboard.type(mint_token(config, tenant, Role.OWNER))
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/console/keys$"))
    for _ in range(12):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "new-key":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("typed with the keyboard")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Copy")).to_be_visible()

"""The rejection log in a real browser: a tenant sees why its webhooks failed, in words."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import expect

from gateway.config import Config
from gateway.tokens import Role, mint_token


async def test_tenant_reads_why_a_github_delivery_was_refused_and_what_to_do(
    open_tab: Any, console_site: str, config: Config, tenant: uuid.UUID
) -> None:
    token = mint_token(config, tenant, Role.VIEWER)
    owner = {"Authorization": f"Bearer {mint_token(config, tenant, Role.OWNER)}"}
    async with aiohttp.ClientSession() as http:
        new = {"name": "GitHub org", "provider": "github", "token": "gh"}
        r = await http.post(f"{console_site}/api/v1/sources", headers=owner, json=new)
        assert r.status == 201
        path = (await r.json())["ingestPath"]
        body = b'{"zen":"x"}'
        wrong = hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": f"sha256={wrong}", "X-GitHub-Delivery": "d1",
                   "User-Agent": "GitHub-Hookshot/1"}  # fmt: skip
        async with http.post(
            console_site + path + "?q=sekr1t-query", data=body, headers=headers
        ) as r:
            assert r.status == 401
        bad_key = {"X-Api-Key": "hks_" + "1" * 32}
        async with http.post(f"{console_site}/api/v1/ingest/{tenant}/plain", headers=bad_key) as r:
            assert r.status == 401

    tab = await open_tab()
    page = tab.page
    await tab.sign_in(token)
    await page.get_by_role("link", name="Rejections").click()
    await expect(page).to_have_url(re.compile(r"/console/rejections$"))
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)  # the writer is a background task: expect() waits
    await page.reload()
    await expect(rows).to_have_count(2)
    signature = page.locator("tr[data-reason=invalid_signature]")
    await expect(signature).to_contain_text("The signature did not match")
    await expect(signature).to_contain_text(
        "Check that the secret in GitHub's webhook settings is the one shown when the source "
        "was created or rotated"
    )
    await expect(signature).to_contain_text("Source: GitHub org")
    await expect(signature).to_contain_text("GitHub-Hookshot/1")
    await expect(page.locator("tr[data-reason=invalid_api_key]")).to_contain_text(
        "The API key is not valid"
    )
    assert "sekr1t-query" not in await page.content()
    await tab.screenshot("rejections")

"""A console user over plain HTTP: its own cookies, forms sent with their CSRF token.

Cookies are kept here and sent by hand (the client's jar is cleared before every request), so a
test can copy them, replay them, or drop them exactly as a user or an attacker could.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleUser:
    def __init__(self, client: TestClient, cookies: dict[str, str] | None = None) -> None:
        self.client = client
        self.cookies: dict[str, str] = dict(cookies or {})

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        self.client.session.cookie_jar.clear()
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reply = await self.client.request(
            method, path, headers=headers, allow_redirects=False, **kwargs
        )
        await reply.read()
        for name, morsel in reply.cookies.items():
            if morsel.value:
                self.cookies[name] = morsel.value
            else:
                self.cookies.pop(name, None)
        return reply

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def csrf(self, page: str) -> str:
        reply = await self.get(page)
        found = _CSRF.search(await reply.text())
        assert found is not None, (page, reply.status)
        return found.group(1)

    async def submit(self, page: str, action: str, **fields: str) -> ClientResponse:
        """Open `page`, then send its form to `action` with the page's CSRF token."""
        token = await self.csrf(page)
        return await self.request("POST", action, data={"csrf_token": token, **fields})

    async def sign_in(self, token: str) -> ClientResponse:
        reply = await self.submit("/console/sign-in", "/console/sign-in", token=token)
        assert reply.status == 303, await reply.text()
        return reply

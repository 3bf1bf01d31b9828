"""Fixtures shared by the admin API tests (additive: the console tests may add theirs here)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

APIKEYS = "/api/v1/apikeys"
CreateKey = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_key(client: TestClient) -> CreateKey:
    """POST a key through the API and return the 201 body (fails the test on any other status)."""

    async def create(headers: dict[str, str], name: str = "ci key") -> dict[str, Any]:
        response = await client.post(APIKEYS, json={"name": name}, headers=headers)
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    return create


@pytest.fixture
def owner(tenant: uuid.UUID, auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Bearer headers of an Owner of the test's tenant."""
    return auth(tenant)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client on the test Redis, to look at what the gateway wrote there."""
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


KEY_FORM = re.compile(r"hks_[0-9a-f]{32}")
TIMESTAMP_FORM = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def parse_timestamp(text: str) -> datetime:
    """An API timestamp: UTC, ISO 8601, milliseconds, `Z` (fails the test on any other form)."""
    assert TIMESTAMP_FORM.fullmatch(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def assert_error(body: Any, code: str | None = None) -> None:
    """The gateway's error shape: {"error": snake_case_code, "message": sentence}."""
    assert isinstance(body, dict), body
    assert set(body) >= {"error", "message"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert body["error"] == body["error"].lower() and " " not in body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    if code is not None:
        assert body["error"] == code, body


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


class Invalidations:
    """A subscriber on the gateway's invalidation channel (other tests may publish there too)."""

    def __init__(self, pubsub: Any):
        self._pubsub = pubsub
        self.seen: list[str] = []

    async def wait_for(self, key_hash: str, within: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(within):
                while key_hash not in self.seen:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if message is not None and message["type"] == "message":
                        self.seen.append(message["data"].decode())
        except TimeoutError:
            return False
        return True


@pytest.fixture
async def invalidations(redis: Redis, redis_prefix: str) -> AsyncIterator[Invalidations]:
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(f"{redis_prefix}invalidate")
        confirmation = await pubsub.get_message(timeout=2.0)
        assert confirmation is not None and confirmation["type"] == "subscribe"
        yield Invalidations(pubsub)


# --- Console (browser) fixtures: a real gateway on a TCP port and Debian's chromium -------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def console_site(aiohttp_server: Any, make_config: Callable[..., Any]) -> str:
    """Base URL of a gateway (create_app) on 127.0.0.1 in front of the stand-in upstream."""
    from gateway.app import create_app
    from gateway.standin import create_standin_app

    upstream = await aiohttp_server(create_standin_app())
    config = make_config(ingest_upstream=str(upstream.make_url("")).rstrip("/"))
    server = await aiohttp_server(create_app(config))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless chromium from apt (never a Playwright download)."""
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat before launching a browser
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            await instance.close()


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


class ConsoleTab:
    """One browser tab on the console; records every URL and any CSP violation it sees."""

    def __init__(self, page: Any, base: str):
        self.page = page
        self.base = base
        self.urls: list[str] = []
        self.csp_violations: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.csp_violations.append(message.text)

    async def goto(self, path: str) -> Any:
        return await self.page.goto(self.base + path)

    async def sign_in(self, token: str) -> None:
        await self.goto("/console/sign-in")
        await self.page.get_by_label("Access token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.wait_for_load_state()

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def csrf(self) -> str:
        value: str = await self.page.locator("input[name=csrf_token]").first.input_value()
        return value

    def assert_no_secret_in_urls(self, *secrets: str) -> None:
        for url in [*self.urls, self.page.url]:
            assert "hks_" not in url, url
            for secret in secrets:
                assert secret not in url, url


@pytest.fixture
async def open_tab(browser: Any, console_site: str) -> AsyncIterator[Callable[..., Any]]:
    """`tab = await open_tab(width=1280)`: a fresh browser context (own cookies) per call."""
    contexts: list[Any] = []

    async def open_one(width: int = 1200, height: int = 800) -> ConsoleTab:
        context = await browser.new_context(
            viewport={"width": width, "height": height},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return ConsoleTab(await context.new_page(), console_site)

    yield open_one
    for context in contexts:
        await context.close()

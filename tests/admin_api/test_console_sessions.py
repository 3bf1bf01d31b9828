"""Console sessions are server-side: signing out ends them, on every worker and host (issue 10).

The cookie holds a random session id; the token lives in Redis (encrypted) for the token's
remaining lifetime, and sign-out deletes it, so a copied cookie replayed afterwards is sent to
sign-in. Bearer tokens on the JSON API are the platform's and stay valid until `exp`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.config import Config
from gateway.tokens import Role, mint_token
from tests.admin_api.conftest import APIKEYS
from tests.admin_api.console_http import ConsoleUser

KEYS = "/console/keys"
SESSION = "hs_console_session"


def stored_key(redis_prefix: str, session_id: str) -> str:
    return f"{redis_prefix}console:session:{hashlib.sha256(session_id.encode()).hexdigest()}"


async def test_a_copied_cookie_replayed_after_sign_out_is_sent_to_sign_in_on_every_host(
    aiohttp_client: Any, config: Config, tenant: uuid.UUID
) -> None:
    here: TestClient = await aiohttp_client(create_app(config))
    other_host: TestClient = await aiohttp_client(create_app(config))  # shares only Redis
    user = ConsoleUser(here)
    await user.sign_in(mint_token(config, tenant, Role.OWNER))
    copied = dict(user.cookies)
    for client in (here, other_host):
        assert (await ConsoleUser(client, copied).get(KEYS)).status == 200

    signed_out = await user.submit(KEYS, "/console/sign-out")
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/console/sign-in"
    assert SESSION not in user.cookies  # this browser dropped it

    for client in (here, other_host):
        replay = await ConsoleUser(client, copied).get(KEYS)
        assert replay.status == 303
        assert replay.headers["Location"].startswith("/console/sign-in?next=")
        page = await ConsoleUser(client).get(replay.headers["Location"])
        assert page.status == 200 and "Access token" in await page.text()


async def test_the_cookie_is_a_session_id_and_redis_holds_no_usable_token(
    client: TestClient, config: Config, tenant: uuid.UUID, redis: Redis, redis_prefix: str
) -> None:
    token = mint_token(config, tenant, Role.OWNER, ttl=600)
    user = ConsoleUser(client)
    await user.sign_in(token)
    session_id = user.cookies[SESSION]
    assert session_id != token and len(session_id) == 43  # token_urlsafe(32)
    key = stored_key(redis_prefix, session_id)
    stored = await redis.get(key)
    assert stored is not None and token.encode() not in stored
    assert session_id.encode() not in stored and session_id not in key
    assert 590 <= await redis.ttl(key) <= 600  # the token's remaining lifetime

    await user.submit(KEYS, "/console/sign-out")
    assert await redis.exists(key) == 0


async def test_a_made_up_or_old_style_cookie_is_sent_to_sign_in(
    client: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    token = mint_token(config, tenant, Role.OWNER)
    for value in ("A" * 43, token):  # an id nobody issued; the token itself, as cookies once were
        reply = await ConsoleUser(client, {SESSION: value}).get(KEYS)
        assert reply.status == 303, value
        assert reply.headers["Location"].startswith("/console/sign-in?next=")


async def test_bearer_tokens_on_the_json_api_stay_valid_after_console_sign_out(
    client: TestClient, config: Config, tenant: uuid.UUID
) -> None:
    token = mint_token(config, tenant, Role.OWNER)
    user = ConsoleUser(client)
    await user.sign_in(token)
    await user.submit(KEYS, "/console/sign-out")
    reply = await client.get(APIKEYS, headers={"Authorization": f"Bearer {token}"})
    assert reply.status == 200  # the platform's token: valid until exp, as docs/decisions.md says


async def test_sign_in_with_redis_down_says_so_on_the_sign_in_page(
    aiohttp_client: Any, make_config: Callable[..., Config], tenant: uuid.UUID, closed_port: int
) -> None:
    config = make_config(redis_url=f"redis://127.0.0.1:{closed_port}/0", redis_timeout=0.2)
    client: TestClient = await aiohttp_client(create_app(config))
    user = ConsoleUser(client)
    token = await user.csrf("/console/sign-in")
    reply = await user.request(
        "POST",
        "/console/sign-in",
        data={"csrf_token": token, "token": mint_token(config, tenant, Role.OWNER)},
    )
    assert reply.status == 503
    page = await reply.text()
    assert "session store" in page and 'name="token"' in page  # the sign-in form, with the reason
    assert SESSION not in user.cookies

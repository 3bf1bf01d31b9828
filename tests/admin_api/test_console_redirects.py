"""Where the console sends a user back to (`next`, `back`): a console path, or the keys page.

A value with CR/LF once made aiohttp refuse the `Location` header: the connection dropped with
an empty reply and an ERROR traceback (issue 10, item 7).
"""

from __future__ import annotations

import logging
import uuid

import pytest
from aiohttp.test_utils import TestClient

from admin_api.console.navigation import safe_next
from gateway.config import Config
from gateway.tokens import Role, mint_token
from tests.admin_api.console_http import ConsoleUser

KEYS = "/console/keys"
HOSTILE = [
    "/console/keys\r\nSet-Cookie: hs_console_session=x",
    "/console/keys\nX-Injected: 1",
    "/console/keys\x00",
    "/console/keys\t",
    "/console/ keys",
    "/console/../api/v1/apikeys",
    "/console/%2e%2e/metrics",
    "/console/keys/./..",
    "https://evil.example/console/keys",
    "//evil.example/console/keys",
    "/\\evil.example/console/keys",
    "/console/\u2028keys",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_targets_fall_back_to_the_keys_page(raw: str) -> None:
    assert safe_next(raw, KEYS) == KEYS


def test_console_paths_with_queries_are_kept() -> None:
    wanted = "/console/keys?IsActive=false&CpOrd=name&TpOrd=Asc&Pg=2"
    assert safe_next(wanted, KEYS) == wanted
    assert safe_next("/console/operator", KEYS) == "/console/operator"


@pytest.fixture
async def signed_in(client: TestClient, config: Config, tenant: uuid.UUID) -> ConsoleUser:
    user = ConsoleUser(client)
    await user.sign_in(mint_token(config, tenant, Role.OWNER))
    return user


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize("raw", HOSTILE[:4])
async def test_signed_in_user_with_a_hostile_next_lands_on_the_keys_page(
    signed_in: ConsoleUser, caplog: pytest.LogCaptureFixture, raw: str
) -> None:
    reply = await signed_in.get("/console/sign-in", params={"next": raw})
    assert reply.status == 303
    assert reply.headers["Location"] == KEYS
    assert "X-Injected" not in reply.headers
    assert_no_error_logged(caplog)


async def test_sign_in_form_with_a_hostile_next_lands_on_the_keys_page(
    client: TestClient, config: Config, tenant: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    user = ConsoleUser(client)
    token = mint_token(config, tenant, Role.OWNER)
    reply = await user.submit("/console/sign-in", "/console/sign-in", token=token, next=HOSTILE[0])
    assert reply.status == 303 and reply.headers["Location"] == KEYS
    assert_no_error_logged(caplog)


async def test_revoke_form_with_a_hostile_back_lands_on_the_keys_page(
    signed_in: ConsoleUser, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await signed_in.submit(KEYS, f"/console/keys/{uuid.uuid4()}/revoke", back=HOSTILE[1])
    assert reply.status == 303 and reply.headers["Location"] == KEYS
    assert_no_error_logged(caplog)

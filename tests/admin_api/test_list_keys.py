"""GET /api/v1/apikeys: HookSentry pagination as a user of the API sees it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.admin_api.conftest import APIKEYS, CreateKey, assert_error

ITEM_FIELDS = {
    "id", "name", "isActive", "createdAt", "revokedAt", "expiresAt", "lastUsedAt", "allowedCidrs",
}  # fmt: skip


async def get_page(
    client: TestClient, headers: dict[str, str], params: dict[str, str] | str | None = None
) -> dict[str, Any]:
    response = await client.get(APIKEYS, params=params, headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    page: dict[str, Any] = await response.json()
    return page


async def create_many(
    create_key: CreateKey, headers: dict[str, str], names: list[str]
) -> list[str]:
    """Create keys one after another (so createdAt follows the list) and return their ids."""
    return [(await create_key(headers, name))["id"] for name in names]


async def revoke(client: TestClient, headers: dict[str, str], key_id: str) -> None:
    response = await client.delete(f"{APIKEYS}/{key_id}", headers=headers)
    assert response.status == 200


async def test_an_empty_tenant_lists_no_keys(client: TestClient, owner: dict[str, str]) -> None:
    assert await get_page(client, owner) == {"total": 0, "items": []}


async def test_defaults_are_10_items_of_page_1_by_id_descending(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    ids = await create_many(create_key, owner, [f"k{i}" for i in range(12)])

    page = await get_page(client, owner)

    assert page["total"] == 12
    expected = sorted(ids, key=uuid.UUID, reverse=True)[:10]
    assert [item["id"] for item in page["items"]] == expected


async def test_items_carry_the_documented_fields_and_never_the_key_or_its_hash(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    created = await create_key(owner, "fields")
    await revoke(client, owner, (await create_key(owner, "revoked"))["id"])

    response = await client.get(APIKEYS, headers=owner)
    text = await response.text()
    page = await response.json()

    assert set(page) == {"total", "items"}
    for item in page["items"]:
        assert set(item) == ITEM_FIELDS
    assert created["key"] not in text and created["key"][4:] not in text
    by_name = {item["name"]: item for item in page["items"]}
    assert by_name["fields"]["isActive"] is True and by_name["fields"]["revokedAt"] is None
    assert by_name["revoked"]["isActive"] is False and by_name["revoked"]["revokedAt"]


@pytest.mark.parametrize("qt", ["1", "100"])
async def test_page_size_bounds_are_accepted(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], qt: str
) -> None:
    await create_many(create_key, owner, ["a", "b"])

    page = await get_page(client, owner, {"Qt": qt})

    assert len(page["items"]) == min(int(qt), 2)
    assert page["total"] == 2


@pytest.mark.parametrize(
    "params",
    [
        {"Qt": "0"},
        {"Qt": "101"},
        {"Qt": "-1"},
        {"Qt": "abc"},
        {"Qt": "1.5"},
        {"Qt": "1e2"},
        {"Qt": "0x10"},
        {"Qt": ""},
        {"Qt": "99999999999999999999999"},
        {"Pg": "0"},
        {"Pg": "-1"},
        {"Pg": "two"},
        {"Pg": "1.0"},
        {"Pg": ""},
        {"CpOrd": "key_hash"},
        {"CpOrd": "password"},
        {"CpOrd": "name; DROP TABLE api_keys"},
        {"CpOrd": "created_at"},
        {"CpOrd": ""},
        {"TpOrd": "up"},
        {"TpOrd": "ascending"},
        {"TpOrd": ""},
        {"IsActive": "yes"},
        {"IsActive": "1"},
        {"IsActive": ""},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
async def test_a_bad_paging_parameter_is_400_naming_it(
    client: TestClient, owner: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get(APIKEYS, params=params, headers=owner)

    assert response.status == 400
    assert response.content_type == "application/json"
    body = await response.json()
    assert_error(body)
    assert next(iter(params)) in body["message"]


async def test_first_page_is_1_and_a_page_past_the_end_is_empty(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    await create_many(create_key, owner, ["a", "b", "c"])

    first = await get_page(client, owner, {"Pg": "1", "Qt": "2"})
    second = await get_page(client, owner, {"Pg": "2", "Qt": "2"})
    past = await get_page(client, owner, {"Pg": "3", "Qt": "2"})
    far = await get_page(client, owner, {"Pg": "999999999999999999", "Qt": "100"})

    assert [len(p["items"]) for p in (first, second, past, far)] == [2, 1, 0, 0]
    assert [p["total"] for p in (first, second, past, far)] == [3, 3, 3, 3]


async def test_ties_on_the_sort_field_keep_a_stable_order_across_pages(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    ids = await asyncio.gather(*(create_key(owner, "same name") for _ in range(23)))
    all_ids = {created["id"] for created in ids}

    for direction in ("Asc", "Desc"):
        seen: list[str] = []
        for pg in range(1, 5):
            params = {"CpOrd": "name", "TpOrd": direction, "Qt": "7", "Pg": str(pg)}
            page = await get_page(client, owner, params)
            assert page["total"] == 23
            seen += [item["id"] for item in page["items"]]
        assert len(seen) == len(set(seen)) == 23
        assert set(seen) == all_ids
        assert seen == sorted(seen, key=uuid.UUID, reverse=direction == "Desc")


@pytest.mark.parametrize("direction", ["Asc", "Desc"])
async def test_sorting_by_name(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], direction: str
) -> None:
    await create_many(create_key, owner, ["bravo", "delta", "alpha", "charlie"])

    page = await get_page(client, owner, {"CpOrd": "name", "TpOrd": direction})

    names = [item["name"] for item in page["items"]]
    assert names == sorted(names, reverse=direction == "Desc")
    assert len(names) == 4


@pytest.mark.parametrize("direction", ["Asc", "Desc"])
async def test_sorting_by_created_at_follows_creation_order(
    client: TestClient, create_key: CreateKey, owner: dict[str, str], direction: str
) -> None:
    ids = await create_many(create_key, owner, [f"k{i}" for i in range(5)])

    page = await get_page(client, owner, {"CpOrd": "createdAt", "TpOrd": direction})

    expected = ids if direction == "Asc" else ids[::-1]
    assert [item["id"] for item in page["items"]] == expected


async def test_sorting_by_is_active_and_revoked_at(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    ids = await create_many(create_key, owner, ["a", "b", "c", "d"])
    await revoke(client, owner, ids[2])
    await revoke(client, owner, ids[0])

    by_active = await get_page(client, owner, {"CpOrd": "isActive", "TpOrd": "Asc"})
    actives = [item["isActive"] for item in by_active["items"]]
    assert actives == [False, False, True, True]

    by_revoked = await get_page(client, owner, {"CpOrd": "revokedAt", "TpOrd": "Asc"})
    revoked = [item["id"] for item in by_revoked["items"] if item["revokedAt"]]
    assert revoked == [ids[2], ids[0]]


async def test_is_active_filters_and_total_counts_only_matching_keys(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    ids = await create_many(create_key, owner, [f"k{i}" for i in range(5)])
    for key_id in ids[:2]:
        await revoke(client, owner, key_id)

    active = await get_page(client, owner, {"IsActive": "true", "Qt": "1"})
    revoked = await get_page(client, owner, {"IsActive": "false", "Qt": "1"})

    assert active["total"] == 3 and revoked["total"] == 2
    assert active["items"][0]["isActive"] is True
    assert revoked["items"][0]["isActive"] is False
    all_active = await get_page(client, owner, {"IsActive": "true"})
    assert {item["id"] for item in all_active["items"]} == set(ids[2:])


async def test_parameter_names_and_values_match_case_insensitively(
    client: TestClient, create_key: CreateKey, owner: dict[str, str]
) -> None:
    ids = await create_many(
        create_key, owner, ["charlie", "alpha", "bravo", "delta", "echo", "fox"]
    )
    await revoke(client, owner, ids[-1])

    page = await get_page(client, owner, "qt=2&pG=2&cpord=NAME&tpord=asc&ISACTIVE=TRUE")

    assert page["total"] == 5
    assert [item["name"] for item in page["items"]] == ["charlie", "delta"]


async def test_a_tenant_lists_only_its_own_keys(
    client: TestClient,
    create_key: CreateKey,
    owner: dict[str, str],
    new_tenant: Callable[..., Any],
    auth: Callable[..., dict[str, str]],
) -> None:
    mine = set(await create_many(create_key, owner, ["a", "b"]))
    other = auth(await new_tenant(name="Other"))
    theirs = set(await create_many(create_key, other, ["c"]))

    my_page = await get_page(client, owner)
    their_page = await get_page(client, other)

    assert {item["id"] for item in my_page["items"]} == mine and my_page["total"] == 2
    assert {item["id"] for item in their_page["items"]} == theirs and their_page["total"] == 1

"""Paged list queries: a named list query in every allowed order, and its count."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from admin_api.pagination import PageRequest
from gateway.db import QUERIES, Database

# A page far past the end is simply empty, never a bigint overflow in OFFSET.
_MAX_OFFSET = 2**62


class PagedQuery:
    """`count` and `listing` name queries in sql/queries.sql; `listing` has an `{order_by}` slot
    filled from `sort_sql` (API sort field -> SQL), so a client's string never reaches SQL.
    Both take the same leading filters; the listing then takes LIMIT and OFFSET."""

    def __init__(self, count: str, listing: str, sort_sql: Mapping[str, str]) -> None:
        self._count = QUERIES[count]
        self._ordered = {
            (field, desc): QUERIES[listing].format(
                order_by=f"{expr} {'DESC' if desc else 'ASC'}, id {'DESC' if desc else 'ASC'}"
            )
            for field, expr in sort_sql.items()
            for desc in (False, True)
        }

    async def fetch(
        self, db: Database, page: PageRequest, *filters: Any
    ) -> tuple[int, list[asyncpg.Record]]:
        total: int = await db.fetchval(self._count, *filters)
        if page.offset >= min(total, _MAX_OFFSET):
            return total, []
        query = self._ordered[page.sort, page.descending]
        return total, await db.fetch(query, *filters, page.size, page.offset)

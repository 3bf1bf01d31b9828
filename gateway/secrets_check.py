"""`serve`'s start-up check (SPEC §6): once sources exist, their secrets need the secrets key.

Without it every signed delivery would fail at the first decryption; refusing to start says
why in one line instead of answering every sender with an error.
"""

from __future__ import annotations

import asyncio
import dataclasses

from gateway.config import ENV_PREFIX, Config
from gateway.db import QUERIES, Database, create_pool

MISSING_KEY = (
    f"sources exist in the database but {ENV_PREFIX}SECRETS_KEY (secrets_key) is not set; set "
    "it to the key their secrets were encrypted with (the first entry encrypts, all decrypt)"
)


async def sources_exist(config: Config) -> bool:
    """Whether the database holds any source, active or not; False before migration 002."""
    pool = await create_pool(dataclasses.replace(config, pg_pool_min=1, pg_pool_max=1))
    try:
        db = Database(pool, config)
        if not await db.fetchval(QUERIES["sources_table_exists"]):
            return False
        return bool(await db.fetchval(QUERIES["any_source"]))
    finally:
        await pool.close()


def missing_secrets_key(config: Config) -> str | None:
    """The line `serve` refuses to start with, or None (a configured key needs no query)."""
    if config.secrets_key or not asyncio.run(sources_exist(config)):
        return None
    return MISSING_KEY

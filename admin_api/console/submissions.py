"""One-time form submissions: a create form sent twice (a reload, a double click) creates once.

The claim is a Redis SET NX with a TTL, shared by every worker and host. Redis trouble never
blocks a create: without Redis, every submission counts as the first.
"""

from __future__ import annotations

from aiohttp import web

from gateway.keys import CONFIG, REDIS
from gateway.redis_client import REDIS_ERRORS, RedisClient

SUBMISSION_TTL = 3600
_MAX_ID = 64


class Submissions:
    def __init__(self, redis: RedisClient, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def claim(self, submission: str) -> bool:
        """True the first time this submission id is seen (or when it cannot be checked)."""
        if not _checkable(submission):
            return True
        try:
            claimed = await self._redis.set(self._key(submission), b"1", nx=True, ex=SUBMISSION_TTL)
        except REDIS_ERRORS:
            return True
        return bool(claimed)

    async def release(self, submission: str) -> None:
        """The create failed: the same form may be sent again."""
        if not _checkable(submission):
            return
        try:
            await self._redis.delete(self._key(submission))
        except REDIS_ERRORS:
            pass

    def _key(self, submission: str) -> str:
        return f"{self._prefix}console:form:{submission}"


def _checkable(submission: str) -> bool:
    return bool(submission) and len(submission) <= _MAX_ID


def submissions(request: web.Request) -> Submissions:
    return Submissions(request.config_dict[REDIS], request.config_dict[CONFIG].redis_prefix)

"""Console URLs and redirects: named routes, 303s, and where a user may be sent back to."""

from __future__ import annotations

import re
from urllib.parse import unquote

from aiohttp import web

from admin_api.console.cookies import COOKIE_PATH


def url(request: web.Request, name: str, **parts: str) -> str:
    return str(request.app.router[name].url_for(**parts))


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def sign_in_target(request: web.Request) -> str:
    """The sign-in page, remembering the page to come back to (for a GET elsewhere)."""
    target = request.app.router["sign_in"].url_for()
    if request.method == "GET" and request.path != str(target):
        target = target.with_query(next=request.path_qs)
    return str(target)


# Printable ASCII without the space: what a path and query need, and nothing a header forbids
# (CR/LF would make aiohttp refuse the Location header and drop the connection).
_PLAIN = re.compile(r"[\x21-\x7e]+")


def safe_next(raw: str | None, default: str) -> str:
    """Only a path inside the console: never another origin, never a scheme-relative URL.

    Browsers resolve dot-segments (`%2e%2e` too) before requesting, so a path that has one could
    leave the console; it is refused like any other target outside it.
    """
    if not raw or not _PLAIN.fullmatch(raw) or not raw.startswith(COOKIE_PATH + "/"):
        return default
    if "//" in raw or "\\" in raw:
        return default
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        return default
    return raw

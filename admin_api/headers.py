"""Headers every admin API answer carries, errors included.

Answers carry keys (a create's 201) or tenant data, so none is stored by a browser or a shared
cache (`no-store` on all of them: one rule is easier to keep than a list of the ones that
matter), none is content-sniffed, and no Referer leaks an admin URL to another site.
"""

from __future__ import annotations

from aiohttp import web

ADMIN_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def add_admin_headers(request: web.Request, response: web.StreamResponse) -> None:
    """An `on_response_prepare` signal: it sees the answers the root middleware renders too."""
    response.headers.update(ADMIN_HEADERS)

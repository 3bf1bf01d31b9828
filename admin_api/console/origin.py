"""The address senders reach this gateway at, as the browser's own request shows it.

The ingest URL a tenant pastes into GitHub or Stripe is the console's scheme and host plus the
source's ingest path: the console is served by the same gateway that takes the deliveries. Behind
a TLS-terminating proxy listed in `trusted_proxies`, its X-Forwarded-Proto and X-Forwarded-Host
say what the browser used; anyone else's are ignored.
"""

from __future__ import annotations

import re

from aiohttp import web

from admin_api.console.cookies import is_https
from gateway.headers import peer_is_trusted
from gateway.keys import PROXY

# A host name or IPv4 address, or a bracketed IPv6 address, with an optional port.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)


def public_origin(scheme: str, host: str, forwarded_host: str | None) -> str:
    """`scheme://host`, from a trusted proxy's forwarded host when it sent a sane one."""
    first = (forwarded_host or "").split(",")[0].strip()
    return f"{scheme}://{first if _HOST.fullmatch(first) else host}"


def origin_of(request: web.Request) -> str:
    trusted = peer_is_trusted(request.remote, request.config_dict[PROXY].trusted)
    forwarded = request.headers.get("X-Forwarded-Host") if trusted else None
    return public_origin("https" if is_https(request) else "http", request.host, forwarded)

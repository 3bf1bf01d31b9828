"""The `Server` header: the product's name, never the Python or aiohttp version.

aiohttp fills `Server` with `Python/3.x aiohttp/3.x` (`SERVER_SOFTWARE`) for every response it
writes, including the ones no handler or signal sees: a request the HTTP parser refuses, or a
connection-level 500. It has no setting for this, and it only fills the header when the response
has none, from a module-level name in `aiohttp.web_response`: replacing that name once per process
covers every response, at no cost per request. tests/gateway/test_response_headers.py checks the
header on an ingest answer, an admin answer, a 404, and a request the parser refuses, so an aiohttp
upgrade that moves the name fails there.
"""

from __future__ import annotations

import aiohttp.web_response

SERVER = "hooksentry"


def hide_server_version() -> None:
    aiohttp.web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]

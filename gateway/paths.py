"""The ingest path's canonical form (pure functions, no I/O).

The upstream routes on the path the gateway forwards; if that path could mean something else
once decoded (an encoded slash or backslash, a dot-segment, a tenant id spelled another way), a
sender could reach an upstream route the gateway never checked. Only one spelling passes.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_INGEST = re.compile(
    r"/api/v1/ingest/"
    r"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"
    r"/([^/]+)"
)
_ENCODED_SEPARATOR = re.compile(r"%(?:2[Ff]|5[Cc])")


def checked_ingest_target(raw_path: str, raw_query: str) -> str | None:
    """The origin-form target to forward (path and query as received), or None when the path
    is not canonical: a tenant id other than 8-4-4-4-12 hex, or a token with an encoded slash,
    a backslash (plain or encoded) or that is a dot-segment once decoded."""
    match = _INGEST.fullmatch(raw_path)
    if match is None:
        return None
    token = match.group(2)
    if "\\" in token or _ENCODED_SEPARATOR.search(token) or unquote(token) in (".", ".."):
        return None
    return f"{raw_path}?{raw_query}" if raw_query else raw_path

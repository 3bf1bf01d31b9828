"""JSON Schema patterns that accept exactly what the admin API's parsers accept (pure, no I/O).

Built from the parsers' own definitions (Python's `str.strip()`, `str.lower()`, Unicode category
Cc) rather than typed by hand, so the OpenAPI document cannot drift from the server by a
character. Every class is written with `\\uXXXX` escapes, which ECMA-262, Python's `re` and Rust's
regex engines all read the same way. tests/admin_api/test_openapi.py checks each pattern against
the parser it describes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Every character that is whitespace, a control character or lower-cases to an ASCII letter is
# in the Basic Multilingual Plane (the tests check the whole range), so scanning it is enough.
_BMP = [chr(point) for point in range(0x10000)]
SPACE = "".join(ch for ch in _BMP if ch.isspace())  # what str.strip() removes
CONTROL = "".join(ch for ch in _BMP if unicodedata.category(ch) == "Cc")
_LOWERS_TO: dict[str, str] = {}  # ASCII letter -> every character whose lower() is that letter
for _ch in _BMP:
    if (_low := _ch.lower()).isascii() and _low.isalpha():
        _LOWERS_TO[_low] = _LOWERS_TO.get(_low, "") + _ch


def char_class(chars: Iterable[str]) -> str:
    """The body of a regex character class matching exactly `chars` (runs become ranges)."""
    points = sorted({ord(ch) for ch in chars})
    parts: list[str] = []
    start = 0
    while start < len(points):
        end = start
        while end + 1 < len(points) and points[end + 1] == points[end] + 1:
            end += 1
        low, high = _escape(points[start]), _escape(points[end])
        parts.append(low if start == end else f"{low}-{high}")
        start = end + 1
    return "".join(parts)


def _escape(point: int) -> str:
    char = chr(point)
    return char if char.isascii() and char.isalnum() else f"\\u{point:04x}"


def stripped_text_pattern(max_length: int) -> str:
    """`s.strip()` is 1..max_length characters, none of them a control character."""
    space = char_class(SPACE)
    edge = char_class(SPACE + CONTROL)  # neither strippable nor control: what strip() stops at
    inner = char_class(CONTROL)
    return f"^[{space}]*[^{edge}](?:[^{inner}]{{0,{max_length - 2}}}[^{edge}])?[{space}]*$"


def _letter(letter: str) -> str:
    """A character class of every character whose `lower()` is `letter` (K matches Kelvin's K)."""
    return f"[{char_class(_LOWERS_TO[letter.lower()])}]"


def stripped_choice_pattern(words: Iterable[str]) -> str:
    """`s.strip().lower()` is one of `words` (lower-cased): the pagination parser's rule."""
    alternatives = "|".join("".join(_letter(ch) for ch in word) for word in words)
    space = char_class(SPACE)
    return f"^[{space}]*(?:{alternatives})[{space}]*$"


def none_of_pattern(chars: Iterable[str]) -> str:
    """No character of the string is one of `chars` (lengths are left to minLength/maxLength)."""
    return f"^[^{char_class(chars)}]*$"


def base64_pattern(min_bytes: int, max_bytes: int) -> str:
    """`base64.b64decode(s, validate=True)` decodes `s` to `min_bytes`..`max_bytes` bytes.

    Python's strict mode takes groups of four, then two characters and `==`, three and `=`, or
    nothing more, in which case any number of `=` may follow (CPython accepts `QUJD=`); bits
    left over in the last character are not checked."""
    assert min_bytes > 0  # else the empty string, which takes no `=` after it
    digit = "[A-Za-z0-9+/]"

    def quads(tail_bytes: int) -> str:  # how many groups of four leave room for `tail_bytes`
        low, high = -(-(min_bytes - tail_bytes) // 3), (max_bytes - tail_bytes) // 3
        return f"(?:{digit}{{4}}){{{max(low, 0)},{high}}}"

    return f"(?:{quads(0)}=*|{quads(1)}{digit}{{2}}==|{quads(2)}{digit}{{3}}=)"

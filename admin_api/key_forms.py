"""The text forms of a key's lifecycle fields (SPEC §8) as regular expressions: one definition
for the parser (admin_api.lifecycle) and the OpenAPI document (admin_api.openapi_keys), so the
two cannot drift apart. Pure, no I/O; every pattern reads the same in Python's `re` and ECMA-262.
"""

from __future__ import annotations

import calendar
import re

_MONTH_DAYS = {
    "31": "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])",
    "30": "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
    "28": "02-(?:0[1-9]|1[0-9]|2[0-8])",
}
_TIME = (
    "[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?"
    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# RFC 3339's date-time (section 5.6), without the leap second (Python's datetime has none).
# The day's range is checked by datetime(), so any two-digit day of 01-31 passes here.
DATE_TIME = re.compile(
    "(?P<date>[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))"
    "[Tt](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    "(?:\\.(?P<fraction>[0-9]+))?"
    "(?P<offset>[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def future_date_time_pattern(first_year: int, last_year: int) -> str:
    """Every real RFC 3339 date-time in the years first_year..last_year (29 February only in a
    leap year): the document's expiresAt pattern, whose every match the server accepts."""
    years = []
    for year in range(first_year, last_year + 1):
        days = [_MONTH_DAYS["31"], _MONTH_DAYS["30"], _MONTH_DAYS["28"]]
        if calendar.isleap(year):
            days.append("02-29")
        years.append(f"{year}-(?:{'|'.join(days)})")
    return f"^(?:{'|'.join(years)}){_TIME}$"


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    [
        f"(?:{_H}:){{7}}{_H}",
        f"(?:{_H}:){{1,7}}:",
        f"(?:{_H}:){{1,6}}:{_H}",
        f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
        f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
        f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
        f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
        f"{_H}:(?::{_H}){{1,6}}",
        f":(?:(?::{_H}){{1,7}}|:)",
    ]
)
# An address or a network in CIDR notation, IPv4 or IPv6 (no embedded IPv4 form, no zone, no
# leading zeros in a prefix length or an IPv4 octet: ipaddress reads each match the same way).
CIDR_PATTERN = (
    f"^(?:{_IPV4}(?:/(?:3[0-2]|[12][0-9]|[0-9]))?"
    f"|(?:{_IPV6})(?:/(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[0-9]))?)$"
)
CIDR = re.compile(CIDR_PATTERN)

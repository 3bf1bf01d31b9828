"""The OpenAPI patterns of a key's lifecycle fields against the parsers (admin_api.lifecycle):
every value a pattern allows is accepted; allowedCidrs' items are exact."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from admin_api.lifecycle import cidrs, expiry
from admin_api.openapi import DOCUMENT
from gateway.errors import ValidationFailed

EXACT = settings(max_examples=600, derandomize=True, deadline=None, database=None)
_SCHEMAS = DOCUMENT["components"]["schemas"]
EXPIRY = _SCHEMAS["KeyPatch"]["properties"]["expiresAt"]["oneOf"][0]["pattern"]
CIDR = _SCHEMAS["KeyPatch"]["properties"]["allowedCidrs"]["oneOf"][0]["items"]["pattern"]


def allowed(pattern: str, value: str) -> bool:
    """ECMA-262's reading of `^...$` (Python's `$` would also match before a final newline)."""
    return re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value) is not None


def accepts_cidr(value: str) -> bool:
    try:
        cidrs({"allowedCidrs": [value]})
    except ValidationFailed:
        return False
    return True


@given(st.from_regex(EXPIRY).filter(lambda v: not v.endswith("\n")))
@EXACT
def test_every_expiry_the_pattern_allows_is_accepted(value: str) -> None:
    assert expiry({"expiresAt": value}, "expiresAt") is not None


@given(st.one_of(st.from_regex(CIDR), st.text(max_size=45), st.ip_addresses().map(str)))
@EXACT
def test_the_cidr_pattern_allows_exactly_what_the_parser_accepts(value: str) -> None:
    assert allowed(CIDR, value) == accepts_cidr(value), ascii(value)


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), st.integers(0, 128))
@EXACT
def test_every_compressed_network_is_allowed(address: ipaddress.IPv4Address, prefix: int) -> None:
    prefix = min(prefix, address.max_prefixlen)
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    if network.version == 6 and "." in network.compressed:
        return  # the embedded IPv4 form (::ffff:1.2.3.4) is not taken
    assert accepts_cidr(network.compressed) and allowed(CIDR, network.compressed)

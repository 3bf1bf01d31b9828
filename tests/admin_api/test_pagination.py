"""Pure parts of the admin API, without a server: paging parameters and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from admin_api.pagination import PageRequest, parse_page_request
from admin_api.views import timestamp
from gateway.errors import ValidationFailed


def test_no_parameters_give_the_documented_defaults() -> None:
    assert parse_page_request({}) == PageRequest(
        size=10, page=1, sort="id", descending=True, is_active=None
    )


def test_names_and_values_are_case_insensitive() -> None:
    page = parse_page_request({"qT": "5", "PG": "3", "cpord": "CREATEDAT", "TPORD": "aSc"})
    assert page == PageRequest(size=5, page=3, sort="createdAt", descending=False)
    assert page.offset == 10


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("TRUE", True)])
def test_is_active_is_a_boolean(text: str, value: bool) -> None:
    assert parse_page_request({"IsActive": text}).is_active is value


@pytest.mark.parametrize(
    "field", ["id", "name", "isActive", "createdAt", "revokedAt", "ISACTIVE", "revokedat"]
)
def test_every_documented_sort_field_is_accepted(field: str) -> None:
    assert parse_page_request({"CpOrd": field}).sort.lower() == field.lower()


def test_the_first_value_of_a_repeated_parameter_wins() -> None:
    assert parse_page_request({"Qt": "5", "qt": "7"}).size == 5


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"Qt": "0"}, "Qt"),
        ({"Qt": "101"}, "Qt"),
        ({"Qt": "+5"}, "Qt"),
        ({"Qt": "\uff15"}, "Qt"),  # a full-width 5 is not an ASCII whole number
        ({"Pg": "0"}, "Pg"),
        ({"Pg": "1" * 19}, "Pg"),
        ({"CpOrd": "key_hash"}, "CpOrd"),
        ({"TpOrd": "sideways"}, "TpOrd"),
        ({"IsActive": "maybe"}, "IsActive"),
    ],
)
def test_bad_values_name_the_parameter(query: dict[str, str], name: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_page_request(query)
    assert info.value.status == 400
    assert name in info.value.message


def test_a_huge_page_number_is_accepted_and_simply_far_past_the_end() -> None:
    assert parse_page_request({"Pg": "9" * 18}).offset > 2**63


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 7, 3, 16, 32, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(moment) == "2026-07-03T14:32:00.999Z"
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert timestamp(None) is None

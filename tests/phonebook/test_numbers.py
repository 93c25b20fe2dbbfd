"""Phone numbers brought to one form: what is allowed, what is refused, what a search means."""

from __future__ import annotations

import pytest

from callcenter.phonebook.errors import InvalidContactError
from callcenter.phonebook.numbers import caller_digits, parse_phone, search_digits


@pytest.mark.parametrize(
    ("written", "shown", "digits"),
    [
        ("+7 (495) 123-45-67", "+74951234567", "74951234567"),
        ("8.495.123.45.67", "84951234567", "84951234567"),
        ("  74951234567 ", "74951234567", "74951234567"),
        ("+1\u00a0212\u2013555\u20130100", "+12125550100", "12125550100"),  # NBSP, en dashes
        ("[495] 123 45 67", "4951234567", "4951234567"),
        ("101", "101", "101"),
        ("1" * 20, "1" * 20, "1" * 20),
    ],
)
def test_numbers_are_written_many_ways_and_kept_one(written: str, shown: str, digits: str) -> None:
    number = parse_phone(written)
    assert (number.shown, number.digits) == (shown, digits)


def test_the_tail_is_the_last_ten_digits_of_long_enough_numbers() -> None:
    assert parse_phone("+74951234567").tail == "4951234567"
    assert parse_phone("4951234567").tail == "4951234567"
    assert parse_phone("123456789").tail is None


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("12", "has 2 digits: 3 to 20"),
        ("1" * 21, "has 21 digits: 3 to 20"),
        ("+", "not a phone number"),
        ("7495+1234567", "not a phone number"),
        ("++74951234567", "not a phone number"),
        ("74951234567 ext 12", "not a phone number"),
        ("\u0667\u0668\u0669", "not a phone number"),  # Arabic-Indic digits: not 0-9
        ("7495\r\n1234567", "line break or another control character"),
        ("7495\x001234567", "control character"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(written: str, message: str) -> None:
    with pytest.raises(InvalidContactError, match=message) as info:
        parse_phone(written)
    assert info.value.details == {"field": "phone"}
    assert info.value.error_id == "invalid-contact"


@pytest.mark.parametrize(
    ("caller", "digits"),
    [
        ("+74951234567", "74951234567"),
        ("74951234567", "74951234567"),
        ("+7 495 123-45-67", "74951234567"),
        ("anonymous", None),
        ("", None),
        (None, None),
        ("12", None),
    ],
)
def test_a_callers_number_that_cannot_be_in_the_book_is_no_number(
    caller: str | None, digits: str | None
) -> None:
    assert caller_digits(caller) == digits


@pytest.mark.parametrize(
    ("query", "digits"),
    [
        ("+7 (495) 123", "7495123"),
        ("495-12", "49512"),
        ("123", "123"),
        ("Ivan", None),
        ("Room 101", None),
        ("+", None),
    ],
)
def test_a_search_that_looks_like_a_number_looks_for_its_digits(
    query: str, digits: str | None
) -> None:
    assert search_digits(query) == digits

"""Personal identity numbers: 12 digits, a real date, samordningsnummer, the Luhn check digit."""

from __future__ import annotations

from datetime import date

import pytest

from app.security.identifiers import PersonalIdentityNumber, luhn_valid
from tests.support import personnummer


@pytest.mark.parametrize(
    ("text", "birth"),
    [
        ("198112189876", date(1981, 12, 18)),  # Skatteverket's example, 811218-9876
        ("19811218-9876", date(1981, 12, 18)),
        (personnummer("20000229", 1), date(2000, 2, 29)),  # a leap day
        (personnummer("19000101", 2), date(1900, 1, 1)),  # the century is explicit
        (personnummer("20240229", 7), date(2024, 2, 29)),
    ],
)
def test_valid_numbers(text: str, birth: date) -> None:
    number = PersonalIdentityNumber.parse(text)
    assert number.birth_date == birth
    assert number.digits == text.replace("-", "")
    assert not number.is_coordination_number


def test_samordningsnummer_has_the_day_plus_60() -> None:
    number = PersonalIdentityNumber.parse(personnummer("20150672", 238))  # born the 12th
    assert number.is_coordination_number
    assert number.birth_date == date(2015, 6, 12)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("198112189875", "check digit"),
        (personnummer("19000229", 1), "calendar date"),  # 1900 was not a leap year
        (personnummer("20230229", 1), "calendar date"),
        (personnummer("20151301", 1), "calendar date"),
        (personnummer("20150632", 1), "calendar date"),  # neither a day nor a day + 60
        (personnummer("20150692", 1), "calendar date"),
        (personnummer("29990101", 1), "future"),
        ("8112189876", "12 digits"),  # the 10-digit form is ambiguous about the century
        ("19811218+9876", "12 digits"),
        ("1981121898760", "12 digits"),
        ("19811218-98a6", "12 digits"),
        ("", "12 digits"),
    ],
)
def test_invalid_numbers_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        PersonalIdentityNumber.parse(text)


def test_luhn_over_the_last_ten_digits() -> None:
    assert luhn_valid("8112189876")
    assert not luhn_valid("8112189875")

"""Swedish identifiers: personal identity numbers and organisation numbers (Luhn-checked)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_PERSONNUMMER = re.compile(r"^(\d{8})-?(\d{4})$")
COORDINATION_DAY_OFFSET = 60
# What may be a personal identity number inside free text: ten or more digits in a row, or six
# or eight digits, '-' or '+', four digits (YYMMDD-NNNN, YYYYMMDD-NNNN). Deliberately broad: a
# false alarm costs a caller's correlation id or a 422, a miss puts a personnummer in the log.
_IDENTITY_NUMBER_LIKE = re.compile(r"\d{10,}|\d{6}(?:\d{2})?[-+]\d{4}")


def looks_like_identity_number(text: str) -> bool:
    """True when `text` holds something shaped like a personnummer or samordningsnummer."""
    return _IDENTITY_NUMBER_LIKE.search(text) is not None


def luhn_valid(digits: str) -> bool:
    """The Luhn check used by personnummer (over the last ten digits) and organisation numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def valid_organisation_number(value: str) -> bool:
    return len(value) == 10 and value.isdigit() and luhn_valid(value)


@dataclass(frozen=True)
class PersonalIdentityNumber:
    """A personnummer or samordningsnummer, normalised to 12 digits."""

    digits: str
    birth_date: date
    is_coordination_number: bool

    @classmethod
    def parse(cls, text: str) -> PersonalIdentityNumber:
        """Parse `YYYYMMDDNNNN` or `YYYYMMDD-NNNN`; ValueError says what is wrong."""
        match = _PERSONNUMMER.match(text)
        if not match:
            raise ValueError("must be 12 digits, YYYYMMDDNNNN, optionally with '-' before the last four")
        digits = match.group(1) + match.group(2)
        year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
        coordination = day > COORDINATION_DAY_OFFSET
        if coordination:
            day -= COORDINATION_DAY_OFFSET
        try:
            birth = date(year, month, day)
        except ValueError:
            raise ValueError("the date part is not a real calendar date") from None
        if birth > date.today():
            raise ValueError("the date part lies in the future")
        if not luhn_valid(digits[2:]):
            raise ValueError("the check digit is wrong")
        return cls(digits=digits, birth_date=birth, is_coordination_number=coordination)

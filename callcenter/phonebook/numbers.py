"""Phone numbers as people write them and as the switch gives them, brought to one form.

People write ``+7 (495) 123-45-67`` or ``8.495.123.45.67``; the switch gives ``74951234567`` or
``+74951234567``. Spaces, dashes, brackets and dots are dropped; a leading + is kept for showing
but ignored for matching, so +74951234567 and 74951234567 are the same number. Telling a
national form (84951234567) from the international one is not attempted: the last-10-digits
fallback of the screen-pop covers the common case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callcenter.phonebook.errors import InvalidContactError

__all__ = [
    "MAX_PHONE_DIGITS",
    "MIN_PHONE_DIGITS",
    "TAIL_DIGITS",
    "PhoneNumber",
    "caller_digits",
    "parse_phone",
    "search_digits",
]

MIN_PHONE_DIGITS = 3  # an internal extension
MAX_PHONE_DIGITS = 20  # E.164 allows 15; room for a carrier prefix
TAIL_DIGITS = 10  # a national number without its country or trunk prefix (RU, US)

# Whitespace of any kind (no-break space from spreadsheets too) and the dashes word processors
# put in; CR/LF are not among them: control characters are refused before this is applied.
_SEPARATORS = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000().\[\]\-\u2010-\u2015\u2212]")
_NUMBER = re.compile(r"\+?[0-9]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class PhoneNumber:
    """A checked number: ``shown`` keeps the leading + if it was written, ``digits`` does not."""

    shown: str
    digits: str

    @property
    def tail(self) -> str | None:
        """The last ``TAIL_DIGITS`` digits, for numbers that long (the fallback match)."""
        return self.digits[-TAIL_DIGITS:] if len(self.digits) >= TAIL_DIGITS else None


def _compact(raw: str) -> str:
    return _SEPARATORS.sub("", raw.strip())


def parse_phone(raw: str) -> PhoneNumber:
    """The number in its stored form, or ``InvalidContactError`` saying what is wrong."""
    text = raw.strip()
    if not text:
        raise InvalidContactError("the phone number is empty", field="phone")
    if _CONTROL.search(text):
        raise InvalidContactError(
            "the phone number has a line break or another control character", field="phone"
        )
    compact = _compact(text)
    if not _NUMBER.fullmatch(compact):
        raise InvalidContactError(
            f"{text!r} is not a phone number: use digits, optionally a leading + "
            "(spaces, dashes, brackets and dots are allowed)",
            field="phone",
        )
    digits = compact.lstrip("+")
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        raise InvalidContactError(
            f"the phone number has {len(digits)} digits: "
            f"{MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} are allowed",
            field="phone",
        )
    return PhoneNumber(shown=compact, digits=digits)


def caller_digits(raw: str | None) -> str | None:
    """The digits of a caller's number as the switch gave it; None for what cannot be a number
    in the phone book ("anonymous", empty, too short), which is no match rather than an error."""
    if raw is None:
        return None
    try:
        return parse_phone(raw).digits
    except InvalidContactError:
        return None


def search_digits(query: str) -> str | None:
    """The digits to look for when a search looks like (part of) a phone number, as in
    "+7 (495) 123"; None when it is words."""
    compact = _compact(query)
    return compact.lstrip("+") if _NUMBER.fullmatch(compact) else None

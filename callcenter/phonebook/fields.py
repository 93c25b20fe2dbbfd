"""A contact's fields: what callers of the service pass in, and the checks every value passes
before it is stored, whether it comes from the API or from a row of an imported file.

Names and companies may later reach the switch as caller names (one ESL line), so no field but
the notes takes a line break or any other control character; the notes are shown on the card
only, so they keep their lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from callcenter.db.models import Contact
from callcenter.phonebook.errors import InvalidContactError
from callcenter.phonebook.numbers import PhoneNumber, parse_phone

__all__ = [
    "MAX_COMPANY_CHARS",
    "MAX_EMAIL_CHARS",
    "MAX_NAME_CHARS",
    "MAX_NOTES_CHARS",
    "ContactChanges",
    "ContactValues",
    "NewContact",
    "check_company",
    "check_email",
    "check_name",
    "check_notes",
    "fold_for_search",
]


def _width(column: Any) -> int:
    length = column.type.length
    assert isinstance(length, int)
    return length


# The widths of the columns, so that a value that passes here always fits.
MAX_NAME_CHARS = _width(Contact.__table__.c.name)
MAX_COMPANY_CHARS = _width(Contact.__table__.c.company)
MAX_EMAIL_CHARS = _width(Contact.__table__.c.email)
# The column is TEXT; a card is read on a screen during a call.
MAX_NOTES_CHARS = 4000

# Good enough to catch a name or a phone typed into the e-mail column; not RFC 5322.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# Characters that break a line or cannot be stored: the C0 and C1 controls (Unicode category
# Cc), surrogates (Cs), the line and paragraph separators (Zl, Zp). The notes keep LF and tab.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_REFUSED_IN_NOTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAKS = "\r\n\u2028\u2029\x85"


class NewContact(BaseModel):
    """A contact to create, as the API received it (checked by the service, not here)."""

    # A phone sent as a JSON number (74951234567) is taken as its digits.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    phone: str
    name: str
    company: str | None = None
    email: str | None = None
    notes: str | None = None


class ContactChanges(BaseModel):
    """A partial update: only the fields that were given (``model_fields_set``) change; None
    clears company, email or notes, and is refused for phone and name."""

    # A phone sent as a JSON number (74951234567) is taken as its digits.
    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    phone: str | None = None
    name: str | None = None
    company: str | None = None
    email: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class ContactValues:
    """A contact's fields after every check: ready to be written."""

    phone: PhoneNumber
    name: str
    company: str | None
    email: str | None
    notes: str | None

    def columns(self) -> dict[str, Any]:
        """The ``contacts`` columns these values fill (not tenant, id or times)."""
        return {
            "phone": self.phone.shown,
            "phone_digits": self.phone.digits,
            "phone_tail": self.phone.tail,
            "name": self.name,
            "company": self.company,
            "email": self.email,
            "notes": self.notes,
            "search_text": "\n".join(
                fold_for_search(v) for v in (self.name, self.company or "", self.email or "")
            ),
        }

    @classmethod
    def check(
        cls,
        *,
        phone: str,
        name: str,
        company: str | None = None,
        email: str | None = None,
        notes: str | None = None,
    ) -> ContactValues:
        return cls(
            phone=parse_phone(phone),
            name=check_name(name),
            company=check_company(company),
            email=check_email(email),
            notes=check_notes(notes),
        )


def fold_for_search(text: str) -> str:
    """Case and Cyrillic yo/ie folded (U+0451 to U+0435), so "семёнов" finds "Семенов" and
    back: Russian writes both for one letter."""
    return unicodedata.normalize("NFC", text).casefold().replace("\u0451", "\u0435")


def _text(value: str, field: str, limit: int, *, lines: bool = False) -> str:
    text = unicodedata.normalize("NFC", value.strip())
    if lines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    refused = (_REFUSED_IN_NOTES if lines else _REFUSED).search(text)
    if refused is not None:
        ch = refused.group()
        if ch in _LINE_BREAKS:
            why = f"a line break: the {field} must be one line"
        else:
            why = f"a control character ({ch!r}): remove it"
        raise InvalidContactError(f"the {field} has {why}", field=field)
    if len(text) > limit:
        raise InvalidContactError(
            f"the {field} is {len(text)} characters long: at most {limit}",
            field=field,
            limit=limit,
        )
    return text


def check_name(value: str | None) -> str:
    name = _text(value or "", "name", MAX_NAME_CHARS)
    if not name:
        raise InvalidContactError("the name is empty: a contact needs a name", field="name")
    return name


def check_company(value: str | None) -> str | None:
    return None if value is None else _text(value, "company", MAX_COMPANY_CHARS) or None


def check_email(value: str | None) -> str | None:
    email = _text(value, "email", MAX_EMAIL_CHARS) if value is not None else ""
    if not email:
        return None
    if not _EMAIL.fullmatch(email):
        raise InvalidContactError(
            f"{email!r} is not an e-mail address (like name@example.com)", field="email"
        )
    return email


def check_notes(value: str | None) -> str | None:
    return None if value is None else _text(value, "notes", MAX_NOTES_CHARS, lines=True) or None

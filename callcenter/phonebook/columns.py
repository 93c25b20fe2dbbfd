"""Which column of an imported file is which field, by its header: the names spreadsheets and
CRM exports commonly use, in English and Russian, in any case and spacing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.phonebook.errors import ImportColumnsError, InvalidContactError
from callcenter.phonebook.numbers import parse_phone

__all__ = [
    "FIELDS",
    "HEADER_SEARCH_ROWS",
    "REQUIRED_FIELDS",
    "ColumnMap",
    "find_header",
    "header_key",
    "map_columns",
]

FIELDS = ("phone", "name", "company", "email", "notes")
# A report exported from a CRM or typed in Excel often has a title (and a date, a blank line)
# above the header: the header is the first of these rows that names a phone and a name column.
HEADER_SEARCH_ROWS = 10
REQUIRED_FIELDS = ("phone", "name")

_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone", "phone number", "phone no", "phones", "number", "tel", "telephone", "mobile",
        "mobile phone", "cell", "cell phone", "msisdn", "phone 1 value",  # Google Contacts
        "телефон", "номер", "номер телефона", "тел", "моб", "мобильный", "мобильный телефон",
        "сотовый", "контактный телефон",
    ),
    "name": (
        "name", "full name", "fullname", "contact", "contact name", "display name", "client",
        "customer",
        "имя", "фио", "ф и о", "полное имя", "контакт", "имя контакта", "клиент",  # noqa: RUF001
    ),
    "company": (
        "company", "company name", "organization", "organisation", "org", "account",
        "organization name", "organization 1 name",
        "организация", "компания", "фирма", "название компании", "название организации",
    ),
    "email": (
        "email", "e mail", "mail", "email address", "e mail address", "e mail 1 value",
        "почта", "электронная почта", "эл почта", "адрес электронной почты",
    ),
    "notes": (
        "notes", "note", "comment", "comments", "remark", "remarks", "description",
        "примечание", "примечания", "комментарий", "комментарии", "заметка", "заметки",
        "описание",
    ),
}  # fmt: skip


def header_key(text: str) -> str:
    """A header as compared with the aliases: "E-Mail:", "e_mail" and " E MAIL " are one."""
    folded = text.replace("\ufeff", "").casefold().replace("\u0451", "\u0435")  # yo -> ie
    return re.sub(r"[\s_\-.]+", " ", folded).strip(" :*")


_FIELD_OF = {header_key(alias): f for f, aliases in _ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class ColumnMap:
    """Field name → the column's index and its header as written in the file."""

    index: dict[str, int]
    header: dict[str, str]
    ignored: tuple[str, ...]  # headers that are no field, as written


def map_columns(cells: list[str]) -> ColumnMap:
    """The fields of a header row; ``ImportColumnsError`` without a phone or a name column, or
    with two columns of the same field."""
    index: dict[str, int] = {}
    header: dict[str, str] = {}
    ignored: list[str] = []
    for position, text in enumerate(cells):
        field = _FIELD_OF.get(header_key(text))
        if field is None:
            if text:
                ignored.append(text)
            continue
        if field in index:
            raise ImportColumnsError(
                f"columns {header[field]!r} and {text!r} both look like the {field}: "
                "rename or remove one of them",
                field=field,
                columns=[header[field], text],
            )
        index[field] = position
        header[field] = text
    missing = [f for f in REQUIRED_FIELDS if f not in index]
    if missing:
        found = ", ".join(repr(c) for c in cells if c) or "nothing"
        hint = (
            " (it looks like a contact: add a header row above it)"
            if any(_is_phone(c) for c in cells)
            else ""
        )
        raise ImportColumnsError(
            f"the header row must name the columns; no {' and no '.join(missing)} column among "
            f"{found}{hint}. Headers understood: phone (or tel, телефон), name (or full name, "
            "имя, фио), company, email, notes",
            missing=missing,
            found=[c for c in cells if c],
        )
    return ColumnMap(index=index, header=header, ignored=tuple(ignored))


def find_header(rows: Sequence[list[str]]) -> tuple[int, ColumnMap]:
    """The index of the header among the first ``HEADER_SEARCH_ROWS`` rows, and its columns;
    the error about the first row when none of them is a header."""
    first_error: ImportColumnsError | None = None
    for position, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        try:
            return position, map_columns(cells)
        except ImportColumnsError as exc:
            first_error = first_error or exc
    assert first_error is not None, "no rows to find a header in"
    raise first_error


def _is_phone(text: str) -> bool:
    try:
        parse_phone(text)
    except InvalidContactError:
        return False
    return True

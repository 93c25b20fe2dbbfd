"""The phone book exported to CSV, and read back by the import as it was."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from sqlalchemy import Engine

from callcenter.phonebook import (
    InvalidQueryError,
    NewContact,
    create_contact,
    export_csv,
    import_contacts,
    list_contacts,
)


def _rows(data: bytes, delimiter: str = ",") -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


@pytest.fixture
def book(db: Engine) -> Engine:
    for phone, name, company, notes in [
        ("+7 495 123-45-67", "Иван Петров", "ИП «Ромашка»", "two\nlines"),
        ("101", '=HYPERLINK("http://evil")', "-minus", None),
        ("102", "Anna; the boss", None, None),
    ]:
        create_contact(
            db,
            tenant="acme",
            contact=NewContact(phone=phone, name=name, company=company, notes=notes),
        )
    create_contact(db, tenant="globex", contact=NewContact(phone="103", name="Not ours"))
    return db


def test_the_export_has_the_columns_of_the_import_in_name_order(book: Engine) -> None:
    rows = _rows(export_csv(book, tenant="acme"))
    assert rows[0] == ["phone", "name", "company", "email", "notes"]
    assert rows[1:] == [
        ["101", '\'=HYPERLINK("http://evil")', "'-minus", "", ""],  # no formula runs
        ["102", "Anna; the boss", "", "", ""],
        ["+74951234567", "Иван Петров", "ИП «Ромашка»", "", "two\nlines"],
    ]


def test_the_export_of_a_search_with_semicolons(book: Engine) -> None:
    rows = _rows(export_csv(book, tenant="acme", search="495", delimiter=";"), ";")
    assert [r[1] for r in rows[1:]] == ["Иван Петров"]
    with pytest.raises(InvalidQueryError):
        export_csv(book, tenant="acme", delimiter="|")


def test_an_exported_book_imports_into_another_tenant_as_it_was(book: Engine) -> None:
    for delimiter in (",", ";", "\t"):
        tenant = f"copy{ord(delimiter)}"
        result = import_contacts(
            book, tenant=tenant, data=export_csv(book, tenant="acme", delimiter=delimiter)
        )
        assert (result.created, result.delimiter) == (3, delimiter)

        def fields(t: str) -> list[tuple[object, ...]]:
            return [
                (c.phone, c.name, c.company, c.email, c.notes)
                for c in list_contacts(book, tenant=t).items
            ]

        assert fields(tenant) == fields("acme")

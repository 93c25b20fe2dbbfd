"""Headers of imported files mapped to the contact's fields (no database)."""

from __future__ import annotations

import pytest

from callcenter.phonebook.columns import find_header, map_columns
from callcenter.phonebook.errors import ImportColumnsError
from callcenter.phonebook.fields import NewContact


@pytest.mark.parametrize(
    ("headers", "fields"),
    [
        (["Phone", "Name", "Company", "Email", "Notes"],
         ["phone", "name", "company", "email", "notes"]),
        (["TEL.", "Full_Name", "Organisation", "E-Mail:", "Comment"],
         ["phone", "name", "company", "email", "notes"]),
        (["Номер телефона", "ФИО", "Организация", "Эл. почта", "Примечание"],
         ["phone", "name", "company", "email", "notes"]),
        (["\ufeffТелефон", "Имя", "Фирма", "Почта", "Комментарий"],  # noqa: RUF001
         ["phone", "name", "company", "email", "notes"]),
        (["Name", "Phone 1 - Value", "E-mail 1 - Value", "Organization Name"],
         ["name", "phone", "email", "company"]),  # Google Contacts
        (["number", "contact", "", "Birthday"], ["phone", "name"]),
    ],
)  # fmt: skip
def test_common_headers_are_understood(headers: list[str], fields: list[str]) -> None:
    columns = map_columns(headers)
    assert sorted(columns.index.items(), key=lambda kv: kv[1]) == [
        (field, headers.index(text)) for field, text in zip(fields, headers, strict=False)
    ]
    assert columns.header["phone"] == headers[columns.index["phone"]]


def test_headers_that_are_no_field_are_listed_as_ignored() -> None:
    assert map_columns(["id", "phone", "name", "", "Birthday"]).ignored == ("id", "Birthday")


def test_the_header_is_found_below_a_title_and_not_past_ten_rows() -> None:
    rows = [["Customers, March"], ["2026-03-01"], ["Phone", "Name"], ["101", "x"]]
    position, columns = find_header(rows)
    assert (position, columns.index) == (2, {"phone": 0, "name": 1})
    with pytest.raises(ImportColumnsError, match="'title'"):
        find_header([["title"]] * 10 + [["phone", "name"]])


def test_a_phone_given_as_a_json_number_is_its_digits() -> None:
    contact = NewContact.model_validate({"phone": 74951234567, "name": "Ivan"})
    assert contact.phone == "74951234567"

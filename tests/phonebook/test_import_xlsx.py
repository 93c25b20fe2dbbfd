"""Importing a phone book from an Excel workbook (built here with openpyxl) on PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import Engine

from callcenter.phonebook import (
    ImportColumnsError,
    ImportEmptyError,
    ImportRowsError,
    ImportTooLargeError,
    ImportUnreadableError,
    RowError,
    find_caller,
    import_contacts,
    list_contacts,
)
from tests.phonebook.files import count, csv_bytes, xlsx_bytes


def test_a_workbook_is_imported_with_numbers_typed_as_numbers(db: Engine) -> None:
    data = xlsx_bytes(
        [
            ["Телефон", "Имя", "Компания", "Email", "Примечание"],
            [74951234567, "Иван", "Ромашка", "ivan@roga.ru", None],  # an int cell
            [78125550102.0, "Anna", None, None, "since 2020"],  # a float cell
            ["+7 (383) 000-00-01", "Boris", None, None, None],
        ]
    )
    result = import_contacts(db, tenant="acme", data=data, filename="Контакты.xlsx")
    assert (result.created, result.file_format, result.encoding, result.delimiter) == (
        3,
        "xlsx",
        None,
        None,
    )
    ivan = find_caller(db, tenant="acme", number="+74951234567")
    assert ivan is not None and (ivan.name, ivan.company, ivan.email) == (
        "Иван",
        "Ромашка",
        "ivan@roga.ru",
    )
    anna = find_caller(db, tenant="acme", number="78125550102")
    assert anna is not None and anna.phone == "78125550102" and anna.notes == "since 2020"
    assert find_caller(db, tenant="acme", number="73830000001") is not None


def test_a_title_above_the_header_is_skipped(db: Engine) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["A1"] = "Our customers"
    sheet["A2"] = date(2026, 3, 1)
    sheet["B4"], sheet["C4"] = "Name", "Phone"  # the header, starting in column B
    sheet["B5"], sheet["C5"] = "Ivan", "101"
    sheet["B7"], sheet["C7"] = "", "102"  # row 7 as Excel shows it
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=out.getvalue(), filename="b.xlsx")
    assert info.value.rows == (RowError(7, "Name", "the name is empty: a contact needs a name"),)
    sheet["B7"] = "Anna"
    out = io.BytesIO()
    book.save(out)
    result = import_contacts(db, tenant="acme", data=out.getvalue(), filename="b.xlsx")
    assert (result.header_row, result.created) == (4, 2)


def test_a_bad_row_is_named_as_excel_numbers_it(db: Engine) -> None:
    data = xlsx_bytes(
        [
            ["phone", "name", "email"],
            ["101", "Desk", None],
            [None, None, None],  # a blank row still has its number
            ["102", None, "not-an-email"],
            [date(2024, 1, 2), "Dated", None],  # a date typed into the phone column
        ]
    )
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=data, filename="b.xlsx")
    assert [(e.row, e.column) for e in info.value.rows] == [
        (4, "name"),
        (4, "email"),
        (5, "phone"),
    ]
    assert info.value.rows[2] == RowError(
        5,
        "phone",
        "'2024-01-02T00:00:00' is not a phone number: use digits, optionally a leading + "
        "(spaces, dashes, brackets and dots are allowed)",
    )
    assert count(db) == 0


def test_duplicates_and_missing_columns_in_a_workbook(db: Engine) -> None:
    twice = xlsx_bytes([["phone", "name"], [74951234567, "a"], ["+7 495 123 45 67", "b"]])
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=twice, filename="b.xlsx")
    assert "rows 2 and 3" in info.value.rows[0].message
    no_name = xlsx_bytes([["phone", "company"], [101, "x"]])
    with pytest.raises(ImportColumnsError, match="no name column"):
        import_contacts(db, tenant="acme", data=no_name, filename="b.xlsx")


def test_the_first_sheet_is_read(db: Engine) -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["phone", "name"])
    first.append(["101", "From the first sheet"])
    second = book.create_sheet("Other")
    second.append(["phone", "name"])
    second.append(["102", "From the second"])
    out = io.BytesIO()
    book.save(out)
    import_contacts(db, tenant="acme", data=out.getvalue(), filename="b.xlsx")
    assert [c.name for c in list_contacts(db, tenant="acme").items] == ["From the first sheet"]


def test_an_empty_workbook_is_empty(db: Engine) -> None:
    with pytest.raises(ImportEmptyError, match="no rows"):
        import_contacts(db, tenant="acme", data=xlsx_bytes([]), filename="b.xlsx")
    with pytest.raises(ImportEmptyError, match="no contacts"):
        import_contacts(db, tenant="acme", data=xlsx_bytes([["phone", "name"]]), filename="b.xlsx")


def test_too_many_rows_in_a_workbook(db: Engine) -> None:
    data = xlsx_bytes([["phone", "name"]] + [[100 + i, "x"] for i in range(11)])
    with pytest.raises(ImportTooLargeError, match="more than 10 contacts"):
        import_contacts(db, tenant="acme", data=data, filename="b.xlsx", max_rows=10)


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def _damaged_sheet() -> bytes:
    """A real workbook whose sheet XML is cut in the middle."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["phone", "name"], ["101", "x"]])))
    files = {name: source.read(name) for name in source.namelist()}
    sheet = files["xl/worksheets/sheet1.xml"]
    files["xl/worksheets/sheet1.xml"] = sheet[: len(sheet) // 2]
    return _zip(files)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_bytes([["phone", "name"], ["101", "x"]]), "not an Excel workbook"),
        (b"PK\x03\x04 but not really a zip", "cannot be read as an Excel workbook"),
        (_zip({"readme.txt": b"hello"}), "cannot be read as an Excel workbook"),
        (xlsx_bytes([["phone", "name"], ["101", "x"]])[:-200], "cannot be read as an Excel"),
    ],
    ids=["csv-named-xlsx", "zip-magic-only", "zip-not-xlsx", "truncated"],
)
def test_a_file_named_xlsx_that_is_not_a_workbook(db: Engine, data: bytes, message: str) -> None:
    with pytest.raises(ImportUnreadableError, match=message) as info:
        import_contacts(db, tenant="acme", data=data, filename="book.xlsx")
    assert info.value.error_id == "import-file-unreadable"
    assert count(db) == 0


def test_a_workbook_with_a_damaged_sheet(db: Engine) -> None:
    with pytest.raises(ImportUnreadableError, match=r"damaged|cannot be read"):
        import_contacts(db, tenant="acme", data=_damaged_sheet(), filename="book.xlsx")


def test_a_workbook_without_a_name_is_known_by_its_bytes(db: Engine) -> None:
    data = xlsx_bytes([["phone", "name"], ["101", "Desk"]])
    assert import_contacts(db, tenant="acme", data=data).file_format == "xlsx"
    with pytest.raises(ImportUnreadableError, match="ZIP archive"):
        import_contacts(db, tenant="acme", data=data, filename="book.csv")

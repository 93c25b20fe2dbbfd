"""Importing a phone book from CSV on PostgreSQL: encodings and delimiters as spreadsheets
write them, all or nothing, a report that names the row and the column, files that are not
CSV at all."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from callcenter.phonebook import (
    ContactChanges,
    ImportColumnsError,
    ImportEmptyError,
    ImportFileError,
    ImportFormatError,
    ImportMode,
    ImportRowsError,
    ImportTooLargeError,
    ImportUnreadableError,
    InvalidQueryError,
    NewContact,
    RowError,
    create_contact,
    find_caller,
    get_contact,
    import_contacts,
    list_contacts,
    update_contact,
)
from tests.phonebook.files import count, csv_bytes

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HEADER = ["phone", "name", "company", "email", "notes"]


def names(engine: Engine, tenant: str = "acme") -> list[str]:
    return [c.name for c in list_contacts(engine, tenant=tenant, limit=500).items]


def test_a_good_file_is_imported(db: Engine) -> None:
    data = csv_bytes(
        [
            HEADER,
            ["+7 (495) 123-45-67", "Ivan Petrov", "Roga", "ivan@roga.ru", "VIP"],
            ["8 812 555 01 02", "Anna", "", "", ""],
        ]
    )
    result = import_contacts(db, tenant="acme", data=data, filename="book.csv", at=T0)
    assert (result.created, result.updated, result.file_format) == (2, 0, "csv")
    assert (result.encoding, result.delimiter, result.ignored_columns) == ("utf-8", ",", ())
    assert result.header_row == 1
    card = find_caller(db, tenant="acme", number="74951234567")
    assert card is not None
    assert (card.phone, card.name, card.company, card.email, card.notes) == (
        "+74951234567",
        "Ivan Petrov",
        "Roga",
        "ivan@roga.ru",
        "VIP",
    )
    assert card.created_at == T0
    anna = find_caller(db, tenant="acme", number="88125550102")
    assert anna is not None and (anna.company, anna.email, anna.notes) == (None, None, None)
    assert count(db, "globex") == 0


def test_cp1251_with_semicolons_and_russian_headers(db: Engine) -> None:
    # What Excel on a Russian Windows saves as "CSV (разделители - запятые)".
    data = csv_bytes(
        [["Телефон", "ФИО", "Организация", "E-mail", "Комментарий"],
         ["+7 495 123-45-67", "Семёнов Пётр", "ИП «Ромашка»", "petr@romashka.ru", "звонить утром"]],
        delimiter=";",
        encoding="cp1251",
    )  # fmt: skip
    result = import_contacts(db, tenant="acme", data=data, filename="контакты.csv")
    assert (result.created, result.encoding, result.delimiter) == (1, "cp1251", ";")
    card = find_caller(db, tenant="acme", number="+74951234567")
    assert card is not None
    assert (card.name, card.company, card.notes) == (
        "Семёнов Пётр",
        "ИП «Ромашка»",
        "звонить утром",
    )


def test_utf8_with_a_bom_and_tabs(db: Engine) -> None:
    data = codecs.BOM_UTF8 + csv_bytes(
        [["Name", "Phone Number"], ["Łukasz Żółć", "+48 22 123 45 67"]], delimiter="\t"
    )
    result = import_contacts(db, tenant="acme", data=data, filename="export.tsv")
    assert (result.encoding, result.delimiter) == ("utf-8-sig", "\t")
    card = find_caller(db, tenant="acme", number="48221234567")
    assert card is not None and card.name == "Łukasz Żółć"  # the BOM is not in the header


def test_utf16_as_excel_saves_unicode_text(db: Engine) -> None:
    data = csv_bytes([["Phone", "Name"], ["101", "Приёмная"]], delimiter="\t", encoding="utf-16")
    result = import_contacts(db, tenant="acme", data=data, filename="book.txt")
    assert (result.created, result.encoding) == (1, "utf-16")
    assert names(db) == ["Приёмная"]


def test_quoted_cells_with_delimiters_and_line_breaks(db: Engine) -> None:
    data = (
        b'phone,name,notes\r\n'
        b'101,"Desk, front","first line\r\nsecond line"\r\n'
        b'102,"Say ""hi""",\r\n'
        b'103,"Bad\nname",\r\n'
    )  # fmt: skip
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=data, filename="b.csv")
    # The quoted line break keeps the quoted record one row: the bad row is the 4th.
    assert info.value.rows == (
        RowError(4, "name", "the name has a line break: the name must be one line"),
    )
    good = data.replace(b'"Bad\nname"', b"Bad name")
    import_contacts(db, tenant="acme", data=good, filename="b.csv")
    desk = find_caller(db, tenant="acme", number="101")
    assert desk is not None and (desk.name, desk.notes) == (
        "Desk, front",
        "first line\nsecond line",
    )
    assert names(db) == ["Bad name", "Desk, front", 'Say "hi"']


def test_unknown_columns_are_ignored_and_told(db: Engine) -> None:
    data = csv_bytes([["ID", "Name", "Tel.", "Birthday", ""], ["1", "Ivan", "101", "1990", ""]])
    result = import_contacts(db, tenant="acme", data=data, filename="b.csv")
    assert result.ignored_columns == ("ID", "Birthday")
    assert names(db) == ["Ivan"]


def test_blank_lines_are_skipped_and_still_counted_as_rows(db: Engine) -> None:
    data = b"\r\n\r\nphone,name\r\n\r\n101,Desk\r\n,\r\n102,\r\n"
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=data, filename="b.csv")
    assert info.value.rows == (RowError(7, "name", "the name is empty: a contact needs a name"),)


def test_a_bad_row_in_the_middle_writes_nothing_and_is_named(db: Engine) -> None:
    rows = [["Phone", "Name", "E-mail"]]
    rows += [[f"+7495000{i:04d}", f"Contact {i}", f"c{i}@example.com"] for i in range(1, 100)]
    rows[50] = ["+7495000005O", "Contact 50", "c50-at-example.com"]  # letter O, not zero
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=csv_bytes(rows), filename="b.csv")
    error = info.value
    assert error.error_id == "import-rows-invalid"
    assert [(e.row, e.column) for e in error.rows] == [(51, "Phone"), (51, "E-mail")]
    assert "is not a phone number" in error.rows[0].message
    assert "not an e-mail address" in error.rows[1].message
    assert error.message.startswith("nothing was imported: row 51, column 'Phone': ")
    assert "(and 1 more)" in error.message
    assert error.details["error_count"] == 2
    assert error.details["errors"][0] == {
        "row": 51,
        "column": "Phone",
        "message": error.rows[0].message,
    }
    assert count(db) == 0


def test_a_number_twice_in_the_file_is_an_error_of_the_second_row(db: Engine) -> None:
    data = csv_bytes(
        [["phone", "name"], ["+7 495 123-45-67", "Ivan"], ["102", "Desk"], ["74951234567", "Vanya"]]
    )
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=data, filename="b.csv", mode="upsert")
    assert info.value.rows == (
        RowError(4, "phone", "74951234567 is in the file twice: rows 2 and 4"),
    )
    assert count(db) == 0


def test_create_mode_refuses_a_number_the_book_has(db: Engine) -> None:
    create_contact(db, tenant="acme", contact=NewContact(phone="+74951234567", name="Ivan"))
    data = csv_bytes([["phone", "name"], ["102", "Desk"], ["7 495 123 45 67", "Vanya"]])
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=data, filename="b.csv", mode=ImportMode.CREATE)
    (error,) = info.value.rows
    assert (error.row, error.column) == (3, "phone")
    assert "already in the phone book (Ivan): import in upsert mode" in error.message
    assert names(db) == ["Ivan"]  # the good row is not written either


def test_upsert_updates_the_cards_it_has_and_adds_the_rest(db: Engine) -> None:
    ivan = create_contact(
        db,
        tenant="acme",
        contact=NewContact(phone="74951234567", name="Ivan", company="Roga", notes="keep me"),
        at=T0,
    )
    later = datetime(2026, 3, 3, tzinfo=UTC)
    # No notes column: the notes stay; an empty company cell clears the company.
    data = csv_bytes([["phone", "name", "company"], ["+7 495 1234567", "Ivan Petrov", ""],
                      ["102", "Desk", "Acme"]])  # fmt: skip
    result = import_contacts(
        db, tenant="acme", data=data, filename="b.csv", mode="upsert", at=later
    )
    assert (result.created, result.updated) == (1, 1)
    card = get_contact(db, tenant="acme", contact_id=ivan.id)
    assert (card.phone, card.name, card.company, card.notes) == (
        "+74951234567",
        "Ivan Petrov",
        None,
        "keep me",
    )
    assert (card.created_at, card.updated_at) == (T0, later)
    # The search text follows the card's values, kept ones included.
    assert names(db) == ["Desk", "Ivan Petrov"]
    assert [c.name for c in list_contacts(db, tenant="acme", search="petrov").items] == [
        "Ivan Petrov"
    ]


def test_upsert_keeps_the_company_when_the_file_has_no_such_column(db: Engine) -> None:
    ivan = create_contact(
        db, tenant="acme", contact=NewContact(phone="74951234567", name="Ivan", company="Roga")
    )
    data = csv_bytes([["phone", "name"], ["74951234567", "Ivan P."]])
    import_contacts(db, tenant="acme", data=data, filename="b.csv", mode="upsert")
    assert get_contact(db, tenant="acme", contact_id=ivan.id).company == "Roga"
    assert [c.name for c in list_contacts(db, tenant="acme", search="roga").items] == ["Ivan P."]


def test_an_import_never_touches_another_tenant(db: Engine) -> None:
    theirs = create_contact(
        db, tenant="globex", contact=NewContact(phone="74951234567", name="Globex Ivan")
    )
    data = csv_bytes([["phone", "name"], ["74951234567", "Acme Ivan"]])
    assert import_contacts(db, tenant="acme", data=data, filename="b.csv").created == 1
    assert (
        import_contacts(db, tenant="acme", data=data, filename="b.csv", mode="upsert").updated == 1
    )
    assert get_contact(db, tenant="globex", contact_id=theirs.id).name == "Globex Ivan"
    assert (count(db, "acme"), count(db, "globex")) == (1, 1)


def test_the_export_protection_of_formulas_is_taken_off(db: Engine) -> None:
    data = csv_bytes([["phone", "name", "company"], ["101", "'=Boss", "'+Plus"]])
    import_contacts(db, tenant="acme", data=data, filename="b.csv")
    card = find_caller(db, tenant="acme", number="101")
    assert card is not None and (card.name, card.company) == ("=Boss", "+Plus")


def test_an_update_after_an_import_works_on_the_imported_card(db: Engine) -> None:
    import_contacts(db, tenant="acme", data=csv_bytes([["phone", "name"], ["101", "Desk"]]))
    card = find_caller(db, tenant="acme", number="101")
    assert card is not None
    update_contact(db, tenant="acme", contact_id=card.id, changes=ContactChanges(phone="102"))
    assert find_caller(db, tenant="acme", number="102") is not None


# Files that cannot be imported --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", ImportEmptyError, "the file is empty"),
        (b"  \r\n\r\n", ImportEmptyError, "the file is empty"),
        (b"phone,name\r\n", ImportEmptyError, r"a header \(row 1\) and no contacts"),
        (b"phone,name\r\n,\r\n,,\r\n", ImportEmptyError, "no contacts"),
        (b"name,company\r\nIvan,Roga\r\n", ImportColumnsError, "no phone column"),
        (b"phone\r\n101\r\n", ImportColumnsError, "no name column"),
        (b"id;notes\r\n1;x\r\n", ImportColumnsError, "no phone and no name column"),
        (b"74951234567,Ivan\r\n", ImportColumnsError, "looks like a contact: add a header row"),
        (b"phone,tel,name\r\n1,2,x\r\n", ImportColumnsError, "'phone' and 'tel' both"),
        (b"phone,name\r\n\x00\x01\x02\x03", ImportUnreadableError, "binary"),
        (b"phone,name\r\n101,\x98\r\n", ImportUnreadableError, "utf-8, cp1251"),
        (b"\xef\xbb\xbfphone,name\r\n101,\xff\r\n", ImportUnreadableError, "utf-8-sig"),
        (b"PK\x03\x04 zipped", ImportUnreadableError, "ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old", ImportFormatError, r"old Excel workbook"),
        (
            b'phone,name\r\n101,"' + b"x" * 200_000 + b'"\r\n',
            ImportUnreadableError,
            "cannot be read past row 2",
        ),
    ],
)
def test_a_file_that_cannot_be_imported_says_why(
    db: Engine, data: bytes, error: type[ImportFileError], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        import_contacts(db, tenant="acme", data=data, filename="book.csv")
    assert isinstance(info.value, ImportFileError)
    assert info.value.error_id.startswith("import-")
    assert count(db) == 0


@pytest.mark.parametrize(
    ("filename", "file_format", "message"),
    [
        ("book.xls", None, r"old Excel workbook \(.xls\)"),
        ("book.pdf", None, "only CSV and XLSX"),
        ("book.csv", "ods", "format 'ods' cannot be imported"),
    ],
)
def test_formats_other_than_csv_and_xlsx_are_refused(
    db: Engine, filename: str, file_format: str | None, message: str
) -> None:
    with pytest.raises(ImportFormatError, match=message) as info:
        import_contacts(
            db, tenant="acme", data=b"phone,name\r\n101,x\r\n", filename=filename,
            file_format=file_format,
        )  # fmt: skip
    assert info.value.error_id == "import-format-unsupported"


def test_the_format_asked_for_wins_over_the_name_and_none_needs_no_name(db: Engine) -> None:
    data = b"phone,name\r\n101,Desk\r\n"
    assert (
        import_contacts(db, tenant="acme", data=data, filename="x.xlsx", file_format="CSV").created
        == 1
    )
    assert import_contacts(db, tenant="b", data=data).file_format == "csv"
    assert import_contacts(db, tenant="c", data=data, filename="upload.bin").created == 1


def test_an_unknown_mode_is_refused(db: Engine) -> None:
    with pytest.raises(InvalidQueryError, match="mode 'merge' is unknown"):
        import_contacts(db, tenant="acme", data=b"phone,name\r\n101,x\r\n", mode="merge")


def test_too_many_rows_are_refused_before_anything_is_checked(db: Engine) -> None:
    rows = [["phone", "name"]] + [[f"7495{i:07d}", "x"] for i in range(100_001)]
    with pytest.raises(ImportTooLargeError, match="more than 100000 contacts") as info:
        import_contacts(db, tenant="acme", data=csv_bytes(rows), filename="big.csv")
    assert info.value.details["limit"] == 100_000
    assert count(db) == 0


def test_the_row_limit_counts_contacts_not_the_header_or_blank_rows(db: Engine) -> None:
    data = csv_bytes([["phone", "name"], ["101", "a"], [","], ["102", "b"]])
    assert import_contacts(db, tenant="acme", data=data, max_rows=2).created == 2
    with pytest.raises(ImportTooLargeError, match="more than 1 contacts"):
        import_contacts(db, tenant="other", data=data, max_rows=1)


def test_a_file_over_the_size_limit_is_refused(db: Engine) -> None:
    data = csv_bytes([["phone", "name"], ["101", "a" * 100]])
    with pytest.raises(ImportTooLargeError, match=r"the file is \d+ bytes: at most 100 bytes"):
        import_contacts(db, tenant="acme", data=data, max_bytes=100)


def test_the_report_lists_the_first_thousand_problems_and_counts_them_all(db: Engine) -> None:
    rows = [["phone", "name"]] + [["12", ""] for _ in range(600)]
    with pytest.raises(ImportRowsError) as info:
        import_contacts(db, tenant="acme", data=csv_bytes(rows))
    assert len(info.value.rows) == 1200
    assert info.value.details["error_count"] == 1200
    assert len(info.value.details["errors"]) == 1000
    assert info.value.details["truncated"] is True

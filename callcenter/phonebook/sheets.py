"""Rows of text out of an uploaded CSV or XLSX file, whatever spreadsheet program wrote it.

No database and no contacts here: bytes in, numbered rows of cell texts out, or an
``ImportFileError`` that says what is wrong with the file. Rows are numbered as a spreadsheet
shows them (blank rows count), so an error report points at the row a person sees.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

import openpyxl

from callcenter.phonebook.errors import (
    ImportEmptyError,
    ImportFormatError,
    ImportTooLargeError,
    ImportUnreadableError,
)

__all__ = ["FileFormat", "Sheet", "SheetRow", "read_sheet"]

FileFormat = Literal["csv", "xlsx"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls (and .doc) files
_EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
}  # fmt: skip
# Files people pick by mistake, refused by name; any other name is judged by its bytes.
_NOT_TABLES = frozenset(
    {".pdf", ".doc", ".docx", ".odt", ".ods", ".numbers", ".xlsb", ".vcf", ".json", ".xml",
     ".zip", ".rtf", ".png", ".jpg", ".jpeg"}
)  # fmt: skip
_DELIMITERS = (",", ";", "\t")
_SAVE_AS = "save it from the spreadsheet as .xlsx or CSV"


@dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet shows it: the first line is row 1
    cells: list[str]  # stripped texts; empty string for an empty cell


@dataclass(frozen=True)
class Sheet:
    format: FileFormat
    rows: list[SheetRow] = field(repr=False)  # blank rows left out (their numbers are skipped)
    encoding: str | None = None  # CSV only
    delimiter: str | None = None  # CSV only


def read_sheet(
    data: bytes,
    *,
    filename: str | None = None,
    file_format: str | None = None,
    max_bytes: int,
    max_contacts: int,
) -> Sheet:
    """The non-blank rows of the file: a header and at most ``max_contacts`` rows under it,
    else ``ImportTooLargeError`` (raised as soon as the row after the last allowed is read).

    The format is ``file_format`` when given, else the file name's extension, else what the
    bytes look like (an XLSX is a ZIP archive).
    """
    if len(data) > max_bytes:
        raise ImportTooLargeError(
            f"the file is {_size(len(data))}: at most {_size(max_bytes)} can be imported at once;"
            " split it",
            limit=max_bytes,
            size=len(data),
        )
    if not data.strip():
        raise ImportEmptyError("the file is empty: it needs a header row and contacts under it")
    kind = _format(data, filename, file_format)
    if kind == "xlsx":
        return Sheet("xlsx", _xlsx_rows(data, max_contacts + 1))
    text, encoding = _decode(data)
    delimiter = _delimiter(text)
    return Sheet("csv", _csv_rows(text, delimiter, max_contacts + 1), encoding, delimiter)


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MB" if count >= 1_048_576 else f"{count} bytes"


def _format(data: bytes, filename: str | None, file_format: str | None) -> FileFormat:
    if file_format is not None:
        asked = file_format.strip().lower().lstrip(".")
        if asked not in ("csv", "xlsx"):
            raise ImportFormatError(
                f"format {file_format!r} cannot be imported: CSV or XLSX", format=file_format
            )
        kind: FileFormat = "csv" if asked == "csv" else "xlsx"
    else:
        extension = os.path.splitext(filename or "")[1].lower()
        if extension == ".xls":
            raise ImportFormatError(f"{filename} is an old Excel workbook (.xls): {_SAVE_AS}")
        if extension in _NOT_TABLES:
            raise ImportFormatError(
                f"{filename} cannot be imported: only CSV and XLSX files can", filename=filename
            )
        # No or an unknown extension: go by the bytes.
        kind = _EXTENSIONS.get(extension) or ("xlsx" if data.startswith(_ZIP_MAGIC) else "csv")
    if data.startswith(_OLE_MAGIC):
        raise ImportFormatError(f"the file is an old Excel workbook (.xls): {_SAVE_AS}")
    if kind == "xlsx" and not data.startswith(_ZIP_MAGIC):
        raise ImportUnreadableError(
            "the file is not an Excel workbook (an .xlsx file is a ZIP archive; this is not one):"
            f" {_SAVE_AS}"
        )
    if kind == "csv" and data.startswith(_ZIP_MAGIC):
        raise ImportUnreadableError(
            "the file is a ZIP archive (an Excel workbook?), not a CSV text: import it as XLSX"
        )
    return kind


# XLSX ----------------------------------------------------------------------------------------


def _xlsx_rows(data: bytes, max_rows: int) -> list[SheetRow]:
    # openpyxl raises a zoo of exceptions on broken files (BadZipFile, KeyError for a missing
    # part, XML parse errors, ValueError, TypeError): whatever it raises means "unreadable".
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportUnreadableError(
            f"the file cannot be read as an Excel workbook ({_reason(exc)}): {_SAVE_AS}"
        ) from exc
    try:
        if not book.worksheets:
            raise ImportEmptyError("the workbook has no worksheet")
        sheet = book.worksheets[0]
        # Some writers record a wrong used range, which read-only mode would trust and cut
        # rows off by; forgetting it makes openpyxl read every row there is.
        sheet.reset_dimensions()
        rows: list[SheetRow] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if any(cells):
                rows.append(SheetRow(number, cells))
                if len(rows) > max_rows:
                    raise _too_many_rows(max_rows)
        return rows
    except (ImportEmptyError, ImportTooLargeError):
        raise
    except Exception as exc:
        raise ImportUnreadableError(
            f"the workbook is damaged ({_reason(exc)}): {_SAVE_AS} again"
        ) from exc
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        # A phone typed into a number cell comes back as 74951234567.0.
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


# CSV -----------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: UTF-16 by its BOM (Excel's "Unicode text"), else
    UTF-8 (with or without a BOM), else Windows-1251 (Excel's CSV on a Russian Windows)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "cp1251"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise ImportUnreadableError(
                "the file is binary, not a CSV text: save it from the spreadsheet as CSV or XLSX"
            )
        return text, encoding
    raise ImportUnreadableError(
        f"the file's text is in none of {', '.join(candidates)}: save it as CSV UTF-8",
        tried=candidates,
    )


def _delimiter(text: str) -> str:
    """The one of , ; and tab the header line has most of (a header rarely holds them inside
    a name, unlike data rows); a comma when it has none (a one-column file)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(_DELIMITERS, key=header.count)


def _csv_rows(text: str, delimiter: str, max_rows: int) -> list[SheetRow]:
    rows: list[SheetRow] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for record in reader:
            number += 1  # a record with a quoted line break is one spreadsheet row
            cells = [cell.strip() for cell in record]
            if any(cells):
                rows.append(SheetRow(number, cells))
                if len(rows) > max_rows:
                    raise _too_many_rows(max_rows)
    except csv.Error as exc:
        raise ImportUnreadableError(
            f"the CSV cannot be read past row {number + 1} ({exc}): check its quotes",
            row=number + 1,
        ) from exc
    return rows


def _too_many_rows(max_rows: int) -> ImportTooLargeError:
    contacts = max_rows - 1  # max_rows counts the header too; the person counts contacts
    return ImportTooLargeError(
        f"the file has more than {contacts} contacts: split it into files of at most {contacts}",
        limit=contacts,
    )

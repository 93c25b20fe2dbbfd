"""A phone book imported from a CSV or XLSX file, all or nothing.

Every row is checked first (its fields, numbers repeated in the file, and in ``create`` mode
numbers the book has already); one problem anywhere and nothing is written, and the
``ImportRowsError`` lists every problem by row and column. A good file is written in one
transaction with multi-row INSERTs (SQLAlchemy's insertmanyvalues: a statement per 1000 rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from callcenter.db.models import Contact
from callcenter.db.types import dialect_insert, utc
from callcenter.phonebook.columns import FIELDS, ColumnMap, find_header
from callcenter.phonebook.errors import (
    ImportEmptyError,
    ImportRowsError,
    InvalidContactError,
    InvalidQueryError,
    PhoneTakenError,
    RowError,
)
from callcenter.phonebook.fields import (
    ContactValues,
    check_company,
    check_email,
    check_name,
    check_notes,
)
from callcenter.phonebook.formulas import restore_formula
from callcenter.phonebook.numbers import parse_phone
from callcenter.phonebook.sheets import SheetRow, read_sheet

__all__ = [
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "ImportMode",
    "ImportResult",
    "import_contacts",
]

MAX_IMPORT_ROWS = 100_000
MAX_IMPORT_BYTES = 20 * 1_048_576  # ~100 000 full rows of CSV; an XLSX of as many is smaller

# Numbers looked up per statement when checking which exist (well under any bind limit).
_LOOKUP_CHUNK = 5000
_CHECKS: dict[str, Any] = {
    "phone": parse_phone,
    "name": check_name,
    "company": check_company,
    "email": check_email,
    "notes": check_notes,
}


class ImportMode(StrEnum):
    CREATE = "create"  # a number the book has already is a row error
    UPSERT = "upsert"  # a number the book has already updates that card


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    header_row: int  # as the spreadsheet numbers it; rows above it (a title) were skipped
    file_format: str  # csv or xlsx
    encoding: str | None  # CSV: the encoding it was read in
    delimiter: str | None  # CSV: the delimiter found
    ignored_columns: tuple[str, ...]  # headers that are no contact field, as written


@dataclass(frozen=True)
class _FileContact:
    row: int
    values: ContactValues


def import_contacts(
    engine: Engine,
    *,
    tenant: str,
    data: bytes,
    filename: str | None = None,
    file_format: str | None = None,
    mode: ImportMode | str = ImportMode.CREATE,
    at: datetime | None = None,
    max_rows: int = MAX_IMPORT_ROWS,
    max_bytes: int = MAX_IMPORT_BYTES,
) -> ImportResult:
    """Import the contacts of a CSV or XLSX file (see the module's doc). The format is
    ``file_format`` ("csv" or "xlsx") when given, else the file name's, else the content's.

    In ``upsert`` mode a card that exists gets the file's values for the columns the file has;
    an empty cell clears that field. Raises an ``ImportFileError`` for the file as a whole,
    ``ImportRowsError`` for rows, ``InvalidQueryError`` for an unknown mode.
    """
    chosen = _mode(mode)
    sheet = read_sheet(
        data, filename=filename, file_format=file_format, max_bytes=max_bytes, max_contacts=max_rows
    )
    if not sheet.rows:
        raise ImportEmptyError("the file has no rows: it needs a header row and contacts under it")
    position, columns = find_header([row.cells for row in sheet.rows])
    header, body = sheet.rows[position], sheet.rows[position + 1 :]
    errors: list[RowError] = []
    contacts = _checked(body, columns, errors)
    if not contacts and not errors:
        raise ImportEmptyError(
            f"the file has a header (row {header.number}) and no contacts under it"
        )
    now = utc(at)
    with engine.begin() as conn:
        existing = _existing(conn, tenant, [c.values.phone.digits for c in contacts])
        if chosen is ImportMode.CREATE:
            errors.extend(
                RowError(
                    c.row,
                    columns.header["phone"],
                    f"{c.values.phone.shown} is already in the phone book "
                    f"({existing[c.values.phone.digits]['name']}): "
                    "import in upsert mode to update it",
                )
                for c in contacts
                if c.values.phone.digits in existing
            )
        if errors:
            errors.sort(key=lambda e: (e.row, _column_order(columns, e.column)))
            raise ImportRowsError(errors)
        rows = [_row_values(c.values, columns, existing, tenant, now) for c in contacts]
        if chosen is ImportMode.CREATE:
            _insert(conn, rows)
        else:
            _upsert(conn, rows)
    updated = sum(1 for c in contacts if c.values.phone.digits in existing)
    return ImportResult(
        created=len(contacts) - updated,
        updated=updated,
        header_row=header.number,
        file_format=sheet.format,
        encoding=sheet.encoding,
        delimiter=sheet.delimiter,
        ignored_columns=columns.ignored,
    )


def _mode(mode: ImportMode | str) -> ImportMode:
    try:
        return ImportMode(mode)
    except ValueError:
        raise InvalidQueryError(
            f"import mode {mode!r} is unknown: create or upsert", field="mode"
        ) from None


def _checked(
    body: list[SheetRow], columns: ColumnMap, errors: list[RowError]
) -> list[_FileContact]:
    """The rows' contacts, each checked; what is wrong goes to ``errors`` (numbers repeated in
    the file included: which of two cards is meant cannot be guessed)."""
    contacts: list[_FileContact] = []
    first_row_of: dict[str, int] = {}
    for row in body:
        cells = dict(_cells(row, columns))
        checked: dict[str, Any] = {}
        failed = False
        for field, check in _CHECKS.items():
            if field not in cells:  # not a column of the file (phone and name always are)
                checked[field] = None
                continue
            try:
                checked[field] = check(cells[field])
            except InvalidContactError as exc:
                errors.append(RowError(row.number, columns.header[field], exc.message))
                failed = True
        if failed:
            continue
        values = ContactValues(**checked)
        first = first_row_of.setdefault(values.phone.digits, row.number)
        if first != row.number:
            errors.append(
                RowError(
                    row.number,
                    columns.header["phone"],
                    f"{values.phone.shown} is in the file twice: rows {first} and {row.number}",
                )
            )
            continue
        contacts.append(_FileContact(row.number, values))
    return contacts


def _cells(row: SheetRow, columns: ColumnMap) -> Iterator[tuple[str, str]]:
    for field, position in columns.index.items():
        text = row.cells[position] if position < len(row.cells) else ""
        yield field, (text if field == "phone" else restore_formula(text))


def _column_order(columns: ColumnMap, header: str | None) -> int:
    for field, text in columns.header.items():
        if text == header:
            return columns.index[field]
    return -1


def _existing(conn: Connection, tenant: str, digits: list[str]) -> dict[str, dict[str, Any]]:
    """The tenant's cards among these numbers, by their digits."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(digits), _LOOKUP_CHUNK):
        chunk = digits[start : start + _LOOKUP_CHUNK]
        rows = conn.execute(
            select(
                Contact.phone_digits, Contact.name, Contact.company, Contact.email, Contact.notes
            ).where(Contact.tenant == tenant, Contact.phone_digits.in_(chunk))
        )
        for row in rows:
            found[row.phone_digits] = row._asdict()
    return found


def _row_values(
    values: ContactValues,
    columns: ColumnMap,
    existing: dict[str, dict[str, Any]],
    tenant: str,
    now: datetime,
) -> dict[str, Any]:
    """The row to write. For a card that exists (upsert), the fields the file has no column
    for keep the card's values, and its search text is made from what the card ends up with."""
    current = existing.get(values.phone.digits)
    if current is not None:
        kept = {f: current[f] for f in FIELDS if f not in columns.index and f != "phone"}
        values = ContactValues(
            phone=values.phone,
            name=kept.get("name", values.name),
            company=kept.get("company", values.company),
            email=kept.get("email", values.email),
            notes=kept.get("notes", values.notes),
        )
    return {"tenant": tenant, "created_at": now, "updated_at": now, **values.columns()}


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    try:
        conn.execute(insert(Contact), rows)
    except IntegrityError as exc:
        # Another import or a create took one of the numbers after the check above.
        raise PhoneTakenError(
            "a contact with one of the file's numbers was added while the file was imported; "
            "nothing was imported: import the file again",
        ) from exc


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    statement = dialect_insert(conn.dialect, Contact)
    # created_at stays the card's first; every other column takes the file's row.
    changed = [c for c in rows[0] if c not in ("tenant", "phone_digits", "created_at")]
    statement = statement.on_conflict_do_update(
        index_elements=["tenant", "phone_digits"],
        set_={c: statement.excluded[c] for c in changed},
    )
    # SQLAlchemy batches an ON CONFLICT DO UPDATE into multi-row statements only when it has a
    # RETURNING (without one it runs a statement per row, ten times slower): a batch is safe
    # here because no number is twice in the rows (a row cannot be updated twice by one INSERT).
    conn.execute(statement.returning(Contact.id), rows)

"""Files as people upload them, built in the tests: CSV in any encoding and delimiter, XLSX
written with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import openpyxl
from sqlalchemy import Engine, func, select

from callcenter.db.models import Contact

Cell = str | int | float | date | None


def csv_bytes(
    rows: Sequence[Sequence[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> bytes:
    """Rows joined as a spreadsheet saves them (cells here never need quoting)."""
    text = newline.join(delimiter.join(row) for row in rows) + newline
    return text.encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Cell]], *, title: str = "Contacts") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count(engine: Engine, tenant: str | None = None) -> int:
    statement = select(func.count()).select_from(Contact)
    if tenant is not None:
        statement = statement.where(Contact.tenant == tenant)
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())

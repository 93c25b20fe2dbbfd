"""What goes wrong with the phone book, said so that a person can act on it.

Each error carries an ``error_id`` slug, a ``message`` and ``details`` (JSON-ready) for the HTTP
API to return as they are; the status code is the API's choice (a suggestion per class below).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

__all__ = [
    "ContactNotFoundError",
    "ImportColumnsError",
    "ImportEmptyError",
    "ImportFileError",
    "ImportFormatError",
    "ImportRowsError",
    "ImportTooLargeError",
    "ImportUnreadableError",
    "InvalidContactError",
    "InvalidQueryError",
    "PhoneTakenError",
    "PhonebookError",
    "RowError",
]


class PhonebookError(Exception):
    """The root of the phone book's errors."""

    error_id: ClassVar[str] = "phonebook-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidContactError(PhonebookError):
    """A field of a contact cannot be kept as given; ``details["field"]`` names it (422)."""

    error_id = "invalid-contact"


class InvalidQueryError(PhonebookError):
    """A listing, search or import option is out of range or unknown (400)."""

    error_id = "invalid-query"


class ContactNotFoundError(PhonebookError):
    """No such contact for this tenant; another tenant's contact is not told apart (404)."""

    error_id = "contact-not-found"


class PhoneTakenError(PhonebookError):
    """Another contact of the tenant has this number; ``details["contact_id"]`` is it (409)."""

    error_id = "phone-taken"


class ImportFileError(PhonebookError):
    """The file as a whole cannot be imported; nothing was written (400)."""

    error_id = "import-file-invalid"


class ImportFormatError(ImportFileError):
    """Neither CSV nor XLSX (by name, by the format asked for, or by what the bytes are)."""

    error_id = "import-format-unsupported"


class ImportUnreadableError(ImportFileError):
    """The bytes do not read as the format they claim: a broken workbook, an unknown encoding."""

    error_id = "import-file-unreadable"


class ImportEmptyError(ImportFileError):
    """No header row, or a header and no contacts under it."""

    error_id = "import-file-empty"


class ImportColumnsError(ImportFileError):
    """The phone or name column is missing, or two columns mean the same field."""

    error_id = "import-columns-invalid"


class ImportTooLargeError(ImportFileError):
    """Over the size or row limit (413 or 400); ``details["limit"]`` says what the limit is."""

    error_id = "import-too-large"


@dataclass(frozen=True)
class RowError:
    """One thing wrong in one row: ``row`` is numbered as a spreadsheet shows it (the header
    is row 1 when it is the first line), ``column`` is the header as written in the file."""

    row: int
    column: str | None
    message: str


class ImportRowsError(PhonebookError):
    """Rows of the file are wrong; nothing was written. ``rows`` lists every problem found
    (the first ``MAX_REPORTED_ROW_ERRORS`` of them in ``details["errors"]``) (422)."""

    error_id = "import-rows-invalid"

    # Enough to fix a file by; a file of 100 000 bad rows would otherwise answer megabytes.
    MAX_REPORTED_ROW_ERRORS: ClassVar[int] = 1000

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = tuple(rows)
        shown = self.rows[: self.MAX_REPORTED_ROW_ERRORS]
        first = shown[0]
        where = f"row {first.row}" + (f", column {first.column!r}" if first.column else "")
        more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
        super().__init__(
            f"nothing was imported: {where}: {first.message}{more}; "
            "fix the file and import it again",
            error_count=len(self.rows),
            errors=[asdict(e) for e in shown],
            truncated=len(self.rows) > len(shown),
        )

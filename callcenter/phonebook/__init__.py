"""A tenant's phone book: cards by phone number (``book.py``), found by a caller's number for
the screen-pop, imported from CSV or XLSX files all or nothing (``importing.py``) and exported
to CSV (``exporting.py``), with one error tree (``errors.py``). No web here: the HTTP API calls
these services (they are synchronous: run them in ``asyncio.to_thread``)."""

from callcenter.phonebook.book import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    MAX_SEARCH_CHARS,
    ContactCard,
    ContactPage,
    create_contact,
    delete_contact,
    find_caller,
    get_contact,
    list_contacts,
    update_contact,
)
from callcenter.phonebook.errors import (
    ContactNotFoundError,
    ImportColumnsError,
    ImportEmptyError,
    ImportFileError,
    ImportFormatError,
    ImportRowsError,
    ImportTooLargeError,
    ImportUnreadableError,
    InvalidContactError,
    InvalidQueryError,
    PhonebookError,
    PhoneTakenError,
    RowError,
)
from callcenter.phonebook.exporting import export_csv
from callcenter.phonebook.fields import (
    MAX_COMPANY_CHARS,
    MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
    ContactChanges,
    NewContact,
)
from callcenter.phonebook.importing import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ImportMode,
    ImportResult,
    import_contacts,
)
from callcenter.phonebook.numbers import MAX_PHONE_DIGITS, MIN_PHONE_DIGITS

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_COMPANY_CHARS",
    "MAX_EMAIL_CHARS",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "MAX_NAME_CHARS",
    "MAX_NOTES_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_PHONE_DIGITS",
    "MAX_SEARCH_CHARS",
    "MIN_PHONE_DIGITS",
    "ContactCard",
    "ContactChanges",
    "ContactNotFoundError",
    "ContactPage",
    "ImportColumnsError",
    "ImportEmptyError",
    "ImportFileError",
    "ImportFormatError",
    "ImportMode",
    "ImportResult",
    "ImportRowsError",
    "ImportTooLargeError",
    "ImportUnreadableError",
    "InvalidContactError",
    "InvalidQueryError",
    "NewContact",
    "PhoneTakenError",
    "PhonebookError",
    "RowError",
    "create_contact",
    "delete_contact",
    "export_csv",
    "find_caller",
    "get_contact",
    "import_contacts",
    "list_contacts",
    "update_contact",
]

"""What goes wrong with a call's comments and disposition, said so that a person can act on it.

Each error carries an ``error_id`` slug and ``details`` for the HTTP API to return as they are;
the status code is the API's choice.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "DispositionsNotUsedError",
    "InvalidCommentError",
    "InvalidDispositionError",
    "NotesError",
    "UnknownCallError",
    "UnknownDispositionError",
]


class NotesError(Exception):
    """The root of the comments and dispositions errors."""

    error_id: ClassVar[str] = "notes-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownCallError(NotesError):
    """No such call for this tenant (a call of another tenant is not told apart from none)."""

    error_id = "unknown-call"


class InvalidCommentError(NotesError):
    """The comment's text, author or offset cannot be kept as given."""

    error_id = "invalid-comment"


class InvalidDispositionError(NotesError):
    """The disposition cannot be set as given (raised as is for a missing ``set_by``)."""

    error_id = "invalid-disposition"


class UnknownDispositionError(InvalidDispositionError):
    """The code is not one of the call's queue; ``details["allowed"]`` lists those that are."""

    error_id = "unknown-disposition"


class DispositionsNotUsedError(InvalidDispositionError):
    """The call went through no queue, or through one that has no disposition codes."""

    error_id = "dispositions-not-used"

"""What people add to a call after it: comments and the disposition (``notes.py``), with one
error tree (``errors.py``). No web here: the HTTP API calls these services."""

from callcenter.calls.errors import (
    DispositionsNotUsedError,
    InvalidCommentError,
    InvalidDispositionError,
    NotesError,
    UnknownCallError,
    UnknownDispositionError,
)
from callcenter.calls.notes import (
    MAX_COMMENT_CHARS,
    CommentView,
    DispositionView,
    add_comment,
    allowed_dispositions,
    comments,
    disposition,
    set_disposition,
)

__all__ = [
    "MAX_COMMENT_CHARS",
    "CommentView",
    "DispositionView",
    "DispositionsNotUsedError",
    "InvalidCommentError",
    "InvalidDispositionError",
    "NotesError",
    "UnknownCallError",
    "UnknownDispositionError",
    "add_comment",
    "allowed_dispositions",
    "comments",
    "disposition",
    "set_disposition",
]

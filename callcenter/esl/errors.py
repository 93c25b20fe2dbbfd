"""One error tree for the Event Socket layer.

Every failure a caller of the ESL code can see is an ``EslError``; third-party and OS errors are
mapped at the boundary and chained with ``from``.
"""

from __future__ import annotations

__all__ = [
    "EslAuthError",
    "EslCommandError",
    "EslConnectionError",
    "EslError",
    "EslProtocolError",
    "EslTimeoutError",
    "FrameTooLargeError",
    "UnsafeValueError",
]


class EslError(Exception):
    """Base of every error raised by ``callcenter.esl``."""


class EslProtocolError(EslError):
    """The peer sent bytes that are not a valid ESL frame; the connection cannot go on."""


class FrameTooLargeError(EslProtocolError):
    """A header block or a body exceeds the configured cap (protects memory from garbage)."""


class EslConnectionError(EslError):
    """The TCP connection could not be made, was lost, or was closed by the switch."""


class EslAuthError(EslConnectionError):
    """The switch refused our password (``-ERR invalid``) or rejected us by ACL."""


class EslTimeoutError(EslError):
    """No reply (or no BACKGROUND_JOB) arrived in time."""


class EslCommandError(EslError):
    """The switch answered a command with ``-ERR ...`` (or ``-USAGE``)."""

    def __init__(self, command: str, reply: str) -> None:
        self.command = command
        self.reply = reply
        super().__init__(f"{command!r} failed: {reply.strip()}")


class UnsafeValueError(EslError, ValueError):
    """A value would inject a second command: it holds CR, LF or NUL."""

    def __init__(self, what: str, value: str) -> None:
        self.what = what
        self.value = value
        super().__init__(
            f"{what} contains a CR, LF or NUL character and cannot be sent to the switch: {value!r}"
        )

"""What travels on an Event Socket connection, as typed objects (no I/O here)."""

from __future__ import annotations

from typing import NamedTuple

from callcenter.esl.codec import url_decode

__all__ = ["ContentType", "Frame"]


class ContentType:
    """The ``Content-Type`` values FreeSWITCH sends (PROTOCOL.md section 1.1)."""

    AUTH_REQUEST = "auth/request"
    COMMAND_REPLY = "command/reply"
    API_RESPONSE = "api/response"
    EVENT_PLAIN = "text/event-plain"
    EVENT_JSON = "text/event-json"
    EVENT_XML = "text/event-xml"
    DISCONNECT_NOTICE = "text/disconnect-notice"
    RUDE_REJECTION = "text/rude-rejection"
    LOG_DATA = "log/data"

    EVENTS = frozenset({EVENT_PLAIN, EVENT_JSON, EVENT_XML})
    ALL = frozenset(
        {
            AUTH_REQUEST,
            COMMAND_REPLY,
            API_RESPONSE,
            EVENT_PLAIN,
            EVENT_JSON,
            EVENT_XML,
            DISCONNECT_NOTICE,
            RUDE_REJECTION,
            LOG_DATA,
        }
    )


class Frame(NamedTuple):
    """One outer frame: its header block (values as sent) and its body bytes.

    Header values of ordinary frames are not url-encoded. The outbound ``connect`` reply is a
    serialized event whose values are (``Reply-Text: %2BOK%0A``); ``encoded`` says so, and
    ``header()`` decodes accordingly.
    """

    headers: dict[str, str]
    body: bytes = b""
    encoded: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def header(self, name: str, default: str | None = None) -> str | None:
        value = self.headers.get(name)
        if value is None:
            return default
        return url_decode(value) if self.encoded else value

    @property
    def reply_text(self) -> str:
        """``Reply-Text`` of a command/reply (decoded for the outbound ``connect`` reply)."""
        return self.header("Reply-Text") or ""

    @property
    def is_event(self) -> bool:
        return self.content_type in ContentType.EVENTS

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def to_bytes(self) -> bytes:
        """The frame as it goes on the wire (headers in order, then the body)."""
        head = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
        return head.encode("utf-8") + b"\n" + self.body

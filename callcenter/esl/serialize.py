"""Writing ESL frames and events exactly as mod_event_socket does (PROTOCOL.md §1, §4).

Used by the simulated switch, and by tests that check ``parse(serialize(x)) == x``.
An event is an ordered list of (name, value) pairs (duplicates allowed, as in
CHANNEL_HANGUP_COMPLETE) plus an optional body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

from callcenter.esl.codec import url_encode

__all__ = [
    "DISCONNECT_BODY",
    "api_response",
    "auth_request",
    "command_reply",
    "disconnect_notice",
    "event_frame",
    "linger_notice",
    "log_data",
    "rude_rejection",
    "serialize_event",
    "serialize_json",
    "serialize_plain",
    "serialize_xml",
]

Headers = Sequence[tuple[str, str]]

DISCONNECT_BODY = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def serialize_plain(headers: Headers, body: str | None = None) -> bytes:
    """``switch_event_serialize`` with encoding: each value url-encoded on its own."""
    parts = [f"{name}: {url_encode(value)}\n" for name, value in headers if value != ""]
    if body:
        raw = body.encode("utf-8")
        parts.append(f"Content-Length: {len(raw)}\n\n")
        return "".join(parts).encode("utf-8") + raw
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def serialize_json(headers: Headers, body: str | None = None) -> bytes:
    """``switch_event_serialize_json``: one object, all values strings, body in ``_body``."""
    # Duplicate header names give duplicate keys, as cJSON prints them; build by hand.
    items = [
        f"{json.dumps(name, ensure_ascii=False)}:{json.dumps(value, ensure_ascii=False)}"
        for name, value in headers
        if value != ""
    ]
    if body:
        items.append(f'"Content-Length":"{len(body.encode("utf-8"))}"')
        items.append(f'"_body":{json.dumps(body, ensure_ascii=False)}')
    return ("{" + ",".join(items) + "}").encode("utf-8")


def serialize_xml(headers: Headers, body: str | None = None) -> bytes:
    """``switch_event_xmlize``: values url-encoded, then XML-escaped; pretty-printed."""
    lines = ["<event>", "  <headers>"]
    for name, value in headers:
        if value != "":
            lines.append(f"    <{name}>{escape(url_encode(value))}</{name}>")
    lines.append("  </headers>")
    if body:
        lines.append(f"  <Content-Length>{len(body.encode('utf-8'))}</Content-Length>")
        # As on the wire (cap 07): a body ending in a newline is closed by "  </body>" (the
        # pretty-printer indents a closing tag only after a newline). CR is written as a
        # character reference, or XML parsing would turn it into LF.
        text = escape(body, {"\r": "&#xD;"})
        closing = "  </body>" if text.endswith("\n") else "</body>"
        lines.append(f"  <body>{text}{closing}")
    lines.append("</event>")
    return ("\n".join(lines) + "\n").encode("utf-8")


_SERIALIZERS = {"plain": serialize_plain, "json": serialize_json, "xml": serialize_xml}


def serialize_event(fmt: str, headers: Headers, body: str | None = None) -> bytes:
    """A complete ``text/event-<fmt>`` frame (Content-Length first, as MES writes it)."""
    payload = _SERIALIZERS[fmt](headers, body)
    return event_frame(fmt, payload)


def event_frame(fmt: str, payload: bytes) -> bytes:
    return (
        f"Content-Length: {len(payload)}\nContent-Type: text/event-{fmt}\n\n".encode("ascii")
        + payload
    )


def auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def command_reply(text: str, extra: Iterable[tuple[str, str]] = ()) -> bytes:
    lines = [f"Content-Type: command/reply\nReply-Text: {text}\n"]
    lines.extend(f"{name}: {value}\n" for name, value in extra)
    lines.append("\n")
    return "".join(lines).encode("utf-8")


def api_response(body: str) -> bytes:
    raw = body.encode("utf-8")
    return f"Content-Type: api/response\nContent-Length: {len(raw)}\n\n".encode("ascii") + raw


def disconnect_notice(session_uuid: str | None = None, body: str = DISCONNECT_BODY) -> bytes:
    raw = body.encode("utf-8")
    head = "Content-Type: text/disconnect-notice\n"
    if session_uuid:
        head += f"Controlled-Session-UUID: {session_uuid}\nContent-Disposition: disconnect\n"
    return f"{head}Content-Length: {len(raw)}\n\n".encode() + raw


def linger_notice(session_uuid: str, channel_name: str, linger_time: int | None) -> bytes:
    seconds = -1 if linger_time is None else linger_time
    return (
        "Content-Type: text/disconnect-notice\n"
        f"Controlled-Session-UUID: {session_uuid}\n"
        "Content-Disposition: linger\n"
        f"Channel-Name: {channel_name}\n"
        f"Linger-Time: {seconds}\n"
        "Content-Length: 0\n\n"
    ).encode()


def rude_rejection() -> bytes:
    body = b"Access Denied, go away.\n"
    return b"Content-Type: text/rude-rejection\nContent-Length: 24\n\n" + body


def log_data(
    text: str, level: int, channel: int, file: str, func: str, line: int, user_data: str = ""
) -> bytes:
    raw = text.encode("utf-8")
    return (
        "Content-Type: log/data\n"
        f"Content-Length: {len(raw)}\n"
        f"Log-Level: {level}\n"
        f"Text-Channel: {channel}\n"
        f"Log-File: {file}\n"
        f"Log-Func: {func}\n"
        f"Log-Line: {line}\n"
        f"User-Data: {user_data}\n\n"
    ).encode() + raw

"""Events carried in ``text/event-*`` frames, decoded lazily.

A plain event holds ~150 url-encoded headers of which a controller reads a handful. Decoding all
of them for every event is what makes an ESL client fall behind the switch, so a plain ``Event``
keeps the raw header block and decodes a header only when it is asked for (each value on its
own, after splitting: never the whole block). ``headers`` builds the full mapping on demand.
JSON and XML events are decoded at once (their parsers are C code, and their values are not
url-encoded in JSON).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from typing import cast
from urllib.parse import unquote, unquote_to_bytes

from callcenter.esl.codec import url_decode
from callcenter.esl.errors import EslProtocolError
from callcenter.esl.frames import ContentType, Frame

__all__ = [
    "ARRAY_PREFIX",
    "ARRAY_SEPARATOR",
    "Event",
    "array_items",
    "array_text",
    "parse_event_plain",
]

# An array header's value in plain events (switch_event_serialize; esl_event_add_array splits).
ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"


_MISSING = object()
_KEYS: dict[str, tuple[bytes, bytes]] = {}


def _search_keys(name: str) -> tuple[bytes, bytes]:
    key = name.encode("utf-8") + b": "
    keys = (key, b"\n" + key)
    if len(_KEYS) < 4096:
        _KEYS[name] = keys
    return keys


class Event:
    """One event; ``event["Unique-ID"]``, ``event.get(...)``, ``event.name``, ``event.body``."""

    __slots__ = ("_body", "_cache", "_end", "_headers", "_raw", "format")

    def __init__(
        self,
        headers: dict[str, str] | None = None,
        body: str | None = None,
        *,
        raw: bytes = b"",
        end: int = 0,
        format: str = "plain",
    ) -> None:
        self._headers = headers
        self._raw = raw or b""  # the plain payload; its header lines end before offset ``end``
        self._end = end
        self._cache: dict[str, object] = {}
        self._body = body
        self.format = format

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: Frame) -> Event:
        ctype = frame.content_type
        if ctype == ContentType.EVENT_PLAIN:
            return parse_event_plain(frame.body)
        if ctype == ContentType.EVENT_JSON:
            return _parse_event_json(frame.body)
        if ctype == ContentType.EVENT_XML:
            return _parse_event_xml(frame.body)
        if frame.encoded:
            # The outbound connect reply: channel data as the frame's own (encoded) headers.
            return cls({k: url_decode(v) for k, v in frame.headers.items()}, format="plain")
        raise EslProtocolError(f"a {ctype or 'frame without Content-Type'} frame is not an event")

    @classmethod
    def _plain(cls, raw: bytes, end: int, body: str | None) -> Event:
        # Built without __init__: this runs once per event on the hot path.
        self = object.__new__(cls)
        self._headers = None
        self._raw = raw
        self._end = end
        self._cache = {}
        self._body = body
        self.format = "plain"
        return self

    # -- header access --------------------------------------------------------------------------

    def get_array(self, name: str) -> list[str]:
        """An array header's items (``ARRAY::a|:b`` -> ``["a", "b"]``), the same from every
        event format; a plain header is one item, a missing one none."""
        value = self.get(name)
        return [] if value is None else array_items(value)

    def get(self, name: str, default: str | None = None) -> str | None:
        headers = self._headers
        if headers is not None:
            return headers.get(name, default)
        cache = self._cache
        value = cache.get(name, _MISSING)
        if value is not _MISSING:
            return default if value is None else cast(str, value)
        raw = self._raw
        keys = _KEYS.get(name)
        if keys is None:
            keys = _search_keys(name)
        key, line_key = keys
        # The first header line has no "\n" before it; every other one does.
        if raw.startswith(key):
            start = len(key)
        else:
            idx = raw.find(line_key, 0, self._end)
            if idx < 0:
                cache[name] = None
                return default
            start = idx + len(line_key)
        chunk = raw[start : raw.find(b"\n", start)]
        found = (
            unquote_to_bytes(chunk).decode("utf-8", "replace")
            if b"%" in chunk
            else chunk.decode("utf-8", "replace")
        )
        cache[name] = found
        return found

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @property
    def headers(self) -> dict[str, str]:
        """Every header, decoded (built once, on first use). Duplicates: the first wins."""
        if self._headers is None:
            out: dict[str, str] = {}
            # The block is ASCII (values are url-encoded), so it can be decoded as a whole and
            # each value unquoted on its own; never unquote before splitting (PROTOCOL.md §9.1).
            text = self._raw[: self._end].decode("utf-8", "replace")
            for line in text.split("\n"):
                if not line:
                    continue
                name, _, value = line.partition(": ")
                if name not in out:
                    out[name] = unquote(value) if "%" in value else value
            self._headers = out
            self._raw = b""
        return self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self.headers)

    def __len__(self) -> int:
        return len(self.headers)

    # -- what a controller reads ---------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.get("Event-Name") or ""

    @property
    def subclass(self) -> str | None:
        return self.get("Event-Subclass")

    @property
    def unique_id(self) -> str | None:
        return self.get("Unique-ID")

    @property
    def job_uuid(self) -> str | None:
        return self.get("Job-UUID")

    @property
    def body(self) -> str | None:
        """The event's own body (BACKGROUND_JOB output, a CDR, a sendevent body)."""
        return self._body

    def variable(self, name: str) -> str | None:
        return self.get("variable_" + name)

    def __repr__(self) -> str:
        return f"<Event {self.name} {self.subclass or ''} uuid={self.unique_id}>".replace("  ", " ")


def parse_event_plain(payload: bytes) -> Event:
    """Parse the body of a ``text/event-plain`` frame (itself a nested frame, see §1.2)."""
    first = payload.startswith(b"Event-Name: ")
    if not first and b"\nEvent-Name: " not in payload:
        raise EslProtocolError(f"plain event without Event-Name: {payload[:60]!r}")
    body: str | None = None
    # Values never hold a raw newline, so the first "\nContent-Length: " is a header line: the
    # inner length of an event that carries a body, always its last header. Searching for it is
    # much cheaper than for the "\n\n" that ends the header block ("\n" is everywhere).
    marker = payload.find(b"\nContent-Length: ")
    end = -1
    if marker >= 0:
        eol = payload.find(b"\n", marker + 17)
        if eol > 0 and payload.startswith(b"\n", eol + 1):
            length_text = payload[marker + 17 : eol]
            if not (length_text.isascii() and length_text.isdigit()):
                raise EslProtocolError(f"invalid inner Content-Length {length_text[:40]!r}")
            length = int(length_text)
            start = eol + 2
            if start + length > len(payload):
                raise EslProtocolError(
                    f"inner body shorter than its Content-Length {length}: "
                    f"{len(payload) - start} bytes"
                )
            body = payload[start : start + length].decode("utf-8", "replace")
            end = marker + 1
    if end < 0:
        if payload.endswith(b"\n\n"):
            end = len(payload) - 1
        else:
            end = payload.find(b"\n\n") + 1
            if end <= 0:
                if not payload.endswith(b"\n"):
                    raise EslProtocolError(
                        "plain event without the empty line that ends its headers"
                    )
                end = len(payload)
    # Event-Name must be a header, not text inside the body.
    if not first and payload.find(b"\nEvent-Name: ", 0, end) < 0:
        raise EslProtocolError(f"plain event without Event-Name: {payload[:60]!r}")
    return Event._plain(payload, end, body)


def _parse_event_json(payload: bytes) -> Event:
    try:
        # Duplicate keys (Hangup-Cause in HANGUP_COMPLETE): the first wins, as in plain events.
        data = json.loads(payload, object_pairs_hook=_first_wins)
    except (ValueError, RecursionError) as exc:
        raise EslProtocolError(f"invalid JSON event: {exc}") from exc
    if not isinstance(data, dict):
        raise EslProtocolError("JSON event is not an object")
    if "Event-Name" not in data:
        raise EslProtocolError("JSON event without Event-Name")
    body = data.pop("_body", None)
    if body is not None:
        data.pop("Content-Length", None)
    headers = {str(k): v if isinstance(v, str) else _json_value(v) for k, v in data.items()}
    return Event(headers, None if body is None else str(body), format="json")


def _first_wins(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _json_value(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        # An array header: written as the plain format writes it (``Event.get_array`` splits it).
        return array_text([str(item) for item in value])
    return str(value)


def array_items(value: str) -> list[str]:
    """The items of an ``ARRAY::a|:b`` value; any other value is one item."""
    if value.startswith(ARRAY_PREFIX):
        return value[len(ARRAY_PREFIX) :].split(ARRAY_SEPARATOR)
    return [value]


def array_text(items: list[str]) -> str:
    """An array header as FreeSWITCH writes it in plain events: ``ARRAY::a|:b``."""
    return ARRAY_PREFIX + ARRAY_SEPARATOR.join(items)


def _parse_event_xml(payload: bytes) -> Event:
    try:
        root = ElementTree.fromstring(payload)
    except ElementTree.ParseError as exc:
        raise EslProtocolError(f"invalid XML event: {exc}") from exc
    section = root.find("headers")
    if root.tag != "event" or section is None:
        raise EslProtocolError("XML event without <event><headers>")
    headers: dict[str, str] = {}
    # The first of repeated elements, as for a header the other formats repeat: XML cannot
    # tell an array (one element per item) from a header added twice, which may differ
    # (Event-Name COMMAND then PRIVATE_COMMAND, capture 07). Arrays: use plain or JSON.
    for child in section:
        headers.setdefault(child.tag, url_decode(child.text or ""))
    if "Event-Name" not in headers:
        raise EslProtocolError("XML event without Event-Name")
    body: str | None = None
    body_el = root.find("body")
    if body_el is not None:
        text = body_el.text or ""
        length_el = root.find("Content-Length")
        length_text = (length_el.text or "") if length_el is not None else ""
        if length_el is not None and not (length_text.isascii() and length_text.isdigit()):
            raise EslProtocolError(f"invalid <Content-Length> {length_text[:40]!r} in XML event")
        if length_el is not None:
            # Pretty-printing appends "\n  " inside </body>; the length says what was sent.
            text = text.encode("utf-8")[: int(length_text)].decode("utf-8", "replace")
        body = text
    return Event(headers, body, format="xml")

"""Url-encoding of header values exactly as FreeSWITCH does it (SU ``switch_url_encode_opt``).

FreeSWITCH encodes every header value on its own: bytes below 0x20 or above 0x7E and the
characters in ``_UNSAFE`` become ``%XX`` with uppercase hex; a ``%`` that already starts an
uppercase ``%XX`` is copied as is (its ``double_encode`` is off), which makes encoding lossy.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

__all__ = ["url_decode", "url_decode_bytes", "url_encode"]

_UNSAFE = b'\r\n #%&+:;<=>?@[\\]^`{|}"'
_ENCODE_TABLE: list[str] = [
    f"%{b:02X}" if (b < 0x20 or b > 0x7E or b in _UNSAFE) else chr(b) for b in range(256)
]
_PRE_ENCODED = re.compile(rb"%[0-9A-F]{2}")
_ALL_SAFE = re.compile(rb"[A-Za-z0-9!$'()*,\-./_~]*\Z")


def url_encode(value: str) -> str:
    """Encode one header value the way a real switch puts it on the wire."""
    raw = value.encode("utf-8")
    if _ALL_SAFE.match(raw):
        return value
    if b"%" not in raw:
        return "".join([_ENCODE_TABLE[b] for b in raw])
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and _PRE_ENCODED.match(raw, i):
            out.append(raw[i : i + 3].decode("ascii"))
            i += 3
            continue
        out.append(_ENCODE_TABLE[b])
        i += 1
    return "".join(out)


def url_decode_bytes(value: bytes) -> str:
    """Decode one raw header value: every ``%`` + two hex digits (any case) becomes that byte."""
    if b"%" not in value:
        return value.decode("utf-8", "replace")
    return unquote_to_bytes(value).decode("utf-8", "replace")


def url_decode(value: str) -> str:
    if "%" not in value:
        return value
    return unquote_to_bytes(value).decode("utf-8", "replace")

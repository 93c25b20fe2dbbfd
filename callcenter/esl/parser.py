"""A pure ESL frame parser: bytes in, frames out, no I/O.

``FrameParser.feed(data)`` returns every frame completed by ``data``, whatever the chunk
boundaries. Bodies are sliced by ``Content-Length`` on bytes (never on decoded text). Limits on
the header block and the body keep a garbage stream from growing the buffer without end; once a
protocol error is raised the parser refuses further input, as the connection must be dropped.

``CommandParser`` is the server-side twin: it reads what a client sends (a command line, header
lines, an optional body), ignoring CR and leading empty lines as mod_event_socket does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.esl.errors import EslProtocolError, FrameTooLargeError
from callcenter.esl.frames import Frame

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_HEADER_BLOCK",
    "ClientCommand",
    "CommandParser",
    "FrameParser",
]

# mod_event_socket refuses bodies above 16 MiB (MAX_CONTENT_LENGTH); a header block of a real
# frame is a few KiB (the outbound connect reply, the largest, is ~10 KiB).
DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_MAX_HEADER_BLOCK = 256 * 1024


# Event frames repeat a few header blocks ("Content-Length: 2611\nContent-Type: text/event-plain"):
# parsing each distinct block once is most of the framing cost saved.
_HEAD_CACHE: dict[bytes, dict[str, str]] = {}
_HEAD_CACHE_SIZE = 4096


def _bad_line(line: bytes) -> EslProtocolError:
    shown = line[:80]
    return EslProtocolError(
        f"malformed ESL header line {shown!r}: expected 'Name: value' (is this an ESL port?)"
    )


class FrameParser:
    """Splits the byte stream a switch sends into ``Frame`` objects."""

    __slots__ = ("_broken", "_buf", "_chunks", "_need", "_pending", "max_body", "max_header_block")

    def __init__(
        self,
        max_body: int = DEFAULT_MAX_BODY,
        max_header_block: int = DEFAULT_MAX_HEADER_BLOCK,
    ) -> None:
        self.max_body = max_body
        self.max_header_block = max_header_block
        self._buf = b""
        self._broken: EslProtocolError | None = None
        # While a known-size body is incomplete, chunks are only collected (no re-parsing and no
        # quadratic copying of a large body arriving in many reads).
        self._chunks: list[bytes] = []
        self._pending = 0
        self._need = 0

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf) + self._pending

    def feed(self, data: bytes) -> list[Frame]:
        if self._broken is not None:
            raise EslProtocolError(f"parser stopped after an earlier error: {self._broken}")
        if self._need:
            self._chunks.append(bytes(data))
            self._pending += len(data)
            if len(self._buf) + self._pending < self._need:
                return []
            buf = self._buf + b"".join(self._chunks)
            self._chunks.clear()
            self._pending = 0
            self._need = 0
        else:
            buf = self._buf + data if self._buf else bytes(data)
        frames: list[Frame] = []
        pos = 0
        size = len(buf)
        try:
            while pos < size:
                # Stray newlines between frames carry nothing (a body may end in extra ones).
                if buf[pos] == 10:
                    pos += 1
                    continue
                end = buf.find(b"\n\n", pos)
                if end < 0:
                    self._check_partial_head(buf, pos)
                    break
                if end - pos > self.max_header_block:
                    raise FrameTooLargeError(
                        f"ESL header block of {end - pos} bytes exceeds {self.max_header_block}"
                    )
                head = buf[pos:end]
                cached = _HEAD_CACHE.get(head)
                if cached is None:
                    headers = self._parse_head(head)
                    if len(_HEAD_CACHE) < _HEAD_CACHE_SIZE:
                        _HEAD_CACHE[head] = headers.copy()
                else:
                    headers = cached.copy()
                start = end + 2
                length_text = headers.get("Content-Length")
                length = 0 if length_text is None else self._content_length(length_text)
                if start + length > size:
                    self._need = start + length - pos
                    break
                ctype = headers.get("Content-Type")
                if ctype is None:
                    raise EslProtocolError(
                        f"ESL frame without Content-Type (headers: {', '.join(list(headers)[:5])})"
                    )
                # The outbound connect reply is a serialized event: its values are url-encoded.
                frames.append(Frame(headers, buf[start : start + length], "Event-Name" in headers))
                pos = start + length
        except EslProtocolError as exc:
            self._broken = exc
            self._buf = b""
            raise
        self._buf = buf[pos:] if pos < size else b""
        return frames

    def _check_partial_head(self, buf: bytes, pos: int) -> None:
        pending = len(buf) - pos
        # The first "\n" of the terminator may already be here: it is not part of the block.
        if pending > self.max_header_block + 1:
            raise FrameTooLargeError(
                f"no end of ESL header block within {self.max_header_block} bytes"
            )
        # Reject garbage as soon as its first line is complete, not only at the cap.
        nl = buf.find(b"\n", pos)
        if nl > pos and buf.find(b": ", pos, nl) < 0:
            raise _bad_line(buf[pos:nl])

    def _content_length(self, text: str) -> int:
        if not (text.isascii() and text.isdigit()):
            raise EslProtocolError(f"invalid Content-Length {text[:40]!r}")
        length = int(text)
        if length > self.max_body:
            raise FrameTooLargeError(f"ESL body of {length} bytes exceeds {self.max_body}")
        return length

    @staticmethod
    def _parse_head(head: bytes) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in head.split(b"\n"):
            name, sep, value = line.partition(b": ")
            if not name or not sep:
                if line.endswith(b":") and len(line) > 1:
                    # "Name:" with an empty value (User-Data in log/data frames).
                    headers.setdefault(line[:-1].decode("utf-8", "replace"), "")
                    continue
                raise _bad_line(line)
            key = name.decode("utf-8", "replace")
            if key not in headers:
                headers[key] = value.decode("utf-8", "replace")
        return headers


@dataclass(frozen=True, slots=True)
class ClientCommand:
    """One command as a client sent it: the command line, its headers, its body."""

    line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def word(self) -> str:
        return self.line.split(" ", 1)[0].lower()

    @property
    def args(self) -> str:
        parts = self.line.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""

    def header(self, name: str) -> str | None:
        """Header lookup, case-insensitive as in mod_event_socket."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class CommandParser:
    """Splits what a client sends into ``ClientCommand`` objects (server side)."""

    __slots__ = ("_buf", "max_body", "max_header_block")

    def __init__(
        self, max_body: int = DEFAULT_MAX_BODY, max_header_block: int = DEFAULT_MAX_HEADER_BLOCK
    ) -> None:
        self.max_body = max_body
        self.max_header_block = max_header_block
        self._buf = b""

    @property
    def has_partial(self) -> bool:
        return bool(self._buf.strip(b"\r\n"))

    def feed(self, data: bytes) -> list[ClientCommand]:
        self._buf += data
        out: list[ClientCommand] = []
        while True:
            buf = self._buf.lstrip(b"\r\n")
            if len(buf) != len(self._buf):
                self._buf = buf
            if not buf:
                return out
            # CR is ignored when looking for the end of the block (MES read_packet).
            end, sep_len = self._block_end(buf)
            if end < 0:
                if len(buf) > self.max_header_block:
                    raise FrameTooLargeError(
                        f"command of more than {self.max_header_block} bytes without an end"
                    )
                return out
            lines = buf[:end].replace(b"\r", b"").split(b"\n")
            line = lines[0].decode("utf-8", "replace").strip()
            headers: dict[str, str] = {}
            for raw in lines[1:]:
                name, sep, raw_value = raw.partition(b":")
                if not sep:
                    continue
                key = name.decode("utf-8", "replace").strip()
                headers[key] = raw_value.decode("utf-8", "replace").lstrip(" ")
            length = 0
            for key, text in headers.items():
                if key.lower() == "content-length":
                    digits = text.strip()
                    if not (digits.isascii() and digits.isdigit()) or int(digits) > self.max_body:
                        raise EslProtocolError(f"invalid Content-Length {text[:40]!r}")
                    length = int(text)
            start = end + sep_len
            if len(buf) < start + length:
                return out
            out.append(ClientCommand(line, headers, buf[start : start + length]))
            self._buf = buf[start + length :]

    @staticmethod
    def _block_end(buf: bytes) -> tuple[int, int]:
        best = -1
        best_len = 0
        for sep in (b"\n\n", b"\r\n\r\n", b"\n\r\n", b"\r\n\n"):
            idx = buf.find(sep)
            if idx >= 0 and (best < 0 or idx < best):
                best, best_len = idx, len(sep)
        return best, best_len

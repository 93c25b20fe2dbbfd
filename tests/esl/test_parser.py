"""The pure frame parser: chunking invariance, round trips, bounded garbage, caps."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.esl.errors import EslProtocolError, FrameTooLargeError
from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import CommandParser, FrameParser
from callcenter.esl.serialize import (
    api_response,
    command_reply,
    disconnect_notice,
    serialize_event,
)

HEADER_NAME = st.from_regex(r"\A[A-Z][A-Za-z0-9_-]{0,20}\Z", fullmatch=True).filter(
    lambda n: n not in ("Content-Length", "Event-Name")
)
# FreeSWITCH copies a "%" followed by two uppercase hex digits unencoded (PROTOCOL.md §4.2), so
# such values do not survive a round trip on a real switch either; they are tested apart.
VALUE = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["a b", "x%y", "50%", "%zz", "Иван", "a\nb", "k=v&x=y", "'q' \"d\""]),
).filter(lambda v: re.search("%[0-9A-F]{2}", v) is None)
BODY = st.one_of(st.none(), st.text(min_size=1, max_size=200))


@st.composite
def events(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], str | None]:
    fmt = draw(st.sampled_from(["plain", "json", "xml"]))
    names = draw(st.lists(HEADER_NAME, min_size=0, max_size=8, unique=True))
    headers = [("Event-Name", draw(st.sampled_from(["CUSTOM", "CHANNEL_ANSWER", "API"])))]
    headers += [(n, draw(VALUE)) for n in names]
    body = draw(BODY)
    if fmt == "xml":
        # XML 1.0 cannot carry control characters other than tab/newline.
        def clean(t: str) -> str:
            return "".join(c for c in t if c in "\t\n" or (ord(c) >= 0x20 and c != "\x7f"))

        headers = [(k, clean(v) or "x") for k, v in headers]
        body = clean(body) if body else None
        body = body or None
    return fmt, headers, body


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["reply", "api", "event", "notice"]))
        if kind == "reply":
            parts.append(command_reply(draw(st.sampled_from(["+OK accepted", "-ERR invalid"]))))
        elif kind == "api":
            parts.append(api_response(draw(st.text(max_size=100))))
        elif kind == "notice":
            parts.append(disconnect_notice())
        else:
            fmt, headers, body = draw(events())
            parts.append(serialize_event(fmt, headers, body))
    return b"".join(parts)


def feed_all(chunks: list[bytes]) -> list[Frame]:
    parser = FrameParser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(parser.feed(chunk))
    assert parser.buffered == 0
    return frames


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_yields_the_same_frames(stream: bytes, cuts: list[int]) -> None:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks, last = [], 0
    for point in points:
        chunks.append(stream[last:point])
        last = point
    chunks.append(stream[last:])
    assert feed_all(chunks) == feed_all([stream])


@settings(max_examples=200)
@given(events())
def test_event_round_trip(event: tuple[str, list[tuple[str, str]], str | None]) -> None:
    fmt, headers, body = event
    frames = feed_all([serialize_event(fmt, headers, body)])
    assert len(frames) == 1
    decoded = Event.from_frame(frames[0])
    assert decoded.headers == dict(headers)
    assert decoded.body == body
    for name, value in headers:
        assert decoded.get(name) == value


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_garbage_is_rejected_or_parsed_never_unbounded(data: bytes) -> None:
    parser = FrameParser(max_body=4096, max_header_block=1024)
    try:
        for i in range(0, len(data), 97):
            parser.feed(data[i : i + 97])
            assert parser.buffered <= 4096 + 1024 + 97 * 2
    except EslProtocolError:
        with pytest.raises(EslProtocolError, match="earlier error"):
            parser.feed(b"Content-Type: auth/request\n\n")


def test_pre_encoded_values_pass_through_as_freeswitch_does() -> None:
    frame = FrameParser().feed(serialize_event("plain", [("Event-Name", "X"), ("V", "%41b")]))[0]
    assert b"V: %41b\n" in frame.body
    assert Event.from_frame(frame).get("V") == "Ab"


def test_garbage_line_is_rejected_as_soon_as_it_is_complete() -> None:
    parser = FrameParser()
    with pytest.raises(EslProtocolError, match="malformed ESL header line"):
        parser.feed(b"HTTP/1.1 200 OK\r\n")


def test_header_block_cap() -> None:
    parser = FrameParser(max_header_block=100)
    with pytest.raises(FrameTooLargeError):
        parser.feed(b"X-A: " + b"a" * 200)


def test_body_cap_and_bad_lengths() -> None:
    with pytest.raises(FrameTooLargeError):
        FrameParser(max_body=10).feed(b"Content-Type: api/response\nContent-Length: 11\n\n")
    for bad in (b"-1", b"abc", b"1e3"):
        with pytest.raises(EslProtocolError, match="invalid Content-Length"):
            FrameParser().feed(b"Content-Type: api/response\nContent-Length: " + bad + b"\n\n")


def test_frame_without_content_type_is_an_error() -> None:
    with pytest.raises(EslProtocolError, match="without Content-Type"):
        FrameParser().feed(b"Reply-Text: +OK\n\n")


def test_sixteen_mebibyte_body_in_small_chunks() -> None:
    body = bytes(range(256)) * (16 * 1024 * 4)  # 16 MiB
    data = f"Content-Type: api/response\nContent-Length: {len(body)}\n\n".encode() + body
    parser = FrameParser()
    frames: list[Frame] = []
    for i in range(0, len(data), 64 * 1024):
        frames.extend(parser.feed(data[i : i + 64 * 1024]))
    assert len(frames) == 1
    assert frames[0].body == body


def test_header_split_over_three_chunks() -> None:
    parser = FrameParser()
    assert parser.feed(b"Content-Ty") == []
    assert parser.feed(b"pe: command/reply\nReply-") == []
    (frame,) = parser.feed(b"Text: +OK accepted\n\n")
    assert frame.reply_text == "+OK accepted"


def test_plain_event_with_inner_body_is_a_nested_frame() -> None:
    inner = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 5\n\n+OK\n\n"
    data = f"Content-Length: {len(inner)}\nContent-Type: text/event-plain\n\n".encode() + inner
    (frame,) = FrameParser().feed(data)
    event = Event.from_frame(frame)
    assert event.body == "+OK\n\n"
    assert event.job_uuid == "j1"


def test_encoded_newline_inside_a_value_does_not_split_headers() -> None:
    payload = b"Event-Name: CUSTOM\nX-Note: line1%0AX-Fake: injected\nX-After: ok\n\n"
    data = f"Content-Length: {len(payload)}\nContent-Type: text/event-plain\n\n".encode() + payload
    event = Event.from_frame(FrameParser().feed(data)[0])
    assert event.get("X-Note") == "line1\nX-Fake: injected"
    assert event.get("X-Fake") is None
    assert event.get("X-After") == "ok"


class TestCommandParser:
    def test_crlf_terminators_and_blank_lines(self) -> None:
        parser = CommandParser()
        (cmd,) = parser.feed(b"\r\n\r\nauth ClueCon\r\n\r\n")
        assert cmd.line == "auth ClueCon"
        assert cmd.word == "auth"

    def test_headers_and_body_split_across_chunks(self) -> None:
        parser = CommandParser()
        assert parser.feed(b"sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Le") == []
        assert parser.feed(b"ngth: 5\n\nhel") == []
        (cmd,) = parser.feed(b"lo")
        assert cmd.header("event-subclass") == "a::b"
        assert cmd.body == b"hello"

    def test_huge_unterminated_command_is_refused(self) -> None:
        parser = CommandParser(max_header_block=1024)
        with pytest.raises(FrameTooLargeError):
            parser.feed(b"x" * 2048)

    def test_bad_content_length(self) -> None:
        with pytest.raises(EslProtocolError):
            CommandParser().feed(b"sendevent X\nContent-Length: -5\n\n")

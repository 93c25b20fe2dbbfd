"""The pure frame parser: chunking invariance, round trips, bounded garbage, caps, CommandParser."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.esl.errors import EslProtocolError, FrameTooLargeError
from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import (
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_HEADER_BLOCK,
    CommandParser,
    FrameParser,
)
from callcenter.esl.serialize import (
    api_response,
    auth_request,
    command_reply,
    disconnect_notice,
    linger_notice,
    log_data,
    rude_rejection,
    serialize_event,
)

# -- strategies ---------------------------------------------------------------------------------

HEADER_NAME = st.from_regex(r"\A[A-Z][A-Za-z0-9_-]{0,20}\Z", fullmatch=True).filter(
    lambda n: n not in ("Content-Length", "Content-Type", "Event-Name", "Reply-Text")
)
# FreeSWITCH copies a "%" followed by two uppercase hex digits unencoded (PROTOCOL.md §4.2), so
# such values do not survive a round trip on a real switch either; test_codec covers them.
NO_PRE_ENCODED = re.compile("%[0-9A-F]{2}")
VALUE = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(
        [
            "a b",
            "x%y",
            "50%",
            "%zz",
            "%4",
            "Иван",
            "日本語 ☎",
            "a\nb",
            "a\r\nb",
            "line1\n\nline2",
            "k=v&x=y",
            "'q' \"d\"",
            "Content-Length: 5",
            "\nEvent-Name: FAKE\n\n",
            "tone_stream://%(1000,0,440)",
        ]
    ),
).filter(lambda v: NO_PRE_ENCODED.search(v) is None)
# Bodies that look like frames, headers or terminators must stay bodies.
TRICKY_BODY = st.sampled_from(
    [
        "+OK 0f6c6b5e-0000-4000-8000-000000000000\n",
        "Content-Length: 3\n\nabc",
        "Event-Name: HEARTBEAT\nUnique-ID: x\n\n",
        "\n\n\n",
        "Content-Type: command/reply\nReply-Text: +OK\n\n",
        "\nContent-Length: 99999999\n\n",
        "<event><headers></headers></event>",
        '{"Event-Name":"X"}',
    ]
)
BODY = st.one_of(
    st.none(),
    st.text(min_size=1, max_size=200),
    TRICKY_BODY,
    st.tuples(TRICKY_BODY, st.text(max_size=50)).map("".join),
)

Headers = list[tuple[str, str]]


def _xml_clean(text: str) -> str:
    # XML 1.0 cannot carry control characters other than tab/newline (and XML parsers turn a
    # raw CR into LF); FreeSWITCH url-encodes header values, but bodies go as they are.
    return "".join(c for c in text if c in "\t\n" or (ord(c) >= 0x20 and c != "\x7f"))


@st.composite
def events(draw: st.DrawFn) -> tuple[str, Headers, str | None]:
    fmt = draw(st.sampled_from(["plain", "json", "xml"]))
    names = draw(st.lists(HEADER_NAME, min_size=0, max_size=8, unique=True))
    headers = [("Event-Name", draw(st.sampled_from(["CUSTOM", "CHANNEL_ANSWER", "API"])))]
    headers += [(n, draw(VALUE)) for n in names]
    body = draw(BODY)
    if fmt == "xml":
        body = _xml_clean(body) if body else None
        body = body or None
    return fmt, headers, body


LINE_TEXT = st.text(st.characters(codec="utf-8", blacklist_characters="\r\n"), max_size=60)


@st.composite
def frames_bytes(draw: st.DrawFn) -> bytes:
    """One frame, as any of the server-side builders writes it."""
    kind = draw(
        st.sampled_from(["reply", "api", "event", "notice", "linger", "log", "auth", "rude"])
    )
    if kind == "reply":
        extra = draw(
            st.lists(st.tuples(HEADER_NAME, LINE_TEXT), max_size=3, unique_by=lambda t: t[0])
        )
        return command_reply(draw(LINE_TEXT), extra)
    if kind == "api":
        return api_response(draw(st.one_of(st.text(max_size=100), TRICKY_BODY)))
    if kind == "notice":
        return disconnect_notice(draw(st.none() | st.uuids().map(str)))
    if kind == "linger":
        return linger_notice(
            str(draw(st.uuids())), "loopback/1000-a", draw(st.none() | st.integers(0, 99))
        )
    if kind == "log":
        return log_data(
            draw(st.text(max_size=80)), 7, 3, "a.c", "f", 12, draw(st.sampled_from(["", "u-1"]))
        )
    if kind == "auth":
        return auth_request()
    if kind == "rude":
        return rude_rejection()
    fmt, headers, body = draw(events())
    return serialize_event(fmt, headers, body)


def feed_all(chunks: list[bytes], parser: FrameParser | None = None) -> list[Frame]:
    parser = parser or FrameParser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(parser.feed(chunk))
    assert parser.buffered == 0
    return frames


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks, last = [], 0
    for point in points:
        chunks.append(data[last:point])
        last = point
    chunks.append(data[last:])
    return chunks


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(frames_bytes(), min_size=1, max_size=6), st.lists(st.integers(0, 100_000), max_size=12)
)
def test_any_chunking_yields_the_same_frames(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    whole = feed_all([stream])
    # Each frame, written back, is exactly what the builder wrote: nothing lost, nothing added.
    assert [f.to_bytes() for f in whole] == parts
    assert feed_all(split_at(stream, cuts)) == whole


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frames_bytes(), min_size=1, max_size=4))
def test_byte_by_byte_yields_the_same_frames(parts: list[bytes]) -> None:
    stream = b"".join(parts)
    assert feed_all([stream[i : i + 1] for i in range(len(stream))]) == feed_all([stream])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.lists(st.integers(0, 10_000), max_size=4))
def test_event_round_trip(event: tuple[str, Headers, str | None], cuts: list[int]) -> None:
    fmt, headers, body = event
    data = serialize_event(fmt, headers, body)
    (frame,) = feed_all(split_at(data, cuts))
    assert frame.content_type == f"text/event-{fmt}"
    assert frame.headers["Content-Length"] == str(len(frame.body))
    decoded = Event.from_frame(frame)
    assert decoded.format == fmt
    assert decoded.headers == dict(headers)
    assert decoded.body == body
    lazy = Event.from_frame(frame)
    for name, value in headers:
        assert lazy.get(name) == value
        assert lazy[name] == value
    assert lazy.name == headers[0][1]
    assert lazy.body == body


# Bytes that make up ESL-looking garbage: good and bad header lines, lengths, terminators.
FRAGMENTS = st.one_of(
    st.sampled_from(
        [
            b"Content-Type: api/response\n",
            b"Content-Type: text/event-plain\n",
            b"Content-Length: ",
            b"Content-Length: 5\n",
            b"Content-Length: -1\n",
            b"Content-Length: 99999999\n",
            "Content-Length: \u00b2\n".encode(),
            "Content-Length: \u0661\n".encode(),
            b"Content-Length:\n",
            b"Reply-Text: +OK\n",
            b"Event-Name: CUSTOM\n",
            b"X: y\n",
            b"\n",
            b"\n\n",
            b"\r\n",
            b": \n",
            b"no colon here\n",
            b"12345",
        ]
    ),
    st.binary(max_size=12).filter(lambda b: max(b, default=0) < 0x80),
    st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")),
)


def _assert_bounded_or_refused(data: bytes, chunk: int) -> None:
    max_body, max_head = 2048, 512
    parser = FrameParser(max_body=max_body, max_header_block=max_head)
    try:
        for i in range(0, len(data), chunk):
            parser.feed(data[i : i + chunk])
            # The whole point of the caps: garbage never grows the buffer without end.
            assert parser.buffered <= max_head + 2 + max_body
    except EslProtocolError:
        assert parser.buffered == 0
        # A broken stream cannot be resynchronised: every later feed is refused.
        with pytest.raises(EslProtocolError, match="earlier error"):
            parser.feed(b"Content-Type: auth/request\n\n")
        with pytest.raises(EslProtocolError, match="earlier error"):
            parser.feed(b"")


@settings(max_examples=300)
@given(st.binary(max_size=3000), st.integers(1, 200))
def test_random_bytes_are_parsed_or_refused_never_unbounded(data: bytes, chunk: int) -> None:
    _assert_bounded_or_refused(data, chunk)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=60).map(b"".join), st.integers(1, 300))
def test_esl_like_garbage_is_parsed_or_refused_never_unbounded(data: bytes, chunk: int) -> None:
    _assert_bounded_or_refused(data, chunk)


# -- examples -----------------------------------------------------------------------------------


def test_pre_encoded_values_pass_through_as_freeswitch_does() -> None:
    frame = FrameParser().feed(serialize_event("plain", [("Event-Name", "X"), ("V", "%41b")]))[0]
    assert b"V: %41b\n" in frame.body
    assert Event.from_frame(frame).get("V") == "Ab"  # lossy, as on a real switch


def test_garbage_line_is_refused_as_soon_as_it_is_complete() -> None:
    parser = FrameParser()
    assert parser.feed(b"HTTP/1.1 200") == []  # not a complete line yet
    with pytest.raises(EslProtocolError, match="malformed ESL header line"):
        parser.feed(b" OK\r\n")


@pytest.mark.parametrize(
    "data",
    [
        b"Content-Type: api/response\nno colon\n\n",
        b"Content-Type: api/response\n: value\n\n",
        b"Content-Type: api/response\nName:value\n\n",
    ],
)
def test_malformed_header_lines(data: bytes) -> None:
    with pytest.raises(EslProtocolError, match="malformed ESL header line"):
        FrameParser().feed(data)


def test_non_ascii_header_name_in_a_frame() -> None:
    data = "Content-Type: api/response\nNamé: x\nContent-Length: 0\n\n".encode()
    (frame,) = FrameParser().feed(data)
    assert frame.headers["Namé"] == "x"
    assert frame.to_bytes() == data


def test_empty_header_value() -> None:
    (frame,) = FrameParser().feed(b"Content-Type: log/data\nUser-Data:\nContent-Length: 0\n\n")
    assert frame.headers["User-Data"] == ""


def test_header_block_cap_on_an_unterminated_block() -> None:
    parser = FrameParser(max_header_block=100)
    assert parser.feed(b"X-A: " + b"a" * 90) == []
    with pytest.raises(FrameTooLargeError, match="no end of ESL header block within 100"):
        parser.feed(b"a" * 10)


def test_header_block_cap_on_a_complete_block() -> None:
    head = b"Content-Type: api/response\nX-A: " + b"a" * 100
    with pytest.raises(FrameTooLargeError, match="header block of 132 bytes exceeds 100"):
        FrameParser(max_header_block=100).feed(head + b"\n\n")
    (frame,) = FrameParser(max_header_block=len(head)).feed(head + b"\n\n")
    assert frame.headers["X-A"] == "a" * 100


def test_header_block_of_exactly_the_cap_split_inside_the_terminator() -> None:
    # The first "\n" of the terminator is not part of the block: a read ending between the
    # two must not make an allowed block look too large.
    head = b"Content-Type: api/response\nX-A: " + b"a" * 100
    parser = FrameParser(max_header_block=len(head))
    assert parser.feed(head + b"\n") == []
    assert len(parser.feed(b"\n")) == 1


def test_body_cap() -> None:
    with pytest.raises(FrameTooLargeError, match="body of 11 bytes exceeds 10"):
        # Refused from the header alone, before any of the body is buffered.
        FrameParser(max_body=10).feed(b"Content-Type: api/response\nContent-Length: 11\n\n")
    (frame,) = FrameParser(max_body=10).feed(
        b"Content-Type: api/response\nContent-Length: 10\n\n0123456789"
    )
    assert frame.body == b"0123456789"
    assert DEFAULT_MAX_BODY == 16 * 1024 * 1024  # mod_event_socket's MAX_CONTENT_LENGTH
    assert DEFAULT_MAX_HEADER_BLOCK >= 64 * 1024  # the outbound connect reply is ~10 KiB


@pytest.mark.parametrize("bad", [b"-1", b"abc", b"1e3", b"", b" 5", b"+5", b"0x10", b"5 ", b"1.0"])
def test_negative_or_non_numeric_content_length(bad: bytes) -> None:
    parser = FrameParser()
    with pytest.raises(EslProtocolError, match="invalid Content-Length"):
        parser.feed(b"Content-Type: api/response\nContent-Length: " + bad + b"\n\n")
    assert parser.buffered == 0


@pytest.mark.parametrize("digit", ["\u00b2", "\u0661"])
def test_non_ascii_digits_in_content_length_are_a_protocol_error(digit: str) -> None:
    # str.isdigit() is true for them: int() then raised ValueError, or read "\u0661" as 1.
    parser = FrameParser()
    with pytest.raises(EslProtocolError, match="invalid Content-Length"):
        parser.feed(f"Content-Type: api/response\nContent-Length: {digit}\n\nxy".encode())
    with pytest.raises(EslProtocolError, match="earlier error"):
        parser.feed(b"")


def test_frame_without_content_type_is_an_error() -> None:
    with pytest.raises(EslProtocolError, match="without Content-Type"):
        FrameParser().feed(b"Reply-Text: +OK\n\n")
    with pytest.raises(EslProtocolError, match="without Content-Type"):
        FrameParser().feed(b"Content-Length: 3\n\nabc")


@pytest.mark.parametrize(
    "bad",
    [
        b"garbage line\n",
        b"Content-Type: api/response\nContent-Length: x\n\n",
        b"Content-Type: api/response\nContent-Length: 99999\n\n",
        b"Reply-Text: +OK\n\n",
        b"X: " + b"y" * 300,
    ],
)
def test_parser_refuses_input_after_an_error(bad: bytes) -> None:
    parser = FrameParser(max_body=1000, max_header_block=200)
    good = b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    assert len(parser.feed(good)) == 1
    with pytest.raises(EslProtocolError):
        parser.feed(bad)
    assert parser.buffered == 0
    for _ in range(2):
        with pytest.raises(EslProtocolError, match="stopped after an earlier error"):
            parser.feed(good)


def test_sixteen_mebibyte_body_in_64_kib_reads() -> None:
    # The largest body mod_event_socket sends, then a small frame in the same final read.
    # Collecting the chunks (not re-joining the buffer on every read) keeps this linear.
    body = bytes(range(256)) * (DEFAULT_MAX_BODY // 256)
    data = f"Content-Type: api/response\nContent-Length: {len(body)}\n\n".encode() + body
    data += b"Content-Type: command/reply\nReply-Text: +OK\n\n"
    parser = FrameParser()
    frames: list[Frame] = []
    read = 64 * 1024
    for i in range(0, len(data), read):
        got = parser.feed(data[i : i + read])
        if i + read < len(data):
            assert got == []
            assert parser.buffered == i + read
        frames.extend(got)
    assert parser.buffered == 0
    assert len(frames) == 2
    assert frames[0].body == body
    assert frames[1].reply_text == "+OK"


def test_header_split_over_three_chunks() -> None:
    parser = FrameParser()
    assert parser.feed(b"Content-Ty") == []
    assert parser.feed(b"pe: command/reply\nReply-") == []
    (frame,) = parser.feed(b"Text: +OK accepted\n\n")
    assert frame.reply_text == "+OK accepted"


def test_several_frames_in_one_read_and_stray_newlines_between() -> None:
    data = command_reply("+OK a") + b"\n\n" + api_response("x") + b"\n" + command_reply("+OK b")
    frames = FrameParser().feed(data)
    assert [f.content_type for f in frames] == ["command/reply", "api/response", "command/reply"]
    assert frames[1].body == b"x"
    assert frames[2].reply_text == "+OK b"


def test_body_is_counted_in_bytes_not_characters() -> None:
    data = api_response("Иван ☎") + command_reply("+OK")
    frames = FrameParser().feed(data)
    assert frames[0].headers["Content-Length"] == str(len("Иван ☎".encode()))
    assert frames[0].text == "Иван ☎"
    assert frames[1].reply_text == "+OK"


def test_plain_event_with_inner_body_is_a_nested_frame() -> None:
    inner = b"Event-Name: BACKGROUND_JOB\nJob-UUID: j1\nContent-Length: 5\n\n+OK\n\n"
    data = f"Content-Length: {len(inner)}\nContent-Type: text/event-plain\n\n".encode() + inner
    (frame,) = FrameParser().feed(data)
    assert frame.body == inner
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
    assert set(Event.from_frame(FrameParser().feed(data)[0]).headers) == {
        "Event-Name",
        "X-Note",
        "X-After",
    }


def test_connect_reply_is_flagged_encoded() -> None:
    data = b"Event-Name: CHANNEL_DATA\nContent-Type: command/reply\nReply-Text: %2BOK%0A\n\n"
    (frame,) = FrameParser().feed(data)
    assert frame.encoded
    assert frame.reply_text == "+OK\n"
    (plain,) = FrameParser().feed(command_reply("%2BOK"))
    assert not plain.encoded
    assert plain.reply_text == "%2BOK"  # ordinary replies are never url-decoded


# -- CommandParser (the server side) ------------------------------------------------------------


class TestCommandParser:
    def test_crlf_terminators_and_leading_blank_lines(self) -> None:
        parser = CommandParser()
        (cmd,) = parser.feed(b"\r\n\r\n\nauth ClueCon\r\n\r\n")
        assert cmd.line == "auth ClueCon"
        assert cmd.word == "auth"
        assert cmd.args == "ClueCon"
        assert not parser.has_partial

    @pytest.mark.parametrize("end", [b"\n\n", b"\r\n\r\n", b"\n\r\n", b"\r\n\n"])
    def test_every_terminator(self, end: bytes) -> None:
        (cmd,) = CommandParser().feed(b"api status" + end)
        assert cmd.line == "api status"
        assert cmd.word == "api"
        assert cmd.headers == {}
        assert cmd.body == b""

    def test_headers(self) -> None:
        (cmd,) = CommandParser().feed(
            b"sendmsg u1\r\ncall-command: execute\r\nexecute-app-name:   playback\r\n"
            b"Execute-App-Arg: a: b\r\n\r\n"
        )
        assert cmd.line == "sendmsg u1"
        assert cmd.header("Call-Command") == "execute"
        assert cmd.header("execute-app-name") == "playback"  # leading spaces dropped
        assert cmd.header("execute-app-arg") == "a: b"
        assert cmd.header("missing") is None

    def test_content_length_body_split_across_chunks(self) -> None:
        parser = CommandParser()
        assert parser.feed(b"sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Le") == []
        assert parser.has_partial
        assert parser.feed(b"ngth: 5\n\nhel") == []
        (cmd,) = parser.feed(b"lo\n\nex")
        assert cmd.header("event-subclass") == "a::b"
        assert cmd.body == b"hello"
        (cmd,) = parser.feed(b"it\n\n")
        assert cmd.line == "exit"

    def test_body_byte_by_byte(self) -> None:
        body = b"line1\n\nline2\r\n\r\nContent-Length: 3\n\n"
        data = b"sendevent X\nContent-Length: %d\n\n" % len(body) + body + b"api status\n\n"
        parser = CommandParser()
        out = []
        for i in range(len(data)):
            out.extend(parser.feed(data[i : i + 1]))
        assert [c.line for c in out] == ["sendevent X", "api status"]
        assert out[0].body == body

    def test_one_mebibyte_body_in_small_reads(self) -> None:
        body = bytes(range(256)) * 4096
        data = b"sendevent X\nContent-Length: %d\n\n" % len(body) + body
        parser = CommandParser()
        out = []
        for i in range(0, len(data), 16 * 1024):
            out.extend(parser.feed(data[i : i + 16 * 1024]))
        assert len(out) == 1
        assert out[0].body == body

    def test_several_commands_in_one_read(self) -> None:
        cmds = CommandParser().feed(b"auth x\n\nevent plain ALL\n\n\n\napi status\n\n")
        assert [c.line for c in cmds] == ["auth x", "event plain ALL", "api status"]

    def test_huge_unterminated_command_is_refused(self) -> None:
        parser = CommandParser(max_header_block=1024)
        assert parser.feed(b"x" * 1000) == []
        with pytest.raises(FrameTooLargeError):
            parser.feed(b"x" * 1000)

    def test_huge_unterminated_command_with_default_cap(self) -> None:
        parser = CommandParser()
        with pytest.raises(FrameTooLargeError):
            for _ in range(10):
                parser.feed(b"y" * (64 * 1024))

    @pytest.mark.parametrize("bad", [b"-5", b"abc", b"1e3"])
    def test_bad_content_length(self, bad: bytes) -> None:
        with pytest.raises(EslProtocolError):
            CommandParser().feed(b"sendevent X\nContent-Length: " + bad + b"\n\n")

    def test_body_over_the_cap(self) -> None:
        with pytest.raises(EslProtocolError):
            CommandParser(max_body=10).feed(b"sendevent X\nContent-Length: 11\n\n")

    def test_non_ascii_digit_content_length(self) -> None:
        with pytest.raises(EslProtocolError):
            CommandParser().feed("sendevent X\nContent-Length: ²\n\n".encode())


@settings(max_examples=100)
@given(st.binary(max_size=2000))
def test_command_parser_on_random_bytes(data: bytes) -> None:
    parser = CommandParser(max_header_block=512)
    try:
        for i in range(0, len(data), 61):
            for cmd in parser.feed(data[i : i + 61]):
                assert "\n" not in cmd.line
    except EslProtocolError:
        pass

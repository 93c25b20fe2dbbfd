"""Command building never lets a value inject a second command; what it builds parses back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.esl.commands import build_command, check_value, sendmsg_execute, sendmsg_hangup
from callcenter.esl.errors import EslError, UnsafeValueError
from callcenter.esl.parser import ClientCommand, CommandParser

FORBIDDEN = ["\r", "\n", "\0"]


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "\n", "\r\n", "x\r\n\r\napi hupall"])
def test_line_breaks_and_nul_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeValueError) as info:
        check_value("caller name", bad)
    assert info.value.what == "caller name"
    assert info.value.value == bad
    assert "caller name" in str(info.value)
    assert "CR, LF or NUL" in str(info.value)
    assert repr(bad) in str(info.value)
    assert isinstance(info.value, EslError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("good", ["", "a b", "Иван", "a\tb", "%0A", "\\n", "x: y"])
def test_safe_values_pass(good: str) -> None:
    assert check_value("v", good) == good


# Every place a caller's value can reach the wire, and the name the error must give it.
PLACES: list[tuple[str, Callable[[str], bytes]]] = [
    ("command", lambda v: build_command(f"api uuid_getvar {v}")),
    ("header name", lambda v: build_command("sendevent X", [(f"X-{v}", "v")])),
    ("header X-A", lambda v: build_command("sendevent X", [("X-A", f"a{v}b")])),
    ("header X-A", lambda v: build_command("sendevent X", {"X-A": f"a{v}b"})),
    ("application", lambda v: sendmsg_execute(f"play{v}back")),
    ("application argument", lambda v: sendmsg_execute("playback", f"file{v}.wav")),
    ("uuid", lambda v: sendmsg_execute("answer", uuid=f"u{v}")),
    ("event-uuid", lambda v: sendmsg_execute("answer", event_uuid=f"e{v}")),
    ("uuid", lambda v: sendmsg_hangup(f"u{v}")),
    ("header hangup-cause", lambda v: sendmsg_hangup("u", f"USER_BUSY{v}")),
]


@pytest.mark.parametrize("char", FORBIDDEN, ids=["CR", "LF", "NUL"])
@pytest.mark.parametrize(
    ("what", "build"), PLACES, ids=[f"{i}-{p[0]}" for i, p in enumerate(PLACES)]
)
def test_refused_everywhere_in_a_command(
    what: str, build: Callable[[str], bytes], char: str
) -> None:
    with pytest.raises(UnsafeValueError) as info:
        build(char)
    assert info.value.what == what
    assert str(info.value).startswith(what)
    assert char in info.value.value
    # Without the character the same call is fine.
    assert build("x").endswith(b"\n\n")


@pytest.mark.parametrize("name", ["X:A", "", ":"])
def test_header_names_with_a_colon_or_empty_are_refused(name: str) -> None:
    with pytest.raises(UnsafeValueError, match="header name"):
        build_command("sendevent X", [(name, "v")])


def test_body_may_hold_newlines_and_travels_with_its_length() -> None:
    data = build_command("sendevent CUSTOM", [("Event-Subclass", "a::b")], "line1\nline2")
    assert data == b"sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Length: 11\n\nline1\nline2"
    (cmd,) = CommandParser().feed(data)
    assert cmd.body == b"line1\nline2"


def test_body_length_counts_bytes() -> None:
    data = build_command("sendevent X", body="Иван\r\n\0")
    assert data == b"sendevent X\nContent-Length: 11\n\n" + "Иван\r\n\0".encode()
    raw = build_command("sendevent X", body=b"\x00\xff\n\n")
    assert raw == b"sendevent X\nContent-Length: 4\n\n\x00\xff\n\n"
    assert build_command("sendevent X", body="") == b"sendevent X\nContent-Length: 0\n\n"


def test_plain_command() -> None:
    assert build_command("api status") == b"api status\n\n"
    assert build_command("event plain ALL", {}) == b"event plain ALL\n\n"


def test_sendmsg_execute_headers() -> None:
    data = sendmsg_execute(
        "playback", "ivr/hello.wav", uuid="u1", event_lock=True, event_uuid="e1", loops=2
    )
    assert data == (
        b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\n"
        b"execute-app-arg: ivr/hello.wav\nloops: 2\nevent-lock: true\nevent-uuid: e1\n\n"
    )
    assert sendmsg_execute("answer") == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\n\n"
    )
    assert b"async: true\n" in sendmsg_execute("park", async_=True)


def test_sendmsg_hangup() -> None:
    assert sendmsg_hangup(None, "USER_BUSY") == (
        b"sendmsg\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"
    )
    assert sendmsg_hangup("u1") == (
        b"sendmsg u1\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n"
    )


def test_app_arg_with_spaces_and_unicode_parses_back() -> None:
    data = sendmsg_execute("set", "effective_caller_id_name=Иван Петров & Co", uuid="u")
    (cmd,) = CommandParser().feed(data)
    assert cmd.header("execute-app-arg") == "effective_caller_id_name=Иван Петров & Co"


# -- what build_command writes, CommandParser reads back, in any chunking --------------------------

LINE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=40
)
NAME = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_-]{0,20}\Z", fullmatch=True).filter(
    lambda n: n.lower() != "content-length"
)
VALUE = st.text(st.characters(codec="utf-8", blacklist_characters="\r\n\0"), max_size=40).filter(
    lambda v: not v.startswith(" ")  # the server drops spaces after the colon
)


@st.composite
def commands(draw: st.DrawFn) -> tuple[str, dict[str, str], bytes | None]:
    line = draw(LINE)
    headers = draw(st.dictionaries(NAME, VALUE, max_size=5))
    body = draw(st.none() | st.binary(max_size=100))
    return line, headers, body


@settings(max_examples=200)
@given(st.lists(commands(), min_size=1, max_size=5), st.lists(st.integers(0, 5000), max_size=8))
def test_built_commands_parse_back(
    cmds: list[tuple[str, dict[str, str], bytes | None]], cuts: list[int]
) -> None:
    data = b"".join(build_command(line, headers, body) for line, headers, body in cmds)
    points = sorted({c % (len(data) + 1) for c in cuts})
    parser = CommandParser()
    got: list[ClientCommand] = []
    last = 0
    for point in [*points, len(data)]:
        got.extend(parser.feed(data[last:point]))
        last = point
    assert not parser.has_partial
    assert len(got) == len(cmds)
    for cmd, (line, headers, body) in zip(got, cmds, strict=True):
        assert cmd.line == line
        expected = dict(headers)
        if body is not None:
            expected["Content-Length"] = str(len(body))
        assert cmd.headers == expected
        assert cmd.body == (body or b"")


@settings(max_examples=300)
@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30))
def test_a_value_never_injects_a_second_command(line: str, name: str, value: str) -> None:
    try:
        data = build_command(f"api {line}", [(f"X-{name}", value)])
    except UnsafeValueError as exc:
        assert any(c in exc.value for c in FORBIDDEN) or ":" in exc.value
        return
    assert data.count(b"\n\n") == 1 and data.endswith(b"\n\n")
    assert b"\r" not in data and b"\0" not in data

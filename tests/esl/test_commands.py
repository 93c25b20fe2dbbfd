"""Command building never lets a value inject a second command."""

from __future__ import annotations

import pytest

from callcenter.esl.commands import build_command, check_value, sendmsg_execute, sendmsg_hangup
from callcenter.esl.errors import UnsafeValueError


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b", "\n", "x\r\n\r\napi hupall"])
def test_line_breaks_and_nul_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeValueError) as info:
        check_value("caller name", bad)
    assert "caller name" in str(info.value)
    assert "CR, LF or NUL" in str(info.value)


def test_refused_everywhere_in_a_command() -> None:
    with pytest.raises(UnsafeValueError, match="command"):
        build_command("api status\n\napi hupall")
    with pytest.raises(UnsafeValueError, match="header name"):
        build_command("sendevent X", [("X-A\nB", "v")])
    with pytest.raises(UnsafeValueError, match="header name"):
        build_command("sendevent X", [("X:A", "v")])
    with pytest.raises(UnsafeValueError, match="header X-A"):
        build_command("sendevent X", {"X-A": "v\nEvent-Name: HEARTBEAT"})
    with pytest.raises(UnsafeValueError, match="application argument"):
        sendmsg_execute("playback", "a\r\n")
    with pytest.raises(UnsafeValueError, match="application"):
        sendmsg_execute("play\nback")
    with pytest.raises(UnsafeValueError, match="uuid"):
        sendmsg_hangup("u\nu")


def test_body_may_hold_newlines_and_travels_with_its_length() -> None:
    data = build_command("sendevent CUSTOM", [("Event-Subclass", "a::b")], "line1\nline2")
    assert data == (b"sendevent CUSTOM\nEvent-Subclass: a::b\nContent-Length: 11\n\nline1\nline2")


def test_sendmsg_execute_headers() -> None:
    data = sendmsg_execute(
        "playback", "ivr/hello.wav", uuid="u1", event_lock=True, event_uuid="e1", loops=2
    )
    assert data == (
        b"sendmsg u1\ncall-command: execute\nexecute-app-name: playback\n"
        b"execute-app-arg: ivr/hello.wav\nloops: 2\nevent-lock: true\nevent-uuid: e1\n\n"
    )
    assert sendmsg_hangup(None, "USER_BUSY") == (
        b"sendmsg\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n"
    )

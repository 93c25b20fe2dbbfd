"""Event objects from each format, and their error cases."""

from __future__ import annotations

import pytest

from callcenter.esl.errors import EslProtocolError
from callcenter.esl.events import Event, parse_event_plain
from callcenter.esl.frames import Frame


def frame(ctype: str, body: bytes) -> Frame:
    return Frame({"Content-Type": ctype, "Content-Length": str(len(body))}, body)


def test_json_event_with_body_and_array() -> None:
    body = (
        b'{"Event-Name":"BACKGROUND_JOB","Job-UUID":"j","arr":["a","b"],'
        b'"Content-Length":"3","_body":"+OK"}'
    )
    event = Event.from_frame(frame("text/event-json", body))
    assert event.body == "+OK"
    assert event.get("arr") == "a|b"
    assert "Content-Length" not in event
    assert event.format == "json"


def test_xml_event_body_trimmed_to_content_length() -> None:
    body = (
        b"<event>\n  <headers>\n    <Event-Name>BACKGROUND_JOB</Event-Name>\n"
        b"    <Job-Command-Arg>a%20%26%20b</Job-Command-Arg>\n  </headers>\n"
        b"  <Content-Length>4</Content-Length>\n  <body>+OK\n\n  </body>\n</event>"
    )
    event = Event.from_frame(frame("text/event-xml", body))
    assert event.body == "+OK\n"
    assert event.get("Job-Command-Arg") == "a & b"


@pytest.mark.parametrize(
    ("ctype", "body", "message"),
    [
        ("text/event-plain", b"Foo: bar\n\n", "without Event-Name"),
        ("text/event-plain", b"Event-Name: X\nContent-Length: 99\n\nshort", "shorter"),
        ("text/event-json", b"{not json", "invalid JSON"),
        ("text/event-json", b"[1]", "not an object"),
        ("text/event-xml", b"<event><headers>", "invalid XML"),
        ("text/event-xml", b"<other/>", "without <event><headers>"),
        ("command/reply", b"", "is not an event"),
    ],
)
def test_bad_events_are_protocol_errors(ctype: str, body: bytes, message: str) -> None:
    with pytest.raises(EslProtocolError, match=message):
        Event.from_frame(frame(ctype, body))


def test_lazy_plain_access() -> None:
    event = parse_event_plain(
        b"Event-Name: CHANNEL_ANSWER\nUnique-ID: u1\nvariable_queue: sales%20team\n\n"
    )
    assert event.name == "CHANNEL_ANSWER"
    assert event["Unique-ID"] == "u1"
    assert event.variable("queue") == "sales team"
    assert event.get("Missing") is None
    assert event.get("Missing", "d") == "d"
    with pytest.raises(KeyError):
        event["Missing"]
    assert "Unique-ID" in event
    assert len(event) == 3
    assert list(event) == ["Event-Name", "Unique-ID", "variable_queue"]
    assert "CHANNEL_ANSWER" in repr(event)

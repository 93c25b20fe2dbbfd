"""The serializer writes frames and events byte for byte as a real FreeSWITCH does.

The simulated switch is built on these functions, so the reference is the recorded wire: every
event of the captures, decoded and serialized again, must give back the bytes the switch sent.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from callcenter.esl.codec import url_decode
from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import FrameParser
from callcenter.esl.serialize import (
    DISCONNECT_BODY,
    api_response,
    auth_request,
    command_reply,
    disconnect_notice,
    event_frame,
    linger_notice,
    log_data,
    rude_rejection,
    serialize_event,
    serialize_json,
    serialize_plain,
    serialize_xml,
)
from tests.esl.conftest import KNOWN_CAPTURES, LIFECYCLE, capture_frames

Pairs = list[tuple[str, str]]


# -- decoding a captured payload into ordered (name, value) pairs, duplicates kept ---------------


def plain_pairs(payload: bytes) -> tuple[Pairs, str | None]:
    marker = payload.find(b"\nContent-Length: ")
    body = None
    if marker >= 0:
        eol = payload.index(b"\n", marker + 1)
        length = int(payload[marker + 17 : eol])
        body = payload[eol + 2 : eol + 2 + length].decode()
        head = payload[: marker + 1]
    else:
        assert payload.endswith(b"\n\n")
        head = payload[:-1]
    pairs = []
    for line in head.decode().split("\n")[:-1]:
        name, sep, value = line.partition(": ")
        assert sep
        pairs.append((name, url_decode(value)))
    return pairs, body


def json_pairs(payload: bytes) -> tuple[Pairs, str | None]:
    items: Pairs = json.loads(payload, object_pairs_hook=list)
    values = dict(items)
    if "_body" not in values:
        return items, None
    return [(k, v) for k, v in items if k not in ("_body", "Content-Length")], values["_body"]


def xml_pairs(payload: bytes) -> tuple[Pairs, str | None]:
    root = ElementTree.fromstring(payload)
    section = root.find("headers")
    assert section is not None
    pairs = [(child.tag, url_decode(child.text or "")) for child in section]
    body_el, length_el = root.find("body"), root.find("Content-Length")
    if body_el is None or length_el is None:
        return pairs, None
    text = (body_el.text or "").encode()[: int(length_el.text or "0")]
    return pairs, text.decode()


def event_payloads(name: str, ctype: str) -> list[bytes]:
    return [f.body for f in capture_frames(name) if f.content_type == ctype]


# -- fidelity against the captures --------------------------------------------------------------


@pytest.mark.parametrize("name", KNOWN_CAPTURES)
def test_every_plain_event_reserializes_to_the_captured_bytes(name: str) -> None:
    for payload in event_payloads(name, "text/event-plain"):
        pairs, body = plain_pairs(payload)
        assert serialize_plain(pairs, body) == payload
        framed = event_frame("plain", payload)
        assert serialize_event("plain", pairs, body) == framed


def test_every_json_event_reserializes_to_the_captured_bytes() -> None:
    payloads = event_payloads(LIFECYCLE["json"], "text/event-json")
    assert len(payloads) == 72
    for payload in payloads:
        pairs, body = json_pairs(payload)
        assert serialize_json(pairs, body) == payload


def test_xml_events_reserialize_to_the_same_event() -> None:
    payloads = event_payloads(LIFECYCLE["xml"], "text/event-xml")
    assert len(payloads) == 74
    for payload in payloads:
        pairs, body = xml_pairs(payload)
        ours = Event.from_frame(
            Frame({"Content-Type": "text/event-xml"}, serialize_xml(pairs, body))
        )
        real = Event.from_frame(Frame({"Content-Type": "text/event-xml"}, payload))
        assert ours.headers == real.headers
        assert ours.body == real.body


def test_every_xml_event_reserializes_to_the_captured_bytes() -> None:
    # The document ends with "</event>\n"; a body ending in "\n" is closed by "  </body>".
    for payload in event_payloads(LIFECYCLE["xml"], "text/event-xml"):
        pairs, body = xml_pairs(payload)
        assert serialize_xml(pairs, body) == payload


def test_captured_duplicate_hangup_cause_is_written_twice() -> None:
    for fmt, ctype, marker in (
        ("plain", "text/event-plain", b"\nHangup-Cause: "),
        ("json", "text/event-json", b'"Hangup-Cause":'),
    ):
        payloads = [
            p for p in event_payloads(LIFECYCLE[fmt], ctype) if b"CHANNEL_HANGUP_COMPLETE" in p[:60]
        ]
        assert len(payloads) == 2
        for payload in payloads:
            pairs, body = plain_pairs(payload) if fmt == "plain" else json_pairs(payload)
            assert [k for k, _ in pairs].count("Hangup-Cause") == 2
            out = serialize_plain(pairs, body) if fmt == "plain" else serialize_json(pairs, body)
            assert out.count(marker) == 2


def _first(name: str, ctype: str, **headers: str) -> Frame:
    return next(
        f
        for f in capture_frames(name)
        if f.content_type == ctype and all(f.headers.get(k) == v for k, v in headers.items())
    )


def test_frame_builders_write_the_captured_bytes() -> None:
    assert auth_request() == _first("01-auth-ok", "auth/request").to_bytes()
    assert command_reply("+OK accepted") == _first("01-auth-ok", "command/reply").to_bytes()
    assert command_reply("-ERR invalid") == (
        _first("02-auth-wrong-password", "command/reply").to_bytes()
    )
    notice = _first("01-auth-ok", "text/disconnect-notice")
    assert disconnect_notice() == notice.to_bytes()
    assert notice.body == DISCONNECT_BODY.encode()
    job = next(
        f for f in capture_frames("05-events-plain-call-lifecycle") if "Job-UUID" in f.headers
    )
    uuid = job.headers["Job-UUID"]
    assert command_reply(f"+OK Job-UUID: {uuid}", [("Job-UUID", uuid)]) == job.to_bytes()
    for frame in capture_frames("05-events-plain-call-lifecycle"):
        if frame.content_type == "api/response":
            assert api_response(frame.text) == frame.to_bytes()


def test_linger_notice_writes_the_captured_bytes() -> None:
    notice = capture_frames("10-outbound-socket")[-1]
    built = linger_notice(
        notice.headers["Controlled-Session-UUID"], notice.headers["Channel-Name"], None
    )
    assert built == notice.to_bytes()
    assert b"Linger-Time: 30\n" in linger_notice("u", "c", 30)


def test_log_data_writes_the_captured_bytes() -> None:
    logs = [f for f in capture_frames("09-socket-commands") if f.content_type == "log/data"]
    for frame in logs:
        h = frame.headers
        built = log_data(
            frame.text,
            int(h["Log-Level"]),
            int(h["Text-Channel"]),
            h["Log-File"],
            h["Log-Func"],
            int(h["Log-Line"]),
            h["User-Data"],
        )
        assert built == frame.to_bytes()


# -- exact output for hand-made events ------------------------------------------------------------


def test_plain_layout() -> None:
    headers = [("Event-Name", "CUSTOM"), ("Event-Subclass", "a::b"), ("Empty", ""), ("N", "Иван")]
    assert serialize_plain(headers) == (
        b"Event-Name: CUSTOM\nEvent-Subclass: a%3A%3Ab\nN: %D0%98%D0%B2%D0%B0%D0%BD\n\n"
    )
    # A body: its byte length as the last header, the empty line, the body, nothing after it.
    assert serialize_plain([("Event-Name", "X")], "Иван\n") == (
        b"Event-Name: X\nContent-Length: 9\n\n\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n"
    )
    assert serialize_plain([("Event-Name", "X")], "") == b"Event-Name: X\n\n"


def test_plain_names_are_not_encoded_values_are() -> None:
    out = serialize_plain([("Event-Name", "X"), ("variable_a b", "c d")])
    assert b"variable_a b: c%20d\n" in out


def test_json_layout() -> None:
    out = serialize_json([("Event-Name", "X"), ("A", 'q"\n\x01И'), ("Dup", "1"), ("Dup", "2")])
    assert out == '{"Event-Name":"X","A":"q\\"\\n\\u0001И","Dup":"1","Dup":"2"}'.encode()
    assert serialize_json([("Event-Name", "X"), ("E", "")], "ok\n") == (
        b'{"Event-Name":"X","Content-Length":"3","_body":"ok\\n"}'
    )


def test_xml_layout() -> None:
    out = serialize_xml([("Event-Name", "X"), ("A", "a <b> & c"), ("E", "")], "1 < 2 & 3")
    lines = out.decode().split("\n")
    assert lines[:5] == [
        "<event>",
        "  <headers>",
        "    <Event-Name>X</Event-Name>",
        "    <A>a%20%3Cb%3E%20%26%20c</A>",
        "  </headers>",
    ]
    assert lines[5] == f"  <Content-Length>{len('1 < 2 & 3')}</Content-Length>"
    assert lines[6].startswith("  <body>1 &lt; 2 &amp; 3")


def test_xml_body_with_carriage_return_round_trips() -> None:
    # FreeSWITCH (switch_xml_ampencode) writes CR as "&#xD;"; a raw CR would be read as LF.
    out = serialize_xml([("Event-Name", "X")], "a\rb\r\n")
    assert b"&#xD;" in out
    event = Event.from_frame(Frame({"Content-Type": "text/event-xml"}, out))
    assert event.body == "a\rb\r\n"


def test_xml_body_without_final_newline_is_closed_at_once() -> None:
    out = serialize_xml([("Event-Name", "X")], "abc")
    assert out.endswith(b"  <Content-Length>3</Content-Length>\n  <body>abc</body>\n</event>\n")


@pytest.mark.parametrize("body", ["a\rb\r\n", "x\n", "x", "<&>\"'\t", "Иван\n\n", " \n "])
@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_bodies_round_trip(fmt: str, body: str) -> None:
    (frame,) = FrameParser().feed(serialize_event(fmt, [("Event-Name", "CUSTOM")], body))
    assert Event.from_frame(frame).body == body


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_event_frame_puts_content_length_first(fmt: str) -> None:
    data = serialize_event(fmt, [("Event-Name", "HEARTBEAT")])
    head, _, payload = data.partition(b"\n\n")
    assert head == f"Content-Length: {len(payload)}\nContent-Type: text/event-{fmt}".encode()
    (frame,) = FrameParser().feed(data)
    assert Event.from_frame(frame).name == "HEARTBEAT"


def test_other_frames() -> None:
    assert rude_rejection() == (
        b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
    )
    assert len(DISCONNECT_BODY.encode()) == 67
    assert disconnect_notice("u1") == (
        b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: u1\n"
        b"Content-Disposition: disconnect\nContent-Length: 67\n\n" + DISCONNECT_BODY.encode()
    )
    assert disconnect_notice(body="killed listener because of lost events\n").endswith(
        b"Content-Length: 39\n\nkilled listener because of lost events\n"
    )
    assert api_response("Иван") == (
        b"Content-Type: api/response\nContent-Length: 8\n\n" + "Иван".encode()
    )
    assert api_response("") == b"Content-Type: api/response\nContent-Length: 0\n\n"
    assert command_reply("+OK", [("Allowed-Events", "all")]) == (
        b"Content-Type: command/reply\nReply-Text: +OK\nAllowed-Events: all\n\n"
    )


def test_every_builder_output_parses_back() -> None:
    parts = [
        auth_request(),
        command_reply("+OK accepted"),
        api_response("+OK\n"),
        disconnect_notice("u"),
        linger_notice("u", "sofia/x", 5),
        rude_rejection(),
        log_data("line\n", 7, 3, "f.c", "fn", 1),
        serialize_event("plain", [("Event-Name", "X")], "b"),
    ]
    frames = FrameParser().feed(b"".join(parts))
    assert [f.to_bytes() for f in frames] == parts

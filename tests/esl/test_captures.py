"""Every transcript recorded from a real FreeSWITCH decodes completely, whatever the chunking.

The captures (shared/freeswitch/captures, FreeSWITCH 1.10.12) are the ground truth: each ``recv``
record is one read from the socket, so feeding them in order reproduces the read boundaries of
a real connection.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from callcenter.esl.errors import EslProtocolError
from callcenter.esl.events import Event
from callcenter.esl.frames import ContentType, Frame
from tests.esl.conftest import (
    KNOWN_CAPTURES,
    LIFECYCLE,
    STREAM,
    capture_events,
    capture_frames,
    capture_names,
    capture_reads,
    capture_stream,
    parse_chunks,
    rechunk,
)

ALL_CAPTURES = capture_names()

# What each transcript holds, frame by frame type (counted from the recordings).
EXPECTED_TYPES: dict[str, dict[str, int]] = {
    "01-auth-ok": {"auth/request": 1, "command/reply": 2, "text/disconnect-notice": 1},
    "02-auth-wrong-password": {"auth/request": 1, "command/reply": 1, "text/disconnect-notice": 1},
    "03-command-before-auth": {"auth/request": 1, "command/reply": 2},
    "04-api-commands": {
        "auth/request": 1,
        "command/reply": 3,
        "api/response": 29,
        "text/disconnect-notice": 1,
    },
    "05-events-plain-call-lifecycle": {
        "auth/request": 1,
        "command/reply": 5,
        "text/event-plain": 74,
        "api/response": 8,
        "text/disconnect-notice": 1,
    },
    "06-events-json-call-lifecycle": {
        "auth/request": 1,
        "command/reply": 5,
        "text/event-json": 72,
        "api/response": 8,
        "text/disconnect-notice": 1,
    },
    "07-events-xml-call-lifecycle": {
        "auth/request": 1,
        "command/reply": 5,
        "text/event-xml": 74,
        "api/response": 8,
        "text/disconnect-notice": 1,
    },
    "08-bridge-transfer-hangup": {
        "auth/request": 1,
        "command/reply": 3,
        "api/response": 11,
        "text/event-plain": 18,
        "text/disconnect-notice": 1,
    },
    "09-socket-commands": {
        "auth/request": 1,
        "command/reply": 29,
        "api/response": 1,
        "log/data": 28,
        "text/event-plain": 18,
        "text/disconnect-notice": 1,
    },
    "10-outbound-socket": {
        "command/reply": 7,
        "text/event-plain": 11,
        "api/response": 1,
        "text/disconnect-notice": 1,
    },
    "11-callcenter-queue-call": {
        "auth/request": 1,
        "command/reply": 4,
        "api/response": 10,
        "text/event-plain": 33,
        "text/disconnect-notice": 1,
    },
    "12-sip-call-sipp-plain": {
        "auth/request": 1,
        "command/reply": 3,
        "text/event-plain": 30,
        "text/disconnect-notice": 1,
    },
    STREAM: {
        "auth/request": 1,
        "command/reply": 153,
        "api/response": 6,
        "text/event-plain": 6595,
        "text/disconnect-notice": 1,
    },
}

DISCONNECT_BODY = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_every_known_capture_is_there() -> None:
    assert set(KNOWN_CAPTURES) <= set(ALL_CAPTURES)
    assert capture_reads(STREAM), "the recorded 150-call stream is missing"


# -- framing: complete, the expected frames, the same in any chunking ------------------------


@pytest.mark.parametrize("name", [*ALL_CAPTURES, STREAM])
def test_capture_parses_completely_into_the_expected_frames(name: str) -> None:
    frames, parser = parse_chunks(capture_reads(name))
    assert parser.buffered == 0, "bytes were left over: a frame is incomplete"
    kinds = Counter(f.content_type for f in frames)
    assert set(kinds) <= ContentType.ALL
    if name in EXPECTED_TYPES:
        assert kinds == Counter(EXPECTED_TYPES[name])
    for frame in frames:
        length = frame.headers.get("Content-Length")
        assert len(frame.body) == (int(length) if length is not None else 0)
    # Nothing is lost or invented: the frames written back are the bytes the switch sent.
    assert b"".join(f.to_bytes() for f in frames) == capture_stream(name)


@pytest.mark.parametrize("name", [*ALL_CAPTURES, STREAM])
def test_capture_parses_the_same_whole_and_in_random_chunks(name: str) -> None:
    recorded = list(capture_frames(name))
    data = capture_stream(name)
    whole, parser = parse_chunks([data])
    assert whole == recorded
    assert parser.buffered == 0
    rng = random.Random(name)
    for _ in range(1 if name == STREAM else 4):
        again, parser = parse_chunks(rechunk(data, rng))
        assert again == recorded
        assert parser.buffered == 0


@pytest.mark.parametrize(
    "name",
    [
        "01-auth-ok",
        "02-auth-wrong-password",
        "04-api-commands",
        "09-socket-commands",
        "10-outbound-socket",
    ],
)
def test_capture_parses_the_same_byte_by_byte(name: str) -> None:
    data = capture_stream(name)
    single, parser = parse_chunks([data[i : i + 1] for i in range(len(data))])
    assert single == list(capture_frames(name))
    assert parser.buffered == 0


# -- events: every format decodes, the three formats agree ------------------------------------


@pytest.mark.parametrize("name", ALL_CAPTURES)
def test_every_event_frame_decodes(name: str) -> None:
    formats = {"text/event-plain": "plain", "text/event-json": "json", "text/event-xml": "xml"}
    for frame in capture_frames(name):
        if not frame.is_event:
            continue
        event = Event.from_frame(frame)
        assert event.format == formats[frame.content_type]
        assert event.name
        assert re.fullmatch("[A-Z_]+", event.name)
        headers = event.headers  # every value decodes
        assert headers["Event-Name"] == event.name
        assert "Content-Length" not in headers, "the inner Content-Length is not a header"
        assert "Core-UUID" in headers and "Event-Sequence" in headers


def _correspondence_key(event: Event) -> tuple[str | None, ...]:
    return tuple(
        event.get(h)
        for h in (
            "Event-Name",
            "Event-Subclass",
            "Event-Calling-Function",
            "Channel-Name",
            "Channel-State",
            "Channel-Call-State",
            "Application",
            "API-Command",
            "Answer-State",
        )
    )


def _keyed(name: str) -> dict[tuple[object, ...], Event]:
    """Events of a capture by what they are (the delivery order differs between runs)."""
    seen: Counter[tuple[str | None, ...]] = Counter()
    out: dict[tuple[object, ...], Event] = {}
    for event in capture_events(name):
        key = _correspondence_key(event)
        seen[key] += 1
        out[(*key, seen[key])] = event
    return out


def test_the_same_call_in_plain_json_and_xml_has_the_same_header_names() -> None:
    plain, js, xml = (_keyed(LIFECYCLE[fmt]) for fmt in ("plain", "json", "xml"))
    common = plain.keys() & js.keys() & xml.keys()
    assert len(common) >= 65, "the three recordings of the same call should mostly correspond"
    for key in common:
        names = [set(e.headers) for e in (plain[key], js[key], xml[key])]
        assert names[0] == names[1] == names[2], key


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_background_job_body_and_job_uuid(fmt: str) -> None:
    name = LIFECYCLE[fmt]
    events = capture_events(name)
    (job,) = [e for e in events if e.name == "BACKGROUND_JOB"]
    # The bgapi reply announced the Job-UUID the BACKGROUND_JOB carries.
    (reply,) = [f for f in capture_frames(name) if "Job-UUID" in f.headers]
    assert reply.reply_text == f"+OK Job-UUID: {reply.headers['Job-UUID']}"
    assert job.job_uuid == reply.headers["Job-UUID"]
    assert job.body is not None
    match = re.fullmatch(rf"\+OK ({UUID})\n", job.body)
    assert match, repr(job.body)
    # The body names the channel the originate created.
    assert match.group(1) in {e.unique_id for e in events if e.name == "CHANNEL_CREATE"}
    assert job.get("Job-Command") == "originate"
    arg = job.get("Job-Command-Arg") or ""
    assert arg.startswith("{") and "'Ivan Petrov & Co'" in arg
    assert "Content-Length" not in job.headers and "_body" not in job.headers


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_values_are_url_decoded(fmt: str) -> None:
    name = LIFECYCLE[fmt]
    raw = capture_stream(name)
    if fmt == "json":
        assert b'"Caller-Caller-ID-Name":"Ivan Petrov & Co"' in raw  # json is not encoded
    else:
        assert b"Ivan%20Petrov%20%26%20Co" in raw
        assert re.search(rb"Event-Date-Local(: |>)\d{4}-\d\d-\d\d%20\d\d%3A\d\d%3A\d\d", raw)
    events = capture_events(name)
    for event in events:
        date = event["Event-Date-Local"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", date), date
        assert (event.get("Event-Date-GMT") or "").endswith(" GMT")
    names = Counter(e.get("Caller-Caller-ID-Name") for e in events)
    assert names["Ivan Petrov & Co"] >= 30
    assert not any("%" in (n or "") for n in names)


def test_callcenter_subclass_is_url_decoded() -> None:
    name = "11-callcenter-queue-call"
    raw = capture_stream(name)
    assert raw.count(b"\nEvent-Subclass: callcenter%3A%3Ainfo\n") == 15
    custom = [e for e in capture_events(name) if e.name == "CUSTOM"]
    assert len(custom) == 15
    assert {e.subclass for e in custom} == {"callcenter::info"}
    actions = {e.get("CC-Action") for e in custom}
    assert actions == {
        "agent-state-change",
        "agent-status-change",
        "members-count",
        "agent-offering",
        "bridge-agent-fail",
        "member-queue-start",
        "member-queue-end",
    }
    assert any((e.get("CC-Agent") or "").endswith("@default") for e in custom)
    assert any(e.get("CC-Queue") == "support@default" for e in custom)


def test_outbound_connect_reply_is_an_encoded_frame() -> None:
    frames = capture_frames("10-outbound-socket")
    connect = frames[0]
    assert connect.content_type == ContentType.COMMAND_REPLY
    assert next(iter(connect.headers)) == "Event-Name", "the connect reply starts with Event-Name"
    assert connect.encoded
    assert connect.headers["Reply-Text"] == "%2BOK%0A"
    assert connect.reply_text == "+OK\n"
    assert connect.header("Reply-Text") == "+OK\n"
    data = Event.from_frame(connect)
    assert re.fullmatch(UUID, data["Channel-Unique-ID"])
    assert data.get("Channel-Unique-ID") == data.get("Unique-ID")
    assert data.get("Socket-Mode") == "async"
    assert data.get("Reply-Text") == "+OK\n"
    assert data.get("Caller-Caller-ID-Name") == connect.header("Caller-Caller-ID-Name")
    assert len(data.headers) > 100
    later = [f for f in frames[1:] if f.content_type == ContentType.COMMAND_REPLY]
    assert later and not any(f.encoded for f in later)
    assert [f.reply_text for f in later] == [
        "+OK Events Enabled",
        "+OK will linger",
        "+OK",
        "+OK",
        "4951112233",
        "+OK",
    ]


def test_outbound_linger_disconnect_notice() -> None:
    notice = capture_frames("10-outbound-socket")[-1]
    assert notice.content_type == ContentType.DISCONNECT_NOTICE
    assert notice.headers["Content-Disposition"] == "linger"
    assert notice.headers["Linger-Time"] == "-1"
    assert notice.body == b""
    data = Event.from_frame(capture_frames("10-outbound-socket")[0])
    assert notice.headers["Controlled-Session-UUID"] == data["Unique-ID"]


def test_log_data_frames() -> None:
    logs = [f for f in capture_frames("09-socket-commands") if f.content_type == "log/data"]
    assert len(logs) == 28
    for frame in logs:
        assert list(frame.headers) == [
            "Content-Type",
            "Content-Length",
            "Log-Level",
            "Text-Channel",
            "Log-File",
            "Log-Func",
            "Log-Line",
            "User-Data",
        ]
        assert frame.headers["Log-Level"].isdigit()
        assert frame.body.endswith(b"\n")
        assert not frame.encoded
    empty = [f for f in logs if f.headers["User-Data"] == ""]
    assert len(empty) == 2, "a log line without a channel has an empty User-Data"
    assert all(re.fullmatch(UUID, f.headers["User-Data"]) for f in logs if f not in empty)
    with pytest.raises(EslProtocolError, match="not an event"):
        Event.from_frame(logs[0])


@pytest.mark.parametrize("name", [n for n in KNOWN_CAPTURES if n != "03-command-before-auth"])
def test_disconnect_notice_body(name: str) -> None:
    notices = [f for f in capture_frames(name) if f.content_type == ContentType.DISCONNECT_NOTICE]
    assert len(notices) == 1
    if name == "10-outbound-socket":
        return  # the linger notice, tested above
    (notice,) = notices
    assert notice is capture_frames(name)[-1]
    assert notice.body == DISCONNECT_BODY
    assert notice.headers["Content-Length"] == "67"
    assert notice.text == DISCONNECT_BODY.decode()


def test_api_responses_without_trailing_newline() -> None:
    bodies = [
        f.body
        for f in capture_frames("05-events-plain-call-lifecycle")
        if f.content_type == "api/response"
    ]
    assert b"sales" in bodies  # uuid_getvar: no newline
    assert b"_undef_" in bodies


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_hangup_complete_carries_hangup_cause_twice(fmt: str) -> None:
    name = LIFECYCLE[fmt]
    frames = [
        f
        for f in capture_frames(name)
        if f.is_event and Event.from_frame(f).name == "CHANNEL_HANGUP_COMPLETE"
    ]
    assert len(frames) == 2
    marker = {"plain": b"\nHangup-Cause: ", "json": b'"Hangup-Cause":', "xml": b"<Hangup-Cause>"}
    for frame in frames:
        assert frame.body.count(marker[fmt]) == 2
        event = Event.from_frame(frame)
        assert event.get("Hangup-Cause") == "NORMAL_CLEARING"
        assert event.headers["Hangup-Cause"] == "NORMAL_CLEARING"
        assert list(event.headers).count("Hangup-Cause") == 1


@pytest.mark.parametrize("name", [*ALL_CAPTURES, STREAM])
def test_lazy_lookup_agrees_with_full_decoding_on_every_event(name: str) -> None:
    for frame in capture_frames(name):
        if not frame.is_event:
            continue
        full = Event.from_frame(frame).headers
        lazy = Event.from_frame(frame)
        for key, value in full.items():
            assert lazy.get(key) == value, (key, value)
        assert lazy.get("No-Such-Header") is None
        assert lazy.headers == full  # and the full decoding after lazy reads is the same


def _frame(name: str, predicate: str) -> Frame:
    return next(f for f in capture_frames(name) if f.content_type == predicate)


def test_frames_keep_header_order_and_values_as_sent() -> None:
    auth = _frame("01-auth-ok", "auth/request")
    assert auth.headers == {"Content-Type": "auth/request"} and auth.body == b""
    event = _frame("05-events-plain-call-lifecycle", "text/event-plain")
    assert list(event.headers) == ["Content-Length", "Content-Type"]  # Content-Length first
    assert not event.encoded

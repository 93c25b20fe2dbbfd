"""Every recorded transcript of a real FreeSWITCH decodes completely, whatever the chunking."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import FrameParser
from tests.esl.conftest import capture_reads

CAPTURES = [
    "01-auth-ok",
    "02-auth-wrong-password",
    "03-command-before-auth",
    "04-api-commands",
    "05-events-plain-call-lifecycle",
    "06-events-json-call-lifecycle",
    "07-events-xml-call-lifecycle",
    "08-bridge-transfer-hangup",
    "09-socket-commands",
    "10-outbound-socket",
    "11-callcenter-queue-call",
    "12-sip-call-sipp-plain",
]


def parse(chunks: list[bytes]) -> tuple[list[Frame], FrameParser]:
    parser = FrameParser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(parser.feed(chunk))
    return frames, parser


def rechunk(data: bytes, rng: random.Random) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = rng.choice([1, 2, 7, 64, 500, 4096, 70000])
        out.append(data[pos : pos + size])
        pos += size
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_parses_the_same_in_any_chunking(name: str) -> None:
    reads = capture_reads(name)
    recorded, parser = parse(reads)
    assert parser.buffered == 0, "a frame was left incomplete"
    assert recorded
    whole, _ = parse([b"".join(reads)])
    assert whole == recorded
    rng = random.Random(name)
    for _ in range(3):
        again, _ = parse(rechunk(b"".join(reads), rng))
        assert again == recorded
    for frame in recorded:
        if frame.is_event or frame.encoded:
            event = Event.from_frame(frame)
            assert event.name
            assert event.headers  # every header decodes


def test_byte_by_byte_feeding_gives_the_same_frames() -> None:
    data = b"".join(capture_reads("09-socket-commands"))
    recorded, _ = parse([data])
    single, _ = parse([data[i : i + 1] for i in range(len(data))])
    assert single == recorded


def test_content_types_of_the_socket_commands_capture() -> None:
    frames, _ = parse(capture_reads("09-socket-commands"))
    kinds = Counter(f.content_type for f in frames)
    assert kinds["auth/request"] == 1
    assert kinds["log/data"] == 28
    assert kinds["text/disconnect-notice"] == 1
    log = next(f for f in frames if f.content_type == "log/data")
    assert log.headers["User-Data"] == ""
    notice = frames[-1]
    assert notice.text == "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def _events(name: str) -> list[Event]:
    frames, _ = parse(capture_reads(name))
    return [Event.from_frame(f) for f in frames if f.is_event]


def test_background_job_body_and_job_uuid() -> None:
    for name in (
        "05-events-plain-call-lifecycle",
        "06-events-json-call-lifecycle",
        "07-events-xml-call-lifecycle",
    ):
        job = next(e for e in _events(name) if e.name == "BACKGROUND_JOB")
        assert job.job_uuid
        assert job.body is not None and job.body.startswith("+OK ") and job.body.endswith("\n")
        assert len(job.body) == 41
        assert job.get("Job-Command") == "originate"
        assert "Ivan Petrov & Co" in (job.get("Job-Command-Arg") or "")
        assert "Content-Length" not in job.headers


def test_values_are_decoded_one_by_one() -> None:
    events = _events("05-events-plain-call-lifecycle")
    first = events[0]
    date = first.get("Event-Date-Local") or ""
    assert len(date) == 19 and date[10] == " " and date[13] == ":"
    named = [e for e in events if e.get("Caller-Caller-ID-Name") == "Ivan Petrov & Co"]
    assert named, "the caller name with '&' and spaces decodes"


def test_plain_json_and_xml_captures_agree_on_header_names() -> None:
    def by_name(name: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for event in _events(name):
            if event.name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"):
                out.setdefault(event.name, set()).update(
                    h for h in event.headers if not h.startswith("variable_")
                )
        return out

    plain = by_name("05-events-plain-call-lifecycle")
    js = by_name("06-events-json-call-lifecycle")
    xml = by_name("07-events-xml-call-lifecycle")
    assert plain.keys() == js.keys() == xml.keys()
    for name in plain:
        assert plain[name] == js[name] == xml[name]


def test_callcenter_subclass_is_url_decoded() -> None:
    events = _events("11-callcenter-queue-call")
    custom = [e for e in events if e.name == "CUSTOM"]
    assert custom
    assert all(e.subclass == "callcenter::info" for e in custom)
    assert any((e.get("CC-Agent") or "").endswith("@default") for e in custom)


def test_outbound_connect_reply_is_an_encoded_frame() -> None:
    frames, _ = parse(capture_reads("10-outbound-socket"))
    connect = frames[0]
    assert connect.content_type == "command/reply"
    assert connect.encoded
    assert connect.reply_text == "+OK\n"
    data = Event.from_frame(connect)
    assert data.get("Channel-Unique-ID") == data.get("Unique-ID")
    assert data.get("Socket-Mode") == "async"
    plain_replies = [f for f in frames[1:] if f.content_type == "command/reply"]
    assert all(not f.encoded for f in plain_replies)


def test_hangup_complete_carries_hangup_cause_twice() -> None:
    frames, _ = parse(capture_reads("05-events-plain-call-lifecycle"))
    raw = next(
        f.body for f in frames if f.is_event and f.body.startswith(b"Event-Name: CHANNEL_HANGUP_C")
    )
    assert raw.count(b"\nHangup-Cause: ") == 2
    event = Event.from_frame(
        next(f for f in frames if f.is_event and f.body.startswith(b"Event-Name: CHANNEL_HANGUP_C"))
    )
    assert event.get("Hangup-Cause") == event.headers["Hangup-Cause"]


def test_lazy_lookup_agrees_with_full_decoding_on_every_event() -> None:
    for name in CAPTURES:
        frames, _ = parse(capture_reads(name))
        for frame in frames:
            if frame.content_type != "text/event-plain":
                continue
            full = Event.from_frame(frame).headers
            lazy = Event.from_frame(frame)
            for key, value in full.items():
                assert lazy.get(key) == value, (name, key)

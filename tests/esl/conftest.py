"""Helpers for the ESL tests: the transcripts recorded from a real FreeSWITCH (shared/freeswitch).

Plain functions rather than fixtures, so that parametrize lists can be built from them at
collection time. Every loader is cached: the captures are read once per test session.
"""

from __future__ import annotations

import gzip
import json
import random
from functools import cache
from pathlib import Path

from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import FrameParser
from tests.conftest import shared_dir

# The transcripts INDEX.md describes; a new capture in the folder is picked up as well.
KNOWN_CAPTURES = (
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
)
STREAM = "stream-plain-150-calls"
LIFECYCLE = {
    "plain": "05-events-plain-call-lifecycle",
    "json": "06-events-json-call-lifecycle",
    "xml": "07-events-xml-call-lifecycle",
}


def captures_dir() -> Path:
    return shared_dir() / "captures"


def capture_names() -> list[str]:
    """Every ``*.jsonl`` transcript in the captures folder (not the gzipped stream)."""
    return sorted(p.stem for p in captures_dir().glob("*.jsonl"))


def _read_jsonl(lines: list[str]) -> tuple[bytes, ...]:
    reads = []
    for line in lines:
        record = json.loads(line)
        if record["dir"] == "recv":
            reads.append(record["data"].encode("latin-1"))
    return tuple(reads)


@cache
def capture_reads(name: str) -> tuple[bytes, ...]:
    """The bytes of every read the client made from the real switch, in order."""
    if name == STREAM:
        with gzip.open(captures_dir() / f"{STREAM}.jsonl.gz", "rt", encoding="utf-8") as fh:
            return _read_jsonl(fh.read().splitlines())
    path = captures_dir() / f"{name}.jsonl"
    return _read_jsonl(path.read_text(encoding="utf-8").splitlines())


@cache
def capture_stream(name: str) -> bytes:
    """Everything the switch sent on that connection, as one byte string."""
    return b"".join(capture_reads(name))


def parse_chunks(chunks: list[bytes] | tuple[bytes, ...]) -> tuple[list[Frame], FrameParser]:
    parser = FrameParser()
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(parser.feed(chunk))
    return frames, parser


@cache
def capture_frames(name: str) -> tuple[Frame, ...]:
    frames, parser = parse_chunks(capture_reads(name))
    assert parser.buffered == 0, f"{name}: a frame was left incomplete"
    return tuple(frames)


def capture_events(name: str) -> list[Event]:
    """A fresh (undecoded) ``Event`` for every event frame of a capture."""
    return [Event.from_frame(f) for f in capture_frames(name) if f.is_event]


def rechunk(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` cut at random points, with sizes from one byte to more than a 64 KiB read."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        size = rng.choice([1, 2, 3, 7, 64, 500, 1500, 4096, 65536, 70000])
        out.append(data[pos : pos + size])
        pos += size
    return out

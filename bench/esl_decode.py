"""Decode a recorded stream of real FreeSWITCH plain events: our parser vs greenswitch's.

Both sides start from the same bytes (the event frames of
shared/freeswitch/captures/stream-plain-150-calls.jsonl.gz, repeated to >= 100 000 events) and
end with what a controller reads from every event: Event-Name, Unique-ID, Channel-Call-State.

- ours: FrameParser.feed() in 64 KiB reads, Event.from_frame(), three header reads (lazy
  decoding: only those three values are url-decoded); a second figure also builds
  Event.headers (every header of every event decoded), for readers who want that cost;
- greenswitch: its own receive path, ESLProtocol.receive_events() reading the same bytes from
  an io.BytesIO set as sock_file (readline per header line, read(Content-Length) for the body,
  unquote of the whole block, one ESLEvent per frame put on _esl_event_queue), then the same
  three headers from each queued ESLEvent. greenswitch decodes every header anyway.

greenswitch is measured two ways: the queue drained after every recording-sized segment (about
6 600 events, as its process_events greenlet would keep it short) and the whole stream queued
before draining (100 000+ live ESLEvents); the ratios use the better of the two figures.

Best of 3 runs each, one process, one core. Last line:
ours_events_per_s=<x> greenswitch_events_per_s=<y> ratio=<x/y>

Run from the repository root: .venv/bin/python bench/esl_decode.py [--events N] [--rounds R]
[--profile]. The shared folder is $CALLCENTER_SHARED_DIR, else ../shared beside the checkout.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import io
import json
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

from callcenter.esl.events import Event
from callcenter.esl.parser import FrameParser

READ = 64 * 1024
REPO = Path(__file__).resolve().parents[1]
THREE = ("Event-Name", "Unique-ID", "Channel-Call-State")


def shared_dir() -> Path:
    return Path(os.environ.get("CALLCENTER_SHARED_DIR", REPO.parent / "shared"))


def load_recording() -> tuple[bytes, int]:
    """The event frames of the recorded stream, as the switch sent them, and their count."""
    path = shared_dir() / "freeswitch" / "captures" / "stream-plain-150-calls.jsonl.gz"
    reads: list[bytes] = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            if record["dir"] == "recv":
                reads.append(record["data"].encode("latin-1"))
    parser = FrameParser()
    frames = [f for read in reads for f in parser.feed(read)]
    events = [f for f in frames if f.is_event]
    return b"".join(f.to_bytes() for f in events), len(events)


# -- the two decoders ---------------------------------------------------------------------------


def ours(stream: bytes, full: bool = False) -> int:
    parser = FrameParser()
    count = 0
    for pos in range(0, len(stream), READ):
        for frame in parser.feed(stream[pos : pos + READ]):
            event = Event.from_frame(frame)
            if full:
                event.headers  # noqa: B018 - decoding every header is the point
            event.get("Event-Name")
            event.get("Unique-ID")
            event.get("Channel-Call-State")
            count += 1
    return count


class _Sock:
    def close(self) -> None:
        pass


def greenswitch(segments: list[bytes]) -> int:
    """greenswitch's receive path over each segment in turn, draining its queue in between."""
    from greenswitch.esl import ESLProtocol

    proto = ESLProtocol()
    proto.sock = _Sock()
    queue = proto._esl_event_queue
    count = 0
    for segment in segments:
        proto.sock_file = io.BytesIO(segment)
        proto.connected = True
        proto._run = True
        proto.receive_events()  # returns at the end of the bytes (readline gives b"")
        while not queue.empty():
            headers = queue.get().headers
            headers.get("Event-Name")
            headers.get("Unique-ID")
            headers.get("Channel-Call-State")
            count += 1
    return count


# -- checks and timing ----------------------------------------------------------------------------


def check_same_answers(recording: bytes) -> None:
    """Both decoders read the same three values from every event (outside the timing)."""
    from greenswitch.esl import ESLProtocol

    mine = []
    parser = FrameParser()
    for frame in parser.feed(recording):
        event = Event.from_frame(frame)
        mine.append(tuple(event.get(h) for h in THREE))
    proto = ESLProtocol()
    proto.sock, proto.sock_file, proto.connected = _Sock(), io.BytesIO(recording), True
    proto.receive_events()
    queue = proto._esl_event_queue
    theirs = []
    while not queue.empty():
        headers = queue.get().headers
        theirs.append(tuple(headers.get(h) for h in THREE))
    if mine != theirs:
        raise SystemExit("the two decoders disagree on the recorded stream")


def best_rate(label: str, run: Callable[[], int], expected: int, rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        count = run()
        elapsed = time.perf_counter() - start
        if count != expected:
            raise SystemExit(f"{label}: decoded {count} events, expected {expected}")
        best = max(best, count / elapsed)
    print(f"{label:<52} {best:>10,.0f} events/s", flush=True)
    return best


def profile(stream: bytes) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(ours, stream)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000, help="at least this many events")
    ap.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    ap.add_argument("--profile", action="store_true", help="cProfile our decoder once")
    args = ap.parse_args()

    recording, per_copy = load_recording()
    copies = -(-args.events // per_copy)
    stream = recording * copies
    total = per_copy * copies
    check_same_answers(recording)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"stream: {total:,} real plain events ({per_copy:,} recorded x {copies}), "
        f"{len(stream) / 1e6:.1f} MB",
        flush=True,
    )
    if args.profile:
        profile(stream)
        return

    mine = best_rate(
        "ours: 3 headers read (lazy decoding)", lambda: ours(stream), total, args.rounds
    )
    mine_full = best_rate(
        "ours: every header decoded (Event.headers)", lambda: ours(stream, True), total, args.rounds
    )
    theirs = best_rate(
        "greenswitch: receive_events + 3 headers, drained",
        lambda: greenswitch([recording] * copies),
        total,
        args.rounds,
    )
    theirs_queued = best_rate(
        "greenswitch: receive_events + 3 headers, all queued",
        lambda: greenswitch([stream]),
        total,
        args.rounds,
    )
    # The ratio is taken against greenswitch's better figure of the two.
    theirs = max(theirs, theirs_queued)
    print(
        f"every header decoded: ours_events_per_s={mine_full:.0f} "
        f"greenswitch_events_per_s={theirs:.0f} ratio={mine_full / theirs:.2f}"
    )
    print(
        f"ours_events_per_s={mine:.0f} greenswitch_events_per_s={theirs:.0f} "
        f"ratio={mine / theirs:.2f}"
    )


if __name__ == "__main__":
    main()

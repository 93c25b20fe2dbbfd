"""Decode a recorded stream of real FreeSWITCH plain events: our parser vs greenswitch's.

Both sides start from the same bytes (the event frames of
shared/freeswitch/captures/stream-plain-150-calls.jsonl.gz, repeated to >= 100 000 events) and
end with what a controller reads from every event: Event-Name, Unique-ID, Channel-Call-State.

- ours: FrameParser.feed() in 64 KiB reads, Event.from_frame(), three header reads (lazy
  decoding: only those three values are url-decoded);
- greenswitch: its own receive path, ESLProtocol.receive_events() reading the same bytes from a
  file object (readline for the headers, read(Content-Length) for the body, unquote of the whole
  block), then the same three headers from each ESLEvent.

A second figure decodes every header of every event on our side (Event.headers), for readers
who want the cost of full decoding. Best of 3 runs each. Last line:
ours_events_per_s=<x> greenswitch_events_per_s=<y> ratio=<x/y>

Run: .venv/bin/python bench/esl_decode.py [--events 100000]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from callcenter.esl.events import Event
from callcenter.esl.parser import FrameParser

READ = 64 * 1024
REPO = Path(__file__).resolve().parents[1]


def load_stream(minimum: int) -> tuple[bytes, int]:
    base = Path(os.environ.get("CALLCENTER_SHARED_DIR", REPO.parent / "shared"))
    path = base / "freeswitch" / "captures" / "stream-plain-150-calls.jsonl.gz"
    raw = b""
    with gzip.open(path, "rt") as lines:
        for line in lines:
            record = json.loads(line)
            if record["dir"] == "recv":
                raw += record["data"].encode("latin-1")
    frames = FrameParser().feed(raw)
    events = [f for f in frames if f.is_event]
    one = b"".join(f.to_bytes() for f in events)
    copies = -(-minimum // len(events))
    return one * copies, len(events) * copies


def ours(stream: bytes, full: bool) -> int:
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


def greenswitch(stream: bytes) -> int:
    from greenswitch.esl import ESLProtocol

    class _Sock:
        def close(self) -> None:
            pass

    proto = ESLProtocol()
    proto.sock_file = io.BytesIO(stream)
    proto.sock = _Sock()
    proto.connected = True
    proto.receive_events()
    queue = proto._esl_event_queue
    count = 0
    while not queue.empty():
        event = queue.get()
        event.headers.get("Event-Name")
        event.headers.get("Unique-ID")
        event.headers.get("Channel-Call-State")
        count += 1
    return count


def best_rate(label: str, run: Callable[[], int], expected: int, rounds: int = 3) -> float:
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        count = run()
        elapsed = time.perf_counter() - start
        if count != expected:
            raise SystemExit(f"{label}: decoded {count} events, expected {expected}")
        best = max(best, count / elapsed)
    print(f"{label:<40} {best:>12,.0f} events/s", flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    args = ap.parse_args()
    stream, total = load_stream(args.events)
    print(f"stream: {total:,} real plain events, {len(stream) / 1e6:.1f} MB", flush=True)
    mine = best_rate("ours (3 headers read, lazy)", lambda: ours(stream, False), total)
    best_rate("ours (every header decoded)", lambda: ours(stream, True), total)
    theirs = best_rate(
        "greenswitch (receive_events + 3 headers)", lambda: greenswitch(stream), total
    )
    print(
        f"ours_events_per_s={mine:.0f} greenswitch_events_per_s={theirs:.0f} "
        f"ratio={mine / theirs:.2f}"
    )


if __name__ == "__main__":
    main()

"""Stream entries as the controller writes them, for ingest tests and the benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

Entry = dict[str, str | int]


def answered_call(
    call: str,
    *,
    queue: str = "support",
    agent: str = "1000",
    t0: int = 1_767_000_000_000,
    wait_ms: int = 12_000,
    talk_ms: int = 60_000,
    did: str = "74951234567",
    campaign: str = "tv-spring",
    caller: str = "79161234567",
    caller_hung_up: bool = True,
    recording: bool = True,
) -> list[Entry]:
    """Every entry one answered queue call leaves on the Stream, in the order they come."""
    leg = str(uuid.uuid5(uuid.NAMESPACE_URL, call))
    bridged = t0 + wait_ms + 3000
    ended = bridged + talk_ms
    entries: list[Entry] = [
        {"type": "call", "call": call, "queue": queue, "state": "waiting", "position": 1,
         "ts": t0},
        {"type": "call", "call": call, "queue": queue, "state": "offering", "agents": agent,
         "ts": t0 + wait_ms},
        {"type": "agent", "agent": agent, "status": "reserved", "previous": "available",
         "call": call, "ts": t0 + wait_ms},
        {"type": "call", "call": call, "queue": queue, "state": "answered", "agent": agent,
         "wait_ms": wait_ms + 3000, "ts": bridged},
        {"type": "agent", "agent": agent, "status": "on_call", "previous": "reserved",
         "ts": bridged},
        {"type": "call", "call": call, "queue": queue, "state": "bridged", "agent": agent,
         "ts": bridged},
        {"type": "recording", "call": call, "path": f"/var/rec/{call}.wav", "ts": bridged},
        {"type": "call", "call": call, "queue": queue, "state": "ended", "agent": agent,
         "talk_ms": talk_ms, "ts": ended},
        {"type": "agent", "agent": agent, "status": "wrap_up", "previous": "on_call",
         "ts": ended},
        {"type": "leg", "leg": call, "call": call, "role": "caller", "node": "office1",
         "direction": "inbound", "channel": "sofia/external/" + caller,
         "caller_number": caller, "caller_name": "Ivan", "destination": did, "did": did,
         "campaign": campaign, "gateway": "pstn", "queue": queue, "agent": "",
         "created_ms": t0 - 2000, "answered_ms": t0 - 1500, "ended_ms": ended,
         "billsec": (ended - t0 + 1500) // 1000, "duration": (ended - t0 + 2000) // 1000,
         "hold_ms": 0, "cause": "NORMAL_CLEARING",
         "disposition": "recv_bye" if caller_hung_up else "send_bye", "bridged_to": leg},
        {"type": "leg", "leg": leg, "call": call, "role": "agent", "node": "office1",
         "direction": "outbound", "channel": f"sofia/internal/{agent}", "caller_number": caller,
         "destination": agent, "queue": queue, "agent": agent, "created_ms": t0 + wait_ms,
         "answered_ms": bridged, "ended_ms": ended, "billsec": talk_ms // 1000,
         "duration": (ended - t0 - wait_ms) // 1000, "hold_ms": 0, "cause": "NORMAL_CLEARING",
         "disposition": "send_bye" if caller_hung_up else "recv_bye", "bridged_to": call},
        {"type": "agent", "agent": agent, "status": "available", "previous": "wrap_up",
         "ts": ended + 10_000},
    ]  # fmt: skip
    return entries if recording else [e for e in entries if e["type"] != "recording"]


def abandoned_call(
    call: str, *, queue: str = "support", t0: int = 1_767_000_000_000
) -> list[Entry]:
    return [
        {"type": "call", "call": call, "queue": queue, "state": "waiting", "position": 2,
         "ts": t0},
        {"type": "call", "call": call, "queue": queue, "state": "abandoned", "wait_ms": 40_000,
         "ts": t0 + 40_000},
        {"type": "leg", "leg": call, "call": call, "role": "caller", "node": "office1",
         "caller_number": "79160000000", "destination": "7000", "queue": queue,
         "created_ms": t0 - 1000, "answered_ms": t0 - 900, "ended_ms": t0 + 40_000,
         "billsec": 40, "duration": 41, "cause": "NORMAL_CLEARING",
         "disposition": "recv_bye"},
    ]  # fmt: skip


def many_calls(
    n: int, *, t0: int = 1_767_000_000_000, agents: int = 50, recordings: bool = True
) -> Iterator[Entry]:
    """``n`` answered calls one after another (each call's entries in order)."""
    for i in range(n):
        call = str(uuid.UUID(int=i + 1))
        yield from answered_call(
            call,
            agent=str(1000 + i % agents),
            t0=t0 + i * 250,
            wait_ms=1000 + i % 30_000,
            recording=recordings,
        )

"""A loopback call gives the per-channel event order the real switch recorded (capture 05)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path

from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.esl.parser import FrameParser
from callcenter.sim import SimSwitch

CORE = {
    "CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_PARK", "CHANNEL_UNPARK", "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "PLAYBACK_START", "PLAYBACK_STOP",
    "RECORD_START", "RECORD_STOP", "DTMF",
}  # fmt: skip


def sequence(events: list[Event]) -> dict[str, list[str]]:
    per: dict[str, list[str]] = {}
    for event in events:
        if event.name in CORE:
            label = event.name
            if event.name.startswith("CHANNEL_EXECUTE"):
                label += f"({event.get('Application')})"
            per.setdefault(event.get("Channel-Name") or "", []).append(label)
    return per


def recorded(freeswitch_dir: Path) -> dict[str, list[str]]:
    parser = FrameParser()
    events: list[Event] = []
    path = freeswitch_dir / "captures" / "05-events-plain-call-lifecycle.jsonl"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "recv":
            for frame in parser.feed(record["data"].encode("latin-1")):
                if frame.is_event:
                    events.append(Event.from_frame(frame))
    return sequence(events)


def destroyed(esl: InboundClient, name: str) -> Awaitable[Event]:
    def match(event: Event) -> bool:
        return event.get("Channel-Name") == name

    return esl.wait_for_event("CHANNEL_DESTROY", predicate=match)


async def test_loopback_call_lifecycle_matches_the_capture(
    freeswitch_dir: Path, tmp_path: Path
) -> None:
    want = recorded(freeswitch_dir)
    async with (
        SimSwitch(time_scale=0.05, recordings_dir=tmp_path) as switch,
        InboundClient("127.0.0.1", switch.port, "ClueCon") as esl,
    ):
        await esl.subscribe("ALL")
        seen: list[Event] = []
        esl.on("ALL", seen.append)
        uuid = "c54a8762-78f3-4627-a1ac-aac7dd571e20"
        parked_b = esl.wait_for_event(
            "CHANNEL_PARK", predicate=lambda e: e.get("Channel-Name") == "loopback/4701-b"
        )
        result = await esl.bgapi(
            f"originate {{origination_uuid={uuid},origination_caller_id_number=4951234567,"
            "origination_caller_id_name='Ivan Petrov & Co'}loopback/4701/captures &park()",
            timeout=10,
        )
        assert result == f"+OK {uuid}\n"
        await asyncio.wait_for(parked_b, 10)
        assert await esl.api(f"uuid_setvar {uuid} cc_queue sales") == "+OK\n"
        assert await esl.api(f"uuid_getvar {uuid} cc_queue") == "sales"
        assert await esl.api(f"uuid_record {uuid} start {tmp_path}/a.wav") == "+OK Success\n"
        played = esl.wait_for_event("CHANNEL_EXECUTE_COMPLETE", uuid=uuid, timeout=10)
        await esl.api(f"uuid_broadcast {uuid} tone_stream://%(500,0,600) aleg")
        await played
        dtmf = esl.wait_for_event(
            "DTMF", predicate=lambda e: e.get("DTMF-Digit") == "#", timeout=10
        )
        assert await esl.api(f"uuid_send_dtmf {uuid} 12#") == f"+OK {uuid} sent DTMF 12#.\n"
        await dtmf
        assert await esl.api(f"uuid_record {uuid} stop {tmp_path}/a.wav") == "+OK Success\n"
        gone = [destroyed(esl, n) for n in ("loopback/4701-a", "loopback/4701-b")]
        assert await esl.api(f"uuid_kill {uuid} NORMAL_CLEARING") == "+OK\n"
        await asyncio.wait_for(asyncio.gather(*gone), 10)
    got = sequence(seen)
    assert got["loopback/4701-a"] == want["loopback/4701-a"]
    assert got["loopback/4701-b"] == want["loopback/4701-b"]

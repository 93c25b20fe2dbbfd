"""``voicemail <profile> <domain> <id>``: a message file and the vm::maintenance event."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import SimSwitch
from tests.sim.confdir import SUNDAY_NOON

DID = "74951110000"
TIME_SCALE = 0.05  # the node fixture's


@pytest.fixture
async def vm_events(node: SimSwitch) -> AsyncIterator[InboundClient]:
    """A client that wants only what a voicemail worker wants."""
    async with InboundClient("127.0.0.1", node.port, "ClueCon") as client:
        await client.subscribe("MESSAGE_WAITING", custom=["vm::maintenance"])
        yield client


def left_message(client: InboundClient) -> Awaitable[Event]:
    return client.wait_for_event(
        "CUSTOM", predicate=lambda e: e.get("Event-Subclass") == "vm::maintenance", timeout=10
    )


def recording(esl: InboundClient, uuid: str) -> Awaitable[Event]:
    return esl.wait_for_event("RECORD_START", uuid=uuid, timeout=10)


def is_file(path: str) -> bool:
    return Path(path).is_file()


async def talk(seconds: float) -> None:
    """Let simulated seconds pass while the caller speaks."""
    await asyncio.sleep(seconds * TIME_SCALE)


async def test_after_hours_a_message_is_left_and_announced(
    node: SimSwitch, node_esl: InboundClient, vm_events: InboundClient, tmp_path: Path
) -> None:
    node.core.clock = lambda: SUNDAY_NOON
    message = left_message(vm_events)
    waiting = vm_events.wait_for_event("MESSAGE_WAITING", timeout=10)
    started = node_esl.wait_for_event("RECORD_START", timeout=10)
    call = await node.callers.dial(DID, caller_number="4951234567", caller_name="Ivan")
    record = await started
    assert record.unique_id == call.uuid
    await talk(6)
    await call.hangup()
    event = await message
    assert event.get("VM-Action") == "leave-message"
    assert event.get("VM-User") == "1000"
    assert event.get("VM-Domain") == "acme.example.com"
    assert event.get("VM-Caller-ID-Number") == "4951234567"
    assert event.get("VM-Caller-ID-Name") == "Ivan"
    assert int(event.get("VM-Message-Len") or 0) >= 5
    path = Path(event.get("VM-File-Path") or "")
    assert path == Path(record.get("Record-File-Path") or "")
    folder = tmp_path / "rec" / "voicemail" / "acme.example.com" / "1000"
    assert path.parent == folder
    assert path.name == f"msg_{event.get('VM-UUID')}.wav"
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 8000, 2)
        assert wav.getnframes() >= 5 * 8000
        assert any(wav.readframes(wav.getnframes()))
    mwi = await waiting
    assert mwi.get("MWI-Messages-Waiting") == "yes"
    assert mwi.get("MWI-Message-Account") == "1000@acme.example.com"
    assert mwi.get("MWI-Voice-Message") == "1/0 (0/0)"


async def test_hash_ends_the_message_and_the_switch_says_goodbye(
    node: SimSwitch, node_esl: InboundClient, vm_events: InboundClient
) -> None:
    node.core.clock = lambda: SUNDAY_NOON
    message = left_message(vm_events)
    started = node_esl.wait_for_event("RECORD_START", timeout=10)
    goodbye = node_esl.wait_for_event(
        "PLAYBACK_START",
        predicate=lambda e: e.get("Playback-File-Path") == "voicemail/vm-goodbye.wav",
        timeout=10,
    )
    call = await node.callers.dial(DID, caller_number="100")
    await started
    await talk(4)
    await call.press("#")
    assert is_file((await message).get("VM-File-Path") or "")
    await goodbye
    await call.wait_hangup()
    assert call.hangup_cause == "NORMAL_CLEARING"  # the dialplan ended after voicemail
    assert call.channel.variables.get("sip_hangup_disposition") == "send_bye"


async def test_a_message_too_short_is_not_kept(
    node: SimSwitch, node_esl: InboundClient, vm_events: InboundClient, tmp_path: Path
) -> None:
    node.core.clock = lambda: SUNDAY_NOON
    seen: list[Event] = []
    vm_events.on("CUSTOM", seen.append)
    started = node_esl.wait_for_event("RECORD_START", timeout=10)
    stopped = node_esl.wait_for_event("RECORD_STOP", timeout=10)
    call = await node.callers.dial(DID, caller_number="100")
    await started
    await call.hangup()  # at once: under the 3 s minimum
    await stopped
    await asyncio.sleep(0.2)
    assert seen == []
    assert not list((tmp_path / "rec").rglob("msg_*.wav"))


async def test_a_failed_bridge_continues_to_the_users_voicemail(
    node: SimSwitch, node_esl: InboundClient, vm_events: InboundClient
) -> None:
    """IVR 9 -> sub-menu -> 1002 -> bridge user/1002 (known, not registered) fails, and with
    continue_on_fail the dialplan goes on to the user's voicemail."""
    message = left_message(vm_events)
    sub = node_esl.wait_for_event(
        "PLAYBACK_START",
        predicate=lambda e: e.get("Playback-File-Path") == "acme/sub.wav",
        timeout=10,
    )
    call = await node.callers.dial(DID, caller_number="100")
    await asyncio.sleep(0.05)
    await call.press("9")
    await sub
    started = node_esl.wait_for_event("RECORD_START", uuid=call.uuid, timeout=10)
    await call.press("1002")
    await started
    assert call.channel.variables.get("originate_disposition") == "USER_NOT_REGISTERED"
    assert call.channel.variables.get("DIALSTATUS") == "USER_NOT_REGISTERED"
    await talk(4)
    await call.hangup()
    event = await message
    assert (event.get("VM-User"), event.get("VM-Domain")) == ("1002", "acme.example.com")

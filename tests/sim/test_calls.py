"""The simulated switch's channel model, endpoints and api, driven over real ESL."""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import SimSwitch

DIALPLAN = """<include>
  <context name="public">
    <extension name="support_line">
      <condition field="destination_number" expression="^(7495)(\\d+)$">
        <action application="set" data="dialed_suffix=$2"/>
        <action application="answer"/>
        <action application="record_session" data="${uuid}.wav"/>
        <action application="bridge" data="user/1000@default"/>
      </condition>
    </extension>
    <extension name="ivr_like">
      <condition field="destination_number" expression="^8800$">
        <action application="answer"/>
        <action application="playback" data="tone_stream://%(200,0,440)"/>
        <action application="park"/>
      </condition>
    </extension>
  </context>
</include>
"""


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "center.xml").write_text(DIALPLAN)
    sim = SimSwitch(time_scale=0.05, recordings_dir=tmp_path / "rec", dialplan_dir=plan)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def esl(switch: SimSwitch) -> AsyncIterator[InboundClient]:
    async with InboundClient("127.0.0.1", switch.port, "ClueCon") as client:
        await client.subscribe("ALL")
        yield client


def collect(esl: InboundClient, uuid: str) -> list[Event]:
    seen: list[Event] = []
    esl.on_channel(uuid, seen.append)
    return seen


async def test_pstn_call_bridges_to_a_phone_and_is_recorded(
    switch: SimSwitch, esl: InboundClient, tmp_path: Path
) -> None:
    switch.phones.register("1000", "default", answer_after=1.0)
    agent_answer = esl.wait_for_event(
        "CHANNEL_ANSWER", predicate=lambda e: e.get("Caller-Destination-Number") == "1000"
    )
    bridged = esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    call = await switch.callers.dial("74951112233", caller_number="4951234567", caller_name="Ivan")
    events = collect(esl, call.uuid)
    await agent_answer
    bridge = await bridged
    assert bridge.get("Bridge-A-Unique-ID") == call.uuid
    assert bridge.get("Other-Leg-Caller-ID-Number") is not None
    assert bridge.variable("dialed_suffix") == "1112233"

    calls = json.loads(await esl.api("show calls as json"))
    assert calls["row_count"] == 1
    assert calls["rows"][0]["uuid"] == call.uuid
    channels = await esl.api("show channels")
    assert channels.endswith("\n\n2 total.\n")
    assert channels.splitlines()[0].startswith("uuid,direction,created,created_epoch,name,state")

    destroyed = esl.wait_for_event(
        "CHANNEL_STATE",
        uuid=call.uuid,
        predicate=lambda e: e.get("Channel-State") == "CS_DESTROY",
        timeout=10,
    )
    await call.hangup()
    await destroyed
    names = [e.name for e in events]
    assert names.index("CHANNEL_CREATE") < names.index("CHANNEL_ANSWER")
    assert names.index("CHANNEL_BRIDGE") < names.index("CHANNEL_UNBRIDGE")
    assert names[-3:] == ["CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "CHANNEL_STATE"]
    assert "RECORD_STOP" in names
    assert switch.phones.get("1000") is not None
    # The agent leg went down with the caller.
    assert (await esl.api("show channels count")) == "\n0 total.\n"

    wav_path = tmp_path / "rec" / f"{call.uuid}.wav"
    with wave.open(str(wav_path)) as wav:
        assert wav.getnchannels() == 2
        assert wav.getframerate() == 8000
        assert wav.getsampwidth() == 2
        assert wav.getnframes() > 0
        frames = wav.readframes(wav.getnframes())
    assert any(frames), "the recording must not be silence only"


async def test_phone_that_rejects_or_never_answers(switch: SimSwitch, esl: InboundClient) -> None:
    switch.phones.register("1001", "default", reject="USER_BUSY")
    switch.phones.register("1002", "default", answer_after=None)
    assert await esl.api("originate user/1001@default &park()") == "-ERR USER_BUSY\n"
    assert (
        await esl.api("originate {originate_timeout=2}user/1002@default &park()")
        == "-ERR NO_ANSWER\n"
    )
    assert await esl.api("originate user/1999@default &park()") == "-ERR USER_NOT_REGISTERED\n"
    assert await esl.api("originate loopback/9999999/nowhere &park()") == (
        "-ERR NO_ROUTE_DESTINATION\n"
    )


async def test_caller_hanging_up_while_the_agent_rings_cancels_the_agent_leg(
    switch: SimSwitch, esl: InboundClient
) -> None:
    switch.phones.register("1000", "default", answer_after=None)
    ringing = esl.wait_for_event(
        "CHANNEL_CREATE", predicate=lambda e: e.get("Caller-Destination-Number") == "1000"
    )
    call = await switch.callers.dial("74950000000", caller_number="100")
    agent = await ringing
    gone = esl.wait_for_event("CHANNEL_HANGUP_COMPLETE", uuid=agent.unique_id, timeout=10)
    await call.hangup()
    assert (await gone).get("Hangup-Cause") == "ORIGINATOR_CANCEL"


async def test_dtmf_playback_and_hold(switch: SimSwitch, esl: InboundClient) -> None:
    call = await switch.callers.dial("8800", caller_number="200", hangup_after=60)
    events = collect(esl, call.uuid)
    parked = esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    await parked
    digits = esl.wait_for_event(
        "DTMF", uuid=call.uuid, predicate=lambda e: e.get("DTMF-Digit") == "#", timeout=10
    )
    await call.press("12#")
    assert (await digits).get("DTMF-Source") == "RTP"
    sent = await esl.api(f"uuid_send_dtmf {call.uuid} 5")
    assert sent == f"+OK {call.uuid} sent DTMF 5.\n"
    played = esl.wait_for_event("PLAYBACK_STOP", uuid=call.uuid, timeout=10)
    assert await esl.api(f"uuid_broadcast {call.uuid} tone_stream://%(100,0,350)") == (
        "+OK Message sent\n"
    )
    assert (await played).get("Playback-Status") == "done"
    held = esl.wait_for_event("CHANNEL_HOLD", uuid=call.uuid, timeout=10)
    assert await esl.api(f"uuid_hold {call.uuid}") == "+OK Success\n"
    await held
    assert await esl.api(f"uuid_hold off {call.uuid}") == "+OK Success\n"
    assert await esl.api(f"uuid_setvar {call.uuid} queue sales") == "+OK\n"
    assert await esl.api(f"uuid_getvar {call.uuid} queue") == "sales"
    assert await esl.api(f"uuid_getvar {call.uuid} nothing") == "_undef_"
    destroyed = esl.wait_for_event("CHANNEL_DESTROY", uuid=call.uuid, timeout=10)
    await call.hangup()
    await destroyed
    names = [e.name for e in events]
    for expected in ("DTMF", "PLAYBACK_START", "PLAYBACK_STOP", "CHANNEL_HOLD", "CHANNEL_UNHOLD"):
        assert expected in names
    assert names.count("DTMF") == 3  # what the caller pressed; sent DTMF leaves the switch


async def test_uuid_record_writes_a_stereo_wav(
    switch: SimSwitch, esl: InboundClient, tmp_path: Path
) -> None:
    uuid = "12121212-1212-4212-8212-121212121212"
    await esl.api(f"originate {{origination_uuid={uuid}}}null/1 &park()")
    path = tmp_path / "manual.wav"
    stopped = esl.wait_for_event("RECORD_STOP", uuid=uuid, timeout=10)
    assert await esl.api(f"uuid_record {uuid} start {path}") == "+OK Success\n"
    assert await esl.api(f"uuid_record {uuid} stop {path}") == "+OK Success\n"
    assert (await stopped).get("Record-File-Path") == str(path)
    assert await esl.api(f"uuid_record {uuid} stop {path}") == (
        "-ERR Cannot stop record session!\n"
    )
    with wave.open(str(path)) as wav:
        assert wav.getnchannels() == 2
    assert await esl.api("uuid_record 00000000-0000-0000-0000-000000000000 start x.wav") == (
        "-ERR Cannot locate session!\n"
    )


async def test_sim_api_commands_script_the_endpoints(switch: SimSwitch, esl: InboundClient) -> None:
    assert await esl.api("sim_phone 1005@default answer 0.5") == ("+OK 1005@default answer 0.5\n")
    assert await esl.api("sim_phone 1006@default reject call_rejected") == (
        "+OK 1006@default reject CALL_REJECTED\n"
    )
    assert await esl.api("sim_phone 1007@default noanswer") == "+OK 1007@default noanswer\n"
    assert "1006@default reject CALL_REJECTED calls=0" in await esl.api("sim_phones")
    assert await esl.api("originate user/1006@default &park()") == "-ERR CALL_REJECTED\n"
    assert await esl.api("sim_phone 1007@default unregister") == "+OK\n"
    assert await esl.api("sim_phone 1007@default unregister") == "-ERR not registered\n"
    reply = await esl.api("sim_call 8800 4951234567 Ivan pstn")
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    assert await esl.api(f"uuid_exists {uuid}") == "true"
    assert await esl.api(f"sim_dtmf {uuid} 1") == "+OK\n"
    gone = esl.wait_for_event("CHANNEL_HANGUP_COMPLETE", uuid=uuid, timeout=10)
    assert await esl.api(f"sim_hangup {uuid} NORMAL_CLEARING") == "+OK\n"
    event = await gone
    assert event.variable("sip_hangup_disposition") == "recv_bye"
    assert (await esl.api("sim_call")).startswith("-USAGE: sim_call")


async def test_reloadxml_keeps_the_old_dialplan_on_a_broken_file(
    switch: SimSwitch, esl: InboundClient, tmp_path: Path
) -> None:
    assert await esl.api("reloadxml") == "+OK [Success]\n"
    (tmp_path / "dialplan" / "broken.xml").write_text("<include><context name='x'>")
    reply = await esl.api("reloadxml")
    assert reply.startswith("+OK [") and "broken.xml" in reply and "not well-formed" in reply
    call = await switch.callers.dial("8800", caller_number="1")
    parked = esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    await parked  # still routed by the previous dialplan
    await call.hangup()


async def test_unrouted_call_is_refused(switch: SimSwitch) -> None:
    call = await switch.callers.dial("999", caller_number="1")
    await call.wait_hangup()
    assert call.hangup_cause == "NO_ROUTE_DESTINATION"


async def test_hupall_and_status(switch: SimSwitch, esl: InboundClient) -> None:
    for n in range(3):
        await esl.api(f"originate null/{n} &park()")
    status = await esl.api("status")
    assert "3 session(s) since startup" in status
    assert await esl.api("hupall") == "+OK hangup all channels with cause MANAGER_REQUEST\n"
    for _ in range(100):
        if await esl.api("show channels count") == "\n0 total.\n":
            break
    assert await esl.api("show channels as json") == '{"row_count": 0}\n'
    assert await esl.api("show channels as xml") == '<result row_count="0"/>\n'


async def test_trunk_far_ends_answer_fail_or_are_down(
    switch: SimSwitch, esl: InboundClient
) -> None:
    from callcenter.sim import Answering

    switch.far_ends.set("74950000001", Answering(reject="USER_BUSY"))
    switch.far_ends.down_gateways.add("broken")
    ok = await esl.api("originate sofia/gateway/pstn/74951234567 &park()")
    assert ok.startswith("+OK ")
    uuid = ok.split()[1]
    assert "sofia/gateway/pstn/74951234567" in await esl.api("show channels")
    assert await esl.api(f"uuid_kill {uuid}") == "+OK\n"
    assert await esl.api("originate sofia/gateway/pstn/74950000001 &park()") == ("-ERR USER_BUSY\n")
    assert await esl.api("originate sofia/gateway/broken/1 &park()") == "-ERR GATEWAY_DOWN\n"
    assert await esl.api("originate error/no_answer &park()") == "-ERR NO_ANSWER\n"
    assert await esl.api("originate bogus/1 &park()") == "-ERR CHAN_NOT_IMPLEMENTED\n"
    assert (await esl.api("originate")).startswith("-USAGE: <call url>")


async def test_transferring_the_agent_leg_lets_the_caller_continue(
    switch: SimSwitch, esl: InboundClient
) -> None:
    switch.phones.register("1000", "default", answer_after=0.5)
    bridged = esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    call = await switch.callers.dial("74951112233", caller_number="300")
    bridge = await bridged
    agent = bridge.get("Bridge-B-Unique-ID") or ""
    unbridged = esl.wait_for_event("CHANNEL_UNBRIDGE", uuid=call.uuid, timeout=10)
    agent_parked = esl.wait_for_event("CHANNEL_PARK", uuid=agent, timeout=10)
    assert await esl.api(f"uuid_transfer {agent} park XML default") == "+OK\n"
    await unbridged
    await agent_parked
    # The caller's dialplan bridge ended; with nothing left to do the call ends normally.
    await call.wait_hangup()
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert await esl.api(f"uuid_exists {agent}") == "true"
    await esl.api(f"uuid_kill {agent}")


async def test_originate_into_a_dialplan_extension(switch: SimSwitch, esl: InboundClient) -> None:
    switch.phones.register("1000", "default", answer_after=0.2)
    reply = await esl.api("originate user/1000@default 4701 XML captures")
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    parked = esl.wait_for_event("CHANNEL_PARK", uuid=uuid, timeout=10)
    await parked  # answer, playback, park: the captures' extension 4701
    assert await esl.api(f"uuid_getvar {uuid} current_application") == "park"
    assert await esl.api("originate user/1000@default 0000 XML captures") == (
        "-ERR NO_ROUTE_DESTINATION\n"
    )


async def test_dialplan_set_export_pre_answer_and_hangup(
    switch: SimSwitch, esl: InboundClient, tmp_path: Path
) -> None:
    (tmp_path / "dialplan" / "more.xml").write_text(
        """<include><context name="public">
        <extension name="closed">
          <condition field="destination_number" expression="^(5555)$">
            <action application="set" data="office=${destination_number}-closed"/>
            <action application="export" data="campaign=autumn"/>
            <action application="pre_answer"/>
            <action application="hangup" data="USER_BUSY"/>
          </condition>
        </extension></context></include>"""
    )
    assert await esl.api("reloadxml") == "+OK [Success]\n"
    call = await switch.callers.dial("5555", caller_number="42")
    events = collect(esl, call.uuid)
    await call.wait_hangup()
    assert call.hangup_cause == "USER_BUSY"
    assert not call.answered
    for _ in range(100):
        if any(e.name == "CHANNEL_HANGUP_COMPLETE" for e in events):
            break
        await asyncio.sleep(0.02)
    complete = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE")
    assert complete.variable("office") == "5555-closed"
    assert complete.variable("campaign") == "autumn"
    assert "CHANNEL_PROGRESS_MEDIA" in [e.name for e in events]
    assert complete.get("Answer-State") == "hangup"


async def test_uuid_break_stops_music_on_hold_and_the_dialplan_goes_on(
    switch: SimSwitch, esl: InboundClient, tmp_path: Path
) -> None:
    (tmp_path / "dialplan" / "moh.xml").write_text(
        """<include><context name="public">
        <extension name="hold">
          <condition field="destination_number" expression="^6000$">
            <action application="answer"/>
            <action application="playback" data="local_stream://moh"/>
            <action application="park"/>
          </condition>
        </extension></context></include>"""
    )
    assert await esl.api("reloadxml") == "+OK [Success]\n"
    started = esl.wait_for_event("PLAYBACK_START", timeout=10)
    call = await switch.callers.dial("6000", caller_number="1")
    await started
    stopped = esl.wait_for_event("PLAYBACK_STOP", uuid=call.uuid, timeout=10)
    parked = esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    assert await esl.api(f"uuid_break {call.uuid}") == "+OK\n"
    assert (await stopped).get("Playback-Status") == "break"
    await parked
    # A break on a parked channel with nothing playing changes nothing.
    assert await esl.api(f"uuid_break {call.uuid}") == "+OK\n"
    assert await esl.api(f"uuid_getvar {call.uuid} current_application") == "park"
    await call.hangup()

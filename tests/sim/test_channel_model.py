"""The channel model over raw ESL: bridges, kills, show output, originate variables, hold,
recordings, DTMF, scripted phones and callers."""

from __future__ import annotations

import json
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.sim import SimSwitch
from callcenter.sim.api import SHOW_CALLS_COLUMNS
from tests.sim.raw import RawPeer, connect_authed

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"

DIALPLAN = """<include><context name="public">
  <extension name="agent"><condition field="destination_number" expression="^7(\\d{3})$">
    <action application="answer"/>
    <action application="record_session" data="${uuid}.wav"/>
    <action application="bridge" data="user/1$1@default"/>
    <action application="set" data="after_bridge=reached"/>
    <action application="park"/>
  </condition></extension>
  <extension name="timeout"><condition field="destination_number" expression="^8000$">
    <action application="bridge" data="{leg_timeout=2}user/1600@default"/>
    <action application="hangup" data="${originate_disposition}"/>
  </condition></extension>
</context></include>
"""


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "center.xml").write_text(DIALPLAN)
    sim = SimSwitch(
        time_scale=0.05, recordings_dir=tmp_path / "rec", dialplan_dir=tmp_path / "plan"
    )
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.stop()


@pytest.fixture
async def peer(switch: SimSwitch) -> AsyncIterator[RawPeer]:
    p = await connect_authed(switch.port)
    await p.reply("event plain ALL")
    yield p
    p.close()


async def two_parked_legs(peer: RawPeer) -> None:
    for uuid, name, number in ((A, "caller", "100"), (B, "agent", "200")):
        reply = await peer.api(
            f"originate {{origination_uuid={uuid},origination_caller_id_number={number}}}"
            f"null/{name} &park()"
        )
        assert reply == f"+OK {uuid}\n"


async def test_uuid_bridge_show_calls_and_kill_takes_both_legs(peer: RawPeer) -> None:
    await two_parked_legs(peer)
    assert await peer.api(f"uuid_bridge {A} {B}") == f"+OK {B}\n"
    bridge = await peer.event("CHANNEL_BRIDGE", Unique_ID=A)
    assert bridge.get("Bridge-B-Unique-ID") == B
    assert bridge.get("Other-Leg-Unique-ID") == B
    assert (bridge.get("Caller-Transfer-Source") or "").endswith(f":uuid_br:{B}")

    text = await peer.api("show calls")
    lines = text.split("\n")
    assert lines[0] == ",".join(SHOW_CALLS_COLUMNS)
    assert lines[1].startswith(f"{A},outbound,")
    assert f",{B},outbound," in lines[1]
    assert text.endswith("\n\n1 total.\n")
    piped = await peer.api("show calls as delim |")
    assert piped.split("\n")[0] == "|".join(SHOW_CALLS_COLUMNS)
    calls = json.loads(await peer.api("show calls as json"))
    assert calls["row_count"] == 1 and calls["rows"][0]["b_uuid"] == B
    channels = json.loads(await peer.api("show channels as json"))
    assert channels["row_count"] == 2
    assert {row["uuid"] for row in channels["rows"]} == {A, B}
    assert all(isinstance(v, str) for row in channels["rows"] for v in row.values())
    xml = await peer.api("show channels as xml")
    assert xml.startswith('<result row_count="2">') and f"<uuid>{B}</uuid>" in xml
    assert await peer.api("show channels count") == "\n2 total.\n"

    tone = "tone_stream://%(200,0,440)"
    assert await peer.api(f"uuid_broadcast {A} {tone} bleg") == "+OK Message sent\n"
    command = await peer.event("COMMAND", Unique_ID=B)
    assert command.get("execute-app-arg") == tone
    assert (await peer.event("PLAYBACK_STOP", Unique_ID=B)).get("Playback-Status") == "done"

    assert await peer.api(f"uuid_kill {A} USER_BUSY") == "+OK\n"
    first = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=A)
    assert first.get("Hangup-Cause") == "USER_BUSY"
    second = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=B)
    assert second.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert await peer.api("show calls count") == "\n0 total.\n"


async def test_uuid_transfer_of_one_leg_ends_the_uuid_bridge(peer: RawPeer) -> None:
    await two_parked_legs(peer)
    await peer.api(f"uuid_bridge {A} {B}")
    await peer.event("CHANNEL_BRIDGE", Unique_ID=A)
    assert await peer.api(f"uuid_transfer {B} 4704 XML captures") == "+OK\n"
    await peer.event("CHANNEL_UNBRIDGE", Unique_ID=A)
    assert (await peer.event("CHANNEL_HANGUP", Unique_ID=A)).get("Hangup-Cause") == (
        "NORMAL_CLEARING"
    )
    parked = await peer.event("CHANNEL_PARK", Unique_ID=B, Caller_Destination_Number="4704")
    assert parked.get("Caller-Context") == "captures"
    assert parked.get("Caller-RDNIS") == "agent"
    assert parked.get("Caller-Profile-Index") == "3"
    assert await peer.api(f"uuid_exists {B}") == "true"


async def test_originate_variables_and_failures(switch: SimSwitch, peer: RawPeer) -> None:
    uuid = "33333333-3333-4333-8333-333333333333"
    reply = await peer.api(
        f"originate {{origination_uuid={uuid},origination_caller_id_name='Petrov, Ivan',"
        "origination_caller_id_number=4951234567}[leg_note=vip]null/x &park()"
    )
    assert reply == f"+OK {uuid}\n"
    create = await peer.event("CHANNEL_CREATE", Unique_ID=uuid)
    assert create.get("Caller-Caller-ID-Name") == "Petrov, Ivan"
    assert create.get("Caller-Caller-ID-Number") == "4951234567"
    assert create.variable("leg_note") == "vip"
    assert create.get("Call-Direction") == "outbound"
    assert await peer.api(f"uuid_getvar {uuid} leg_note") == "vip"
    assert await peer.api(f"uuid_setvar {uuid} leg_note") == "+OK\n"
    assert await peer.api(f"uuid_getvar {uuid} leg_note") == "_undef_"
    dump = json.loads(await peer.api(f"uuid_dump {uuid} json"))
    assert dump["Unique-ID"] == uuid and dump["Event-Name"] == "CHANNEL_DATA"

    assert await peer.api("originate error/user_busy &park()") == "-ERR USER_BUSY\n"
    assert await peer.api("originate user/4040@default &park()") == ("-ERR USER_NOT_REGISTERED\n")
    switch.phones.register("4041", "default", answer_after=None)
    assert await peer.api("originate user/4041@default &park() XML default a b 3") == (
        "-ERR NO_ANSWER\n"
    )
    assert await peer.api(f"originate {{origination_uuid={uuid}}}null/y &park()") != (
        f"+OK {uuid}\n"
    )
    # An extension instead of an application: the captures' park_only.
    reply = await peer.api("originate null/z 4704 XML captures")
    parked = await peer.event("CHANNEL_PARK", Unique_ID=reply.split()[1])
    assert parked.get("Caller-Destination-Number") == "4704"


async def test_phone_answers_records_and_hangs_up(
    switch: SimSwitch, peer: RawPeer, tmp_path: Path
) -> None:
    phone = switch.phones.register("1234", "default", answer_after=1, hangup_after=4)
    call = await switch.callers.dial("7234", caller_number="4951112233", caller_name="Ivan")
    progress = await peer.event("CHANNEL_PROGRESS", Caller_Destination_Number="1234")
    agent = progress.unique_id or ""
    answered = await peer.event("CHANNEL_ANSWER", Unique_ID=agent)
    assert answered.get("Caller-Caller-ID-Number") == "4951112233"
    bridge = await peer.event("CHANNEL_BRIDGE", Unique_ID=call.uuid)
    assert bridge.get("Other-Leg-Unique-ID") == agent
    assert phone.calls == [agent]
    # The agent hangs up after 4 s of talk: the caller leaves the bridge and goes on.
    end = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=agent)
    assert end.variable("sip_hangup_disposition") == "recv_bye"
    await peer.event("CHANNEL_UNBRIDGE", Unique_ID=call.uuid)
    await peer.event("CHANNEL_PARK", Unique_ID=call.uuid)
    assert await peer.api(f"uuid_getvar {call.uuid} after_bridge") == "reached"
    await call.hangup()
    stop = await peer.event("RECORD_STOP", Unique_ID=call.uuid)
    path = Path(stop.get("Record-File-Path") or "")
    assert path == tmp_path / "rec" / f"{call.uuid}.wav"
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        frames = wav.readframes(wav.getnframes())
    assert wav.getnframes() >= 8000 * 4  # about 5 simulated seconds were recorded
    left = frames[0::4] + frames[1::4]
    right = frames[2::4] + frames[3::4]
    assert any(left) and any(right), "both sides talk in a bridged call"


async def test_bridge_leg_timeout_fails_and_the_dialplan_goes_on(
    switch: SimSwitch, peer: RawPeer
) -> None:
    switch.phones.register("1600", "default", answer_after=None)
    call = await switch.callers.dial("8000", caller_number="1")
    ringing = await peer.event("CHANNEL_HANGUP_COMPLETE", Caller_Destination_Number="1600")
    assert ringing.get("Hangup-Cause") == "NO_ANSWER"
    await call.wait_hangup()
    assert call.hangup_cause == "NO_ANSWER"


async def test_hold_toggle_dtmf_and_caller_hangup_after(switch: SimSwitch, peer: RawPeer) -> None:
    # 4705 plays a 10 s tone then hangs up; the caller leaves first.
    call = await switch.callers.dial("4705", caller_number="555", hangup_after=5)
    await peer.event("CHANNEL_ANSWER", Unique_ID=call.uuid)
    assert await peer.api(f"uuid_hold toggle {call.uuid}") == "+OK Success\n"
    await peer.event("CHANNEL_HOLD", Unique_ID=call.uuid)
    held = await peer.event("CHANNEL_CALLSTATE", Unique_ID=call.uuid, Channel_Call_State="HELD")
    assert held.get("Original-Channel-Call-State") == "ACTIVE"
    assert await peer.api(f"uuid_hold toggle {call.uuid}") == "+OK Success\n"
    await peer.event("CHANNEL_UNHOLD", Unique_ID=call.uuid)
    await call.press("9*")
    digits = [(await peer.event("DTMF", Unique_ID=call.uuid)).get("DTMF-Digit") for _ in range(2)]
    assert digits == ["9", "*"]
    end = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=call.uuid, timeout=20)
    assert end.variable("sip_hangup_disposition") == "recv_bye"
    assert end.get("Hangup-Cause") == "NORMAL_CLEARING"
    create_vars = end.headers
    assert create_vars.get("variable_sofia_profile_name") == "external"
    assert create_vars.get("variable_sip_gateway_name") == "pstn"
    assert create_vars.get("variable_sip_from_user") == "555"
    assert end.get("Caller-Context") == "public"


async def test_queue_extension_of_the_captures(switch: SimSwitch, peer: RawPeer) -> None:
    # public 4703 transfers to the captures' 4703: answer, then mod_callcenter's queue.
    call = await switch.callers.dial("4703", caller_number="4957654321", caller_name="Customer")
    start = await peer.event("CUSTOM", CC_Action="member-queue-start")
    assert next(iter(start.headers)) == "Event-Subclass"  # before Event-Name (cap 11)
    assert start.get("Event-Subclass") == "callcenter::info"
    assert start.get("CC-Queue") == "support@default"
    assert start.get("CC-Member-Session-UUID") == call.uuid
    assert start.get("CC-Member-CID-Name") == "Customer"
    assert start.unique_id == call.uuid
    assert start.get("Caller-Context") == "captures"
    assert (await peer.event("CUSTOM", CC_Action="members-count")).get("CC-Count") == "1"
    await call.hangup()
    end = await peer.event("CUSTOM", CC_Action="member-queue-end")
    assert end.get("CC-Cancel-Reason") == "BREAK_OUT"
    assert end.get("CC-Cause") == "Cancel"
    assert end.get("CC-Member-UUID") == start.get("CC-Member-UUID")
    await peer.event("CUSTOM", CC_Action="members-count", CC_Count="0")


async def test_ring_together_first_answer_wins_and_failover(
    switch: SimSwitch, peer: RawPeer
) -> None:
    switch.phones.register("2001", "default", answer_after=3)
    switch.phones.register("2002", "default", answer_after=1)
    reply = await peer.api("originate {campaign='a,b'}user/2001@default,user/2002@default &park()")
    assert reply.startswith("+OK ")
    winner = reply.split()[1]
    answered = await peer.event("CHANNEL_ANSWER", Unique_ID=winner)
    assert answered.get("Caller-Destination-Number") == "2002"
    assert answered.variable("campaign") == "a,b"
    lost = await peer.event("CHANNEL_HANGUP_COMPLETE", Caller_Destination_Number="2001")
    assert lost.get("Hangup-Cause") == "LOSE_RACE"
    assert lost.variable("campaign") == "a,b"
    # The first group fails, the second answers.
    reply = await peer.api("originate error/user_busy|user/2002@default &park()")
    assert reply.startswith("+OK ")
    assert await peer.api("originate error/user_busy|error/call_rejected &park()") == (
        "-ERR CALL_REJECTED\n"
    )


async def test_agent_phone_and_trunk_scripting(switch: SimSwitch, peer: RawPeer) -> None:
    phone = switch.phones.register("3001", "default", answer_after=0.5)
    reply = await peer.api("originate user/3001@default &park()")
    uuid = reply.split()[1]
    assert await phone.wait_call() == uuid
    assert phone.live_calls == [uuid]
    assert "3001@default answer 0.5 calls=1 live=1" in await peer.api("sim_phones")
    assert await peer.api("sim_phone 3001@default hangup USER_BUSY") == "+OK 1 hung up\n"
    end = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=uuid)
    assert end.get("Hangup-Cause") == "USER_BUSY"
    assert end.variable("sip_hangup_disposition") == "recv_bye"
    assert await peer.api("sim_phone 3999@default hangup") == "-ERR not registered\n"

    assert await peer.api("sim_far_end 74950001122 reject user_busy") == (
        "+OK 74950001122 reject USER_BUSY\n"
    )
    assert await peer.api("originate sofia/gateway/pstn/74950001122 &park()") == (
        "-ERR USER_BUSY\n"
    )
    assert await peer.api("sim_far_end default noanswer") == "+OK default noanswer\n"
    assert await peer.api("originate {originate_timeout=1}sofia/gateway/pstn/1 &park()") == (
        "-ERR NO_ANSWER\n"
    )
    assert await peer.api("sim_gateway pstn down") == "+OK pstn down\n"
    assert await peer.api("originate sofia/gateway/pstn/1 &park()") == "-ERR GATEWAY_DOWN\n"
    assert await peer.api("sim_gateway pstn up") == "+OK pstn up\n"
    assert (await peer.api("sim_gateway pstn")).startswith("-USAGE: sim_gateway")
    assert (await peer.api("sim_far_end 1 dance")).startswith("-USAGE: sim_far_end")


async def test_registrations_and_sofia_contact(switch: SimSwitch, peer: RawPeer) -> None:
    assert await peer.api("show registrations") == "\n0 total.\n"
    switch.phones.register("1000", "default")
    text = await peer.api("show registrations")
    lines = text.split("\n")
    assert lines[0] == (
        "reg_user,realm,token,url,expires,network_ip,network_port,network_proto,hostname,metadata"
    )
    assert lines[1].startswith("1000,default,")
    assert text.endswith("\n\n1 total.\n")
    assert await peer.api("sofia_contact 1000@default") == (
        "sofia/internal/sip:1000@127.0.0.1:21000"
    )
    assert await peer.api("sofia_contact internal/1999@default") == "error/user_not_registered"

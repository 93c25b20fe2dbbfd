"""Every inbound socket command's exact reply (PROTOCOL.md §3), bgapi, sendmsg and sendevent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.esl.events import Event
from callcenter.sim import SimSwitch
from tests.sim.raw import RawPeer, connect_authed

UUID = "7a7a7a7a-7a7a-47a7-87a7-7a7a7a7a7a7a"


@pytest.fixture
async def peer(sim: SimSwitch) -> AsyncIterator[RawPeer]:
    p = await connect_authed(sim.port)
    yield p
    p.close()


async def parked(peer: RawPeer, uuid: str = UUID) -> None:
    reply = await peer.api(f"originate {{origination_uuid={uuid}}}null/x &park()")
    assert reply == f"+OK {uuid}\n"


async def test_subscription_replies(peer: RawPeer) -> None:
    async def text(command: str) -> str:
        return (await peer.reply(command)).reply_text

    assert await text("noevents") == "-ERR not listening for events"
    assert await text("event plain") == "-ERR no keywords supplied"
    assert await text("event NOT_AN_EVENT") == "-ERR no keywords supplied"
    assert await text("event json CHANNEL_CREATE") == "+OK event listener enabled json"
    assert await text("event CUSTOM sim::a sim::b") == "+OK event listener enabled json"
    assert await text("event xml ALL") == "+OK event listener enabled xml"
    assert await text("nixevent CHANNEL_CREATE") == "+OK events nixed"
    assert await text("nixevent") == "-ERR no keywords supplied"
    assert await text("noevents") == "+OK no longer listening for events"
    assert await text("filter Unique-ID") == "-ERR invalid syntax"
    assert await text("filter add Event-Name CHANNEL_ANSWER") == (
        "+OK filter added. [Event-Name]=[CHANNEL_ANSWER]"
    )
    assert await text("filter delete") == "-ERR invalid syntax"
    assert await text("filter delete Event-Name CHANNEL_ANSWER") == (
        "+OK filter deleted. [Event-Name][CHANNEL_ANSWER]"
    )
    assert await text("filter delete all") == "+OK filter deleted. [all][]"


async def test_session_commands_without_a_session(peer: RawPeer) -> None:
    async def text(command: str) -> str:
        return (await peer.reply(command)).reply_text

    assert await text("divert_events on") == "-ERR not controlling a session."
    assert await text("linger") == "-ERR not controlling a session"
    assert await text("nolinger") == "-ERR not controlling a session"
    assert await text("getvar uuid") == "-ERR command not found"
    assert await text("resume") == "-ERR command not found"
    assert await text("myevents 00000000-0000-4000-8000-000000000000") == "+OK Events Enabled"
    assert await text("myevents 00000000-0000-4000-8000-000000000000 json") == ("-ERR invalid uuid")
    assert await text("log") == "+OK log level  [7]"
    assert await text("log warning") == "+OK log level warning [4]"
    assert await text("log loud") == "-ERR invalid log level"
    assert await text("nolog") == "+OK no longer logging"
    assert await text("foo bar") == "-ERR command not found"


async def test_api_error_bodies(peer: RawPeer) -> None:
    assert await peer.api("no_such_thing a b") == "-ERR no_such_thing Command not found!\n"
    assert await peer.api("global_getvar not_set_anywhere") == "-ERR no reply\n"
    assert await peer.api("global_getvar domain") == "127.0.0.1"
    assert await peer.api(f"uuid_kill {UUID}") == "-ERR No such channel!\n"
    assert await peer.api(f"uuid_exists {UUID}") == "false"
    assert await peer.api(f"uuid_answer {UUID}") == "-ERROR\n"
    assert await peer.api(f"uuid_bridge {UUID} {UUID}") == "-ERR Invalid uuid\n"
    assert await peer.api(f"uuid_hold {UUID}") == "+OK Success\n"
    assert await peer.api(f"uuid_send_dtmf {UUID} 1") == "-ERR Cannot locate session!\n"
    assert await peer.api(f"uuid_dump {UUID}") == "-ERR No such channel!\n"
    assert (await peer.api("version")).startswith("FreeSWITCH Version 1.10.12-release")
    assert await peer.api("eval ${domain}") == "127.0.0.1"


async def test_bgapi_reply_and_background_job_for_every_subscriber(
    sim: SimSwitch, peer: RawPeer
) -> None:
    other = await connect_authed(sim.port)
    await other.reply("event plain BACKGROUND_JOB")
    await peer.reply("event json BACKGROUND_JOB")
    job = "4b4b4b4b-4b4b-44b4-84b4-4b4b4b4b4b4b"
    reply = await peer.reply(
        f"bgapi originate {{origination_uuid={UUID}}}null/x &park()\nJob-UUID: {job}"
    )
    assert reply.reply_text == f"+OK Job-UUID: {job}"
    assert reply.header("Job-UUID") == job
    for listener in (peer, other):
        event = await listener.event("BACKGROUND_JOB", Job_UUID=job)
        assert event.body == f"+OK {UUID}\n"
        assert event.get("Job-Command") == "originate"
        assert event.get("Job-Command-Arg") == f"{{origination_uuid={UUID}}}null/x &park()"
    unknown = await peer.reply("bgapi frobnicate now")
    job2 = unknown.header("Job-UUID")
    assert job2
    assert (await peer.event("BACKGROUND_JOB", Job_UUID=job2)).body == (
        "-ERR frobnicate Command not found!\n"
    )
    other.close()


async def test_a_blocking_api_does_not_hold_back_events(sim: SimSwitch, peer: RawPeer) -> None:
    sim.phones.register("1500", "default", answer_after=None)
    await peer.reply("event plain CHANNEL_CREATE")
    peer.send("api originate {originate_timeout=5}user/1500@default &park()")
    frames = []
    while True:
        frame = await peer.next_frame()
        frames.append(frame)
        if frame.content_type == "api/response":
            break
    assert frames[0].is_event, "CHANNEL_CREATE arrives while originate still waits"
    assert frames[-1].text == "-ERR NO_ANSWER\n"


async def test_filters_hide_events_without_the_header(sim: SimSwitch, peer: RawPeer) -> None:
    await peer.reply("event plain CHANNEL_PARK BACKGROUND_JOB")
    await peer.reply(f"filter Unique-ID {UUID}")
    await peer.reply("bgapi status")
    other = "5c5c5c5c-5c5c-45c5-85c5-5c5c5c5c5c5c"
    await parked(peer, other)
    await parked(peer)
    event = await peer.event("CHANNEL_PARK")
    assert event.unique_id == UUID  # not the other channel, and no BACKGROUND_JOB either
    await peer.reply(f"filter Unique-ID -{UUID}")
    await peer.reply("filter Event-Name BACKGROUND_JOB")
    await peer.reply("bgapi status")
    assert ((await peer.event("BACKGROUND_JOB")).body or "").startswith("UP ")


async def test_sendmsg_execute_hangup_and_unknown_targets(sim: SimSwitch, peer: RawPeer) -> None:
    await peer.reply("event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE PRIVATE_COMMAND")
    await peer.reply("event plain CHANNEL_HANGUP_COMPLETE")
    await parked(peer)
    missing = "00000000-0000-4000-8000-000000000001"
    assert (await peer.reply(f"sendmsg {missing}\ncall-command: hangup")).reply_text == (
        f"-ERR invalid session id [{missing}]"
    )
    app_uuid = "6d6d6d6d-6d6d-46d6-86d6-6d6d6d6d6d6d"
    reply = await peer.reply(
        f"sendmsg {UUID}\ncall-command: execute\nexecute-app-name: playback\n"
        f"execute-app-arg: tone_stream://%(100,0,440)\nevent-uuid: {app_uuid}\nevent-lock: true"
    )
    assert reply.reply_text == "+OK"
    command = await peer.event("PRIVATE_COMMAND", Unique_ID=UUID)
    assert command.get("Command") == f"sendmsg {UUID}"
    assert command.get("execute-app-name") == "playback"
    done = await peer.event("CHANNEL_EXECUTE_COMPLETE", Application="playback")
    assert done.get("Application-UUID") == app_uuid
    assert done.get("Application-Response") == "FILE PLAYED"
    # The body is the argument when execute-app-arg is absent.
    body = "multi=line"
    await peer.reply(
        f"sendmsg {UUID}\ncall-command: execute\nexecute-app-name: set\n"
        f"content-type: text/plain\ncontent-length: {len(body)}\n\n{body}"
    )
    await peer.event("CHANNEL_EXECUTE_COMPLETE", Application="set")
    assert await peer.api(f"uuid_getvar {UUID} multi") == "line"
    # An unknown application is accepted, then ends the call.
    reply = await peer.reply(f"sendmsg {UUID}\ncall-command: execute\nexecute-app-name: nope")
    assert reply.reply_text == "+OK"
    end = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=UUID)
    assert end.get("Hangup-Cause") == "DESTINATION_OUT_OF_ORDER"

    second = "8e8e8e8e-8e8e-48e8-88e8-8e8e8e8e8e8e"
    await parked(peer, second)
    await peer.reply(f"sendmsg {second}\ncall-command: hangup\nhangup-cause: USER_BUSY")
    end = await peer.event("CHANNEL_HANGUP_COMPLETE", Unique_ID=second)
    assert end.get("Hangup-Cause") == "USER_BUSY"


async def test_sendevent_reaches_subscribers(sim: SimSwitch, peer: RawPeer) -> None:
    listener = await connect_authed(sim.port)
    await listener.reply("event json CUSTOM sim::ping")
    reply = await peer.reply("sendevent CUSTOM\nEvent-Subclass: sim::ping\nX-Note: hello world")
    assert reply.reply_text.startswith("+OK ")
    event = await listener.event("CUSTOM")
    assert event.get("Event-Subclass") == "sim::ping"
    assert event.get("X-Note") == "hello world"
    assert event.get("Event-UUID") == reply.reply_text[4:]
    assert event.get("Command") == "sendevent CUSTOM"
    listener.close()


async def test_myevents_session_linger_and_getvar(sim: SimSwitch, peer: RawPeer) -> None:
    await parked(peer)
    assert (await peer.reply(f"myevents {UUID}")).reply_text == "+OK Events Enabled"
    assert (await peer.reply(f"myevents {UUID}")).reply_text == "-ERR aready enabled."
    assert (await peer.reply("divert_events on")).reply_text == "+OK events diverted"
    assert (await peer.reply("divert_events off")).reply_text == "+OK events not diverted"
    assert (await peer.reply("divert_events")).reply_text == "-ERR missing value."
    # A profile field reads like a variable; originate flipped the caller id to the callee.
    assert (await peer.reply("getvar caller_id_number")).reply_text == "x"
    assert (await peer.reply("getvar never_set")).reply_text == "-ERR command not found"
    assert (await peer.reply("linger 5")).reply_text == "+OK will linger 5 seconds"
    assert (await peer.reply("nolinger")).reply_text == "+OK will not linger"
    await peer.api(f"uuid_kill {UUID}")
    frames = await peer.until_closed()
    notice = frames[-1]
    assert notice.content_type == "text/disconnect-notice"
    assert notice.header("Controlled-Session-UUID") == UUID
    assert notice.header("Content-Disposition") == "disconnect"
    names = [Event.from_frame(f).name for f in frames if f.is_event]
    assert names[-1] == "CHANNEL_HANGUP_COMPLETE"


async def test_exit_and_auth_timeout() -> None:
    async with SimSwitch(auth_timeout=0.2) as switch:
        idle = await RawPeer.open(switch.port)
        await idle.next_frame()
        frames = await idle.until_closed()
        assert [f.content_type for f in frames] == ["text/disconnect-notice"]
        p = await RawPeer.open(switch.port)
        await p.next_frame()
        assert (await p.reply("exit")).reply_text == "+OK bye"
        frames = await p.until_closed()
        assert (
            frames[0].text
            == "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
        )
        await asyncio.sleep(0)


@pytest.mark.parametrize("length", ["-1", str(16 * 1024 * 1024 + 1), "12abc"])
async def test_bad_content_length_drops_the_connection(sim: SimSwitch, length: str) -> None:
    peer = await connect_authed(sim.port)
    peer.send(f"sendevent CUSTOM\nContent-Length: {length}")
    assert await peer.until_closed() == []
    assert peer.closed

"""mod_event_socket behavior of the simulated switch, over raw TCP with our frame parser."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callcenter.esl.events import Event
from callcenter.sim import SimSwitch
from tests.sim.raw import RawPeer


@pytest.fixture
async def peer(sim: SimSwitch) -> AsyncIterator[RawPeer]:
    p = await RawPeer.open(sim.port)
    assert (await p.next_frame()).content_type == "auth/request"
    assert (await p.reply("auth ClueCon")).reply_text == "+OK accepted"
    yield p
    p.close()


async def test_wrong_password_is_refused_and_closed(sim: SimSwitch) -> None:
    p = await RawPeer.open(sim.port)
    await p.next_frame()
    assert (await p.reply("auth nope")).reply_text == "-ERR invalid"
    rest = await p.until_closed()
    assert [f.content_type for f in rest] == ["text/disconnect-notice"]
    assert rest[0].text.startswith("Disconnected, goodbye.")


async def test_commands_before_auth_are_not_found(sim: SimSwitch) -> None:
    p = await RawPeer.open(sim.port)
    await p.next_frame()
    assert (await p.reply("api status")).reply_text == "-ERR command not found"
    assert (await p.reply("auth ClueCon")).reply_text == "+OK accepted"
    p.close()


async def test_acl_rejects_a_peer_rudely() -> None:
    async with SimSwitch(allowed_peers=["10.0.0.0/8"]) as switch:
        p = await RawPeer.open(switch.port)
        frames = await p.until_closed()
        assert [f.content_type for f in frames] == [
            "text/rude-rejection",
            "text/disconnect-notice",
        ]
        assert frames[0].text == "Access Denied, go away.\n"


async def test_userauth_answers_allowed_headers() -> None:
    async with SimSwitch(users={"ops@default": "pw"}) as switch:
        p = await RawPeer.open(switch.port)
        await p.next_frame()
        ok = await p.reply("userauth ops@default:pw")
        assert ok.reply_text == "+OK accepted"
        assert ok.headers["Allowed-Events"] == "all"
        assert ok.headers["Allowed-API"] == "all"
        p.close()
        bad = await RawPeer.open(switch.port)
        await bad.next_frame()
        assert (await bad.reply("userauth ops@default:wrong")).reply_text == "-ERR invalid"
        await bad.until_closed()


async def test_event_formats_carry_the_same_headers(sim: SimSwitch, peer: RawPeer) -> None:
    decoded: dict[str, Event] = {}
    for fmt in ("plain", "json", "xml"):
        assert (await peer.reply(f"event {fmt} CHANNEL_CREATE")).reply_text == (
            f"+OK event listener enabled {fmt}"
        )
        uuid = {"plain": "a", "json": "b", "xml": "c"}[fmt] * 8 + "-0000-4000-8000-000000000000"
        await peer.reply(
            f"api originate {{origination_uuid={uuid},origination_caller_id_name='A & B'}}"
            "null/1 &park()"
        )
        while True:
            frame = await peer.next_frame()
            if frame.content_type == f"text/event-{fmt}":
                event = Event.from_frame(frame)
                if event.unique_id == uuid:
                    decoded[fmt] = event
                    break
    plain, js, xml = decoded["plain"], decoded["json"], decoded["xml"]
    assert plain.get("Caller-Caller-ID-Name") == "A & B"
    assert js.get("Caller-Caller-ID-Name") == "A & B"
    assert xml.get("Caller-Caller-ID-Name") == "A & B"
    assert list(plain.headers) == list(js.headers) == list(xml.headers)


async def test_filters_positive_negative_and_regex(sim: SimSwitch, peer: RawPeer) -> None:
    await peer.reply("event plain CUSTOM sim::test")
    reply = await peer.reply("filter X-Kind /^keep/")
    assert reply.reply_text == "+OK filter added. [X-Kind]=[/^keep/]"
    await peer.reply("filter X-Kind -keep-not")
    for kind in ("drop", "keep-not", "keep-this"):
        sim.core.fire(sim.core.make_event("CUSTOM", [("X-Kind", kind)], subclass="sim::test"))
    frame = await peer.next_frame()
    assert Event.from_frame(frame).get("X-Kind") == "keep-this"
    assert (await peer.reply("filter delete X-Kind")).reply_text == (
        "+OK filter deleted. [X-Kind][]"
    )


async def test_slow_reader_is_dropped_after_lost_events() -> None:
    async with SimSwitch(max_backlog=2, max_lost=5) as switch:
        p = await RawPeer.open(switch.port)
        await p.next_frame()
        await p.reply("auth ClueCon")
        await p.reply("event plain ALL")
        # Fired without yielding: the listener's queue cannot drain in between.
        for n in range(50):
            switch.core.fire(switch.core.make_event("HEARTBEAT", [("N", str(n))]))
        frames = await p.until_closed()
        assert frames[-1].content_type == "text/disconnect-notice"
        assert frames[-1].text == "killed listener because of lost events\n"


async def test_garbage_without_terminator_drops_the_connection(sim: SimSwitch) -> None:
    p = await RawPeer.open(sim.port)
    await p.next_frame()
    await p.reply("auth ClueCon")
    p.writer.write(b"x" * (300 * 1024))
    await p.until_closed()
    assert p.closed
    # The switch is fine for everyone else.
    q = await RawPeer.open(sim.port)
    assert (await q.next_frame()).content_type == "auth/request"
    q.close()


async def test_log_frames_after_log_command(sim: SimSwitch, peer: RawPeer) -> None:
    assert (await peer.reply("log 7")).reply_text == "+OK log level 7 [7]"
    await peer.reply("api originate null/1 &park()")
    frame = await peer.next_frame()
    assert frame.content_type == "log/data"
    assert frame.headers["Log-Level"] in {"5", "7"}
    assert frame.headers["Log-File"].endswith(".c")
    assert (await peer.reply("nolog")).reply_text == "+OK no longer logging"
    assert (await peer.reply("nolog")).reply_text == "-ERR not loging"


async def test_myevents_attaches_a_session_in_inbound_mode(sim: SimSwitch, peer: RawPeer) -> None:
    uuid = "56565656-5656-4656-8656-565656565656"
    await peer.reply(f"api originate {{origination_uuid={uuid}}}null/1 &park()")
    assert (await peer.reply(f"myevents {uuid}")).reply_text == "+OK Events Enabled"
    assert (await peer.reply("linger")).reply_text == "+OK will linger"
    assert (await peer.reply("getvar origination_uuid")).reply_text == uuid
    await peer.reply(f"api uuid_kill {uuid}")
    names: list[str] = []
    while True:
        frame = await peer.next_frame()
        if frame.content_type == "text/disconnect-notice":
            assert frame.headers["Content-Disposition"] == "linger"
            assert frame.headers["Controlled-Session-UUID"] == uuid
            break
        if frame.is_event:
            names.append(Event.from_frame(frame).name)
    assert names[0] == "CHANNEL_HANGUP"
    assert "CHANNEL_HANGUP_COMPLETE" in names

"""Outbound mode: the ``socket`` application connects out, as in capture 10."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.parser import FrameParser
from callcenter.sim import SimSwitch
from tests.sim.raw import RawPeer

DIALPLAN = """<include><context name="public">
  <extension name="full"><condition field="destination_number" expression="^5001$">
    <action application="set" data="campaign=spring"/>
    <action application="socket" data="127.0.0.1:{port} async full"/>
  </condition></extension>
  <extension name="single"><condition field="destination_number" expression="^5002$">
    <action application="socket" data="127.0.0.1:{port}"/>
  </condition></extension>
</context></include>
"""


class Controller:
    """A TCP server standing in for the application the switch connects to."""

    def __init__(self) -> None:
        self.peers: asyncio.Queue[RawPeer] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.peers.put(RawPeer(reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def next_peer(self) -> RawPeer:
        return await asyncio.wait_for(self.peers.get(), 10)


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller()
    await ctl.start()
    yield ctl
    assert ctl.server is not None
    ctl.server.close()


@pytest.fixture
async def switch(tmp_path: Path, controller: Controller) -> AsyncIterator[SimSwitch]:
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "out.xml").write_text(DIALPLAN.format(port=controller.port))
    sim = SimSwitch(time_scale=0.05, recordings_dir=tmp_path, dialplan_dir=tmp_path / "plan")
    await sim.start("127.0.0.1", 0)
    yield sim
    await sim.stop()


def recorded_connect_reply(freeswitch_dir: Path) -> list[str]:
    """Header names of the ``connect`` reply a real switch sent (cap 10), variables left out."""
    path = freeswitch_dir / "captures" / "10-outbound-socket.jsonl"
    parser = FrameParser()
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["dir"] == "recv":
            frame = parser.feed(record["data"].encode("latin-1"))[0]
            return [name for name in frame.headers if not name.startswith("variable_")]
    raise AssertionError("no reply in capture 10")


def names(frame: Frame) -> list[str]:
    return [name for name in frame.headers if not name.startswith("variable_")]


async def test_connect_reply_and_a_full_async_session(
    switch: SimSwitch, controller: Controller, freeswitch_dir: Path
) -> None:
    call = await switch.callers.dial("5001", caller_number="4951112233", caller_name="Ivan")
    peer = await controller.next_peer()
    connect = await peer.reply("connect")
    assert next(iter(connect.headers)) == "Event-Name"  # Content-Type is not first (cap 10)
    assert connect.headers["Content-Type"] == "command/reply"
    assert connect.headers["Reply-Text"] == "%2BOK%0A"
    assert connect.headers["Socket-Mode"] == "async"
    assert connect.headers["Control"] == "full"
    assert connect.headers["Unique-ID"] == call.uuid
    assert connect.headers["variable_campaign"] == "spring"
    # The same header names in the same order as the real switch (cap 10 dialed a loopback
    # leg): our SIP caller adds Username/Network-Addr, and has no callee nor codec yet (a SIP
    # call negotiates its codec at answer, cap 12).
    real = recorded_connect_reply(freeswitch_dir)
    ours = [n for n in names(connect) if not n.endswith(("-Username", "-Network-Addr"))]
    assert [n for n in real if n in ours] == [n for n in ours if n in real]
    assert {n for n in set(real) - set(ours) if "Callee" not in n and "Codec" not in n} == set()

    assert (await peer.reply("myevents")).reply_text == "+OK Events Enabled"
    assert (await peer.reply("linger")).reply_text == "+OK will linger"
    answer = "sendmsg\ncall-command: execute\nexecute-app-name: answer\nevent-lock: true"
    assert (await peer.reply(answer)).reply_text == "+OK"
    await peer.event("CHANNEL_ANSWER", Unique_ID=call.uuid)
    await peer.event("CHANNEL_EXECUTE_COMPLETE", Application="answer")
    assert (await peer.reply("getvar caller_id_number")).reply_text == "4951112233"
    assert (await peer.reply("getvar campaign")).reply_text == "spring"
    assert (await peer.reply("getvar unset_thing")).reply_text == "-ERR command not found"
    dump = await peer.api(f"uuid_dump {call.uuid}")
    assert dump.startswith("Event-Name: CHANNEL_DATA\n") and dump.endswith("\n\n")
    hangup = "sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING"
    assert (await peer.reply(hangup)).reply_text == "+OK"
    seen: list[str] = []
    while True:
        frame = await peer.next_frame()
        if frame.content_type == "text/disconnect-notice":
            break
        seen.append(Event.from_frame(frame).name)
    assert frame.headers["Content-Disposition"] == "linger"
    assert frame.headers["Controlled-Session-UUID"] == call.uuid
    assert frame.headers["Linger-Time"] == "-1"
    assert seen[-1] == "CHANNEL_HANGUP_COMPLETE"
    # Lingering: the channel's last events still come after the notice.
    assert (await peer.event("CHANNEL_DESTROY")).unique_id == call.uuid
    peer.close()
    await call.wait_hangup()


async def test_single_channel_static_mode(switch: SimSwitch, controller: Controller) -> None:
    call = await switch.callers.dial("5002", caller_number="100")
    peer = await controller.next_peer()
    connect = await peer.reply("connect")
    assert connect.headers["Socket-Mode"] == "static"
    assert connect.headers["Control"] == "single-channel"
    for command in ("api status", "event plain ALL", "linger", "bgapi status", "log 7"):
        assert (await peer.reply(command)).reply_text == "-ERR command not found", command
    assert (await peer.reply("myevents json")).reply_text == "+OK Events Enabled"
    # Static mode: sendmsg runs inline and answers once the application has finished.
    play = (
        "sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
        "execute-app-arg: tone_stream://%(300,0,440)"
    )
    assert (await peer.reply(play)).reply_text == "+OK"
    before = [Event.from_frame(f).name for f in peer.frames if f.is_event]
    assert "CHANNEL_EXECUTE_COMPLETE" in before
    assert all(f.content_type == "text/event-json" for f in peer.frames if f.is_event)
    await call.hangup()
    frames = await peer.until_closed()
    notice = frames[-1]
    assert notice.content_type == "text/disconnect-notice"
    assert notice.headers["Content-Disposition"] == "disconnect"
    assert notice.headers["Controlled-Session-UUID"] == call.uuid
    assert notice.text.startswith("Disconnected, goodbye.")


async def test_socket_app_with_nobody_listening_goes_on(tmp_path: Path) -> None:
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "x.xml").write_text(
        """<include><context name="public"><extension name="x">
        <condition field="destination_number" expression="^5003$">
          <action application="socket" data="127.0.0.1:1 async full"/>
          <action application="hangup" data="USER_BUSY"/>
        </condition></extension></context></include>"""
    )
    async with SimSwitch(time_scale=0.05, dialplan_dir=tmp_path / "plan") as switch:
        call = await switch.callers.dial("5003", caller_number="1")
        await call.wait_hangup()
        assert call.hangup_cause == "USER_BUSY"

"""The outbound-socket server: the simulated switch's ``socket`` app connects to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.esl.outbound import OutboundServer, OutboundSession
from callcenter.sim import SimSwitch

DIALPLAN = """<include>
  <context name="public">
    <extension name="to_controller">
      <condition field="destination_number" expression="^(7001)$">
        <action application="set" data="campaign=spring sale"/>
        <action application="socket" data="127.0.0.1:{port} async full"/>
      </condition>
    </extension>
  </context>
</include>
"""


@pytest.fixture
async def served() -> AsyncIterator[tuple[OutboundServer, asyncio.Queue[OutboundSession]]]:
    sessions: asyncio.Queue[OutboundSession] = asyncio.Queue()
    finished = asyncio.Event()

    async def handler(session: OutboundSession) -> None:
        await sessions.put(session)
        await finished.wait()

    server = OutboundServer(handler, "127.0.0.1", 0)
    await server.start()
    try:
        yield server, sessions
    finally:
        finished.set()
        await server.stop()


@pytest.fixture
async def switch(
    tmp_path: Path, served: tuple[OutboundServer, asyncio.Queue[OutboundSession]]
) -> AsyncIterator[SimSwitch]:
    server, _ = served
    (tmp_path / "dialplan").mkdir()
    (tmp_path / "dialplan" / "controller.xml").write_text(DIALPLAN.format(port=server.port))
    sim = SimSwitch(password="ClueCon", time_scale=0.05, dialplan_dir=tmp_path / "dialplan")
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


async def test_a_call_reaches_the_handler_with_its_channel_data(
    switch: SimSwitch, served: tuple[OutboundServer, asyncio.Queue[OutboundSession]]
) -> None:
    server, sessions = served
    call = await switch.callers.dial("7001", caller_number="4951234567", caller_name="Ivan")
    session = await asyncio.wait_for(sessions.get(), 10)
    assert session.uuid == call.uuid
    assert session.channel_data.get("Caller-Caller-ID-Number") == "4951234567"
    assert session.variable("campaign") == "spring sale"
    assert server.sessions_handled == 1
    assert "connected" in repr(session)

    await session.myevents()
    await session.linger()
    done = await session.execute_and_wait("answer", timeout=10)
    assert done.get("Application") == "answer"
    await session.execute_and_wait("playback", "tone_stream://%(200,0,440)", timeout=10)
    assert await session.getvar("campaign") == "spring sale"
    assert await session.getvar("never_set_anywhere") is None
    assert (await session.api("version")).startswith("FreeSWITCH Version")

    await session.hangup("NORMAL_CLEARING")
    await session.wait_hangup(timeout=10)
    await call.wait_hangup()


async def test_the_caller_hanging_up_ends_the_session(
    switch: SimSwitch, served: tuple[OutboundServer, asyncio.Queue[OutboundSession]]
) -> None:
    _, sessions = served
    call = await switch.callers.dial("7001", caller_number="100")
    session = await asyncio.wait_for(sessions.get(), 10)
    await session.myevents()
    await call.hangup()
    await asyncio.wait_for(session.wait_hangup(), 10)
    # Without linger the switch closes the socket after the disconnect notice.
    await asyncio.wait_for(session.wait_closed(), 10)
    assert not session.is_connected

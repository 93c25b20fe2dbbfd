"""A Redis that goes away and comes back, and a controller that starts after callers parked.

The controller (``run_controller``, in this process) drives a simulated switch; Redis is a
server of the test's own that is killed and restarted on the same port. Callers whose events
came while nobody could act on them are found again by asking the switch (``resync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.config import AcdConfig
from callcenter.acd.model import AgentStatus
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.controller.resync import drop_vanished, resync_parked
from callcenter.controller.runner import NodeAddress, redis_client, run_controller
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.conftest import RedisServer
from tests.controller.test_queue_flow import agent_is, until

DIALPLAN = """<include><context name="public">
  <extension name="support">
    <condition field="destination_number" expression="^7000$">
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="set" data="cc_did=74951234567"/>
      <action application="set" data="cc_did_label=TV spring"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="parked-elsewhere">
    <condition field="destination_number" expression="^7001$">
      <action application="answer"/>
      <action application="park"/>
    </condition>
  </extension>
</context></include>
"""

MOH = "local_stream://moh"


def center_config(tenant: str, agents: tuple[str, ...] = ("1000",)) -> AcdConfig:
    return AcdConfig.model_validate(
        {
            "tenant": tenant,
            "queues": [{"name": "support", "wrap_up_seconds": 0, "max_no_answer": 0}],
            "agents": [{"id": a, "contact": f"user/{a}@default"} for a in agents],
            "tiers": [{"queue": "support", "agent": a} for a in agents],
        }
    )


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    sim = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@contextlib.asynccontextmanager
async def controller(
    switch: SimSwitch, center: AcdConfig, redis_url: str, tmp_path: Path, ring_seconds: int = 5
) -> AsyncIterator[asyncio.Task[None]]:
    """``run_controller`` in a task, as ``callcenter run`` runs it (Redis resync only when
    Redis comes back: the periodic one is pushed out of the test's way)."""
    ready = asyncio.Event()
    settings = FlowSettings(
        ring_seconds=ring_seconds, recordings_dir=tmp_path / "rec", tick_seconds=0.05
    )
    node = NodeAddress("node1", "127.0.0.1", switch.port, "ClueCon")
    task = asyncio.ensure_future(
        run_controller(center, redis_url, [node], settings, ready=ready, resync_seconds=600)
    )
    try:
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([waiter, task], timeout=15, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        assert ready.is_set(), "the controller did not start"
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def app_of(switch: SimSwitch, call: str) -> str:
    channel = switch.channels.get(call)
    return channel.current_app or "" if channel is not None else ""


def controller_id(caplog: pytest.LogCaptureFixture) -> str:
    found = re.search(r"controller_running id=(\w+)", caplog.text)
    assert found is not None, caplog.text
    return found.group(1)


async def test_a_caller_parked_while_redis_is_down_is_served_when_it_comes_back(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    switch.phones.register("1000", "default", answer_after=0.5)
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_server.url, tmp_path) as task:
            await store.login("1000")
            await store.ready("1000")

            redis_server.stop()
            call = await switch.callers.dial("7000", caller_number="5", hangup_after=600)
            await until(lambda: app_of(switch, call.uuid) == "park")
            # (a) the controller notices and keeps running: no crash, no hang.
            await until(lambda: "redis_unavailable" in caplog.text)
            await until(lambda: "queue_tick_failed" in caplog.text)
            await asyncio.sleep(1.0)  # several ticks and probes against the dead Redis
            assert not task.done()
            assert app_of(switch, call.uuid) == "park"  # nobody could enqueue it

            # (b) Redis comes back: the caller's lost CHANNEL_PARK is made good, and served.
            redis_server.start()
            await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL), timeout=15)
            await until(lambda: switch.channels[call.uuid].other_uuid is not None)
            data = await redis.hgetall(store.keys.call(call.uuid))
            assert data[b"state"] == b"answered"
            assert data[b"agent"] == b"1000"
            assert f"queue_resynced uuid={call.uuid}" in caplog.text
            assert "redis_back" in caplog.text
            assert not task.done()
    finally:
        await redis.aclose()


async def test_the_controller_tick_outlives_a_redis_outage(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_server.url, tmp_path):
            beat = store.keys.controller(controller_id(caplog))
            await until(lambda: redis.exists(beat))
            redis_server.stop()
            await until(lambda: "queue_heartbeat_failed" in caplog.text)
            await until(lambda: "queue_tick_failed" in caplog.text)
            redis_server.start()
            await redis.delete(beat)  # whatever the dead server had: the tick must write it
            await until(lambda: redis.exists(beat), timeout=5)
    finally:
        await redis.aclose()


async def test_a_ringing_offer_outlives_a_redis_outage_longer_than_a_lease(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis away longer than a lease: every controller's heartbeat has expired when it comes
    back. The controller must not take its own (or another live one's) ringing offer for the
    offer of a dead controller before the heartbeats are renewed."""
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    switch.phones.register("1000", "default", answer_after=None)  # rings on
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(
            switch, center_config(tenant), redis_server.url, tmp_path, ring_seconds=600
        ):
            await store.login("1000")
            await store.ready("1000")
            call = await switch.callers.dial("7000", caller_number="8", hangup_after=600)
            await until(lambda: agent_is(store, "1000", AgentStatus.RESERVED))
            leg = (await redis.hget(store.keys.call(call.uuid), "leg:1000") or b"").decode()
            await until(lambda: leg in switch.channels)
            redis_server.stop()
            await until(lambda: "queue_heartbeat_failed" in caplog.text)
            await asyncio.sleep(2.0)  # longer than the 1.2 s lease: the heartbeat expires
            redis_server.start()
            await until(lambda: "redis_back" in caplog.text, timeout=10)
            await asyncio.sleep(2.0)  # many ticks, and the heartbeat renewed meanwhile
            assert "queue_offer_reclaimed" not in caplog.text
            assert leg in switch.channels  # the agent's phone still rings
            agent = await store.agent("1000")
            assert (agent["status"], agent["reserved_for"]) == ("reserved", call.uuid)
            await call.hangup()
            await until(lambda: agent_is(store, "1000", AgentStatus.AVAILABLE), timeout=10)
    finally:
        await redis.aclose()


async def test_callers_parked_before_the_controller_started_are_served_in_order(
    tmp_path: Path, redis_url: str, switch: SimSwitch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    switch.phones.register("1000", "default", answer_after=0.2)
    first = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: app_of(switch, first.uuid) == "park")
    second = await switch.callers.dial("7000", caller_number="2", hangup_after=600)
    await until(lambda: app_of(switch, second.uuid) == "park")
    redis = Redis.from_url(redis_url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_url, tmp_path):
            # Enqueued at start, in the order they arrived, with music on hold.
            assert await store.waiting("support") == [first.uuid, second.uuid]
            await until(lambda: app_of(switch, first.uuid) == "playback")
            await until(lambda: app_of(switch, second.uuid) == "playback")
            assert switch.channels[first.uuid].extra.get("app_data") == MOH
            await store.login("1000")
            await store.ready("1000")
            await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL), timeout=15)
            assert (await store.agent("1000"))["call"] == first.uuid
            assert await store.waiting("support") == [second.uuid]
            assert caplog.text.count("queue_resynced") == 2
    finally:
        await redis.aclose()


async def test_a_caller_who_hangs_up_while_redis_is_down_does_not_stay_waiting(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_server.url, tmp_path):
            call = await switch.callers.dial("7000", caller_number="7", hangup_after=600)
            await until(lambda: store.waiting("support"))
            redis_server.stop()
            await until(lambda: "redis_unavailable" in caplog.text)
            await call.hangup()
            await until(lambda: call.uuid not in switch.channels)
            redis_server.start()
            # Its hangup was lost with Redis; the switch no longer has it: abandoned.
            await until(lambda: redis.hget(store.keys.call(call.uuid), "state"), timeout=10)
            await until(lambda: "redis_back" in caplog.text, timeout=10)
            assert await redis.hget(store.keys.call(call.uuid), "state") == b"abandoned"
            assert await store.waiting("support") == []
            events = await redis.xrange(store.keys.events)
            states = [
                e[b"state"]
                for _, e in events
                if e.get(b"call") == call.uuid.encode() and e[b"type"] == b"call"
            ]
            assert states == [b"waiting", b"abandoned"]
    finally:
        await redis.aclose()


async def test_a_call_that_ends_while_redis_is_down_frees_its_agent(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    switch.phones.register("1000", "default", answer_after=0.2)
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_server.url, tmp_path):
            await store.login("1000")
            await store.ready("1000")
            call = await switch.callers.dial("7000", caller_number="8", hangup_after=600)
            await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL))
            await until(lambda: redis.hget(store.keys.call(call.uuid), "bridged_ms"))
            redis_server.stop()
            await until(lambda: "redis_unavailable" in caplog.text)
            await call.hangup()  # both hangups (caller, agent leg) find no Redis
            await until(lambda: not switch.channels)
            await until(lambda: "queue_event_failed" in caplog.text)
            redis_server.start()
            # Without the resync the agent would stay "on call" for ever.
            await until(lambda: agent_is(store, "1000", AgentStatus.AVAILABLE), timeout=15)
            assert await redis.hget(store.keys.call(call.uuid), "state") == b"ended"
            assert f"queue_call_vanished uuid={call.uuid}" in caplog.text
            assert (await store.agent("1000"))["calls"] == "1"
    finally:
        await redis.aclose()


async def test_a_redis_that_comes_back_empty_gets_the_center_and_the_callers_again(
    tmp_path: Path,
    redis_server: RedisServer,
    switch: SimSwitch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter")
    tenant = f"t{uuid.uuid4().hex[:8]}"
    switch.phones.register("1000", "default", answer_after=0.2)
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, tenant)
    try:
        async with controller(switch, center_config(tenant), redis_server.url, tmp_path) as task:
            call = await switch.callers.dial("7000", caller_number="8", hangup_after=600)
            await until(lambda: store.waiting("support"))
            await until(lambda: app_of(switch, call.uuid) == "playback")
            redis_server.stop()
            redis_server.wipe()
            redis_server.start()
            # The queues and agents are loaded again; the caller, still on hold, is back in line.
            await until(lambda: store.waiting("support"), timeout=10)
            assert await store.waiting("support") == [call.uuid]
            assert "center_reloaded" in caplog.text
            assert not task.done()
            assert app_of(switch, call.uuid) == "playback"
            await store.login("1000")  # agent states were lost with the data: log in again
            await store.ready("1000")
            await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL), timeout=15)
            assert (await store.agent("1000"))["call"] == call.uuid
    finally:
        await redis.aclose()


async def test_resync_enqueues_only_unknown_queue_callers_once(
    tmp_path: Path, store: AcdStore, switch: SimSwitch
) -> None:
    await center_config(store.keys.tenant).apply(store)
    switch.phones.register("1000", "default", answer_after=0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    flow = QueueCallFlow({"node1": esl}, store, FlowSettings(recordings_dir=tmp_path / "rec"))
    try:
        caller = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
        other = await switch.callers.dial("7001", caller_number="2", hangup_after=600)
        # An agent leg left parked by a controller that died (it carries cc_queue too).
        leg = str(uuid.uuid4())
        reply = await esl.api(
            f"originate {{origination_uuid={leg},cc_call={caller.uuid},cc_agent=1000,"
            f"cc_queue=support}}user/1000@default &park()"
        )
        assert reply.startswith("+OK"), reply
        await until(lambda: app_of(switch, caller.uuid) == "park")
        await until(lambda: app_of(switch, other.uuid) == "park")
        await until(lambda: app_of(switch, leg) == "park")

        assert await resync_parked(flow) == 1
        assert await store.waiting("support") == [caller.uuid]
        found = await store.redis.hmget(store.keys.call(caller.uuid), "did", "campaign")
        assert found == [b"74951234567", b"TV spring"]  # as its CHANNEL_PARK would have
        assert await resync_parked(flow) == 0  # known now: not enqueued twice
        for unknown in (other.uuid, leg):
            assert not await store.redis.exists(store.keys.call(unknown))
        assert await drop_vanished(flow) == 0  # the caller is still there

        await caller.hangup()
        await until(lambda: caller.uuid not in switch.channels)
        assert await drop_vanished(flow) == 1
        assert await store.waiting("support") == []
        assert await drop_vanished(flow) == 0
    finally:
        await flow.stop()
        await esl.close()

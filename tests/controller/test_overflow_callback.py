"""Max wait -> overflow (to a queue or an extension), and the exit key that leaves a callback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.center import Tenant
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from callcenter.sim.endpoints import Answering
from tests.controller.test_queue_flow import DIALPLAN, agent_is, until


async def call_state_is(redis: Redis, store: AcdStore, call: str, state: bytes) -> bool:
    return bool(await redis.hget(store.keys.call(call), "state") == state)


@contextlib.asynccontextmanager
async def callback_flow(
    tmp_path: Path,
    store: AcdStore,
    *,
    attempts: int = 2,
    tenant: Tenant | None = None,
    ring_seconds: int = 20,
) -> AsyncIterator[SimSwitch]:
    """The simulated switch and a queue flow that calls back quickly (``attempts`` tries);
    agents' phones ring ``ring_seconds`` (simulated: a twentieth of that)."""
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    settings = FlowSettings(
        ring_seconds=ring_seconds,
        recordings_dir=tmp_path / "rec",
        tick_seconds=0.05,
        callback_delay_seconds=0.2,
        callback_ring_seconds=4,  # simulated: 0.2 s here
        callback_retry_seconds=0.3,
        callback_attempts=attempts,
    )
    flow = QueueCallFlow({"sim": esl}, store, settings, tenant=tenant)
    await flow.start()
    try:
        yield switch
    finally:
        await flow.stop()
        await esl.close()
        await switch.stop()


@pytest.fixture
async def running(tmp_path: Path, store: AcdStore) -> AsyncIterator[tuple[SimSwitch, AcdStore]]:
    async with callback_flow(tmp_path, store) as switch:
        yield switch, store


async def test_overflow_to_another_queue_keeps_the_wait(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("backup", Strategy.LONGEST_IDLE))
    await store.put_queue(QueueConfig("support", max_wait_seconds=0.3, overflow="queue:backup"))
    await store.put_agent("2000", "user/2000@default")
    await store.put_tier("backup", "2000")
    switch.phones.register("2000", "default", answer_after=0.2)
    await store.login("2000")
    await store.ready("2000")
    call = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: agent_is(store, "2000", AgentStatus.ON_CALL))
    data = await redis.hgetall(store.keys.call(call.uuid))
    assert data[b"queue"] == b"backup"
    events = [e[1] for e in await redis.xrange(store.keys.events) if e[1][b"type"] == b"call"]
    assert [e[b"state"] for e in events[:3]] == [b"waiting", b"overflowed", b"waiting"]


async def test_overflow_to_an_extension_transfers_the_caller(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(
        QueueConfig("support", max_wait_seconds=0.3, overflow="extension:9196@default")
    )
    call = await switch.callers.dial("7000", caller_number="2", hangup_after=600)
    # 9196 in the simulator's default context is an echo test: the caller lands there.
    await until(lambda: switch.channels[call.uuid].current_app == "echo")
    assert await redis.hget(store.keys.call(call.uuid), "state") == b"overflowed"
    assert await store.waiting("support") == []


async def test_exit_key_leaves_a_callback_request(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("support", exit_key="1"))
    call = await switch.callers.dial("7000", caller_number="4951234567", caller_name="Ivan")
    await until(lambda: store.waiting("support"))
    await call.press("5")  # not the exit key: nothing happens
    await call.press("1")
    await call.wait_hangup()
    assert call.hangup_cause == "NORMAL_CLEARING"
    # The request keeps the caller's place in line; their hangup was no abandon.
    assert await store.waiting("support") == [call.uuid]
    requests = await store.callbacks("support")
    assert [(r["call"], r["number"], r["name"]) for r in requests] == [
        (call.uuid, "4951234567", "Ivan")
    ]
    events = await redis.xrange(store.keys.events)
    states = [e[b"state"] for _, e in events if e[b"type"] == b"call"]
    assert states == [b"waiting", b"callback_requested"]


async def test_a_callback_rings_the_agent_then_the_customer(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("support", exit_key="1", wrap_up_seconds=0))
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    switch.phones.register("1000", "default", answer_after=0.2)
    # The customer answers the callback after 1 s and talks 3 s (simulated).
    switch.far_ends.set("4957654321", Answering(answer_after=1, hangup_after=3))
    call = await switch.callers.dial("7000", caller_number="4957654321", hangup_after=600)
    await until(lambda: store.waiting("support"))
    await call.press("1")
    await call.wait_hangup()
    await store.login("1000")
    await store.ready("1000")  # now an agent is free: the callback's turn
    await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL))
    await until(lambda: redis.hget(store.keys.call(call.uuid), "bridged_ms"))
    customer = (await redis.hget(store.keys.call(call.uuid), "customer_leg") or b"").decode()
    leg = switch.channels[customer]
    assert leg.destination == "4957654321" or "4957654321" in leg.name
    assert leg.other_uuid is not None  # bridged with the agent
    assert await store.callbacks("support") == []  # done
    # The customer hangs up: the call ends like any other.
    await until(lambda: call_state_is(redis, store, call.uuid, b"ended"))
    await until(lambda: agent_is(store, "1000", AgentStatus.AVAILABLE))
    assert (await store.agent("1000"))["calls"] == "1"


async def test_an_unanswered_callback_is_tried_again_then_given_up(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("support", exit_key="1", max_no_answer=1))
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    switch.phones.register("1000", "default", answer_after=0.2)
    switch.far_ends.set("4950000001", Answering(answer_after=None))  # never answers
    call = await switch.callers.dial("7000", caller_number="4950000001", hangup_after=600)
    await until(lambda: store.waiting("support"))
    await call.press("1")
    await call.wait_hangup()
    await store.login("1000")
    await store.ready("1000")
    await until(lambda: call_state_is(redis, store, call.uuid, b"callback_failed"), timeout=15)
    states = [e[b"state"] for _, e in await redis.xrange(store.keys.events) if b"state" in e]
    assert states.count(b"callback_retry") == 1 and states[-1] == b"callback_failed"
    # Not the agent's fault: no miss counted (max_no_answer=1 would have put them on break).
    await until(lambda: agent_is(store, "1000", AgentStatus.AVAILABLE))
    assert (await store.agent("1000"))["no_answer"] == "0"
    assert await store.callbacks("support") == []
    assert await store.waiting("support") == []
    assert not switch.channels  # both legs gone


async def test_an_anonymous_caller_cannot_ask_for_a_callback(
    running: tuple[SimSwitch, AcdStore],
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("support", exit_key="1"))
    call = await switch.callers.dial("7000", caller_number="anonymous", hangup_after=600)
    await until(lambda: store.waiting("support"))
    await call.press("1")
    await asyncio.sleep(0.3)
    assert await store.callbacks("support") == []
    assert call.uuid in switch.channels  # still in line, listening to the music
    assert await store.waiting("support") == [call.uuid]


async def test_a_queue_without_agents_sends_its_callers_on(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    await store.put_queue(QueueConfig("backup", Strategy.LONGEST_IDLE))
    await store.put_queue(
        QueueConfig("support", max_wait_no_agent_seconds=0.3, overflow="queue:backup")
    )
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    await store.login("1000")  # logged in, on break: the queue has an agent, callers wait
    first = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: store.waiting("support"))
    await asyncio.sleep(0.6)  # twice the limit, a dozen ticks
    assert await store.waiting("support") == [first.uuid]
    await store.logout("1000")  # nobody left: after 0.3 s the callers go to "backup"
    await until(lambda: call_state_is(redis, store, first.uuid, b"waiting"))
    await until(lambda: store.waiting("backup"))
    assert await store.waiting("backup") == [first.uuid]
    assert await store.waiting("support") == []

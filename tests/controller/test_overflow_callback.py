"""Max wait -> overflow (to a queue or an extension), and the exit key that leaves a callback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.controller.test_queue_flow import DIALPLAN, agent_is, until


@pytest.fixture
async def running(tmp_path: Path, store: AcdStore) -> AsyncIterator[tuple[SimSwitch, AcdStore]]:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    flow = QueueCallFlow(
        {"sim": esl}, store, FlowSettings(recordings_dir=tmp_path / "rec", tick_seconds=0.05)
    )
    await flow.start()
    try:
        yield switch, store
    finally:
        await flow.stop()
        await esl.close()
        await switch.stop()


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
    assert await store.waiting("support") == []
    requests = await store.callbacks("support")
    assert [(r["call"], r["number"], r["name"]) for r in requests] == [
        (call.uuid, "4951234567", "Ivan")
    ]

"""Two controllers share one Redis and one switch; one dies and the other takes over."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.controller.test_queue_flow import DIALPLAN, agent_is, until


async def test_a_dead_controllers_ringing_offer_is_taken_over(
    tmp_path: Path, redis: Redis, store: AcdStore
) -> None:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, max_no_answer=0))
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    phone = switch.phones.register("1000", "default", answer_after=None)  # rings, never answers
    settings = FlowSettings(
        ring_seconds=600, recordings_dir=tmp_path / "rec", tick_seconds=0.05, lease_seconds=0.3
    )
    flows: list[QueueCallFlow] = []
    clients: list[InboundClient] = []
    try:
        # Controller A alone first, so that it makes the offer.
        a_esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
        await a_esl.connect()
        clients.append(a_esl)
        a = QueueCallFlow({"sim": a_esl}, AcdStore(redis, store.keys.tenant), settings)
        await a.start()
        flows.append(a)
        await store.login("1000")
        await store.ready("1000")
        call = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
        await until(lambda: agent_is(store, "1000", AgentStatus.RESERVED))
        await until(lambda: len(switch.channels) == 2)  # the agent's phone rings

        # Controller B starts; A dies without a word (tasks gone, connection gone).
        b_esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
        await b_esl.connect()
        clients.append(b_esl)
        b = QueueCallFlow({"sim": b_esl}, AcdStore(redis, store.keys.tenant), settings)
        await b.start()
        flows.append(b)
        await a.stop()
        await a_esl.close()
        phone.update(answer_after=0.2)  # the next ring is answered

        # B stops A's ringing leg, puts the caller back, offers again and bridges.
        await until(lambda: agent_is(store, "1000", AgentStatus.ON_CALL), timeout=10)
        await until(lambda: any(ch.other_uuid for ch in switch.channels.values()))
        data = await redis.hgetall(store.keys.call(call.uuid))
        assert data[b"state"] == b"answered"
        assert await redis.zcard(store.keys.reservations) == 0
        assert len(switch.channels) == 2  # caller + the answered agent leg, no leftover ringing
    finally:
        for flow in flows:
            await flow.stop()
        for client in clients:
            await client.close()
        await switch.stop()


async def test_two_live_controllers_enqueue_a_call_once(
    tmp_path: Path, redis: Redis, store: AcdStore
) -> None:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE))
    settings = FlowSettings(recordings_dir=tmp_path / "rec", tick_seconds=0.05)
    flows, clients = [], []
    try:
        for _ in range(2):
            esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
            await esl.connect()
            clients.append(esl)
            flow = QueueCallFlow({"sim": esl}, AcdStore(redis, store.keys.tenant), settings)
            await flow.start()
            flows.append(flow)
        call = await switch.callers.dial("7000", caller_number="5", hangup_after=600)
        await until(lambda: store.waiting("support"))
        events = await redis.xrange(store.keys.events)
        waiting = [e for e in events if e[1].get(b"state") == b"waiting"]
        assert len(waiting) == 1
        assert await store.waiting("support") == [call.uuid]
    finally:
        for flow in flows:
            await flow.stop()
        for client in clients:
            await client.close()
        await switch.stop()

"""Announcements of position and estimated wait to waiting callers, heard on the simulated switch.

Each test runs the queue flow and the announcer against the simulator and a real Redis, and
listens to the switch's PLAYBACK_START / PLAYBACK_STOP events with an ESL client of its own.
``announce_seconds`` is in real seconds (0.3 here); the simulator's prompts last 0.2 simulated
seconds each (0.01 s at time scale 0.05), so an announcement is over long before the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.config import AcdConfig
from callcenter.acd.model import AgentStatus, QueueConfig, WaitingCall
from callcenter.acd.store import AcdStore
from callcenter.controller.announcer import (
    Announcement,
    Announcer,
    announcement_prompts,
    broadcast_path,
)
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.controller.runner import NodeAddress, redis_client, run_controller
from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import SimSwitch
from tests.conftest import RedisServer
from tests.controller.test_queue_flow import DIALPLAN, agent_is, until

MOH = "local_stream://moh"
PERIOD = 0.3


async def waiting_is(store: AcdStore, calls: list[str]) -> bool:
    return await store.waiting("support") == calls


def spoken(position: int | None, minutes: int | None) -> str:
    """The broadcast a caller at ``position`` with an estimate of ``minutes`` gets."""
    return broadcast_path(announcement_prompts(position, minutes), MOH)


@dataclass(frozen=True)
class Heard:
    event: str  # PLAYBACK_START or PLAYBACK_STOP
    uuid: str
    path: str
    status: str  # PLAYBACK_STOP: done, or break when something stopped it


@dataclass
class Ears:
    """Every playback on the switch, in the order the events came."""

    heard: list[Heard] = field(default_factory=list)

    def on_event(self, event: Event) -> None:
        self.heard.append(
            Heard(
                event.name or "",
                event.unique_id or "",
                event.get("Playback-File-Path") or "",
                event.get("Playback-Status") or "",
            )
        )

    def announcements(self, call: str) -> list[str]:
        """The announcements a caller heard (the broadcasts that start with prompts)."""
        return [
            h.path
            for h in self.heard
            if h.event == "PLAYBACK_START" and h.uuid == call and h.path.startswith("file_string:")
        ]

    def stops(self, call: str, path: str) -> list[str]:
        return [
            h.status
            for h in self.heard
            if h.event == "PLAYBACK_STOP" and h.uuid == call and h.path == path
        ]


@dataclass
class Center:
    switch: SimSwitch
    store: AcdStore
    flow: QueueCallFlow
    announcer: Announcer
    ears: Ears
    clients: list[InboundClient]

    async def client(self) -> InboundClient:
        esl = InboundClient("127.0.0.1", self.switch.port, "ClueCon")
        await esl.connect()
        self.clients.append(esl)
        return esl


async def _switch(tmp_path: Path) -> SimSwitch:
    plan = tmp_path / "dialplan"
    plan.mkdir(exist_ok=True)
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(
        time_scale=0.05,
        dialplan_dir=plan,
        recordings_dir=tmp_path / "rec",
        default_playback_seconds=0.2,
    )
    await switch.start("127.0.0.1", 0)
    return switch


async def _ears(switch: SimSwitch) -> tuple[Ears, InboundClient]:
    ears = Ears()
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    esl.on("PLAYBACK_START", ears.on_event)
    esl.on("PLAYBACK_STOP", ears.on_event)
    await esl.subscribe("PLAYBACK_START", "PLAYBACK_STOP")
    return ears, esl


@pytest.fixture
async def center(tmp_path: Path, store: AcdStore) -> AsyncIterator[Center]:
    switch = await _switch(tmp_path)
    ears, listener = await _ears(switch)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    await store.put_queue(QueueConfig("support", announce_seconds=PERIOD))
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    flow = QueueCallFlow(
        {"node1": esl},
        store,
        FlowSettings(ring_seconds=60, recordings_dir=tmp_path / "rec", tick_seconds=0.05, moh=MOH),
    )
    await flow.start()
    # Not started: each test starts it, or drives its ticks itself.
    announcer = Announcer({"node1": esl}, store, MOH, tick_seconds=0.05)
    running = Center(switch, store, flow, announcer, ears, [listener, esl])
    try:
        yield running
    finally:
        await announcer.stop()
        await flow.stop()
        for client in running.clients:
            await client.close()
        await switch.stop()


async def test_waiting_callers_hear_position_and_wait_then_the_music(
    center: Center, redis: Redis
) -> None:
    store, ears = center.store, center.ears
    # One agent of the queue is logged in (on break, so nobody is served): 1 agent, and an
    # average handle time of 90 s from the agent's 2 calls and 3 minutes of talk.
    await store.login("1000")
    await redis.hset(store.keys.agent("1000"), mapping={"calls": 2, "talk_ms": 180_000})
    await center.announcer.start()
    first = await center.switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: store.waiting("support"))
    second = await center.switch.callers.dial("7000", caller_number="2", hangup_after=600)
    await until(lambda: len(ears.announcements(second.uuid)) >= 1)
    await until(lambda: len(ears.announcements(first.uuid)) >= 2)
    # Number 1 in line waits 1 x 90 s -> 2 minutes; number 2 waits 180 s -> 3 minutes.
    assert ears.announcements(first.uuid)[0] == spoken(1, 2)
    assert ears.announcements(second.uuid)[0] == spoken(2, 3)
    # The announcement broke into the music, and the music came back after the prompts: the
    # announcement's playback was still running (music) when the next one broke into it.
    assert ears.stops(first.uuid, MOH)[0] == "break"
    await until(lambda: ears.stops(first.uuid, spoken(1, 2)))
    assert ears.stops(first.uuid, spoken(1, 2))[0] == "break"
    # The first caller leaves: the second is number 1 now (1 x 90 s -> 2 minutes).
    await first.hangup()
    await until(lambda: waiting_is(store, [second.uuid]))
    heard_before = len(ears.announcements(second.uuid))
    await until(lambda: spoken(1, 2) in ears.announcements(second.uuid)[heard_before:])


async def test_a_call_being_offered_is_not_announced(center: Center, redis: Redis) -> None:
    store, ears = center.store, center.ears
    center.switch.phones.register("1000", "default", answer_after=None)  # rings and rings
    await store.login("1000")
    await store.ready("1000")
    await center.announcer.start()
    offered = await center.switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: agent_is(store, "1000", AgentStatus.RESERVED))
    waiting = await center.switch.callers.dial("7000", caller_number="2", hangup_after=600)
    # Two periods of the waiting caller are more than two periods of the offered one.
    await until(lambda: len(ears.announcements(waiting.uuid)) >= 2)
    assert await redis.hget(store.keys.call(offered.uuid), "state") == b"offering"
    assert ears.announcements(offered.uuid) == []
    assert await redis.hget(store.keys.call(offered.uuid), "announced_ms") is None
    # Nor if it was read from the line just before the offer took it: the claim checks the state.
    later = int(time.time() * 1000) + 60_000
    assert await center.announcer.claim(offered.uuid, later, 1) is None
    assert await center.announcer.claim(waiting.uuid, later, 1) == "node1"
    # The offered caller is not in line any more: the waiting one is next. One agent (the one
    # ringing), no calls taken yet: 120 s -> 2 minutes.
    assert ears.announcements(waiting.uuid)[0] == spoken(1, 2)


async def test_a_callback_request_keeps_its_place_and_hears_nothing(
    center: Center, redis: Redis
) -> None:
    store, ears = center.store, center.ears
    await store.put_queue(QueueConfig("support", announce_seconds=PERIOD, exit_key="1"))
    await center.announcer.start()
    leaving = await center.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: waiting_is(store, [leaving.uuid]))
    staying = await center.switch.callers.dial("7000", caller_number="2", hangup_after=600)
    await until(lambda: waiting_is(store, [leaving.uuid, staying.uuid]))
    await leaving.press("1")  # call me back: goodbye prompt, hangup, the request keeps its place
    await until(lambda: leaving.uuid not in center.switch.channels)
    heard = len(ears.announcements(staying.uuid))
    await until(lambda: len(ears.announcements(staying.uuid)) >= heard + 2)
    assert await store.waiting("support") == [leaving.uuid, staying.uuid]
    assert await redis.hget(store.keys.call(leaving.uuid), "callback") == b"1"
    later = int(time.time() * 1000) + 60_000
    assert await center.announcer.claim(leaving.uuid, later, 1) is None
    # Number 2, behind the callback; nobody logged in, so no estimate.
    assert ears.announcements(staying.uuid)[-1] == spoken(2, None)


async def test_two_announcers_announce_each_call_once_per_period(center: Center) -> None:
    store, ears = center.store, center.ears
    one = Announcer({"node1": await center.client()}, store, MOH)
    two = Announcer({"node1": await center.client()}, store, MOH)
    call = await center.switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: store.waiting("support"))
    done: list[Announcement] = []
    deadline = asyncio.get_running_loop().time() + 4
    while len(done) < 3:
        assert asyncio.get_running_loop().time() < deadline, "no announcements"
        a, b = await asyncio.gather(one.tick(), two.tick())
        assert not (a and b), "both announcers announced the same call at once"
        done += a + b
        await asyncio.sleep(0.01)
    times = [d.announced_ms for d in done]
    assert all(later - earlier >= PERIOD * 1000 for earlier, later in itertools.pairwise(times))
    assert {d.call_id for d in done} == {call.uuid}
    # The switch heard each of them once.
    await until(lambda: len(ears.announcements(call.uuid)) >= len(done))
    assert len(ears.announcements(call.uuid)) == len(done)
    # Both claiming the same period at the same instant: exactly one gets it.
    now = times[-1] + 10_000
    claims = await asyncio.gather(one.claim(call.uuid, now, 300), two.claim(call.uuid, now, 300))
    assert sorted(c is not None for c in claims) == [False, True]


async def test_calls_of_other_nodes_and_vanished_channels_are_skipped(
    center: Center, redis: Redis
) -> None:
    store, ears = center.store, center.ears
    await store.login("1000")
    long_ago = int(time.time() * 1000) - 60_000
    # A call Redis holds whose channel is gone: uuid_break answers -ERR, the next call is served.
    ghost = str(uuid.uuid4())
    await store.enqueue(WaitingCall(ghost, "support", node="node1", enqueued_ms=long_ago))
    call = await center.switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: waiting_is(store, [ghost, call.uuid]))
    # An announcer of another node leaves both alone, though the ghost is long due.
    elsewhere = Announcer({"node2": await center.client()}, store, MOH)
    assert await elsewhere.tick() == []
    assert await redis.hget(store.keys.call(ghost), "announced_ms") is None
    done: list[Announcement] = []

    async def announced() -> bool:
        done.extend(await center.announcer.tick())
        return bool(done)

    await until(announced)
    assert [(a.call_id, a.position, a.node) for a in done] == [(call.uuid, 2, "node1")]
    await until(lambda: ears.announcements(call.uuid))
    # Number 2 (the ghost is still number 1 in Redis), one agent on break, 120 s per call.
    assert ears.announcements(call.uuid)[0] == spoken(2, 4)
    assert ears.announcements(ghost) == []


async def test_only_what_the_queue_asks_for_is_announced(center: Center, redis: Redis) -> None:
    store = center.store
    await store.put_queue(QueueConfig("support"))  # announce_seconds 0: never
    call = await center.switch.callers.dial("7000", caller_number="1", hangup_after=600)
    await until(lambda: store.waiting("support"))
    key = store.keys.call(call.uuid)
    await redis.hset(key, "enqueued_ms", 0)  # it has waited for ages
    assert await center.announcer.tick() == []
    assert await redis.hget(key, "announced_ms") is None
    # The wait only: with nobody of the queue logged in there is no estimate, so the period
    # passes without interrupting the music.
    await store.put_queue(QueueConfig("support", announce_seconds=PERIOD, announce_position=False))
    assert await center.announcer.tick() == []
    assert await redis.hget(key, "announced_ms") is not None
    await store.login("1000")
    await redis.hset(key, "announced_ms", 0)
    [announcement] = await center.announcer.tick()
    assert (announcement.position, announcement.wait_minutes) == (1, 2)
    assert announcement.path == spoken(None, 2)
    await until(lambda: center.ears.announcements(call.uuid) == [spoken(None, 2)])


async def test_the_loop_survives_redis_going_away(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callcenter.controller")
    switch = await _switch(tmp_path)
    ears, listener = await _ears(switch)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    redis = redis_client(redis_server.url)
    store = AcdStore(redis, "outage")
    announcer = Announcer({"node1": esl}, store, MOH, tick_seconds=0.02)
    try:
        await store.put_queue(QueueConfig("support", announce_seconds=PERIOD))
        call = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
        await until(lambda: call.uuid in switch.channels)
        await store.enqueue(WaitingCall(call.uuid, "support", node="node1"))
        await announcer.start()
        redis_server.stop()
        await until(lambda: "announce_tick_failed" in caplog.text)
        heard = len(ears.announcements(call.uuid))
        redis_server.start()
        await until(lambda: len(ears.announcements(call.uuid)) > heard)
        assert announcer.running
    finally:
        await announcer.stop()
        await redis.aclose()
        await esl.close()
        await listener.close()
        await switch.stop()


async def test_the_controller_runs_an_announcer(tmp_path: Path, redis_url: str) -> None:
    switch = await _switch(tmp_path)
    ears, listener = await _ears(switch)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    center = AcdConfig.model_validate({"tenant": tenant, "queues": [{"name": "support"}]})
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_controller(
            center,
            redis_url,
            [NodeAddress("node1", "127.0.0.1", switch.port, "ClueCon")],
            FlowSettings(recordings_dir=tmp_path / "rec", tick_seconds=0.05, moh=MOH),
            ready=ready,
        )
    )
    redis = Redis.from_url(redis_url)
    try:
        await asyncio.wait_for(ready.wait(), 5)
        # Shorter than a center file allows, straight into Redis: the announcer reads the
        # queue's settings at each pass.
        await AcdStore(redis, tenant).put_queue(QueueConfig("support", announce_seconds=PERIOD))
        call = await switch.callers.dial("7000", caller_number="1", hangup_after=600)
        await until(lambda: ears.announcements(call.uuid))
        # Nobody is logged in: the position only.
        assert ears.announcements(call.uuid)[0] == spoken(1, None)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await redis.aclose()
        await listener.close()
        await switch.stop()

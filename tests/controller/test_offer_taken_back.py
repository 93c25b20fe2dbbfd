"""A ringing offer whose phone is stopped by whoever took it back (LOSE_RACE: a controller
that took this one for dead) is no miss of the agent: they are free again at once, and the
caller is offered again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.sim import SimSwitch
from tests.controller.test_overflow_callback import callback_flow
from tests.controller.test_queue_flow import agent_is, until


@pytest.fixture
async def ringing(tmp_path: Path, store: AcdStore) -> AsyncIterator[tuple[SimSwitch, AcdStore]]:
    async with callback_flow(tmp_path, store, ring_seconds=600) as switch:
        # One miss is enough for a break: a LOSE_RACE counted as one would show at once.
        await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, max_no_answer=1))
        await store.put_agent("1000", "user/1000@default")
        await store.put_tier("support", "1000")
        yield switch, store


async def test_a_phone_stopped_by_a_takeover_is_no_miss(
    ringing: tuple[SimSwitch, AcdStore],
) -> None:
    switch, store = ringing
    switch.phones.register("1000", "default", answer_after=None)  # rings on
    await store.login("1000")
    await store.ready("1000")
    caller = await switch.callers.dial("7000", caller_number="4951234567", hangup_after=600)
    await until(lambda: agent_is(store, "1000", AgentStatus.RESERVED))
    key = store.keys.call(caller.uuid)
    first = (await store.redis.hget(key, "leg:1000") or b"").decode()
    await until(lambda: first in switch.channels)
    switch.core.hangup(switch.channels[first], "LOSE_RACE")

    async def offered_again() -> bool:
        leg = (await store.redis.hget(key, "leg:1000") or b"").decode()
        return leg not in ("", first) and leg in switch.channels

    await until(offered_again)  # free at once (no delay, no break), and rung again
    agent = await store.agent("1000")
    assert (agent["status"], agent.get("no_answer", "0")) == ("reserved", "0")
    assert "last_miss" not in agent or agent["last_miss"] != "LOSE_RACE"

"""Taking out of Redis what the center file no longer has, without cutting anyone short."""

from __future__ import annotations

import pytest

from callcenter.acd.config import AcdConfig, AgentEntry, QueueEntry, TierEntry
from callcenter.acd.errors import UnknownAgentError
from callcenter.acd.model import AgentStatus, WaitingCall
from callcenter.acd.removal import Pruned, prune
from callcenter.acd.store import AcdStore


def center(store: AcdStore, queues: list[str], tiers: list[tuple[str, str]]) -> AcdConfig:
    agents = sorted({agent for _, agent in tiers})
    return AcdConfig(
        tenant=store.keys.tenant,
        queues=[QueueEntry(name=q) for q in queues],
        agents=[AgentEntry(id=a, contact=f"user/{a}@default") for a in agents],
        tiers=[TierEntry(queue=q, agent=a) for q, a in tiers],
    )


FULL = (["support", "sales"], [("support", "1000"), ("sales", "1000"), ("sales", "1001")])


async def loaded(store: AcdStore) -> AcdConfig:
    """The full center applied, both agents ready."""
    config = center(store, *FULL)
    await config.apply(store)
    for agent in ("1000", "1001"):
        await store.login(agent)
        await store.ready(agent)
    return config


async def members(store: AcdStore, key: str) -> set[str]:
    return {m.decode() for m in await store.redis.smembers(key)}


async def test_nothing_to_take_out(store: AcdStore) -> None:
    config = await loaded(store)
    assert not await prune(config, store)


async def test_a_tier_goes_at_once_and_its_agent_gets_no_more_offers_of_it(
    store: AcdStore,
) -> None:
    await loaded(store)
    smaller = center(store, ["support", "sales"], [("support", "1000"), ("sales", "1001")])
    assert await prune(smaller, store) == Pruned(tiers=["sales/1000"])
    assert await members(store, store.keys.agent_queues("1000")) == {"support"}
    assert await store.redis.zscore(store.keys.queue_idle("sales"), "1000") is None
    await store.enqueue(WaitingCall("c1", "sales"))
    (offer,) = await store.reserve("sales")
    assert offer.agent == "1001"
    await store.enqueue(WaitingCall("c2", "support"))
    (offer,) = await store.reserve("support")
    assert offer.agent == "1000"  # still in the queue the file keeps


async def test_an_agent_goes_once_logged_out(store: AcdStore) -> None:
    await loaded(store)
    without_1001 = center(store, ["support", "sales"], [("support", "1000"), ("sales", "1000")])
    pruned = await prune(without_1001, store)
    # Logged in: only their tiers go (no more offers); they stay until they log out.
    assert pruned == Pruned(kept=["agent 1001: logged in"])
    assert await store.status("1001") is AgentStatus.AVAILABLE
    assert await store.redis.hget(store.keys.queue_tiers("sales"), "1001") is None
    assert await store.redis.zscore(store.keys.queue_idle("sales"), "1001") is None
    await store.logout("1001")
    assert await prune(without_1001, store) == Pruned(agents=["1001"])
    with pytest.raises(UnknownAgentError):
        await store.status("1001")
    assert "1001" not in await members(store, store.keys.agents)
    assert not await store.redis.exists(store.keys.agent_skills("1001"))
    with pytest.raises(UnknownAgentError):
        await store.login("1001")


async def test_a_queue_goes_once_nobody_waits_in_it(store: AcdStore) -> None:
    await loaded(store)
    await store.take_break("1000")
    await store.take_break("1001")
    await store.enqueue(WaitingCall("c1", "sales"))
    without_sales = center(store, ["support"], [("support", "1000")])
    pruned = await prune(without_sales, store)
    assert pruned.kept == ["agent 1001: logged in", "queue sales: calls in progress"]
    assert "sales" in await members(store, store.keys.queues)
    # Its callers are still served, by the agents the file keeps in it; while one of its calls
    # rings an agent (who may not answer: the caller would be back in line), it stays too.
    await store.ready("1000")
    (offer,) = await store.reserve("sales")
    assert (offer.call_id, offer.agent) == ("c1", "1000")
    assert "queue sales: calls in progress" in (await prune(without_sales, store)).kept
    await store.answered(offer)
    assert "queue sales: calls in progress" in (await prune(without_sales, store)).kept
    assert await store.hung_up("c1", "1000")
    assert (await prune(without_sales, store)).queues == ["sales"]
    assert await members(store, store.keys.queues) == {"support"}
    assert await members(store, store.keys.agent_queues("1000")) == {"support"}
    assert not await store.redis.exists(store.keys.queue_tiers("sales"))
    assert await store.status("1000") is AgentStatus.WRAP_UP
    # The queue comes back whole when the file has it again.
    await center(store, *FULL).apply(store)
    assert "sales" in await members(store, store.keys.queues)


async def test_another_tenants_keys_are_left_alone(store: AcdStore) -> None:
    other = AcdStore(store.redis, store.keys.tenant + "x")
    await center(other, *FULL).apply(other)
    await loaded(store)
    await prune(center(store, [], []), store)
    assert await members(other, other.keys.queues) == {"support", "sales"}
    assert await members(other, other.keys.agents) == {"1000", "1001"}


async def test_a_controller_start_takes_out_too(store: AcdStore) -> None:
    from callcenter.controller.runner import _apply_center

    await loaded(store)
    await store.logout("1001")
    await _apply_center(center(store, ["support"], [("support", "1000")]), store)
    assert await members(store, store.keys.queues) == {"support"}
    assert await members(store, store.keys.agents) == {"1000"}
    assert await store.status("1000") is AgentStatus.AVAILABLE

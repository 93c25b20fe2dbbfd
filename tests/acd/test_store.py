"""The ACD state in a real Redis: agent states, strategies, skills, priorities, atomic offers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis

from callcenter.acd.audit import double_assignments
from callcenter.acd.errors import UnknownAgentError, UnknownQueueError, WrongAgentStateError
from callcenter.acd.model import AgentStatus, Offer, QueueConfig, Strategy, WaitingCall
from callcenter.acd.store import AcdStore


async def setup_queue(store: AcdStore, strategy: Strategy, agents: list[str], **queue: Any) -> None:
    await store.put_queue(QueueConfig("support", strategy, **queue))
    for position, agent in enumerate(agents, 1):
        await store.put_agent(agent, f"user/{agent}@default")
        await store.put_tier("support", agent, level=1, position=position)


async def one(store: AcdStore, queue: str = "support") -> Offer:
    offers = await store.reserve(queue)
    assert len(offers) == 1
    return offers[0]


async def test_agent_state_machine_and_events(store: AcdStore, redis: Redis) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["1000"])
    assert await store.status("1000") is AgentStatus.LOGGED_OUT
    await store.login("1000")
    assert await store.status("1000") is AgentStatus.ON_BREAK
    with pytest.raises(WrongAgentStateError, match="is on_break"):
        await store.login("1000")  # logging in twice
    await store.ready("1000")
    await store.take_break("1000", "lunch")
    assert (await store.agent("1000"))["reason"] == "lunch"
    await store.logout("1000")
    events = await redis.xrange(store.keys.events)
    statuses = [e[1][b"status"].decode() for e in events if e[1][b"type"] == b"agent"]
    assert statuses == ["on_break", "available", "on_break", "logged_out"]
    with pytest.raises(UnknownAgentError, match="no agent 'ghost'"):
        await store.ready("ghost")
    with pytest.raises(UnknownQueueError):
        await store.enqueue(WaitingCall("c1", "nowhere"))
    with pytest.raises(UnknownQueueError, match="no queue 'nowhere'"):
        await store.reserve("nowhere")
    with pytest.raises(UnknownQueueError):
        await store.put_tier("nowhere", "1000")
    with pytest.raises(UnknownAgentError):
        await store.put_tier("support", "ghost")


async def test_a_reload_keeps_agents_logged_in(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["1000"])
    await store.login("1000")
    await store.ready("1000")
    await store.put_agent("1000", "user/1000@default", {"english": 5})
    assert await store.status("1000") is AgentStatus.AVAILABLE


async def test_no_agent_no_offer_and_calls_keep_their_order(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["1000"])
    for n in range(3):
        await store.enqueue(WaitingCall(f"c{n}", "support", enqueued_ms=1000 + n))
    assert await store.reserve("support") == []
    await store.login("1000")
    await store.ready("1000")
    offer = await one(store)
    assert (offer.call_id, offer.agent, offer.contact) == ("c0", "1000", "user/1000@default")
    assert await store.status("1000") is AgentStatus.RESERVED
    assert await store.waiting("support") == ["c1", "c2"]
    assert await store.reserve("support") == []  # the only agent is reserved


async def test_longest_idle_agent_first(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a", "b", "c"])
    for agent in ("b", "c", "a"):
        await store.login(agent)
        await store.ready(agent)
        await asyncio.sleep(0.002)
    order = []
    for n in range(3):
        await store.enqueue(WaitingCall(f"c{n}", "support"))
        order.append((await one(store)).agent)
    assert order == ["b", "c", "a"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [(Strategy.TOP_DOWN, ["a", "b", "c"]), (Strategy.SEQUENTIAL, ["a", "b", "c"])],
)
async def test_order_by_tier_position(
    store: AcdStore, strategy: Strategy, expected: list[str]
) -> None:
    await setup_queue(store, strategy, ["a", "b", "c"])
    for agent in ("c", "b", "a"):
        await store.login(agent)
        await store.ready(agent)
    got = []
    for n in range(3):
        await store.enqueue(WaitingCall(f"c{n}", "support"))
        got.append((await one(store)).agent)
    assert got == expected


async def test_lower_tier_level_is_tried_first(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["backup", "main"])
    await store.put_tier("support", "backup", level=2, position=1)
    for agent in ("backup", "main"):
        await store.login(agent)
        await store.ready(agent)
    await store.enqueue(WaitingCall("c1", "support"))
    assert (await one(store)).agent == "main"


async def test_fewest_calls_and_least_talk_time(store: AcdStore) -> None:
    await setup_queue(store, Strategy.FEWEST_CALLS, ["busy", "fresh"])
    for agent in ("busy", "fresh"):
        await store.login(agent)
        await store.ready(agent)
    # "busy" takes a call, wraps up and comes back: "fresh" now has fewer calls.
    await store.enqueue(WaitingCall("c1", "support"))
    first = await one(store)
    await store.answered(first)
    await store.bridged(first)
    await store.hung_up("c1")
    await store.ready(first.agent)
    await store.enqueue(WaitingCall("c2", "support"))
    assert (await one(store)).agent != first.agent


async def test_round_robin_rotates(store: AcdStore) -> None:
    await setup_queue(store, Strategy.ROUND_ROBIN, ["a", "b"])
    for agent in ("a", "b"):
        await store.login(agent)
        await store.ready(agent)
    seen = []
    for n in range(4):
        await store.enqueue(WaitingCall(f"c{n}", "support"))
        offer = await one(store)
        seen.append(offer.agent)
        await store.not_answered(offer.agent, offer.call_id, requeue=False)
        await asyncio.sleep(0.002)
    assert seen[0] != seen[1] and seen[0] == seen[2] and seen[1] == seen[3]


async def test_ring_all_reserves_every_available_agent(store: AcdStore) -> None:
    await setup_queue(store, Strategy.RING_ALL, ["a", "b", "c"])
    for agent in ("a", "b"):
        await store.login(agent)
        await store.ready(agent)
    await store.enqueue(WaitingCall("c1", "support"))
    offers = await store.reserve("support")
    assert sorted(o.agent for o in offers) == ["a", "b"]
    await store.answered(next(o for o in offers if o.agent == "a"))
    # "b" picks up a moment later: the call is taken, "b" is not put on it too.
    with pytest.raises(WrongAgentStateError, match="call c1 is answered"):
        await store.answered(next(o for o in offers if o.agent == "b"))
    assert await store.status("b") is AgentStatus.RESERVED
    assert (await store.agent("a"))["call"] == "c1"
    assert await store.abandon("c1") == ["b"]  # released when another agent answered


async def test_skills_and_proficiency(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["en", "fr"])
    await store.put_agent("en", "user/en@default", {"english": 8})
    await store.put_agent("fr", "user/fr@default", {"french": 9, "english": 3})
    for agent in ("en", "fr"):
        await store.login(agent)
        await store.ready(agent)
    await store.enqueue(WaitingCall("needs-french", "support", skills={"french": 5}))
    await store.enqueue(WaitingCall("needs-good-english", "support", skills={"english": 5}))
    got = {(await one(store)).call_id: None, (await one(store)).call_id: None}
    assert set(got) == {"needs-french", "needs-good-english"}
    assert (await store.agent("fr"))["reserved_for"] == "needs-french"
    assert (await store.agent("en"))["reserved_for"] == "needs-good-english"
    await store.enqueue(WaitingCall("needs-german", "support", skills={"german": 1}))
    assert await store.reserve("support") == []


async def test_vip_jumps_ahead_but_waiting_raises_priority(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"], priority_weight_seconds=60)
    await store.enqueue(WaitingCall("old", "support", enqueued_ms=1_000_000))
    await store.enqueue(WaitingCall("new", "support", enqueued_ms=1_000_000 + 30_000))
    await store.enqueue(WaitingCall("vip", "support", priority=1, enqueued_ms=1_000_000 + 30_000))
    # VIP arrived 30 s after "old" but counts as 60 s earlier; "new" stays behind "old".
    await store.enqueue(WaitingCall("ancient", "support", enqueued_ms=1_000_000 - 120_000))
    assert await store.waiting("support") == ["ancient", "vip", "old", "new"]


async def test_no_answer_keeps_the_place_and_max_no_answer_breaks(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"], max_no_answer=2)
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("first", "support", enqueued_ms=1))
    await store.enqueue(WaitingCall("second", "support", enqueued_ms=2))
    offer = await one(store)
    assert await store.not_answered("a", offer.call_id) is False
    assert await store.waiting("support") == ["first", "second"]
    offer = await one(store)
    assert offer.call_id == "first"
    assert await store.not_answered("a", offer.call_id) is True
    agent = await store.agent("a")
    assert (agent["status"], agent["reason"]) == ("on_break", "no answer")


async def test_abandon_releases_a_ringing_agent_at_once(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"])
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    await one(store)
    assert await store.abandon("c1") == ["a"]
    assert await store.status("a") is AgentStatus.AVAILABLE
    await store.requeue("c1")  # a late no-answer must not bring an abandoned call back
    assert await store.waiting("support") == []


async def test_wrap_up_then_available(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"], wrap_up_seconds=0.05)
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    offer = await one(store)
    await store.answered(offer)
    # Not bridged yet: an agent leg's hangup does not end the call (the offer handles it).
    assert await store.hung_up("c1", "a", only_bridged=True) is False
    await store.bridged(offer)
    # Talk time runs from the bridge: pretend it was 12.5 s ago.
    bridged = int(time.time() * 1000) - 12_500
    await store.redis.hset(store.keys.call("c1"), "bridged_ms", bridged)
    assert await store.hung_up("c1", "someone-else") is False  # not their call
    assert await store.hung_up("c1", "a", only_bridged=True) is True
    assert await store.hung_up("c1") is False  # the other leg's hangup
    assert await store.status("a") is AgentStatus.WRAP_UP
    agent = await store.agent("a")
    assert agent["calls"] == "1"
    assert 12_500 <= int(agent["talk_ms"]) < 14_000
    assert (await store.redis.hget(store.keys.call("c1"), "state")) == b"ended"
    # The wrap-up names the call it follows (the reports charge it to the call's queue).
    entries = await store.redis.xrange(store.keys.events)
    wrap = [f for _, f in entries if f[b"type"] == b"agent" and f[b"status"] == b"wrap_up"]
    assert [(f[b"call"], f[b"previous"]) for f in wrap] == [(b"c1", b"on_call")]
    for _ in range(100):
        if await store.finish_wrap_ups():
            break
        await asyncio.sleep(0.01)
    assert await store.status("a") is AgentStatus.AVAILABLE


async def test_concurrent_controllers_never_double_assign(store: AcdStore, redis: Redis) -> None:
    agents = [f"a{n}" for n in range(20)]
    await setup_queue(store, Strategy.LONGEST_IDLE, agents)
    for agent in agents:
        await store.login(agent)
        await store.ready(agent)
    for n in range(50):
        await store.enqueue(WaitingCall(f"c{n}", "support"))
    # Several "controllers" (separate stores, each with its own connection) race for offers.
    port = redis.connection_pool.connection_kwargs["port"]
    others = [AcdStore(Redis(port=port), store.keys.tenant) for _ in range(4)]
    results = await asyncio.gather(*(s.reserve("support") for s in others * 10))
    offers = [offer for result in results for offer in result]
    assert len(offers) == 20
    assert len({o.agent for o in offers}) == 20
    assert len({o.call_id for o in offers}) == 20
    for other in others:
        await other.redis.aclose()


async def test_cancel_offer_frees_only_the_agent_reserved_for_that_call(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"])
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    await one(store)
    # The race the end-to-end benchmark found: the caller's hangup marks the call abandoned
    # while the offer is being made; whoever sees it afterwards frees the agent.
    assert await store.cancel_offer("a", "other-call") is False
    assert await store.status("a") is AgentStatus.RESERVED
    assert await store.cancel_offer("a", "c1") is True
    assert await store.status("a") is AgentStatus.AVAILABLE
    assert await store.cancel_offer("a", "c1") is False


async def test_an_offer_is_settled_only_for_the_call_it_was_made_for(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"])
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support", caller_number="111", node="n1"))
    first = await one(store)
    assert (first.call_id, first.node, first.caller_number) == ("c1", "n1", "111")
    assert await store.abandon("c1") == ["a"]  # the caller left while "a" rang
    await store.enqueue(WaitingCall("c2", "support"))
    second = await one(store)
    assert second.agent == "a"
    # The late answer of the first offer must not put "a" on c1 while reserved for c2.
    with pytest.raises(WrongAgentStateError, match="not reserved for c1"):
        await store.answered(first)
    assert await store.cancel_offer("a", "c1") is False
    with pytest.raises(WrongAgentStateError):
        await store.not_answered("a", "c1")
    agent = await store.agent("a")
    assert (agent["status"], agent["reserved_for"]) == ("reserved", "c2")
    await store.answered(second)


async def test_an_answer_lost_before_the_bridge_puts_the_caller_back_in_place(
    store: AcdStore,
) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a", "b"], max_no_answer=2)
    for agent in ("a", "b"):
        await store.login(agent)
        await store.ready(agent)
    await store.enqueue(WaitingCall("old", "support", enqueued_ms=1_000))
    offer = await one(store)
    await store.enqueue(WaitingCall("new", "support", enqueued_ms=2_000))
    await store.answered(offer)
    assert await store.answer_lost(offer.agent, "old") is False  # first miss of two
    assert await store.status(offer.agent) is AgentStatus.AVAILABLE
    assert (await store.agent(offer.agent))["no_answer"] == "1"
    assert await store.waiting("support") == ["old", "new"]  # still ahead of the later caller


async def test_a_queue_counts_its_day_and_its_service_level(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"], service_level_seconds=20)
    await store.login("a")
    await store.ready("a")
    now = int(time.time() * 1000)
    # Answered after 5 s (in SL), answered after 60 s (not), abandoned after 3 s (too early to
    # count), abandoned after 45 s (counts against the service level).
    await store.enqueue(WaitingCall("fast", "support", enqueued_ms=now - 5_000))
    await store.enqueue(WaitingCall("slow", "support", enqueued_ms=now - 60_000))
    for call in ("slow", "fast"):  # "slow" waited longest: offered first
        offer = await one(store)
        assert offer.call_id == call
        await store.answered(offer)
        await store.bridged(offer)
        assert await store.hung_up(call) is True
        await store.ready("a")
    await store.take_break("a")
    await store.enqueue(WaitingCall("early-quit", "support", enqueued_ms=now - 3_000))
    await store.enqueue(WaitingCall("late-quit", "support", enqueued_ms=now - 45_000))
    await store.abandon("early-quit")
    await store.abandon("late-quit")
    stats = await store.queue_stats("support")
    assert (stats["offered"], stats["answered"], stats["answered_in_sl"]) == (4, 2, 1)
    assert (stats["abandoned"], stats["abandoned_in_sl"], stats["ended"]) == (2, 1, 2)
    # 1 in SL out of 2 answered + 1 abandoned after the threshold.
    assert stats["service_level"] == pytest.approx(100 / 3)
    assert 32 <= stats["avg_wait_s"] < 34  # (5 + 60) / 2
    assert await store.queue_stats("support", "2001-01-01") == {
        **dict.fromkeys(stats, 0.0),
        "service_level": 100.0,
    }
    with pytest.raises(UnknownQueueError):
        await store.queue_stats("nowhere")


@pytest.mark.parametrize(
    ("cause", "missed"),
    [
        ("USER_BUSY", False),
        ("CALL_REJECTED", False),
        ("USER_NOT_REGISTERED", False),  # 5 s, whatever the agent's delays
        ("NO_ANSWER", True),
        ("SUBSCRIBER_ABSENT", True),
    ],
)
async def test_a_failed_offer_keeps_the_agent_out_for_their_delay(
    store: AcdStore, cause: str, missed: bool
) -> None:
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, max_no_answer=0))
    await store.put_agent("a", "user/a", reject_delay=60, busy_delay=60, no_answer_delay=60)
    await store.put_tier("support", "a")
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    offer = await one(store)
    await store.not_answered("a", offer.call_id, cause)
    agent = await store.agent("a")
    assert agent["status"] == "available"
    # Busy and rejected offers are not missed ones (mod_callcenter counts only the others).
    assert agent["no_answer"] == ("1" if missed else "0")
    assert await store.waiting("support") == ["c1"]
    assert await store.reserve("support") == []  # available, but not offered yet
    assert await store.finish_wrap_ups() == []
    # The delay ends (as if the time had passed): offered again.
    await store.redis.zadd(store.keys.delayed, {"a": 1})
    assert await store.finish_wrap_ups() == ["a"]
    assert (await one(store)).agent == "a"


async def test_without_delays_a_busy_agent_is_offered_again_at_once(store: AcdStore) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"], max_no_answer=1)
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    assert await store.not_answered("a", (await one(store)).call_id, "USER_BUSY") is False
    assert (await one(store)).agent == "a"  # busy is no miss: no break at max_no_answer=1


async def test_ready_ends_a_delay_early(store: AcdStore) -> None:
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, max_no_answer=0))
    await store.put_agent("a", "user/a", busy_delay=600)
    await store.put_tier("support", "a")
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("c1", "support"))
    await store.not_answered("a", (await one(store)).call_id, "USER_BUSY")
    assert await store.reserve("support") == []
    await store.ready("a")  # the agent says they are there after all
    assert (await one(store)).agent == "a"


async def test_ring_progressively_reserves_one_agent_then_one_more(store: AcdStore) -> None:
    await setup_queue(store, Strategy.RING_PROGRESSIVELY, ["a", "b", "c"])
    for agent in ("c", "b", "a"):  # tier position decides, not who was ready first
        await store.login(agent)
        await store.ready(agent)
    await store.enqueue(WaitingCall("c1", "support"))
    await store.enqueue(WaitingCall("c2", "support"))
    first = await one(store)
    assert (first.call_id, first.agent, first.strategy) == ("c1", "a", "ring-progressively")
    more = await store.reserve("support", more_for="c1")
    assert [(o.call_id, o.agent) for o in more] == [("c1", "b")]
    assert await store.reserve("support", more_for="c2") == []  # c2 is waiting, not offered
    assert (await store.redis.hget(store.keys.call("c1"), "agents")) == b"a,b"
    # A no-answer of one phone leaves the call offered while the other still rings.
    await store.not_answered("a", "c1")
    assert await store.waiting("support") == ["c2"]
    await store.not_answered("b", "c1")
    assert await store.waiting("support") == ["c1", "c2"]  # back, in its place


async def test_a_skill_no_agent_has_is_ignored_so_the_caller_is_served(
    store: AcdStore, caplog: pytest.LogCaptureFixture
) -> None:
    await setup_queue(store, Strategy.LONGEST_IDLE, ["en"])
    await store.put_agent("en", "user/en@default", {"english": 8})
    await store.login("en")
    await store.ready("en")
    # "klingon": nobody has it (a typo in a dialplan, a skill nobody was given yet).
    await store.enqueue(WaitingCall("c1", "support", skills={"klingon": 1, "english": 9}))
    assert "queue_unknown_skill call=c1 queue=support skills=klingon" in caplog.text
    assert await store.reserve("support") == []  # english 9 is known, and "en" has only 8
    await store.put_agent("en", "user/en@default", {"english": 9})
    await store.ready("en")
    assert (await one(store)).call_id == "c1"


@pytest.mark.parametrize(
    "contact", ["user/1000 &park()", "user/1000@default,user/1001", "{x=1}user/1", "", "a\r\nb"]
)
async def test_a_contact_must_be_one_dial_string(store: AcdStore, contact: str) -> None:
    with pytest.raises(ValueError, match="not one dial string"):
        await store.put_agent("a", contact)
    await store.put_agent("a", "user/a@default")
    with pytest.raises(ValueError, match="not one dial string"):
        await store.login("a", contact=contact or " ")
    assert await store.status("a") is AgentStatus.LOGGED_OUT


def test_double_assignments_are_counted_from_the_stream() -> None:
    def agent(name: bytes, status: bytes) -> dict[bytes, bytes]:
        return {b"type": b"agent", b"agent": name, b"status": status}

    fine = [agent(b"a", b"reserved"), agent(b"a", b"on_call"), agent(b"a", b"available"),
            agent(b"a", b"reserved"), {b"type": b"call", b"state": b"answered"}]  # fmt: skip
    assert double_assignments(fine) == 0
    twice = [agent(b"a", b"reserved"), agent(b"a", b"reserved"), agent(b"a", b"on_call"),
             agent(b"a", b"on_call")]  # fmt: skip
    assert double_assignments(twice) == 2


def test_the_lua_scripts_cap_the_stream_like_the_store() -> None:
    import re

    from callcenter.acd import scripts
    from callcenter.acd.store import STREAM_MAXLEN

    caps = {
        int(cap)
        for text in vars(scripts).values()
        if isinstance(text, str)
        for cap in re.findall(r"'MAXLEN', '~', (\d+)", text)
    }
    assert caps == {STREAM_MAXLEN}


async def test_a_finished_calls_hash_expires_and_a_live_one_does_not(store: AcdStore) -> None:
    from callcenter.acd.store import FINISHED_CALL_TTL_S

    await setup_queue(store, Strategy.LONGEST_IDLE, ["a"])
    await store.login("a")
    await store.ready("a")
    await store.enqueue(WaitingCall("talked", "support"))
    offer = await one(store)
    assert offer.call_id == "talked"
    await store.enqueue(WaitingCall("gave-up", "support"))
    await store.enqueue(WaitingCall("waits", "support"))
    await store.answered(offer)
    await store.bridged(offer)
    assert await store.redis.ttl(store.keys.call("talked")) == -1  # on the line: kept
    assert await store.hung_up("talked", "a") is True
    assert 0 < await store.redis.ttl(store.keys.call("talked")) <= FINISHED_CALL_TTL_S
    await store.abandon("gave-up")
    assert 0 < await store.redis.ttl(store.keys.call("gave-up")) <= FINISHED_CALL_TTL_S
    assert await store.redis.ttl(store.keys.call("waits")) == -1

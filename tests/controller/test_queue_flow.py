"""Inbound queue calls end to end: simulated switch, real Redis, our ESL client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch

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
  <extension name="support-french">
    <condition field="destination_number" expression="^7200$">
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="set" data="cc_skills=french=5"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="support-vip">
    <condition field="destination_number" expression="^7300$">
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="set" data="cc_priority=2"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="feature_login">
    <condition field="destination_number" expression="^\\*21$">
      <action application="answer"/>
      <action application="set" data="cc_agent=1000"/>
      <action application="set" data="cc_feature=login"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="feature_ready">
    <condition field="destination_number" expression="^\\*22$">
      <action application="answer"/>
      <action application="set" data="cc_agent=1000"/>
      <action application="set" data="cc_feature=ready"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="feature_break">
    <condition field="destination_number" expression="^\\*23$">
      <action application="answer"/>
      <action application="set" data="cc_agent=1000"/>
      <action application="set" data="cc_feature=break"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="feature_logout">
    <condition field="destination_number" expression="^\\*24$">
      <action application="answer"/>
      <action application="set" data="cc_agent=1000"/>
      <action application="set" data="cc_feature=logout"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="sales">
    <condition field="destination_number" expression="^7100$">
      <action application="answer"/>
      <action application="set" data="cc_queue=sales"/>
      <action application="park"/>
    </condition>
  </extension>
</context></include>
"""


@dataclass
class Center:
    switch: SimSwitch
    store: AcdStore
    flow: QueueCallFlow
    recordings: Path


@pytest.fixture
async def center(tmp_path: Path, store: AcdStore) -> AsyncIterator[Center]:
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "queue.xml").write_text(DIALPLAN)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, wrap_up_seconds=0.2,
                                      max_no_answer=1))  # fmt: skip
    for n, agent in enumerate(("1000", "1001"), 1):
        await store.put_agent(agent, f"user/{agent}@default")
        await store.put_tier("support", agent, position=n)
    flow = QueueCallFlow(
        {"node1": esl},
        store,
        FlowSettings(ring_seconds=2, recordings_dir=tmp_path / "rec", tick_seconds=0.05),
    )
    await flow.start()
    try:
        yield Center(switch, store, flow, tmp_path / "rec")
    finally:
        await flow.stop()
        await esl.close()
        await switch.stop()


async def until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def agent_is(store: AcdStore, agent: str, status: AgentStatus) -> bool:
    return await store.status(agent) is status


async def test_caller_reaches_an_agent_and_the_agent_wraps_up(center: Center) -> None:
    center.switch.phones.register("1000", "default", answer_after=0.5)
    await center.store.login("1000")
    await center.store.ready("1000")
    call = await center.switch.callers.dial("7000", caller_number="4951234567", caller_name="Ivan")
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))
    await until(lambda: any(ch.other_uuid for ch in center.switch.channels.values()))
    # The number dialed and its advert, from the caller's channel, for the screen-pop and CRM.
    key = center.store.keys.call(call.uuid)
    assert await center.store.redis.hmget(key, "did", "campaign") == [b"74951234567", b"TV spring"]
    await call.hangup()
    await until(lambda: agent_is(center.store, "1000", AgentStatus.WRAP_UP))
    await until(lambda: agent_is(center.store, "1000", AgentStatus.AVAILABLE))
    agent = await center.store.agent("1000")
    assert agent["calls"] == "1"
    assert (center.recordings / f"{call.uuid}.wav").is_file()


async def test_no_answer_moves_the_caller_to_the_next_agent(center: Center) -> None:
    center.switch.phones.register("1000", "default", answer_after=None)
    center.switch.phones.register("1001", "default", answer_after=0.5)
    for agent in ("1000", "1001"):
        await center.store.login(agent)
        await center.store.ready(agent)
    await center.switch.callers.dial("7000", caller_number="1", hangup_after=120)
    await until(lambda: agent_is(center.store, "1001", AgentStatus.ON_CALL), timeout=20)
    missed = await center.store.agent("1000")
    assert (missed["status"], missed["reason"]) == ("on_break", "no answer")


async def test_caller_hanging_up_while_the_agent_rings_releases_the_agent(
    center: Center, redis: Redis
) -> None:
    center.switch.phones.register("1000", "default", answer_after=None)
    await center.store.login("1000")
    await center.store.ready("1000")
    call = await center.switch.callers.dial("7000", caller_number="2")
    await until(lambda: agent_is(center.store, "1000", AgentStatus.RESERVED))
    await until(lambda: len(center.switch.channels) == 2)
    await call.hangup()
    await until(lambda: agent_is(center.store, "1000", AgentStatus.AVAILABLE))
    # The agent's phone stopped ringing: no channel is left on the switch.
    await until(lambda: not center.switch.channels)
    state = await redis.hget(center.store.keys.call(call.uuid), "state")
    assert state == b"abandoned"


async def test_calls_wait_until_an_agent_is_ready(center: Center) -> None:
    center.switch.phones.register("1000", "default", answer_after=0.2)
    await center.store.login("1000")
    call = await center.switch.callers.dial("7000", caller_number="3", hangup_after=120)
    await until(lambda: center.store.waiting("support"))
    assert await center.store.waiting("support") == [call.uuid]
    await center.store.ready("1000")  # the tick offers the waiting call
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))


async def test_an_agent_hanging_up_right_after_answering_leaves_the_caller_in_line(
    center: Center, redis: Redis
) -> None:
    # 1000 picks up and puts the phone down at once, before the controller can bridge.
    center.switch.phones.register("1000", "default", answer_after=0, hangup_after=0)
    center.switch.phones.register("1001", "default", answer_after=0.2)
    for agent in ("1000", "1001"):  # 1000 first: the longest idle, offered first
        await center.store.login(agent)
        await center.store.ready(agent)
    call = await center.switch.callers.dial("7000", caller_number="5", hangup_after=120)
    await until(lambda: agent_is(center.store, "1001", AgentStatus.ON_CALL))
    await until(lambda: center.switch.channels[call.uuid].other_uuid is not None)
    # The controller marks the bridge once the switch's reply is in: wait for it.
    await until(lambda: redis.hget(center.store.keys.call(call.uuid), "bridged_ms"))
    data = await redis.hgetall(center.store.keys.call(call.uuid))
    assert (data[b"state"], data[b"agent"]) == (b"answered", b"1001")
    # The quick hang-up counts as a missed offer (max_no_answer=1 here): on break.
    missed = await center.store.agent("1000")
    assert (missed["status"], missed["reason"]) == ("on_break", "no answer")


async def test_ring_all_stops_the_other_phones_once_one_answers(
    center: Center, redis: Redis
) -> None:
    await center.store.put_queue(
        QueueConfig("support", Strategy.RING_ALL, wrap_up_seconds=0.2, max_no_answer=1)
    )
    center.switch.phones.register("1000", "default", answer_after=0.5)
    center.switch.phones.register("1001", "default", answer_after=None)  # would ring on
    center.flow.settings = replace(center.flow.settings, ring_seconds=600)
    for agent in ("1000", "1001"):
        await center.store.login(agent)
        await center.store.ready(agent)
    call = await center.switch.callers.dial("7000", caller_number="6", hangup_after=120)
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))
    await until(lambda: center.switch.channels[call.uuid].other_uuid is not None)
    # 1001's phone stopped at once, long before its ring timeout: free again, and only the
    # caller and 1000's leg are up.
    await until(lambda: agent_is(center.store, "1001", AgentStatus.AVAILABLE))
    await until(lambda: len(center.switch.channels) == 2)
    assert (await center.store.agent("1001")).get("no_answer", "0") == "0"


async def test_a_busy_agent_sits_out_their_busy_delay(center: Center, redis: Redis) -> None:
    await center.store.put_agent("1000", "user/1000@default", busy_delay=600)
    center.switch.phones.register("1000", "default", reject="USER_BUSY")
    center.switch.phones.register("1001", "default", answer_after=0.2)
    for agent in ("1000", "1001"):  # 1000 first: the longest idle, offered first
        await center.store.login(agent)
        await center.store.ready(agent)
    first = await center.switch.callers.dial("7000", caller_number="7", hangup_after=120)
    await until(lambda: agent_is(center.store, "1001", AgentStatus.ON_CALL))
    busy = await center.store.agent("1000")
    assert (busy["status"], busy["last_miss"], busy["no_answer"]) == ("available", "USER_BUSY", "0")
    # A second caller is not offered to 1000 while the delay runs: they wait.
    second = await center.switch.callers.dial("7000", caller_number="8", hangup_after=120)
    await until(lambda: center.store.waiting("support"))
    await asyncio.sleep(0.5)  # ten ticks of the controller
    assert await center.store.waiting("support") == [second.uuid]
    assert await center.store.status("1000") is AgentStatus.AVAILABLE
    # 1000 says they are free after all: the delay ends, the second caller is offered.
    center.switch.phones.register("1000", "default", answer_after=0.2)
    await center.store.ready("1000")
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))
    data = await redis.hgetall(center.store.keys.call(second.uuid))
    assert data[b"agent"] == b"1000"
    assert (await redis.hget(center.store.keys.call(first.uuid), "agent")) == b"1001"


async def test_ring_progressively_adds_a_phone_while_the_first_rings_on(
    center: Center, redis: Redis
) -> None:
    await center.store.put_queue(
        QueueConfig(
            "support",
            Strategy.RING_PROGRESSIVELY,
            wrap_up_seconds=0.2,
            max_no_answer=0,
            ring_progressively_delay_seconds=0.3,
        )
    )
    center.flow.settings = replace(center.flow.settings, ring_seconds=600)
    center.switch.phones.register("1000", "default", answer_after=None)  # rings on
    center.switch.phones.register("1001", "default", answer_after=0.2)
    for agent in ("1000", "1001"):
        await center.store.login(agent)
        await center.store.ready(agent)
    call = await center.switch.callers.dial("7000", caller_number="9", hangup_after=120)
    # 1000 (position 1) rings first, alone; after the delay 1001 rings too and answers.
    await until(lambda: agent_is(center.store, "1000", AgentStatus.RESERVED))
    assert await center.store.status("1001") is AgentStatus.AVAILABLE
    await until(lambda: agent_is(center.store, "1001", AgentStatus.ON_CALL))
    await until(lambda: center.switch.channels[call.uuid].other_uuid is not None)
    # 1000's phone stopped once 1001 answered, and 1000 is free again.
    await until(lambda: agent_is(center.store, "1000", AgentStatus.AVAILABLE))
    await until(lambda: len(center.switch.channels) == 2)
    events = await redis.xrange(center.store.keys.events)
    offered = [e[b"agents"] for _, e in events if e.get(b"state") == b"offering"]
    assert offered == [b"1000", b"1001"]  # each event names the phones it added
    assert await redis.hget(center.store.keys.call(call.uuid), "agents") == b"1000,1001"


# Five agents whose figures make each strategy pick a different one: tier position (top-down,
# sequentially-by-agent-order), talk time, calls, who became ready first (longest idle) and
# who was offered a call longest ago (round-robin).
FIGURES = {  # agent: (position, talk_ms, calls, last_offer)
    "2001": (1, 500_000, 5, 400),
    "2002": (2, 100_000, 6, 300),
    "2003": (3, 600_000, 1, 500),
    "2004": (4, 700_000, 7, 600),
    "2005": (5, 800_000, 8, 100),
}
READY_ORDER = ["2004", "2003", "2001", "2002", "2005"]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.TOP_DOWN, {"2001"}),
        (Strategy.SEQUENTIAL, {"2001"}),
        (Strategy.LEAST_TALK_TIME, {"2002"}),
        (Strategy.FEWEST_CALLS, {"2003"}),
        (Strategy.LONGEST_IDLE, {"2004"}),
        (Strategy.ROUND_ROBIN, {"2005"}),
        (Strategy.RANDOM, set(FIGURES)),
        (Strategy.RING_ALL, set(FIGURES)),
        (Strategy.RING_PROGRESSIVELY, {"2001"}),
    ],
)
async def test_each_strategy_routes_a_call_through_the_switch(
    center: Center, redis: Redis, strategy: Strategy, expected: set[str]
) -> None:
    await center.store.put_queue(QueueConfig("sales", strategy, wrap_up_seconds=0.2))
    for agent, (position, talk_ms, calls, last_offer) in FIGURES.items():
        await center.store.put_agent(agent, f"user/{agent}@default")
        await center.store.put_tier("sales", agent, position=position)
        await redis.hset(
            center.store.keys.agent(agent),
            mapping={"talk_ms": talk_ms, "calls": calls, "last_offer": last_offer},
        )
        center.switch.phones.register(agent, "default", answer_after=0.2)
        await center.store.login(agent)
    for agent in READY_ORDER:
        await center.store.ready(agent)
        await asyncio.sleep(0.005)  # distinct idle times
    call = await center.switch.callers.dial("7100", caller_number="10", hangup_after=120)
    await until(lambda: redis.hget(center.store.keys.call(call.uuid), "bridged_ms"))
    agent = (await redis.hget(center.store.keys.call(call.uuid), "agent") or b"").decode()
    assert agent in expected
    assert center.switch.channels[call.uuid].other_uuid is not None
    # One agent took the call, even when several phones were answered at the same moment.
    events = [e for _, e in await redis.xrange(center.store.keys.events)]
    answers = [e for e in events if e.get(b"call") == call.uuid.encode()]
    assert [e[b"agent"] for e in answers if e.get(b"state") == b"answered"] == [agent.encode()]
    # Every other agent is free again (ring-all stopped the other phones).
    for other in set(FIGURES) - {agent}:
        await until(lambda other=other: agent_is(center.store, other, AgentStatus.AVAILABLE))


async def test_a_caller_needing_a_skill_reaches_an_agent_who_has_it(
    center: Center, redis: Redis
) -> None:
    await center.store.put_agent("1000", "user/1000@default", {"english": 9})
    await center.store.put_agent("1001", "user/1001@default", {"french": 9})
    for agent in ("1000", "1001"):  # 1000 first: the longest idle
        center.switch.phones.register(agent, "default", answer_after=0.2)
        await center.store.login(agent)
        await center.store.ready(agent)
    call = await center.switch.callers.dial("7200", caller_number="11", hangup_after=120)
    await until(lambda: agent_is(center.store, "1001", AgentStatus.ON_CALL))
    assert await redis.hget(center.store.keys.call(call.uuid), "skills") == b"french=5"
    assert await center.store.status("1000") is AgentStatus.AVAILABLE


async def test_a_vip_caller_is_served_before_those_who_came_earlier(
    center: Center, redis: Redis
) -> None:
    center.switch.phones.register("1000", "default", answer_after=0.2)
    await center.store.login("1000")  # on break: callers wait
    first = await center.switch.callers.dial("7000", caller_number="12", hangup_after=120)
    await until(lambda: center.store.waiting("support"))
    vip = await center.switch.callers.dial("7300", caller_number="13", hangup_after=120)
    await until(lambda: _waiting_count(center.store, 2))
    assert await center.store.waiting("support") == [vip.uuid, first.uuid]
    await center.store.ready("1000")
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))
    assert await redis.hget(center.store.keys.call(vip.uuid), "agent") == b"1000"
    assert await center.store.waiting("support") == [first.uuid]


async def _waiting_count(store: AcdStore, n: int) -> bool:
    return len(await store.waiting("support")) == n


async def test_a_long_ring_is_not_taken_for_an_abandoned_offer(store: AcdStore) -> None:
    # 600 s of ringing: the reservation lasts longer, so nobody reclaims the ringing offer.
    flow = QueueCallFlow({}, store, FlowSettings(ring_seconds=600))
    assert flow.store.reserve_ms >= 615_000
    short = QueueCallFlow({}, AcdStore(store.redis, "other"), FlowSettings(ring_seconds=5))
    assert short.store.reserve_ms == 30_000  # the store's own default is long enough


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"callback_dial": "sofia/gateway/pstn/"}, "must contain {number}"),
        ({"callback_dial": "sofia/gateway/pstn/{number}\r\napi hupall"}, "callback dial string"),
        ({"callback_caller_id": "me"}, "is not a number"),
    ],
)
def test_bad_flow_settings_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FlowSettings(**options)  # type: ignore[arg-type]


async def test_an_agent_changes_state_with_feature_codes(center: Center) -> None:
    # The tenant dialplan parks *21..*24 with cc_feature and cc_agent (the caller's user).
    for code, status in (
        ("*21", AgentStatus.ON_BREAK),  # login: on break until ready
        ("*22", AgentStatus.AVAILABLE),
        ("*23", AgentStatus.ON_BREAK),
        ("*24", AgentStatus.LOGGED_OUT),
    ):
        call = await center.switch.callers.dial(code, caller_number="1000", hangup_after=6000)
        await call.wait_hangup()  # confirmed with a tone, then hung up by the controller
        assert await center.store.status("1000") is status, code
    refused = await center.switch.callers.dial("*22", caller_number="1000", hangup_after=6000)
    await refused.wait_hangup()  # logged out: "ready" is refused (error tone), state unchanged
    assert await center.store.status("1000") is AgentStatus.LOGGED_OUT

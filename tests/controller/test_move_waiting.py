"""A supervisor moves a caller who still waits: to another queue (keeping the time waited), or
out of the ACD to any other destination; never while an agent's phone rings for the call."""

from __future__ import annotations

import pytest

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.controller.call_control_errors import BadDestinationError, WrongCallStateError
from callcenter.sim import Caller
from tests.controller.test_call_control import Desk, agent_is, desk, other_of, ready, until

__all__ = ["desk"]  # the fixture, shared with test_call_control


async def waiting_caller(desk: Desk) -> Caller:
    """A caller waiting in support (its agent 1000 is on break)."""
    desk.switch.phones.register("1000", "default", answer_after=0.2)
    await desk.store.login("1000")
    caller = await desk.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: desk.store.waiting("support"))
    return caller


async def call_events(desk: Desk, call: str) -> list[dict[str, str]]:
    entries = await desk.store.redis.xrange(desk.store.keys.events)
    found = [{k.decode(): v.decode() for k, v in e.items()} for _, e in entries]
    return [e for e in found if e.get("type") == "call" and e.get("call") == call]


async def test_a_caller_moved_to_another_queue_keeps_the_time_waited(desk: Desk) -> None:
    caller = await waiting_caller(desk)
    key = desk.store.keys.call(caller.uuid)
    enqueued = await desk.store.redis.hget(key, "enqueued_ms")
    await desk.store.redis.hset(key, "skills", "french=5")  # support's need, not sales'
    await ready(desk, "1001")  # sales' agent
    await desk.control.transfer(caller.uuid, "queue:sales", by="sam")
    await until(lambda: agent_is(desk.store, "1001", AgentStatus.ON_CALL))
    await until(lambda: other_of(desk, caller.uuid) is not None)
    assert await desk.store.redis.hget(key, "enqueued_ms") == enqueued
    assert await desk.store.redis.hget(key, "queue") == b"sales"
    states = [(e["state"], e.get("to"), e.get("by"), e.get("came_from"))
              for e in await call_events(desk, caller.uuid)]  # fmt: skip
    assert states[:3] == [
        ("waiting", None, None, None),
        ("moved", "sales", "sam", None),
        ("waiting", None, None, "support"),
    ]
    assert await desk.store.waiting("support") == []


async def test_a_caller_moved_to_an_extension_leaves_the_acd(desk: Desk) -> None:
    caller = await waiting_caller(desk)
    desk.switch.phones.register("1002", "default", answer_after=0.2)
    await desk.control.transfer(caller.uuid, "1002", by="sam")
    await until(lambda: other_of(desk, caller.uuid) is not None)
    other = desk.switch.channels[other_of(desk, caller.uuid) or ""]
    assert other.name.startswith("sofia/internal/1002@")
    key = desk.store.keys.call(caller.uuid)
    assert await desk.store.redis.hget(key, "state") == b"moved"
    assert await desk.store.redis.ttl(key) > 0  # the ACD is done with it
    assert await desk.store.waiting("support") == []
    moved = (await call_events(desk, caller.uuid))[-1]
    assert (moved["state"], moved["to"], moved["by"]) == ("moved", "extension:1002", "sam")
    # Their hangup later is no abandon: the ACD no longer follows them.
    await caller.hangup()
    await until(lambda: caller.uuid not in desk.switch.channels)
    assert [e["state"] for e in await call_events(desk, caller.uuid)][-1] == "moved"
    # Nor can they be moved or transferred again by the ACD.
    with pytest.raises(WrongCallStateError):
        await desk.control.transfer(caller.uuid, "queue:sales")


async def test_a_call_ringing_an_agent_is_not_moved(desk: Desk) -> None:
    await ready(desk, "1000", answer_after=60)  # rings on
    caller = await desk.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.RESERVED))
    with pytest.raises(WrongCallStateError, match="rings an agent right now"):
        await desk.control.transfer(caller.uuid, "queue:sales")
    assert await desk.store.redis.hget(desk.store.keys.call(caller.uuid), "queue") == b"support"


async def test_bad_moves_are_refused_and_change_nothing(desk: Desk) -> None:
    caller = await waiting_caller(desk)
    for destination, error in (
        ("queue:support", "already"),
        ("queue:nope", "nope"),
        ("ivr:nope", "no ivr"),
    ):
        with pytest.raises(BadDestinationError, match=error):
            await desk.control.transfer(caller.uuid, destination)
    with pytest.raises(WrongCallStateError, match="waiting in queue"):
        await desk.control.consult(caller.uuid, "1002")  # attended: no agent to consult
    assert await desk.store.waiting("support") == [caller.uuid]


async def test_a_callback_request_moves_only_to_another_queue(desk: Desk) -> None:
    await desk.store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, exit_key="1"))
    caller = await waiting_caller(desk)
    await caller.press("1")
    await caller.wait_hangup()
    (request,) = await desk.store.callbacks("support")
    with pytest.raises(WrongCallStateError, match="callback request"):
        await desk.control.transfer(caller.uuid, "1002")  # nobody on the line to send there
    assert await desk.store.waiting("support") == [caller.uuid]
    await desk.control.transfer(caller.uuid, "queue:sales", by="sam")
    assert await desk.store.waiting("sales") == [caller.uuid]
    assert await desk.store.callbacks("support") == []
    assert await desk.store.callbacks("sales") == [request]  # the same request, same time

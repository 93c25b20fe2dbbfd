"""Click-to-call end to end: the agent's phone first, then the customer through the cheapest
gateway, the ACD keeping the agent out of queue offers, and CDR legs priced as outbound."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from callcenter.acd.model import AgentStatus
from callcenter.center import Center
from callcenter.controller.call_control_errors import (
    AgentUnavailableError,
    NoRouteError,
    UnknownAgentError,
)
from tests.controller.test_call_control import (
    Desk,
    agent_is,
    bridged_call,
    desk,
    other_of,
    ready,
    until,
)
from workers.ingest.batch import Batch
from workers.ingest.costs import RatePricer

__all__ = ["desk"]  # the fixture, shared with test_call_control


def gateway_channels(desk: Desk) -> list[str]:
    return [ch.name for ch in desk.switch.channels.values() if ch.name.startswith("sofia/gateway")]


async def test_agent_rings_first_then_the_cheapest_gateway_dials_the_customer(
    desk: Desk,
) -> None:
    await ready(desk, "1000", answer_after=1.0)  # 50 ms at the test's time scale
    phone = desk.switch.phones.get("1000")
    assert phone is not None
    started = await desk.control.click_to_call("1000", "78121112233")
    # gwb prices 7 (the rest of Russia) at 0.80, gwa at 0.90.
    assert started.gateways == ("gwb", "gwa")
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    await until(lambda: bool(phone.live_calls))
    assert phone.live_calls == [started.call_id]
    assert gateway_channels(desk) == []  # the customer waits for the agent
    await until(lambda: desk.switch.channels[started.call_id].answered)
    await until(lambda: bool(gateway_channels(desk)))
    assert gateway_channels(desk) == ["sofia/gateway/gwb/78121112233"]
    customer = next(
        uuid for uuid, ch in desk.switch.channels.items() if ch.name.startswith("sofia/gateway")
    )
    await until(lambda: desk.switch.channels[started.call_id].other_uuid == customer)
    # Bridged: a resync after its controller's death leaves the call alone (it ends as any).
    key = desk.store.keys.agent("1000")
    await until(lambda: desk.store.redis.hget(key, "outbound_bridged"))
    assert (await desk.store.agent("1000"))["outbound_by"] == desk.store.controller_id
    dump = await desk.probe.api(f"uuid_dump {customer} json")
    for mark in ('"variable_cc_gateway":"gwb"', '"variable_cc_role":"caller"',
                 f'"variable_cc_call":"{started.call_id}"', '"variable_cc_agent":"1000"',
                 '"variable_origination_caller_id_number":"74950000000"'):  # fmt: skip
        assert mark in dump
    await desk.probe.api(f"uuid_kill {customer}")
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.AVAILABLE))
    agent = await desk.store.agent("1000")
    for name in ("call", "outbound_from", "outbound_by", "outbound_leg", "outbound_bridged"):
        assert name not in agent


async def test_moscow_goes_through_gwa(desk: Desk) -> None:
    await ready(desk, "1000")
    started = await desk.control.click_to_call("1000", "+74951112233")
    assert started.gateways == ("gwa", "gwb")
    await until(lambda: bool(gateway_channels(desk)))
    assert gateway_channels(desk) == ["sofia/gateway/gwa/+74951112233"]


async def test_the_next_gateway_is_tried_when_the_cheapest_is_down(desk: Desk) -> None:
    await ready(desk, "1000")
    desk.switch.far_ends.down_gateways.add("gwb")
    started = await desk.control.click_to_call("1000", "78121112233")
    await until(lambda: bool(gateway_channels(desk)))
    assert gateway_channels(desk) == ["sofia/gateway/gwa/78121112233"]
    await until(lambda: other_of(desk, started.call_id) is not None)


async def test_the_call_is_recorded_as_outbound_with_its_gateway_and_cost(desk: Desk) -> None:
    await ready(desk, "1000")
    started = await desk.control.click_to_call("1000", "78121112233")
    await until(lambda: other_of(desk, started.call_id) is not None)
    await asyncio.sleep(1.1)  # one billed second
    await desk.probe.api(f"uuid_kill {started.call_id}")
    entries: list[dict[bytes, bytes]] = []

    async def both_legs() -> bool:
        entries[:] = [f for _, f in await desk.store.redis.xrange(desk.store.keys.events)]
        return sum(f.get(b"type") == b"leg" for f in entries) >= 2

    await until(both_legs)
    batch = Batch(
        desk.tenant.name, pricer=RatePricer(Center(tenants=[desk.tenant]), desk.tenant.name)
    )
    for n, fields in enumerate(entries):
        batch.add(f"{n + 1}-0", {k.decode(): v.decode() for k, v in fields.items()})
    call = batch.calls[started.call_id]
    assert call["direction"] == "outbound"
    assert call["gateway"] == "gwb"
    assert call["destination"] == "78121112233"
    assert call["rate_per_minute"] == Decimal("0.80")
    assert call["cost"] > 0
    roles = {leg["role"] for leg in batch.legs.values() if leg["call_uuid"] == started.call_id}
    assert roles == {"agent", "caller"}


async def test_no_queue_call_is_offered_to_the_agent_meanwhile(desk: Desk) -> None:
    await ready(desk, "1000")
    desk.switch.far_ends.default.update(answer_after=None)  # the customer's phone rings on
    started = await desk.control.click_to_call("1000", "78121112233")
    await until(lambda: bool(gateway_channels(desk)))
    caller = await desk.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: desk.store.waiting("support"))
    await asyncio.sleep(0.3)  # a few dispatch ticks
    assert await desk.store.waiting("support") == [caller.uuid]
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    # The customer does not answer: the agent is back, and the waiting caller is offered.
    await until(lambda: started.call_id not in desk.switch.channels, timeout=15)
    key = desk.store.keys.call(caller.uuid)

    async def answered_by_1000() -> bool:
        found = await desk.store.redis.hmget(key, "state", "agent")
        return bool(found == [b"answered", b"1000"])

    await until(answered_by_1000, timeout=15)
    assert (await desk.store.agent("1000"))["call"] == caller.uuid


async def test_an_agent_on_break_comes_back_on_break(desk: Desk) -> None:
    desk.switch.phones.register("1000", "default", answer_after=0.2)
    await desk.store.login("1000")  # on break
    started = await desk.control.click_to_call("1000", "78121112233")
    await until(lambda: started.call_id in desk.switch.channels)
    await until(lambda: other_of(desk, started.call_id) is not None)
    desk.switch.phones.get("1000").hangup()  # type: ignore[union-attr]
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.ON_BREAK))
    await until(lambda: not desk.switch.channels)


async def test_agents_who_cannot_take_a_call_are_refused(desk: Desk) -> None:
    with pytest.raises(AgentUnavailableError) as info:
        await desk.control.click_to_call("1000", "78121112233")  # logged out
    assert info.value.error_id == "agent-unavailable"
    assert "logged out" in info.value.message
    await bridged_call(desk, "1000")
    with pytest.raises(AgentUnavailableError):
        await desk.control.click_to_call("1000", "78121112233")  # on a queue call
    with pytest.raises(UnknownAgentError):
        await desk.control.click_to_call("4242", "78121112233")
    assert gateway_channels(desk) == []


async def test_a_number_without_a_route_is_refused(desk: Desk) -> None:
    await ready(desk, "1000")
    with pytest.raises(NoRouteError) as info:
        await desk.control.click_to_call("1000", "+15551234567")
    assert info.value.error_id == "no-route"
    assert not desk.switch.channels
    assert await agent_is(desk.store, "1000", AgentStatus.AVAILABLE)

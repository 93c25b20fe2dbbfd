"""Click-to-calls nobody will end, found by the resync: the agent's leg hung up while no
controller heard it, or the controller dialing the customer died before it bridged the two.
The switch is the simulated one over TCP, Redis is real; the states are the ones a
click-to-call leaves (``OutboundAgents``) on legs the switch really holds."""

from __future__ import annotations

import asyncio

from callcenter.acd.model import AgentStatus
from callcenter.acd.store import AcdStore
from callcenter.controller.call_control_agents import OutboundAgents
from callcenter.controller.call_control_switch import new_uuid
from callcenter.controller.queue_flow import QueueCallFlow
from callcenter.controller.resync import reconcile, release_outbound
from tests.controller.test_call_control import Desk, agent_is, desk, ready, until

__all__ = ["desk"]  # the fixture


async def _agent_leg(desk: Desk, agent: str) -> str:
    """The agent's phone rings and answers, parked: a click-to-call's first leg (without the
    ``cc_`` marks, so that the desk's own call control does not see its hangup)."""
    await ready(desk, agent)
    uuid = new_uuid()
    reply = await desk.probe.api(
        f"originate {{origination_uuid={uuid}}}user/{agent}@default &park()"
    )
    assert reply.startswith("+OK"), reply
    return uuid


async def _customer_ringing(desk: Desk) -> tuple[str, asyncio.Task[str]]:
    """A customer's phone that rings and is never answered, and the originate dialing it
    (it ends when the leg does)."""
    desk.switch.far_ends.default.update(answer_after=None)
    uuid = new_uuid()
    dialing = asyncio.create_task(
        desk.probe.bgapi(
            f"originate {{origination_uuid={uuid}}}sofia/gateway/gwb/78121112233 &park()"
        )
    )
    await until(lambda: uuid in desk.switch.channels)
    return uuid, dialing


async def _on_click_to_call(desk: Desk, owner: AcdStore, agent: str, leg: str) -> OutboundAgents:
    agents = OutboundAgents(owner)
    await agents.start(agent, leg, "node1", await desk.store.agent(agent))
    return agents


async def test_an_agent_leg_that_hung_up_unheard_is_ended_and_the_customer_stopped(
    desk: Desk,
) -> None:
    leg = await _agent_leg(desk, "1000")
    agents = await _on_click_to_call(desk, desk.store, "1000", leg)
    customer, dialing = await _customer_ringing(desk)
    await agents.set_leg("1000", leg, customer)
    await desk.probe.api(f"uuid_kill {leg}")
    await until(lambda: leg not in desk.switch.channels)
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)  # nobody heard it
    # Too young: the agent's leg of a call just started may not exist yet.
    assert await release_outbound(desk.flow) == 0
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    assert await release_outbound(desk.flow, grace_ms=0) == 1
    assert await agent_is(desk.store, "1000", AgentStatus.AVAILABLE)
    await until(lambda: customer not in desk.switch.channels)
    # Stopped, not left to ring until nobody answers.
    assert (await asyncio.wait_for(dialing, 10)).strip() == "-ERR ORIGINATOR_CANCEL"
    agent = await desk.store.agent("1000")
    for name in ("call", "outbound_from", "outbound_by", "outbound_leg", "outbound_bridged"):
        assert name not in agent
    assert await release_outbound(desk.flow, grace_ms=0) == 0


async def test_a_call_whose_controller_died_before_the_bridge_is_hung_up(desk: Desk) -> None:
    leg = await _agent_leg(desk, "1000")
    dead = AcdStore(desk.store.redis, desk.store.keys.tenant, controller_id="dead-ctl")
    agents = await _on_click_to_call(desk, dead, "1000", leg)
    customer, dialing = await _customer_ringing(desk)
    await agents.set_leg("1000", leg, customer)
    # A controller whose own heartbeat is not steady yet (just started, or Redis just came
    # back) does not judge the others': theirs may be on its way.
    unsteady = QueueCallFlow(desk.flow.nodes, desk.store, desk.flow.settings)
    assert not unsteady.heartbeats_trusted()
    assert await release_outbound(unsteady, grace_ms=0) == 0
    assert leg in desk.switch.channels and customer in desk.switch.channels
    await until(desk.flow.heartbeats_trusted)
    assert await release_outbound(desk.flow, grace_ms=0) == 1
    await until(lambda: leg not in desk.switch.channels and customer not in desk.switch.channels)
    # Stopped, not left to ring until nobody answers.
    assert (await asyncio.wait_for(dialing, 10)).strip() == "-ERR ORIGINATOR_CANCEL"
    assert await agent_is(desk.store, "1000", AgentStatus.AVAILABLE)


async def test_calls_with_a_live_controller_or_bridged_are_left_alone(desk: Desk) -> None:
    # Its controller is alive (its heartbeat is there): it will bridge or end the call.
    leg = await _agent_leg(desk, "1000")
    alive = AcdStore(desk.store.redis, desk.store.keys.tenant, controller_id="alive-ctl")
    await alive.heartbeat(60)
    await _on_click_to_call(desk, alive, "1000", leg)
    # Bridged before its controller died: the agent leg's hangup ends it, as any call's.
    other = await _agent_leg(desk, "1001")
    dead = AcdStore(desk.store.redis, desk.store.keys.tenant, controller_id="dead-ctl")
    agents = await _on_click_to_call(desk, dead, "1001", other)
    await agents.set_bridged("1001", other)
    assert (await reconcile(desk.flow)).outbound == 0
    assert await release_outbound(desk.flow, grace_ms=0) == 0
    assert leg in desk.switch.channels and other in desk.switch.channels
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    assert await agent_is(desk.store, "1001", AgentStatus.ON_CALL)


async def test_marks_of_an_ended_call_are_not_set_on_the_next_one(desk: Desk) -> None:
    leg = await _agent_leg(desk, "1000")
    agents = await _on_click_to_call(desk, desk.store, "1000", leg)
    assert await agents.end("1000", leg)
    # A late mark of the call that ended: refused, the agent is on no call.
    await agents.set_bridged("1000", leg)
    await agents.set_leg("1000", leg, new_uuid())
    agent = await desk.store.agent("1000")
    assert "outbound_bridged" not in agent and "outbound_leg" not in agent

"""Click-to-call: the agent's phone rings first; once they answer, the customer is dialed
through the tenant's cheapest gateway for the number, and the two are bridged.

The call's id is the agent leg's UUID (chosen here, so the request can return it before
anything rang). Both legs carry the marks of queue calls, so the CDR ingest sees one call:

- agent leg: ``cc_tenant``, ``cc_call`` (its own UUID), ``cc_role=agent``, ``cc_agent``;
- each customer leg tried: ``cc_tenant``, ``cc_call``, ``cc_role=caller`` (the CDR builds the
  call's row from its ``caller`` leg: the party outside the center, here the one dialed),
  ``cc_agent``, ``cc_gateway`` (the gateway of that attempt: with no ``cc_queue`` and no
  ``cc_did`` the ingest records the call as outbound and prices it with that gateway's rate).

Gateways are tried in rate order; the next one only after a cause the rendered dialplan fails
over on too (a busy or unanswered customer is not called again through another provider). Each
customer leg holds a line of its gateway (``OutboundLeg.line_variables``): a gateway whose
lines are all taken, by these legs or the dialplan's calls, refuses it and the next is tried. The
agent is ``on_call`` from the request on (``OutboundAgents``) and back to their status when the
agent's leg ends, whoever hangs up, or when nobody answered.
"""

from __future__ import annotations

import logging

from callcenter.center import Tenant
from callcenter.controller.call_control_agents import OutboundAgents
from callcenter.controller.call_control_dial import (
    OutboundLeg,
    caller_id_for,
    user_for_contact,
)
from callcenter.controller.call_control_switch import FAILOVER, SwitchOps, cause_of, new_uuid
from callcenter.esl.client import InboundClient

__all__ = ["ClickToCall"]

log = logging.getLogger("callcenter.controller")


class ClickToCall:
    def __init__(self, ops: SwitchOps, tenant: Tenant, agents: OutboundAgents) -> None:
        self.ops = ops
        self.tenant = tenant
        self.agents = agents

    async def run(self, esl: InboundClient, agent: str, contact: str, number: str,
                  legs: list[OutboundLeg], call_id: str) -> None:  # fmt: skip
        """Ring the agent, then the customer; the agent's status comes back unless the two
        were bridged (then the agent leg's hangup brings it back, see ``agent_left``)."""
        settings = self.ops.settings
        connected = False
        try:
            agent_leg = {
                "origination_uuid": call_id,
                "cc_tenant": self.tenant.name,
                "cc_call": call_id,
                "cc_role": "agent",
                "cc_agent": agent,
                # The agent's phone shows whom it is about to call.
                "origination_caller_id_number": number,
                "origination_caller_id_name": number,
            }
            log.info("outbound_agent_ring uuid=%s agent=%s number=%s", call_id, agent, number)
            result = await self.ops.originate(
                esl, agent_leg, contact, "park()", settings.agent_ring_seconds
            )
            if not result.startswith("+OK"):
                log.info("outbound_agent_missed uuid=%s agent=%s result=%s", call_id, agent,
                         result.strip())  # fmt: skip
                return
            await self.ops.quiet(esl, f"uuid_broadcast {call_id} {settings.ringback} aleg")
            failure = await self._dial_customer(esl, agent, contact, number, legs, call_id)
            connected = failure is None
            if failure:
                # The agent's desktop says why (all lines busy, the number busy, no answer).
                await self.ops.append_event("call", call=call_id, state="outbound_failed",
                                            agent=agent, number=number, cause=failure)  # fmt: skip
        finally:
            if not connected:
                await self.ops.quiet(esl, f"uuid_kill {call_id} NORMAL_CLEARING")
                await self.agents.end(agent, call_id)

    async def _dial_customer(self, esl: InboundClient, agent: str, contact: str, number: str,
                             legs: list[OutboundLeg], call_id: str) -> str | None:  # fmt: skip
        """None once customer and agent are bridged; else why not: the last attempt's cause
        ("" when the agent hung up first: nothing to tell them)."""
        shown = caller_id_for(user_for_contact(contact, agent, self.tenant), outside=True)
        cause = "NO_ROUTE_DESTINATION"
        for leg in legs:
            if not await self.ops.exists(esl, call_id):
                log.info("outbound_agent_left uuid=%s agent=%s", call_id, agent)
                return ""
            customer = new_uuid()
            await self.agents.set_leg(agent, call_id, customer)
            variables = {
                "origination_uuid": customer,
                "cc_tenant": self.tenant.name,
                "cc_call": call_id,
                "cc_role": "caller",
                "cc_agent": agent,
                **leg.line_variables(),
            }
            if shown is not None:
                variables["origination_caller_id_number"] = shown.number
                variables["origination_caller_id_name"] = shown.name
            log.info("outbound_dial uuid=%s agent=%s gateway=%s rate=%s", call_id, agent,
                     leg.gateway, leg.rate)  # fmt: skip
            result = await self.ops.originate(
                esl, variables, leg.dial, "park()", self.ops.settings.customer_ring_seconds
            )
            if result.startswith("+OK"):
                reply = await self.ops.quiet(esl, f"uuid_bridge {customer} {call_id}")
                if reply.startswith("+OK"):
                    await self.agents.set_bridged(agent, call_id)
                    log.info("outbound_bridged uuid=%s agent=%s gateway=%s", call_id, agent,
                             leg.gateway)  # fmt: skip
                    return None
                await self.ops.quiet(esl, f"uuid_kill {customer} NORMAL_CLEARING")
                return ""  # one of the two hung up as they were being joined
            cause = cause_of(result)
            log.info("outbound_dial_failed uuid=%s gateway=%s cause=%s", call_id, leg.gateway,
                     cause)  # fmt: skip
            if cause not in FAILOVER:
                return cause
        return cause

    async def agent_left(self, esl: InboundClient | None, agent: str, call_id: str) -> None:
        """The agent's leg ended: a customer still ringing is stopped, the agent is back."""
        leg = await self.agents.leg(agent)
        if await self.agents.end(agent, call_id):
            log.info("outbound_ended uuid=%s agent=%s", call_id, agent)
        if leg and esl is not None:
            await self.ops.quiet(esl, f"uuid_kill {leg} ORIGINATOR_CANCEL")

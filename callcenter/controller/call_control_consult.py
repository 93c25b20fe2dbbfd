"""Attended transfer: the agent consults a third party while the caller holds, then hands the
caller over (complete) or comes back (cancel).

On the switch (every step a plain ESL command, so any controller can take over from Redis):

- consult: ``park_after_bridge`` on the agent's leg, then ``uuid_park`` the caller: the agent's
  leg, left alone by its partner, stays up parked instead of hanging up (as a uuid_bridge'd
  leg otherwise does); the caller is put on hold (``uuid_hold``: the switch's hold accounting,
  so the CDR's hold time counts it) and hears the queue's music; the target is rung
  (``bgapi originate``, gateways in failover order for a number) and, once it answers, bridged
  with the agent's leg;
- complete: ``uuid_bridge`` caller and target, then the agent's leg is hung up: the ACD ends
  the agent's part of the call (wrap-up);
- cancel: the target is hung up and caller and agent are bridged again.

Redis keeps the consultation with the call (``consult_leg``, ``consult_state``: ringing,
talking); every step that ends it first removes it with a compare-and-delete, so the request,
the ringing task and the hangup handlers never act twice. If the agent hangs up while talking
to the target, the caller goes to the target (the transfer completes, as with a PBX's
attended transfer); while the target still rings, the caller goes to the target when it
answers, or back into the queue when it does not. If the caller hangs up, target and agent
legs are hung up.
"""

from __future__ import annotations

import logging

from callcenter.center import Destination, DestinationKind, Tenant
from callcenter.controller.call_control_dial import (
    caller_id_for,
    outbound_legs,
    user_for_contact,
)
from callcenter.controller.call_control_errors import (
    BadDestinationError,
    SwitchRefusedError,
    WrongCallStateError,
)
from callcenter.controller.call_control_switch import (
    FAILOVER,
    LiveCall,
    SwitchOps,
    Tasks,
    cause_of,
    new_uuid,
)
from callcenter.esl.client import InboundClient

__all__ = ["Consultations", "requeue"]

log = logging.getLogger("callcenter.controller")

# KEYS[1] the call. ARGV: the consultation leg. Starts a consultation on an answered, bridged
# call that has none.
_START = r"""
local c = KEYS[1]
local state, bridged, leg = unpack(redis.call('HMGET', c, 'state', 'bridged_ms', 'consult_leg'))
if state ~= 'answered' or not bridged or leg then return 0 end
redis.call('HSET', c, 'consult_leg', ARGV[1], 'consult_state', 'ringing')
return 1
"""

# KEYS[1] the call. ARGV: the consultation leg expected, the new leg ('' = the consultation
# ends), the new state. 1 if the call's consultation was that leg (and is changed), else 0.
_SWAP = r"""
local c = KEYS[1]
if redis.call('HGET', c, 'consult_leg') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('HDEL', c, 'consult_leg', 'consult_state')
else
  redis.call('HSET', c, 'consult_leg', ARGV[2], 'consult_state', ARGV[3])
end
return 1
"""

Attempt = tuple[str, dict[str, str]]  # (dial string, variables of that leg)


class Consultations:
    def __init__(self, ops: SwitchOps, tenant: Tenant, tasks: Tasks) -> None:
        self.ops = ops
        self.tenant = tenant
        self.tasks = tasks
        redis = ops.store.redis
        self._start = redis.register_script(_START)
        self._swap = redis.register_script(_SWAP)

    # -- requests -------------------------------------------------------------------------------

    async def consult(self, call: LiveCall, destination: Destination) -> str:
        call.require_bridged()
        if call.consult_leg:
            raise WrongCallStateError(
                f"call {call.call_id} has a consultation going on: complete or cancel it first"
            )
        attempts = await self._attempts(call, destination)
        esl = self.ops.esl(call.node)
        leg = new_uuid()
        key = self.ops.store.keys.call(call.call_id)
        if not await self._start(keys=[key], args=[leg]):
            raise WrongCallStateError(
                f"call {call.call_id} changed meanwhile (ended, or another consultation began)"
            )
        try:
            await self.ops.api(esl, f"uuid_setvar {call.agent_leg} park_after_bridge true")
            await self.ops.api(esl, f"uuid_park {call.live_leg}")
        except Exception:
            await self._swap(keys=[key], args=[leg, "", ""])
            await self.ops.quiet(esl, f"uuid_setvar {call.agent_leg} park_after_bridge")
            raise
        await self.ops.quiet(esl, f"uuid_hold {call.live_leg}")
        await self.ops.quiet(esl, f"uuid_broadcast {call.live_leg} {self.ops.settings.moh} aleg")
        log.info("call_consult uuid=%s agent=%s target=%s leg=%s", call.call_id, call.agent,
                 destination, leg)  # fmt: skip
        self.tasks.spawn(self._ring(esl, call, attempts, leg))
        return leg

    async def complete(self, call: LiveCall) -> None:
        if not call.consult_leg:
            raise WrongCallStateError(f"call {call.call_id} has no consultation to complete")
        if call.consult_state != "talking":
            raise WrongCallStateError(
                f"the consultation of call {call.call_id} has not been answered yet: wait, "
                "or cancel it"
            )
        if not await self._end(call, call.consult_leg):
            raise WrongCallStateError(f"the consultation of call {call.call_id} just ended")
        esl = self.ops.esl(call.node)
        if not await self._hand_over(esl, call, call.consult_leg):
            await self._back_to_agent(esl, call)
            raise SwitchRefusedError(
                f"uuid_bridge {call.live_leg} {call.consult_leg}",
                "-ERR the consulted party is gone; the caller is back with the agent",
            )

    async def cancel(self, call: LiveCall) -> None:
        if not call.consult_leg:
            raise WrongCallStateError(f"call {call.call_id} has no consultation to cancel")
        if not await self._end(call, call.consult_leg):
            raise WrongCallStateError(f"the consultation of call {call.call_id} just ended")
        esl = self.ops.esl(call.node)
        await self.ops.quiet(esl, f"uuid_kill {call.consult_leg} NORMAL_CLEARING")
        await self._back_to_agent(esl, call)
        log.info("call_consult_cancelled uuid=%s leg=%s", call.call_id, call.consult_leg)

    # -- hangups --------------------------------------------------------------------------------

    async def hangup_seen(self, call: LiveCall, uuid: str) -> None:
        """A channel of a call with a consultation ended: the caller, the agent or the target."""
        leg = call.consult_leg
        esl = self.ops.nodes.get(call.node)
        if not leg or esl is None:
            return
        if uuid == leg:
            if call.consult_state == "talking" and await self._end(call, leg):
                log.info("call_consult_target_left uuid=%s", call.call_id)
                await self._back_to_agent(esl, call)
        elif uuid == call.live_leg:
            if await self._end(call, leg):
                log.info("call_consult_caller_left uuid=%s", call.call_id)
                await self.ops.quiet(esl, f"uuid_kill {leg} NORMAL_CLEARING")
                await self.ops.quiet(esl, f"uuid_kill {call.agent_leg} NORMAL_CLEARING")
        # While the target still rings, the ringing task sees the agent gone on answer.
        elif (
            uuid == call.agent_leg
            and call.consult_state == "talking"
            and await self._end(call, leg)
        ):
            log.info("call_consult_agent_left uuid=%s", call.call_id)
            await self._hand_over(esl, call, leg)

    # -- steps ----------------------------------------------------------------------------------

    async def _attempts(self, call: LiveCall, destination: Destination) -> list[Attempt]:
        """How to ring the target: a user's phone, or a number through the gateways."""
        data = await self.ops.store.agent(call.agent)
        user = user_for_contact(data.get("contact", ""), call.agent, self.tenant)
        common = {"cc_tenant": self.tenant.name, "cc_call": call.call_id, "cc_role": "consult"}
        if destination.kind is DestinationKind.EXTENSION:
            caller = caller_id_for(user, outside=False)
            if caller is not None:
                common["origination_caller_id_number"] = caller.number
                common["origination_caller_id_name"] = caller.name
            return [(f"user/{destination.target}@{self.tenant.domain}", common)]
        if destination.kind is DestinationKind.EXTERNAL:
            caller = caller_id_for(user, outside=True)
            if caller is not None:
                common["origination_caller_id_number"] = caller.number
            legs = outbound_legs(destination.target, self.tenant)
            return [(leg.dial, {**common, **leg.line_variables()}) for leg in legs]
        raise BadDestinationError(
            f"{destination}: a consultation rings a person, an extension or a phone number "
            "(transfer the call to reach a queue, a menu or a mailbox)"
        )

    async def _ring(self, esl: InboundClient, call: LiveCall, attempts: list[Attempt],
                    leg: str) -> None:  # fmt: skip
        key = self.ops.store.keys.call(call.call_id)
        result = "-ERR NO_ROUTE_DESTINATION"
        ring = self.ops.settings.consult_ring_seconds
        for n, (dial, variables) in enumerate(attempts):
            if n:
                nxt = new_uuid()
                if not await self._swap(keys=[key], args=[leg, nxt, "ringing"]):
                    return  # cancelled between two gateways
                leg = nxt
            result = await self.ops.originate(
                esl, {"origination_uuid": leg, **variables}, dial, "park()", ring
            )
            if result.startswith("+OK") or cause_of(result) not in FAILOVER:
                break
        if result.startswith("+OK"):
            if (await self.ops.store.redis.hget(key, "consult_leg") or b"").decode() != leg:
                await self.ops.quiet(esl, f"uuid_kill {leg} NORMAL_CLEARING")  # cancelled
                return
            if not await self.ops.exists(esl, call.agent_leg):
                # The agent hung up while the target rang: the caller goes to the target.
                if await self._end(call, leg):
                    await self._hand_over(esl, call, leg)
                return
            # The target, too, stays up if the agent hangs up: the caller is handed over then.
            await self.ops.quiet(esl, f"uuid_setvar {leg} park_after_bridge true")
            reply = await self.ops.quiet(esl, f"uuid_bridge {call.agent_leg} {leg}")
            if reply.startswith("+OK"):
                if await self._swap(keys=[key], args=[leg, leg, "talking"]):
                    log.info("call_consult_talking uuid=%s leg=%s", call.call_id, leg)
                return
            await self.ops.quiet(esl, f"uuid_kill {leg} NORMAL_CLEARING")
            result = reply
        log.info("call_consult_failed uuid=%s result=%s", call.call_id, result.strip())
        if not await self._end(call, leg):
            return  # cancelled, or the caller left
        if await self.ops.exists(esl, call.agent_leg):
            await self._back_to_agent(esl, call)
        elif call.queue:
            await requeue(self.ops, esl, call, call.queue, held=True)

    async def _end(self, call: LiveCall, leg: str) -> bool:
        key = self.ops.store.keys.call(call.call_id)
        return bool(await self._swap(keys=[key], args=[leg, "", ""]))

    async def _back_to_agent(self, esl: InboundClient, call: LiveCall) -> None:
        """Caller and agent together again; the agent's leg hangs up with the call again."""
        await self.ops.quiet(esl, f"uuid_hold off {call.live_leg}")
        reply = await self.ops.quiet(esl, f"uuid_bridge {call.live_leg} {call.agent_leg}")
        await self.ops.quiet(esl, f"uuid_setvar {call.agent_leg} park_after_bridge")
        log.info("call_consult_back uuid=%s reply=%s", call.call_id, reply.strip())

    async def _hand_over(self, esl: InboundClient, call: LiveCall, leg: str) -> bool:
        """Caller and target together, the agent's leg hung up, the agent's part ended."""
        await self.ops.quiet(esl, f"uuid_hold off {call.live_leg}")
        reply = await self.ops.quiet(esl, f"uuid_bridge {call.live_leg} {leg}")
        if not reply.startswith("+OK"):
            return False
        # From now on the target hangs up with the caller, as any bridged leg.
        await self.ops.quiet(esl, f"uuid_setvar {leg} park_after_bridge")
        await self.ops.quiet(esl, f"uuid_kill {call.agent_leg} NORMAL_CLEARING")
        await self.ops.store.hung_up(call.call_id, call.agent)
        await self.ops.append_event("call", call=call.call_id, state="transferred",
                                    queue=call.queue, agent=call.agent, to=leg)  # fmt: skip
        log.info("call_transfer_completed uuid=%s agent=%s leg=%s", call.call_id, call.agent, leg)
        return True


async def requeue(ops: SwitchOps, esl: InboundClient, call: LiveCall, queue: str, *,
                  held: bool = False) -> None:  # fmt: skip
    """The caller back in line (``queue``, maybe another one) as a new arrival; the agent's
    part ends (wrap-up) and the agent's leg is released by the switch.

    The ACD's record of the call is ended and removed first, so that the park that follows is
    enqueued by the queue flow like any parked caller (``cc_queue`` on the channel, music on
    hold, an offer), and the agent leg's hangup finds nothing left to end.
    """
    store = ops.store
    await store.hung_up(call.call_id, call.agent)
    await ops.append_event("call", call=call.call_id, state="transferred", queue=call.queue,
                           agent=call.agent, to=f"queue:{queue}")  # fmt: skip
    await store.redis.delete(store.keys.call(call.call_id))
    if held:
        await ops.quiet(esl, f"uuid_hold off {call.live_leg}")
    await ops.api(esl, f"uuid_setvar {call.live_leg} cc_queue {queue}")
    # The skills the first queue asked for are not the new queue's.
    await ops.quiet(esl, f"uuid_setvar {call.live_leg} cc_skills")
    await ops.api(esl, f"uuid_park {call.live_leg}")
    log.info("call_requeued uuid=%s from=%s to=%s agent=%s", call.call_id, call.queue, queue,
             call.agent)  # fmt: skip

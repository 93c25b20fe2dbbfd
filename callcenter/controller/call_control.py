"""Live call control: what an agent or a supervisor does to a call in progress.

``CallControl`` is the service the HTTP API calls inside the controller process (no web
imports here). A queue call is named by its ACD call id (the caller's channel UUID); every
operation reads the call from Redis (so it works on calls another controller routed, as long as
this one drives the node), checks it is in a state for the operation, and acts on the switch
with plain ESL commands:

- ``hangup``: the customer's channel is hung up; the queue flow ends the call (wrap-up);
- ``transfer`` (blind): the caller goes to an extension, a number, a menu, a mailbox or a time
  condition of the tenant (``uuid_transfer`` into the tenant's context, where the rendered
  dialplan reaches them), or back into a queue (see ``call_control_consult.requeue``); the
  agent's leg is released by the switch and the agent goes to wrap-up at once;
- ``consult`` / ``complete_transfer`` / ``cancel_consult``: attended transfer
  (``call_control_consult``);
- ``record``: the call's recording stopped, or started again in the same file;
- ``monitor``: a supervisor's phone is rung into the ``eavesdrop`` application on the agent's
  leg, listening, whispering to the agent, or barging in;
- ``click_to_call``: an outside call for an agent (``call_control_outbound``).

Requests return once the switch accepted what they asked; what rings (a consultation, a
supervisor, click-to-call) goes on in background tasks, whose outcome shows on the switch, in
the ACD (agent states) and in the logs. Errors are the ``CallControlError`` tree
(``call_control_errors``): unknown call (another tenant's included), wrong state, bad
destination or number, no route, switch refused.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path

from redis.exceptions import RedisError

from callcenter.acd.errors import AcdError, UnknownQueueError
from callcenter.acd.errors import UnknownAgentError as AcdUnknownAgentError
from callcenter.acd.store import AcdStore
from callcenter.center import Destination, DestinationKind, Tenant
from callcenter.controller.call_control_agents import OutboundAgents
from callcenter.controller.call_control_consult import Consultations, requeue
from callcenter.controller.call_control_dial import (
    PHONE_NUMBER,
    check_contact,
    check_phone_number,
    outbound_legs,
    parse_destination,
)
from callcenter.controller.call_control_errors import (
    BadDestinationError,
    CallControlError,
    SwitchRefusedError,
    UnknownAgentError,
    WrongCallStateError,
)
from callcenter.controller.call_control_outbound import ClickToCall
from callcenter.controller.call_control_switch import (
    ENDED_STATES,
    CallControlSettings,
    LiveCall,
    SwitchOps,
    Tasks,
    new_uuid,
)
from callcenter.dialplan.render import reserved_extension
from callcenter.esl.client import InboundClient
from callcenter.esl.errors import EslError
from callcenter.esl.events import Event

__all__ = [
    "BadMonitorModeError",
    "CallControl",
    "CallControlSettings",
    "MonitorMode",
    "OutboundCall",
]

log = logging.getLogger("callcenter.controller")

_AGENT_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class MonitorMode(StrEnum):
    LISTEN = "listen"  # the supervisor hears both sides, nobody hears them
    WHISPER = "whisper"  # only the agent hears the supervisor
    BARGE = "barge"  # everyone hears everyone


# The eavesdropper's variables per mode (mod_dptools eavesdrop_function). The target is the
# agent's leg: ED_MUX_WRITE (``eavesdrop_whisper_bleg``) mixes the supervisor into what the
# switch *writes* to that leg, i.e. the agent's phone; ED_MUX_READ (``eavesdrop_whisper_aleg``)
# into what it *reads* from it, i.e. what the caller hears. DTMF is off: a listener must not
# switch to whisper or barge with a digit, behind the mode they were allowed.
_EAVESDROP: dict[MonitorMode, dict[str, str]] = {
    MonitorMode.LISTEN: {"eavesdrop_whisper_aleg": "false", "eavesdrop_whisper_bleg": "false"},
    MonitorMode.WHISPER: {"eavesdrop_whisper_aleg": "false", "eavesdrop_whisper_bleg": "true"},
    MonitorMode.BARGE: {"eavesdrop_whisper_aleg": "true", "eavesdrop_whisper_bleg": "true"},
}
_EAVESDROP_COMMON = {
    "eavesdrop_enable_dtmf": "false",
    "eavesdrop_bridge_aleg": "true",
    "eavesdrop_bridge_bleg": "true",
}


class BadMonitorModeError(BadDestinationError):
    error_id = "bad-monitor-mode"

    def __init__(self, mode: str) -> None:
        modes = ", ".join(m.value for m in MonitorMode)
        super().__init__(f"monitor mode {mode!r} is not one of {modes}")


@dataclass(frozen=True)
class OutboundCall:
    """A click-to-call just started: its id (the agent leg's UUID) and what will be dialed."""

    call_id: str
    agent: str
    number: str
    node: str
    gateways: tuple[str, ...]  # in the order they will be tried, cheapest first


def _check_tenant(tenant: Tenant, store: AcdStore) -> None:
    if tenant.name != store.keys.tenant:
        raise ValueError(
            f"tenant {tenant.name!r} does not match the ACD store's {store.keys.tenant!r}"
        )


class CallControl:
    def __init__(
        self,
        nodes: Mapping[str, InboundClient],
        store: AcdStore,
        tenant: Tenant,
        settings: CallControlSettings | None = None,
    ) -> None:
        """``nodes``: this controller's switch nodes by name (the queue flow's); ``store``: the
        tenant's ACD; ``tenant``: its part of the center file (users, routes, gateways)."""
        _check_tenant(tenant, store)
        self.tenant = tenant
        self.store = store
        self.settings = settings or CallControlSettings()
        self.ops = SwitchOps(nodes, store, self.settings)
        self.tasks = Tasks()
        self.agents = OutboundAgents(store)
        self.consultations = Consultations(self.ops, tenant, self.tasks)
        self.outbound = ClickToCall(self.ops, tenant, self.agents)

    def use_tenant(self, tenant: Tenant) -> None:
        """The center file was read again: requests from now on see its users, routes and
        gateways (calls already ringing go on as they started)."""
        _check_tenant(tenant, self.store)
        self.tenant = self.consultations.tenant = self.outbound.tenant = tenant

    async def start(self) -> None:
        """Follow hangups: a consultation or a click-to-call must react to a party leaving."""
        for node, esl in self.ops.nodes.items():
            esl.on("CHANNEL_HANGUP_COMPLETE", partial(self._hangup_event, node))
            await esl.subscribe("CHANNEL_HANGUP_COMPLETE")

    async def stop(self) -> None:
        await self.tasks.stop()

    # -- queue calls ----------------------------------------------------------------------------

    async def hangup(self, call_id: str) -> None:
        """Hang up the customer; the agent's leg follows and the agent goes to wrap-up."""
        call = await self.ops.call(call_id)
        if call.state in ENDED_STATES:
            raise WrongCallStateError(f"call {call_id} has ended already ({call.state})")
        if call.callback and call.state == "waiting":
            raise WrongCallStateError(
                f"call {call_id} is a callback request: nobody is on the line to hang up"
            )
        esl = self.ops.esl(call.node)
        await self.ops.api(esl, f"uuid_kill {call.live_leg} NORMAL_CLEARING")
        log.info("call_hangup uuid=%s state=%s", call_id, call.state)

    async def transfer(self, call_id: str, destination: str, *, by: str = "") -> None:
        """Blind transfer: the caller goes to ``destination`` (``queue:sales``,
        ``extension:1001`` or ``1001``, ``external:+7...`` or a number, ``ivr:main``,
        ``voicemail:1001``, ``time:hours``, ``hangup``); the agent is released (wrap-up).
        A caller still waiting in a queue is moved there instead (``by``: who moved them)."""
        call = await self.ops.call(call_id)
        if call.state == "waiting":
            await self._move_waiting(call, destination, by)
            return
        if call.state == "offering":
            raise WrongCallStateError(
                f"call {call_id} rings an agent right now: it cannot be moved or transferred "
                "until it is answered or back in line; try again in a moment"
            )
        call.require_bridged()
        if call.consult_leg:
            raise WrongCallStateError(
                f"call {call_id} has a consultation going on: complete or cancel it first"
            )
        target = parse_destination(destination, self.tenant)
        esl = self.ops.esl(call.node)
        if target.kind is DestinationKind.HANGUP:
            await self.hangup(call_id)
            return
        if target.kind is DestinationKind.QUEUE:
            try:
                await self.store.queue_config(target.target)
            except UnknownQueueError as exc:
                raise BadDestinationError(str(exc)) from exc
            if call.live_leg != call.call_id:
                raise WrongCallStateError(
                    f"call {call_id} is a callback: its customer cannot wait in a queue; "
                    "transfer them to an extension"
                )
            await requeue(self.ops, esl, call, target.target)
            return
        await self._send_out(call, target)
        # The switch hangs the agent's leg up (its uuid_bridge partner left); the agent's part
        # ends now, whoever sees that hangup.
        await self.store.hung_up(call_id, call.agent)
        await self.ops.append_event("call", call=call_id, state="transferred", queue=call.queue,
                                    agent=call.agent, to=str(target))  # fmt: skip
        log.info("call_transferred uuid=%s agent=%s to=%s", call_id, call.agent, target)

    async def _send_out(self, call: LiveCall, target: Destination) -> None:
        """The caller's channel to ``target`` in the tenant's context: outside numbers are
        reached by the tenant's outbound routes, which match the number itself there;
        everything else by its reserved extension."""
        name = (
            target.target if target.kind is DestinationKind.EXTERNAL else reserved_extension(target)
        )
        context = self.tenant.internal_context
        await self.ops.api(
            self.ops.esl(call.node), f"uuid_transfer {call.live_leg} {name} XML {context}"
        )

    async def _move_waiting(self, call: LiveCall, destination: str, by: str) -> None:
        """A supervisor sends a waiting caller elsewhere: to another queue (they keep the
        time waited, as on an overflow; the first queue's skills no longer apply), or out of
        the ACD to any other destination (a callback request, whose caller is not on the line,
        only to another queue). Refused while the call rings an agent: taking it out of its
        queue and the agent's answer must not both win."""
        target = parse_destination(destination, self.tenant)
        if call.callback and target.kind is not DestinationKind.QUEUE:
            raise WrongCallStateError(
                f"call {call.call_id} is a callback request: nobody is on the line to send "
                "anywhere; it can only move to another queue (queue:<name>)"
            )
        if target.kind is DestinationKind.HANGUP:
            await self.hangup(call.call_id)
            return
        busy = WrongCallStateError(
            f"call {call.call_id} is no longer waiting (an agent's phone rings for it, or it "
            "ended): try again in a moment"
        )
        if target.kind is DestinationKind.QUEUE:
            if target.target == call.queue:
                raise BadDestinationError(f"call {call.call_id} waits in {call.queue!r} already")
            try:
                moved = await self.store.move(
                    call.call_id, target.target, state="moved", keep_skills=False, by=by
                )
            except UnknownQueueError as exc:
                raise BadDestinationError(str(exc)) from exc
            if not moved:
                raise busy
        else:
            if not await self.store.take_out(call.call_id, "moved", to=str(target), by=by):
                raise busy
            await self._send_out(call, target)
        log.info("call_moved uuid=%s from=%s to=%s by=%s", call.call_id, call.queue, target, by)

    async def consult(self, call_id: str, destination: str) -> str:
        """Attended transfer, first step: the caller holds (music), the agent's leg rings the
        target (an extension or a number) and is bridged with it on answer. Returns the
        target leg's UUID (it is still ringing)."""
        call = await self.ops.call(call_id)
        call.require_bridged()
        target = parse_destination(destination, self.tenant)
        return await self.consultations.consult(call, target)

    async def complete_transfer(self, call_id: str) -> None:
        """The consulted party takes the caller; the agent's leg is hung up (wrap-up)."""
        await self.consultations.complete(await self.ops.call(call_id))

    async def cancel_consult(self, call_id: str) -> None:
        """The consulted party is hung up (or stops ringing); caller and agent talk again."""
        await self.consultations.cancel(await self.ops.call(call_id))

    async def record(self, call_id: str, on: bool) -> Path:
        """Stop the call's recording, or start it again. The file is the queue flow's
        (``<recordings_dir>/<call>.wav``) and a restart appends to it (``RECORD_APPEND``): the
        workers keep one recording per call. Returns the file's path."""
        call = await self.ops.call(call_id)
        call.require_bridged()
        esl = self.ops.esl(call.node)
        path = (self.settings.recordings_dir / f"{call_id}.wav").absolute()
        leg = call.live_leg
        if not on:
            command = f"uuid_record {leg} stop {path}"
            reply = await self.ops.raw(esl, command)
            if reply.startswith("-ERR Cannot stop"):
                raise WrongCallStateError(f"call {call_id} is not being recorded")
            if reply.startswith("-"):
                raise SwitchRefusedError(command, reply)
            log.info("call_recording_stopped uuid=%s path=%s", call_id, path)
            return path
        await self.ops.api(esl, f"uuid_setvar {leg} RECORD_APPEND true")
        await self.ops.api(esl, f"uuid_record {leg} start {path}")
        # As the queue flow does: the workers post-process the file once the call has ended
        # (a second entry for the same call and file changes nothing there).
        await self.ops.append_event("recording", call=call_id, path=str(path))
        log.info("call_recording_started uuid=%s path=%s", call_id, path)
        return path

    async def monitor(self, call_id: str, supervisor_contact: str, mode: str) -> str:
        """Ring the supervisor's phone (a dial string, or an extension of the tenant) into
        ``eavesdrop`` on the agent's leg: ``listen``, ``whisper`` (the agent hears them) or
        ``barge`` (both hear them). Returns the supervisor leg's UUID (it is still ringing)."""
        try:
            chosen = MonitorMode(mode)
        except ValueError as exc:
            raise BadMonitorModeError(mode) from exc
        contact = check_contact(supervisor_contact, self.tenant)
        call = await self.ops.call(call_id)
        call.require_bridged()
        esl = self.ops.esl(call.node)
        leg = new_uuid()
        variables = {
            "origination_uuid": leg,
            "cc_tenant": self.tenant.name,
            "cc_call": call_id,
            # No cc_agent: the supervisor's hangup is not the agent's (the queue flow ends
            # the call on a hangup of a leg that carries the call's agent).
            "cc_role": "supervisor",
            "cc_monitor": chosen.value,
            **_EAVESDROP_COMMON,
            **_EAVESDROP[chosen],
        }
        if PHONE_NUMBER.fullmatch(call.caller_number):
            variables["origination_caller_id_number"] = call.caller_number
        self.tasks.spawn(self._ring_supervisor(esl, call, contact, leg, variables))
        log.info("call_monitor uuid=%s mode=%s contact=%s leg=%s", call_id, chosen.value,
                 contact, leg)  # fmt: skip
        return leg

    async def _ring_supervisor(self, esl: InboundClient, call: LiveCall, contact: str, leg: str,
                               variables: dict[str, str]) -> None:  # fmt: skip
        result = await self.ops.originate(
            esl,
            variables,
            contact,
            f"eavesdrop({call.agent_leg})",
            self.settings.supervisor_ring_seconds,
        )
        if not result.startswith("+OK"):
            log.info("call_monitor_failed uuid=%s leg=%s result=%s", call.call_id, leg,
                     result.strip())  # fmt: skip

    # -- outside calls --------------------------------------------------------------------------

    async def click_to_call(self, agent_id: str, number: str) -> OutboundCall:
        """Ring the agent's phone (their contact in the ACD), then dial ``number`` through the
        cheapest gateway of the tenant's route for it. The agent must be logged in and not on
        a call; they are on this call (no queue offers) until it ends."""
        if not _AGENT_ID.fullmatch(agent_id):
            raise UnknownAgentError(agent_id)
        number = check_phone_number(number)
        legs = outbound_legs(number, self.tenant)
        try:
            data = await self.store.agent(agent_id)
        except AcdUnknownAgentError as exc:
            raise UnknownAgentError(agent_id) from exc
        contact = data.get("contact", "")
        node = self.settings.outbound_node or next(iter(self.ops.nodes), "")
        esl = self.ops.esl(node)
        call_id = new_uuid()
        await self.agents.start(agent_id, call_id, node, data)
        self.tasks.spawn(self.outbound.run(esl, agent_id, contact, number, legs, call_id))
        return OutboundCall(call_id, agent_id, number, node, tuple(leg.gateway for leg in legs))

    # -- events ---------------------------------------------------------------------------------

    def _hangup_event(self, node: str, event: Event) -> None:
        tenant = event.variable("cc_tenant")
        if tenant and tenant != self.tenant.name:
            return  # another tenant's channel on a shared switch
        self.tasks.spawn(self._hangup_seen(node, event))

    async def _hangup_seen(self, node: str, event: Event) -> None:
        uuid = event.unique_id or ""
        call_id = event.variable("cc_call") or uuid
        agent = event.variable("cc_agent") or ""
        if (
            event.variable("cc_role") == "agent"
            and agent
            and uuid == call_id
            and not event.variable("cc_queue")
        ):
            # A click-to-call's agent leg (its UUID is the call's id).
            await self.outbound.agent_left(self.ops.nodes.get(node), agent, call_id)
            return
        try:
            consulting = await self.store.redis.hexists(self.store.keys.call(call_id),
                                                         "consult_leg")  # fmt: skip
            if not consulting:
                return
            call = await self.ops.call(call_id)
        except (CallControlError, RedisError, OSError):
            return
        with contextlib.suppress(AcdError, EslError, RedisError, OSError):
            await self.consultations.hangup_seen(call, uuid)

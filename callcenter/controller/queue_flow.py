"""Inbound queue calls, end to end: enqueue, offer, ring the agent, bridge, wrap-up.

The dialplan parks a caller with the channel variable ``cc_queue`` set (optionally
``cc_priority`` and ``cc_skills`` as ``skill=level,...``). From there:

- CHANNEL_PARK with ``cc_queue``: the caller is enqueued and hears music on hold;
- whenever a call waits and an agent is available, ``AcdStore.reserve`` matches them atomically,
  and the agent's phone is rung with ``bgapi originate`` (the agent leg's UUID is chosen here and
  stored with the call, so any controller can cancel it);
- the agent answers: MOH stops, caller and agent are bridged, a stereo recording starts;
  no answer: the agent is released (max-no-answer puts them on break) and the caller keeps
  their place;
- the caller hangs up while waiting or while the agent rings: abandoned, the ringing leg is
  killed at once and the agent released;
- the bridged call ends: the agent goes to wrap-up; a tick makes them available again.

All state lives in Redis (``AcdStore``); this object only holds tasks in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid as uuidlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from callcenter.acd.errors import AcdError, WrongAgentStateError
from callcenter.acd.model import Offer, WaitingCall
from callcenter.acd.store import AcdStore
from callcenter.cancellation import cancel_and_wait, reraise_cancellation
from callcenter.center import Tenant
from callcenter.controller.call_control_switch import FAILOVER, cause_of
from callcenter.controller.callback_dial import (
    CallbackAttempt,
    callback_attempts,
    callback_caller_id,
    check_callback_dial,
    check_caller_id,
)
from callcenter.controller.cdr_legs import leg_entry
from callcenter.esl.client import InboundClient
from callcenter.esl.commands import check_value
from callcenter.esl.errors import EslError
from callcenter.esl.events import Event

__all__ = ["FlowSettings", "QueueCallFlow"]

log = logging.getLogger("callcenter.controller")

# The tenants whose event Streams the CDR workers read (every controller adds its own).
TENANTS_KEY = "cc:tenants"

SUBSCRIPTIONS = ("CHANNEL_PARK", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ANSWER", "DTMF")


@dataclass(frozen=True)
class FlowSettings:
    ring_seconds: int = 20
    moh: str = "local_stream://moh"
    callback_prompt: str = "ivr/ivr-thank_you_for_calling.wav"
    # What an agent hears after a feature code (*21-*24): done, or refused.
    feature_ok_tone: str = "tone_stream://%(300,100,880);loops=2"
    feature_error_tone: str = "tone_stream://%(250,250,480,620);loops=3"
    # Callbacks: how to dial a customer's number (None: the tenant's outbound routes, see
    # callback_dial.py), the number they see (None: the one they called), how long their phone
    # rings, how often and how far apart to try.
    callback_dial: str | None = None
    callback_caller_id: str | None = None
    callback_ring_seconds: int = 30
    callback_attempts: int = 3
    callback_retry_seconds: float = 300.0
    # Not dialed sooner after the request (the caller is still hearing the goodbye prompt).
    callback_delay_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.callback_dial is not None:
            check_callback_dial(self.callback_dial)
        if self.callback_caller_id is not None:
            check_caller_id(self.callback_caller_id)

    recordings_dir: Path = Path("var/recordings")
    tick_seconds: float = 0.5
    # A controller that misses its heartbeat this long is dead: its ringing offers are taken
    # over by the others at their next tick (waiting calls need no takeover, they are in Redis
    # already). Lease + tick bound the takeover: 1.2 + 0.5 s, inside the 2 s we promise.
    # The heartbeat is renewed every quarter lease by a task of its own, so that a slow tick
    # under load does not make a live controller look dead.
    lease_seconds: float = 1.2


def _originate_var(name: str, value: str) -> str:
    """One ``{name=value}`` item; values with commas or spaces are quoted."""
    check_value(name, value)
    if "'" in value or "}" in value:
        raise ValueError(f"{name} cannot hold a quote or a closing brace: {value!r}")
    return f"{name}='{value}'" if ("," in value or " " in value) else f"{name}={value}"


class QueueCallFlow:
    def __init__(
        self,
        nodes: Mapping[str, InboundClient],
        store: AcdStore,
        settings: FlowSettings | None = None,
        *,
        tenant: Tenant | None = None,
    ) -> None:
        """``nodes``: the switch nodes this controller drives, by name. ``tenant``: the
        tenant of the center file, when there is one (its outbound routes dial callbacks)."""
        self.nodes = dict(nodes)
        self.store = store
        self.settings = settings or FlowSettings()
        self.tenant = tenant
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatching: set[str] = set()
        self._again: set[str] = set()
        self._progressing: set[str] = set()
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._beater: asyncio.Task[None] | None = None
        self.controller_id = store.controller_id
        # Since when (monotonic) this controller's heartbeat has been renewed without a gap,
        # and when last: see heartbeats_trusted.
        self._beating_since: float | None = None
        self._last_beat: float | None = None
        # A reservation must outlive the ring it is for: otherwise a phone still ringing would
        # be taken for an abandoned offer (and stopped) when the reservation runs out.
        ring_ms = (self.settings.ring_seconds + 15) * 1000
        store.reserve_ms = max(store.reserve_ms, ring_ms)

    async def start(self) -> None:
        for node, esl in self.nodes.items():
            esl.on("CHANNEL_PARK", partial(self._in_order, self._on_park, node))
            esl.on("CHANNEL_HANGUP_COMPLETE", partial(self._in_order, self._on_hangup, node))
            esl.on("CHANNEL_HANGUP_COMPLETE", partial(self._report_leg, node))
            esl.on("DTMF", partial(self._in_order, self._on_dtmf, node))
            await esl.subscribe(*SUBSCRIPTIONS)
        self._beater = asyncio.create_task(self._beat())
        self._ticker = asyncio.create_task(self._tick())
        # The workers ingest the Streams of the tenants listed here.
        with contextlib.suppress(RedisError, OSError):
            await self.store.redis.sadd(TENANTS_KEY, self.store.keys.tenant)

    async def stop(self) -> None:
        background = [t for t in (self._ticker, self._beater) if t is not None]
        await cancel_and_wait([*self._tasks, *background])

    def serves_tenant(self, tenant: str | None) -> bool:
        """Whether a call marked with ``cc_tenant`` (the dialplan sets it) is this controller's.
        A call without the mark belongs to whoever runs: single-tenant dialplans set none."""
        return not tenant or tenant == self.store.keys.tenant

    def _in_order(
        self,
        handler: Callable[[str, Event], Coroutine[Any, Any, None]],
        node: str,
        event: Event,
    ) -> None:
        """Handle an event in its own task, after the earlier events of the same call.

        Handlers wait on Redis and the switch; awaited one after another in the ESL dispatcher
        they would serialize every call behind every other. Events of one call (the caller's
        channel, or an agent leg carrying ``cc_call``) still run in the order they came.
        """
        key = event.variable("cc_call") or event.unique_id or ""
        previous = self._chains.get(key)

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(previous)
            try:
                await handler(node, event)
            except (AcdError, EslError, RedisError, OSError) as exc:
                log.warning("queue_event_failed uuid=%s event=%s error=%s", key, event.name, exc)

        task = asyncio.ensure_future(run())
        self._chains[key] = task
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._chains.get(key) is finished:
                del self._chains[key]

        task.add_done_callback(done)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("queue_task_failed error=%r", task.exception(), exc_info=task.exception())

    # -- events ---------------------------------------------------------------------------------

    def _report_leg(self, node: str, event: Event) -> None:
        """A channel of this tenant's calls ended: its CDR leg goes on the Stream."""
        if not self.serves_tenant(event.variable("cc_tenant")):
            return
        fields = leg_entry(node, event)
        if fields is not None:
            self._spawn(self._add_for_workers("leg", fields))

    async def _add_for_workers(self, kind: str, fields: Mapping[str, str | int]) -> None:
        try:
            await self.store.append_event(kind, **fields)
        except (RedisError, OSError) as exc:
            # The call goes on; its CDR lacks this entry (the resync cannot rebuild it).
            log.warning("cdr_entry_lost type=%s uuid=%s error=%s", kind, fields.get("call"), exc)

    async def _recording_started(self, call_id: str, path: Path) -> None:
        """Tell the workers which file to post-process once the call has ended."""
        await self._add_for_workers("recording", {"call": call_id, "path": str(path)})

    async def _on_park(self, node: str, event: Event) -> None:
        esl = self.nodes[node]
        queue = event.variable("cc_queue")
        uuid = event.unique_id
        feature = event.variable("cc_feature")
        if feature and uuid and self.serves_tenant(event.variable("cc_tenant")):
            await self._feature(esl, uuid, feature, event.variable("cc_agent") or "")
            return
        if not queue or not uuid or event.variable("cc_agent"):
            return
        if not self.serves_tenant(event.variable("cc_tenant")):
            return  # another tenant's caller on a shared switch: their controller takes it
        skills: dict[str, int] = {}
        for item in (event.variable("cc_skills") or "").split(","):
            name, _, level = item.partition("=")
            if name.strip():
                skills[name.strip()] = int(level) if level.strip().isdigit() else 1
        priority_text = event.variable("cc_priority") or "0"
        call = WaitingCall(
            call_id=uuid,
            queue=queue,
            caller_number=event.get("Caller-Caller-ID-Number") or "",
            caller_name=event.get("Caller-Caller-ID-Name") or "",
            priority=int(priority_text) if priority_text.lstrip("-").isdigit() else 0,
            skills=skills,
            node=node,
            did=event.variable("cc_did") or "",
            campaign=event.variable("cc_did_label") or "",
        )
        try:
            if not await self.store.enqueue(call):
                return  # already known (a park after MOH, or another controller took it)
        except AcdError as exc:
            log.error("queue_enqueue_failed uuid=%s queue=%s error=%s", uuid, queue, exc)
            await esl.api(f"uuid_kill {uuid} NO_ROUTE_DESTINATION")
            return
        log.info("queue_enqueued uuid=%s queue=%s caller=%s", uuid, queue, call.caller_number)
        await esl.api(f"uuid_broadcast {uuid} {self.settings.moh} aleg")
        self._spawn(self.dispatch(queue))

    async def _feature(self, esl: InboundClient, uuid: str, feature: str, agent: str) -> None:
        """An agent dialed a feature code (*21 login, *22 ready, *23 break, *24 logout): change
        their state, confirm with a short tone (or an error tone), hang up."""
        change = {
            "login": self.store.login,
            "ready": self.store.ready,
            "break": self.store.take_break,
            "logout": self.store.logout,
        }.get(feature)
        try:
            if change is None or not agent:
                raise AcdError(f"unknown feature {feature!r} or no agent")
            await change(agent)
        except AcdError as exc:
            log.info("agent_feature_refused uuid=%s agent=%s feature=%s error=%s", uuid, agent,
                     feature, exc)  # fmt: skip
            tone = self.settings.feature_error_tone
        else:
            log.info("agent_feature uuid=%s agent=%s feature=%s", uuid, agent, feature)
            tone = self.settings.feature_ok_tone
        await esl.execute(uuid, "playback", tone)
        await esl.execute(uuid, "hangup", "NORMAL_CLEARING")

    async def _on_dtmf(self, node: str, event: Event) -> None:
        """The exit key: a waiting caller asks to be called back instead."""
        uuid = event.unique_id or ""
        digit = event.get("DTMF-Digit") or ""
        queue = await self.store.redis.hget(self.store.keys.call(uuid), "queue")
        if queue is None or not digit:
            return
        config = await self.store.queue_config(queue.decode())
        if digit != config.exit_key:
            return
        number = (await self.store.redis.hget(self.store.keys.call(uuid), "caller_number")) or b""
        if not self._callback_attempts(number.decode()) or not await self.store.request_callback(
            uuid, not_before_seconds=self.settings.callback_delay_seconds
        ):
            # Being offered already, or no number to call back (anonymous, or one no outbound
            # route takes): stays in line.
            log.info("queue_callback_refused uuid=%s queue=%s", uuid, config.name)
            return
        log.info("queue_callback_requested uuid=%s queue=%s", uuid, config.name)
        esl = self.nodes[node]
        await esl.api(f"uuid_break {uuid}")
        await esl.execute(uuid, "playback", self.settings.callback_prompt)
        await esl.execute(uuid, "hangup", "NORMAL_CLEARING")

    async def _overflow(self, queue: str) -> None:
        config = await self.store.queue_config(queue)
        if not config.overflow:
            return
        due: list[str] = []
        if config.max_wait_seconds:
            due += await self.store.overdue(queue, config.max_wait_seconds)
        if config.max_wait_no_agent_seconds:
            since = await self.store.agentless_since(queue)
            if since is not None:
                due += await self.store.overdue(
                    queue, config.max_wait_no_agent_seconds, since_ms=since
                )
        for call_id in dict.fromkeys(due):
            kind, _, target = config.overflow.partition(":")
            if kind == "queue":
                if await self.store.move(call_id, target):
                    log.info("queue_overflow uuid=%s from=%s to=%s", call_id, queue, target)
                    self._spawn(self.dispatch(target))
                continue
            if not await self.store.take_out(call_id, "overflowed", to=config.overflow):
                continue
            node = await self.store.redis.hget(self.store.keys.call(call_id), "node")
            esl = self.nodes.get(node.decode()) if node else None
            if esl is None:
                continue
            number, _, context = target.partition("@")
            log.info("queue_overflow uuid=%s from=%s to=%s", call_id, queue, config.overflow)
            await esl.api(f"uuid_transfer {call_id} {number} XML {context}")

    async def _on_hangup(self, node: str, event: Event) -> None:
        uuid = event.unique_id or ""
        keys = self.store.keys
        data = await self.store.redis.hgetall(keys.call(uuid))
        if data:
            await self._caller_gone(node, uuid, {k.decode(): v.decode() for k, v in data.items()})
            return
        call_id = event.variable("cc_call")
        agent = event.variable("cc_agent")
        if call_id and agent:
            # Before the bridge the offer belongs to ``_ring``, which sees the failed bridge.
            await self._finish(call_id, event.variable("cc_queue") or "", agent, only_bridged=True)

    async def _caller_gone(self, node: str, call_id: str, call: dict[str, str]) -> None:
        if call.get("callback") == "1":
            return  # they asked to be called back and hung up: their request waits on
        state = call.get("state")
        if state in ("waiting", "offering"):
            released = await self.store.abandon(call_id)
            await self._kill_legs(node, call, "ORIGINATOR_CANCEL")
            log.info("queue_abandoned uuid=%s queue=%s released=%s", call_id, call.get("queue"),
                     ",".join(released))  # fmt: skip
            self._spawn(self.dispatch(call.get("queue", "")))
        elif state == "answered":
            await self._finish(call_id, call.get("queue", ""))

    async def _kill_legs(self, node: str, call: dict[str, str], cause: str, keep: str = "") -> None:
        """Stop the phones still ringing for a call (every agent of a ring-all offer)."""
        esl = self.nodes.get(node)
        for name, leg in call.items():
            if name.startswith("leg:") and leg != keep and esl is not None:
                await esl.api(f"uuid_kill {leg} {cause}")

    async def _finish(
        self, call_id: str, queue: str, agent: str = "", *, only_bridged: bool = False
    ) -> None:
        # Only the first of the two hangups (caller, agent leg) ends the call in the store.
        if not await self.store.hung_up(call_id, agent, only_bridged=only_bridged):
            return
        log.info("queue_call_ended uuid=%s agent=%s", call_id, agent)
        self._spawn(self.dispatch(queue))  # the agent may be free at once (no wrap-up)

    # -- matching and offers --------------------------------------------------------------------

    def request_dispatch(self, queue: str) -> None:
        """Match waiting calls and agents of a queue soon (in a task of its own)."""
        self._spawn(self.dispatch(queue))

    async def dispatch(self, queue: str) -> None:
        """Offer waiting calls to available agents until one side runs out."""
        if not queue:
            return
        if queue in self._dispatching:
            # A pass is running: make it go round once more, since what it read may be stale.
            self._again.add(queue)
            return
        self._dispatching.add(queue)
        try:
            while True:
                self._again.discard(queue)
                offers = await self.store.reserve(queue)
                if not offers:
                    if queue in self._again:
                        continue
                    return
                for offer in offers:
                    self._spawn(self._ring(offer))
                if (
                    offers[0].strategy == "ring-progressively"
                    and offers[0].call_id not in self._progressing
                ):
                    self._spawn(self._progress(offers[0]))
        except AcdError as exc:
            log.error("queue_dispatch_failed queue=%s error=%s", queue, exc)
        finally:
            self._dispatching.discard(queue)

    async def _progress(self, first: Offer) -> None:
        """Ring-progressively: every few seconds one more phone rings for the call, the earlier
        ones ringing on, until someone answers, the caller leaves or nobody is left."""
        # One loop per call for as long as it is in the queue: back in line after its phones
        # stopped ringing, it goes on with the next round of offers.
        self._progressing.add(first.call_id)
        try:
            delay = (await self.store.queue_config(first.queue)).ring_progressively_delay_seconds
            while True:
                await asyncio.sleep(delay)
                offers = await self.store.reserve(first.queue, more_for=first.call_id)
                for offer in offers:
                    log.info("queue_offer_more uuid=%s agent=%s", offer.call_id, offer.agent)
                    self._spawn(self._ring(offer))
                state = await self.store.redis.hget(self.store.keys.call(first.call_id), "state")
                if state not in (b"waiting", b"offering"):
                    return  # answered, abandoned, overflowed...
        finally:
            self._progressing.discard(first.call_id)

    async def _ring(self, offer: Offer) -> None:
        several = offer.strategy in ("ring-all", "ring-progressively")
        keys = self.store.keys
        esl = self.nodes.get(offer.node)
        if esl is None:
            # The caller sits on a node another controller drives: give the offer back.
            await self.store.release(offer.agent, offer.call_id)
            return
        leg = str(uuidlib.uuid4())
        await self.store.redis.hset(keys.call(offer.call_id), f"leg:{offer.agent}", leg)
        extra = {"origination_caller_id_name": offer.caller_name} if offer.caller_name else {}
        log.info("queue_offer uuid=%s queue=%s agent=%s leg=%s", offer.call_id, offer.queue,
                 offer.agent, leg)  # fmt: skip
        result = await self._originate(
            esl,
            offer,
            leg,
            offer.contact,
            caller_id=offer.caller_number or "0000000000",
            ring_seconds=self.settings.ring_seconds,
            **extra,
        )
        if not result.startswith("+OK"):
            log.info("queue_offer_failed uuid=%s agent=%s result=%s", offer.call_id, offer.agent,
                     result.strip())  # fmt: skip
            state = await self.store.redis.hget(keys.call(offer.call_id), "state")
            words = result.split()
            cause = words[1] if len(words) > 1 else "NO_ANSWER"
            try:
                if state != b"offering":
                    await self.store.cancel_offer(offer.agent, offer.call_id)
                elif cause == "LOSE_RACE":
                    # The phone was stopped by whoever took the offer back (a controller that
                    # took this one for dead): not the agent's miss.
                    await self.store.release(offer.agent, offer.call_id)
                else:
                    # "-ERR USER_BUSY", "-ERR NO_ANSWER", "-ERR CALL_REJECTED"...: the cause
                    # picks the agent's delay before the next offer.
                    await self.store.not_answered(offer.agent, offer.call_id, cause)
            except WrongAgentStateError as exc:
                # Settled meanwhile by someone else (taken back, or the caller left).
                log.info("queue_offer_settled uuid=%s agent=%s error=%s", offer.call_id,
                         offer.agent, exc)  # fmt: skip
            self._spawn(self.dispatch(offer.queue))
            return
        try:
            await self.store.answered(offer)
        except AcdError as exc:
            # The caller left while the phone rang (the agent was released), another agent of a
            # ring-all answered first, or the offer was reclaimed because this controller was
            # too slow: this leg has nobody to talk to.
            log.info("queue_offer_gone uuid=%s agent=%s error=%s", offer.call_id, offer.agent, exc)
            await esl.api(f"uuid_kill {leg} ORIGINATOR_CANCEL")
            with contextlib.suppress(AcdError):
                await self.store.cancel_offer(offer.agent, offer.call_id)
            self._spawn(self.dispatch(offer.queue))
            return
        if several:
            # Ring-all: the other phones stop ringing, their agents are free again.
            raw = await self.store.redis.hgetall(keys.call(offer.call_id))
            call = {k.decode(): v.decode() for k, v in raw.items()}
            await self._kill_legs(offer.node, call, "LOSE_RACE", keep=leg)
            for other in call.get("agents", "").split(","):
                if other and other != offer.agent:
                    await self.store.cancel_offer(other, offer.call_id)
        if offer.callback:
            await self._call_back(esl, offer, leg)
            return
        reply = await esl.api(f"uuid_bridge {offer.call_id} {leg}")
        if not reply.startswith("+OK"):
            await self._bridge_failed(esl, offer, leg, reply)
            return
        await self.store.bridged(offer)
        path = (self.settings.recordings_dir / f"{offer.call_id}.wav").absolute()
        await esl.api(f"uuid_record {offer.call_id} start {path}")
        await self._recording_started(offer.call_id, path)
        log.info("queue_bridged uuid=%s agent=%s", offer.call_id, offer.agent)

    async def _originate(
        self,
        esl: InboundClient,
        offer: Offer,
        leg: str,
        dial: str,
        *,
        caller_id: str,
        ring_seconds: int,
        **variables: str,
    ) -> str:
        """Ring ``dial`` as leg ``leg`` of the offer's call, parked once answered; the
        BACKGROUND_JOB's reply ("+OK <uuid>" or "-ERR <cause>"). Both legs carry the call, agent
        and queue, so any controller can tell whose hangup it sees."""
        spec = {
            "origination_uuid": leg,
            "origination_caller_id_number": caller_id,
            "originate_timeout": str(ring_seconds),
            "cc_call": offer.call_id,
            "cc_agent": offer.agent,
            "cc_queue": offer.queue,
            "cc_tenant": self.store.keys.tenant,
        }
        spec.update((k, v.replace("'", "")) for k, v in variables.items())
        text = ",".join(_originate_var(k, v) for k, v in spec.items())
        try:
            return await esl.bgapi(f"originate {{{text}}}{dial} &park()", timeout=ring_seconds + 15)
        except EslError as exc:
            return f"-ERR {exc}"

    def _callback_attempts(self, number: str) -> list[CallbackAttempt]:
        return callback_attempts(number, self.settings.callback_dial, self.tenant)

    async def _call_back(self, esl: InboundClient, offer: Offer, agent_leg: str) -> None:
        """A callback request's turn: the agent answered; now dial the customer and bridge."""
        settings = self.settings
        key = self.store.keys.call(offer.call_id)
        did = (await self.store.redis.hget(key, "did") or b"").decode()
        caller_id = callback_caller_id(settings.callback_caller_id, did)
        customer = ""
        result = "-ERR NO_ROUTE_DESTINATION"  # the routes changed since the request
        # request_callback only stores numbers of digits: nothing else reaches the dial string.
        for attempt in self._callback_attempts(offer.caller_number):
            customer = str(uuidlib.uuid4())
            await self.store.redis.hset(key, "leg:customer", customer)
            log.info("queue_callback_dial uuid=%s agent=%s number=%s gateway=%s", offer.call_id,
                     offer.agent, offer.caller_number, attempt.gateway)  # fmt: skip
            result = await self._originate(
                esl,
                offer,
                customer,
                attempt.dial,
                caller_id=caller_id,
                ring_seconds=settings.callback_ring_seconds,
                cc_role="customer",
                **attempt.variables,
            )
            if result.startswith("+OK") or cause_of(result) not in FAILOVER:
                break
        reply = (
            await esl.api(f"uuid_bridge {customer} {agent_leg}")
            if result.startswith("+OK")
            else result
        )
        if not reply.startswith("+OK"):
            # The customer did not answer (or the agent left meanwhile): the agent is free, the
            # request keeps its place and is tried again later.
            await esl.api(f"uuid_kill {agent_leg}")
            if customer:
                await esl.api(f"uuid_kill {customer}")
            again = await self.store.callback_missed(
                offer.agent,
                offer.call_id,
                max_attempts=settings.callback_attempts,
                retry_seconds=settings.callback_retry_seconds,
            )
            log.info("queue_callback_missed uuid=%s result=%s again=%s", offer.call_id,
                     reply.strip(), again)  # fmt: skip
            self._spawn(self.dispatch(offer.queue))
            return
        await self.store.callback_connected(offer.call_id, customer)
        await self.store.bridged(offer)
        path = (settings.recordings_dir / f"{offer.call_id}.wav").absolute()
        await esl.api(f"uuid_record {customer} start {path}")
        await self._recording_started(offer.call_id, path)
        log.info("queue_callback_bridged uuid=%s agent=%s", offer.call_id, offer.agent)

    async def _bridge_failed(self, esl: InboundClient, offer: Offer, leg: str, reply: str) -> None:
        log.warning("queue_bridge_failed uuid=%s agent=%s reply=%s", offer.call_id, offer.agent,
                    reply.strip())  # fmt: skip
        caller_here = (await esl.api(f"uuid_exists {offer.call_id}")).strip() == "true"
        if caller_here:
            # The agent hung up right after answering: the caller keeps their place in line.
            await esl.api(f"uuid_kill {leg}")
            with contextlib.suppress(AcdError):
                await self.store.answer_lost(offer.agent, offer.call_id)
            self._spawn(self.dispatch(offer.queue))
            return
        # The caller left between the answer and the bridge: the agent must not stay on a call
        # that does not exist.
        await esl.api(f"uuid_kill {leg}")
        await self._finish(offer.call_id, offer.queue, offer.agent)

    def heartbeats_trusted(self) -> bool:
        """Whether a missing heartbeat of another controller means it is dead: only once ours
        has been renewed without a gap for a lease. Right after a Redis outage longer than a
        lease (or a Redis call that hung that long) every heartbeat is gone until its
        controller renews it, a quarter lease later: a live one would be taken for dead. Ours
        must also be fresh: a renewal stuck on a cut-off Redis says nothing of the others."""
        since, last = self._beating_since, self._last_beat
        if since is None or last is None:
            return False
        now, lease = time.monotonic(), self.settings.lease_seconds
        return now - since >= lease and now - last <= lease / 2

    async def _reclaim_expired(self) -> None:
        """Offers left ringing by a controller that died: stop the phone, serve the caller again."""
        expired = await self.store.expired_reservations(judge_owners=self.heartbeats_trusted())
        for agent, call_id in expired:
            leg, node = await self.store.redis.hmget(
                self.store.keys.call(call_id), f"leg:{agent}", "node"
            )
            esl = self.nodes.get(node.decode()) if node else None
            if leg and esl is not None:
                await esl.api(f"uuid_kill {leg.decode()} LOSE_RACE")
            if await self.store.reclaim(agent, call_id):
                log.warning("queue_offer_reclaimed uuid=%s agent=%s", call_id, agent)

    async def _beat(self) -> None:
        while True:
            try:
                await self.store.heartbeat(self.settings.lease_seconds)
            except (AcdError, RedisError, OSError) as exc:
                reraise_cancellation()
                log.warning("queue_heartbeat_failed error=%s", exc)
                self._beating_since = None
            else:
                now = time.monotonic()
                last = self._last_beat
                if last is None or now - last > self.settings.lease_seconds:
                    self._beating_since = now  # the first beat, or the first after a gap
                self._last_beat = now
            await asyncio.sleep(self.settings.lease_seconds / 4)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_seconds)
            try:
                await self._reclaim_expired()
                await self.store.finish_wrap_ups()
                for raw in await self.store.redis.smembers(self.store.keys.queues):
                    await self._overflow(raw.decode())
                    await self.dispatch(raw.decode())
            except (AcdError, EslError, RedisError, OSError) as exc:
                reraise_cancellation()
                log.warning("queue_tick_failed error=%s", exc)

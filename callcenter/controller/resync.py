"""Reconcile the ACD in Redis with the calls the switch holds.

Events are lost when nobody can act on them: a caller who parks while Redis is down, or while
no controller runs (a restart), is never enqueued from its CHANNEL_PARK; a caller who hangs up
meanwhile stays "waiting" in Redis for ever. The switch knows the truth, so the controller asks
it (``show channels``) at start, after Redis or a switch connection comes back, and every few
seconds:

- ``resync_parked``: a caller parked with ``cc_queue`` that Redis does not know is enqueued (the
  time they arrived is kept, so they keep their place), hears music on hold, and is offered;
- ``drop_vanished``: a call Redis believes is waiting on one of this controller's nodes, with no
  channel on that node any more, is taken out of the queue as abandoned;
- ``end_vanished``: a call an agent is on, whose caller is gone from its node (the hangup was
  missed), is ended: the agent goes to wrap-up instead of staying "on call" for ever;
- ``release_outbound``: a click-to-call whose agent leg is gone, or whose controller died
  before it bridged the agent and the customer, is ended and the agent is back.

Both are idempotent and safe with several controllers: enqueueing is ``HSETNX`` on the call's
state (the same step ``CHANNEL_PARK`` takes) and taking out is one ``ZREM``, so a call is never
enqueued or dropped twice.

``keep_in_sync`` runs the controller's side loop: it probes Redis, logs when it goes away and
comes back, reloads the center if Redis came back empty, and reconciles.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from callcenter.acd.config import AcdConfig
from callcenter.acd.errors import AcdError
from callcenter.acd.model import WaitingCall
from callcenter.cancellation import reraise_cancellation
from callcenter.controller.call_control_agents import OutboundAgents
from callcenter.controller.call_control_switch import CALL_ID
from callcenter.controller.queue_flow import QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.esl.errors import EslError

__all__ = [
    "Reconciled",
    "drop_vanished",
    "end_vanished",
    "keep_in_sync",
    "reconcile",
    "release_outbound",
    "resync_parked",
    "sync_once",
]

log = logging.getLogger("callcenter.controller")

# A channel on its way out is not a caller to serve.
_GOING = ("CS_HANGUP", "CS_REPORTING", "CS_DESTROY")
# A click-to-call younger than this is left alone (its agent leg may be about to exist).
OUTBOUND_GRACE_MS = 30_000


@dataclass(frozen=True)
class Reconciled:
    enqueued: int = 0
    dropped: int = 0
    ended: int = 0
    outbound: int = 0  # click-to-calls ended (release_outbound)


async def _channels(esl: InboundClient) -> list[dict[str, str]]:
    """The rows of ``show channels as json`` (``{"row_count": 0}`` when there is none)."""
    reply = await esl.api("show channels as json")
    if reply.startswith("-"):
        raise EslError(f"show channels failed: {reply.strip()}")
    try:
        data = json.loads(reply)
    except ValueError as exc:
        raise EslError(f"show channels: not JSON: {reply[:80]!r}") from exc
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return []
    return [
        {str(k): "" if v is None else str(v) for k, v in row.items()}
        for row in rows
        if isinstance(row, dict)
    ]


async def _dump(esl: InboundClient, uuid: str) -> dict[str, str] | None:
    """A channel's headers and variables (``uuid_dump <uuid> json``); None if it is gone."""
    reply = await esl.api(f"uuid_dump {uuid} json")
    if reply.startswith("-"):
        return None
    try:
        data: Any = json.loads(reply)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def _skills(text: str) -> dict[str, int]:
    """``cc_skills`` as ``skill=level,...`` (a skill without a level needs level 1)."""
    skills: dict[str, int] = {}
    for item in text.split(","):
        name, _, level = item.partition("=")
        if name.strip():
            skills[name.strip()] = int(level) if level.strip().isdigit() else 1
    return skills


def _waiting_call(node: str, uuid: str, dump: dict[str, str]) -> WaitingCall | None:
    """The caller a dumped channel is, as CHANNEL_PARK would have enqueued them."""
    queue = dump.get("variable_cc_queue", "")
    if not queue or dump.get("variable_cc_agent") or dump.get("variable_cc_call"):
        return None  # not a queue caller, or an agent's leg
    priority = dump.get("variable_cc_priority", "") or "0"
    created = dump.get("Caller-Channel-Created-Time", "")
    return WaitingCall(
        call_id=uuid,
        queue=queue,
        caller_number=dump.get("Caller-Caller-ID-Number", ""),
        caller_name=dump.get("Caller-Caller-ID-Name", ""),
        priority=int(priority) if priority.lstrip("-").isdigit() else 0,
        skills=_skills(dump.get("variable_cc_skills", "")),
        # They have waited since they arrived, not since Redis came back.
        enqueued_ms=int(created) // 1000 if created.isdigit() and int(created) > 0 else 0,
        node=node,
        did=dump.get("variable_cc_did", ""),
        campaign=dump.get("variable_cc_did_label", ""),
    )


async def _resync_node(flow: QueueCallFlow, node: str, esl: InboundClient) -> list[str]:
    """Enqueue the unknown parked callers of one node; the queue of each one enqueued."""
    store = flow.store
    enqueued: list[str] = []
    parked: list[tuple[str, bool]] = []  # (uuid, already hears music on hold)
    for row in await _channels(esl):
        uuid = row.get("uuid", "")
        application = row.get("application", "")
        on_hold = application == "playback" and row.get("application_data") == flow.settings.moh
        if uuid and row.get("state") not in _GOING and (application == "park" or on_hold):
            parked.append((uuid, on_hold))  # not in the dialplan still, not bridged, not leaving
    if not parked:
        return enqueued
    async with store.redis.pipeline(transaction=False) as pipe:
        for uuid, _ in parked:
            pipe.exists(store.keys.call(uuid))
        known = await pipe.execute()
    for (uuid, on_hold), seen in zip(parked, known, strict=True):
        if seen:
            continue  # known: waiting, offered, answered or ended
        dump = await _dump(esl, uuid)
        call = _waiting_call(node, uuid, dump) if dump is not None else None
        if call is None or dump is None or not flow.serves_tenant(dump.get("variable_cc_tenant")):
            continue
        try:
            if not await store.enqueue(call):
                continue  # its CHANNEL_PARK (or another controller) was first
        except AcdError as exc:
            # As on CHANNEL_PARK: a queue this center does not have.
            log.error("queue_enqueue_failed uuid=%s queue=%s error=%s", uuid, call.queue, exc)
            await esl.api(f"uuid_kill {uuid} NO_ROUTE_DESTINATION")
            continue
        if (await esl.api(f"uuid_exists {uuid}")).strip() != "true":
            # Hung up between the listing and the enqueue: its hangup found nothing to end.
            await store.take_out(uuid, "abandoned", wait_ms=0)
            continue
        log.warning("queue_resynced uuid=%s queue=%s node=%s caller=%s", uuid, call.queue, node,
                    call.caller_number)  # fmt: skip
        if not on_hold:
            await esl.api(f"uuid_broadcast {uuid} {flow.settings.moh} aleg")
        enqueued.append(call.queue)
    return enqueued


async def resync_parked(flow: QueueCallFlow) -> int:
    """Enqueue every caller parked with ``cc_queue`` on the flow's nodes that Redis does not
    know, start their music on hold and offer them. Returns how many were enqueued.

    A node that cannot be asked is skipped (and logged); Redis errors are raised.
    """
    queues: list[str] = []
    for node, esl in flow.nodes.items():
        try:
            queues += await _resync_node(flow, node, esl)
        except EslError as exc:
            log.warning("resync_node_failed node=%s error=%s", node, exc)
    for queue in sorted(set(queues)):
        await flow.dispatch(queue)
    return len(queues)


async def _waiting_by_node(flow: QueueCallFlow) -> dict[str, list[tuple[str, int]]]:
    """(call, enqueued_ms) of the calls waiting on each of the flow's nodes (not callback
    requests: their caller has hung up on purpose)."""
    store = flow.store
    out: dict[str, list[tuple[str, int]]] = {}
    for raw in sorted(await store.redis.smembers(store.keys.queues)):
        calls = await store.waiting(raw.decode())
        if not calls:
            continue
        async with store.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.hmget(store.keys.call(call), "node", "enqueued_ms", "callback")
            rows = await pipe.execute()
        for call, (node, enqueued, callback) in zip(calls, rows, strict=True):
            name = node.decode() if node else ""
            if name in flow.nodes and callback != b"1":
                out.setdefault(name, []).append((call, int(enqueued or 0)))
    return out


async def _gone(flow: QueueCallFlow, node: str, calls: list[str]) -> list[str] | None:
    """Those of ``calls`` whose channel is no longer on ``node``; None if it cannot be asked.

    ``calls`` must have been read from Redis before this asks the switch: a call Redis had
    before the listing and the switch does not list is gone.
    """
    try:
        alive = {row.get("uuid", "") for row in await _channels(flow.nodes[node])}
        gone = []
        for call in calls:
            # FreeSWITCH lists channels from its core database, written a moment after the
            # fact: ask the session table itself before calling anyone gone.
            if call not in alive and (
                (await flow.nodes[node].api(f"uuid_exists {call}")).strip() == "false"
            ):
                gone.append(call)
    except EslError as exc:
        log.warning("resync_node_failed node=%s error=%s", node, exc)
        return None
    return gone


async def drop_vanished(flow: QueueCallFlow) -> int:
    """Take out, as abandoned, the calls waiting on the flow's nodes whose channel is gone
    (the caller hung up while nobody could hear it). Returns how many were dropped.

    A node that cannot be asked is skipped (and logged); Redis errors are raised.
    """
    dropped = 0
    for node, calls in (await _waiting_by_node(flow)).items():
        enqueued = dict(calls)
        now = int(time.time() * 1000)
        for call in await _gone(flow, node, list(enqueued)) or []:
            wait = max(0, now - enqueued[call])
            if await flow.store.take_out(call, "abandoned", wait_ms=wait):
                log.warning("queue_vanished uuid=%s node=%s", call, node)
                dropped += 1
    return dropped


# What the resync reads of an agent on a call: their queue call, or their click-to-call.
_ON_CALL_FIELDS = ("call", "outbound_leg", "outbound_by", "outbound_bridged", "since",
                   "outbound_node")  # fmt: skip
OnCall = dict[str, dict[str, str]]  # agent -> _ON_CALL_FIELDS


async def _agents_on_call(flow: QueueCallFlow) -> OnCall:
    """The agents ``on_call``, with what the resync needs of them (one read of every agent for
    both ``end_vanished`` and ``release_outbound``)."""
    store = flow.store
    agents = sorted(raw.decode() for raw in await store.redis.smembers(store.keys.agents))
    async with store.redis.pipeline(transaction=False) as pipe:
        for agent in agents:
            pipe.hmget(store.keys.agent(agent), "status", *_ON_CALL_FIELDS)
        rows = await pipe.execute()
    return {
        agent: {
            name: v.decode() if v else "" for name, v in zip(_ON_CALL_FIELDS, rest, strict=True)
        }
        for agent, (status, *rest) in zip(agents, rows, strict=True)
        if status == b"on_call"
    }


async def _on_call_by_node(
    flow: QueueCallFlow, on_call: OnCall
) -> dict[str, list[tuple[str, str, str]]]:
    """(live channel, call, queue) of the calls agents are on, by the node of the caller."""
    store = flow.store
    calls = [fields["call"] for fields in on_call.values() if fields["call"]]
    async with store.redis.pipeline(transaction=False) as pipe:
        for call in calls:
            pipe.hmget(store.keys.call(call), "node", "queue", "state", "customer_leg")
        details = await pipe.execute()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for call, (node, queue, state, customer) in zip(calls, details, strict=True):
        name = node.decode() if node else ""
        if state == b"answered" and name in flow.nodes:
            # A callback's live channel is the customer's leg, not the first call's.
            live = customer.decode() if customer else call
            out.setdefault(name, []).append((live, call, queue.decode() if queue else ""))
    return out


async def end_vanished(flow: QueueCallFlow, on_call: OnCall | None = None) -> int:
    """End the calls agents are on whose caller's channel is gone from its node (the hangup
    came while Redis or the connection was away). Returns how many were ended. ``on_call``:
    the agents as read already (else they are read here)."""
    if on_call is None:
        on_call = await _agents_on_call(flow)
    ended = 0
    for node, calls in (await _on_call_by_node(flow, on_call)).items():
        by_live = {live: (call, queue) for live, call, queue in calls}
        for live in await _gone(flow, node, list(by_live)) or []:
            call, queue = by_live[live]
            if await flow.store.hung_up(call):
                log.warning("queue_call_vanished uuid=%s node=%s", call, node)
                ended += 1
                await flow.dispatch(queue)
    return ended


@dataclass(frozen=True)
class _Outbound:
    """A click-to-call an agent is on, as the agent's hash tells it."""

    agent: str
    call: str  # the agent leg's UUID
    customer: str  # the customer leg dialed last ("" before any)
    by: str  # the controller running it ("" from a version that did not say)
    bridged: bool
    since_ms: int


def _outbound_by_node(flow: QueueCallFlow, on_call: OnCall) -> dict[str, list[_Outbound]]:
    """The click-to-calls agents are on, by the node that dialed them (``outbound_node``)."""
    out: dict[str, list[_Outbound]] = {}
    for agent, f in on_call.items():
        node = f["outbound_node"]
        if node not in flow.nodes or not CALL_ID.fullmatch(f["call"]):
            continue  # not a click-to-call of ours (a queue call has no outbound_node)
        out.setdefault(node, []).append(
            _Outbound(
                agent=agent,
                call=f["call"],
                customer=f["outbound_leg"] if CALL_ID.fullmatch(f["outbound_leg"]) else "",
                by=f["outbound_by"],
                bridged=f["outbound_bridged"] == "1",
                since_ms=int(f["since"]) if f["since"].isdigit() else 0,
            )
        )
    return out


async def release_outbound(
    flow: QueueCallFlow,
    *,
    grace_ms: int = OUTBOUND_GRACE_MS,
    on_call: OnCall | None = None,
) -> int:
    """End the click-to-calls nobody will end: the agent's leg is gone from its node (its
    hangup came while no controller could hear it), or the controller dialing it died before
    the agent and the customer were bridged (the agent would hear ringback for ever, the
    customer, once answered, silence). Their legs still up are hung up, the agent goes back to
    the status they had. Only calls started ``grace_ms`` ago or more: before that the agent's
    leg may not exist yet, or its controller's heartbeat be on its way; and a missing
    heartbeat counts only when this controller's own is steady (``heartbeats_trusted``: not
    right after a Redis outage). Returns how many were ended. ``on_call``: the agents as read
    already (else they are read here)."""
    if on_call is None:
        on_call = await _agents_on_call(flow)
    store = flow.store
    agents = OutboundAgents(store)
    now = int(time.time() * 1000)
    ended = 0
    for node, calls in _outbound_by_node(flow, on_call).items():
        calls = [c for c in calls if now - c.since_ms >= grace_ms]
        if not calls:
            continue
        esl = flow.nodes[node]
        gone = set(await _gone(flow, node, [c.call for c in calls]) or [])
        dead: set[str] = set()
        if flow.heartbeats_trusted():
            owners = sorted({c.by for c in calls if c.by and not c.bridged and c.call not in gone})
            async with store.redis.pipeline(transaction=False) as pipe:
                for owner in owners:
                    pipe.exists(store.keys.controller(owner))
                found = await pipe.execute()
            dead = {owner for owner, up in zip(owners, found, strict=True) if not up}
        for call in calls:
            if call.call in gone:
                why = "vanished"
            elif call.by and not call.bridged and call.by in dead:
                why = "orphaned"
            else:
                continue
            try:
                for leg in (call.customer, call.call if why == "orphaned" else ""):
                    if leg:
                        await esl.api(f"uuid_kill {leg} ORIGINATOR_CANCEL")
            except EslError as exc:
                log.warning("resync_node_failed node=%s error=%s", node, exc)
                continue
            if await agents.end(call.agent, call.call):
                log.warning("outbound_call_%s uuid=%s agent=%s node=%s", why, call.call,
                            call.agent, node)  # fmt: skip
                ended += 1
    return ended


async def reconcile(flow: QueueCallFlow) -> Reconciled:
    """``drop_vanished``, ``end_vanished``, ``release_outbound``, then ``resync_parked``."""
    dropped = await drop_vanished(flow)
    on_call = await _agents_on_call(flow)
    ended = await end_vanished(flow, on_call)
    outbound = await release_outbound(flow, on_call=on_call)
    enqueued = await resync_parked(flow)
    if dropped or enqueued or ended or outbound:
        log.warning("controller_resynced enqueued=%d dropped=%d ended=%d outbound=%d", enqueued,
                    dropped, ended, outbound)  # fmt: skip
    return Reconciled(enqueued, dropped, ended, outbound)


async def sync_once(flow: QueueCallFlow, center: AcdConfig | None = None) -> Reconciled:
    """Reload the center if Redis lost it (it came back empty), then ``reconcile``."""
    store = flow.store
    if center is not None and center.queues and not await store.redis.exists(store.keys.queues):
        log.warning("center_reloaded tenant=%s reason=redis_empty", center.tenant)
        await center.apply(store)
    return await reconcile(flow)


async def _server_id(flow: QueueCallFlow) -> str:
    """The Redis server's run id: it changes whenever the server restarts."""
    info = await flow.store.redis.info("server")
    return str(info.get("run_id", "")) if isinstance(info, dict) else ""


async def keep_in_sync(
    flow: QueueCallFlow,
    center: Callable[[], AcdConfig] | None = None,
    *,
    every: float = 5.0,
    probe: float = 0.5,
) -> None:
    """Until cancelled: probe Redis every ``probe`` seconds; reconcile every ``every`` seconds
    and as soon as Redis answers again after an outage or a restart (one too quick to see
    fails nothing here, but the events it cost are lost all the same). ``center()``: the
    center as it is now (read again on SIGHUP), loaded again into a Redis that lost it."""
    down = False
    server = ""
    due = time.monotonic() + every
    while True:
        try:
            seen = await _server_id(flow)
        except RedisError as exc:
            reraise_cancellation()
            if not down:
                log.warning("redis_unavailable error=%s", exc)
            down = True
            await asyncio.sleep(probe)
            continue
        if server and seen != server and not down:
            log.warning("redis_restarted")
            down = True
        server = seen
        if down or time.monotonic() >= due:
            try:
                await sync_once(flow, center() if center is not None else None)
            except RedisError as exc:
                reraise_cancellation()
                log.warning("resync_failed error=%s", exc)
                down = True
                await asyncio.sleep(probe)
                continue
            except Exception:
                reraise_cancellation()
                log.exception("resync_failed")
            if down:
                log.warning("redis_back")
            down = False
            due = time.monotonic() + every
        await asyncio.sleep(probe)

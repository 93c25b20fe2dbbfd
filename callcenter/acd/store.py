"""The ACD's state in Redis: agents, queues, tiers, waiting calls, and atomic offers.

Nothing here lives only in process memory: several controllers can share one Redis, and the
Lua scripts in ``scripts.py`` make every decision that must not race (reserving an agent for a
call) one atomic step. Every change is appended to the tenant's event Stream.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from callcenter.acd.errors import UnknownAgentError, UnknownQueueError, WrongAgentStateError
from callcenter.acd.keys import Keys
from callcenter.acd.model import AgentStatus, Offer, QueueConfig, Strategy, WaitingCall
from callcenter.acd.scripts import ANSWER, END_CALL, ENQUEUE, RESERVE, SET_STATUS

__all__ = ["STREAM_MAXLEN", "AcdStore"]

# The event Stream is capped near this many entries (the Lua scripts use the same number):
# about 80 000 calls, the buffer the CDR workers have while they are away (minutes at the
# busiest, hours at a usual rate) before unread entries would be trimmed.
STREAM_MAXLEN = 1_000_000
# How long a finished call's hash is kept (also in END_CALL's Lua): late events still find it,
# and Redis does not grow with every call the center ever took.
FINISHED_CALL_TTL_S = 86_400

log = logging.getLogger("callcenter.acd")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _day(ms: int | None = None) -> str:
    """The UTC day of a time (now by default): the queues' counters are kept per day."""
    return time.strftime("%Y-%m-%d", time.gmtime((ms if ms is not None else _now_ms()) / 1000))


# After an offer fails, as mod_callcenter does: busy (or congestion) and rejected offers delay
# the agent by their busy/reject delay; a phone that is not registered is left alone 5 s, so an
# agent logged in without a phone does not spin; anything else is a missed offer, counted
# towards max-no-answer and followed by the no-answer delay.
_DELAY_BY_CAUSE = {
    "USER_BUSY": "busy_delay_ms",
    "NORMAL_CIRCUIT_CONGESTION": "busy_delay_ms",
    "CALL_REJECTED": "reject_delay_ms",
}
_NOT_REGISTERED_DELAY_MS = 5000

# A number a callback may dial: digits, optionally a leading +, nothing an attacker could turn
# into another dial string or command.
CALLBACK_NUMBER = re.compile(r"\+?[0-9]{3,20}")

# An agent's contact goes into an originate command as is: one dial string, nothing that could
# end it or start another (no spaces, braces, quotes, commas, control characters).
CONTACT = re.compile(r"[^\s{}',\x00-\x1f]+")


def _check_contact(agent: str, contact: str) -> None:
    if not CONTACT.fullmatch(contact):
        raise ValueError(
            f"agent {agent!r}: contact {contact!r} is not one dial string (e.g. user/1000@default)"
        )


class AcdStore:
    def __init__(
        self,
        redis: Redis,
        tenant: str,
        *,
        reserve_seconds: float = 30.0,
        controller_id: str | None = None,
    ) -> None:
        self.redis = redis
        self.keys = Keys(tenant)
        # Who makes the offers this store reserves (a controller process); its heartbeat key
        # tells the others whether it is alive.
        self.controller_id = controller_id or uuid.uuid4().hex[:12]
        self.reserve_ms = int(reserve_seconds * 1000)
        self._set_status = redis.register_script(SET_STATUS)
        self._reserve = redis.register_script(RESERVE)
        self._enqueue = redis.register_script(ENQUEUE)
        self._end_call = redis.register_script(END_CALL)
        self._answer = redis.register_script(ANSWER)

    # -- configuration --------------------------------------------------------------------------

    async def put_queue(self, queue: QueueConfig) -> None:
        k = self.keys
        await self.redis.hset(
            k.queue(queue.name),
            mapping={
                "strategy": queue.strategy.value,
                "wrap_up_ms": round(queue.wrap_up_seconds * 1000),
                "max_no_answer": queue.max_no_answer,
                "priority_weight_ms": round(queue.priority_weight_seconds * 1000),
                "service_level_ms": round(queue.service_level_seconds * 1000),
                "max_wait_ms": round(queue.max_wait_seconds * 1000),
                "max_wait_no_agent_ms": round(queue.max_wait_no_agent_seconds * 1000),
                "overflow": queue.overflow,
                "exit_key": queue.exit_key,
                "announce_ms": round(queue.announce_seconds * 1000),
                "announce_position": int(queue.announce_position),
                "announce_wait": int(queue.announce_wait),
                "ring_progressively_delay_ms": round(queue.ring_progressively_delay_seconds * 1000),
            },
        )
        await self.redis.sadd(k.queues, queue.name)

    async def queue_config(self, name: str) -> QueueConfig:
        data = await self.redis.hgetall(self.keys.queue(name))
        if not data:
            raise UnknownQueueError(name)
        return QueueConfig(
            name=name,
            strategy=Strategy(data[b"strategy"].decode()),
            wrap_up_seconds=int(data[b"wrap_up_ms"]) / 1000,
            max_no_answer=int(data[b"max_no_answer"]),
            priority_weight_seconds=int(data[b"priority_weight_ms"]) / 1000,
            service_level_seconds=int(data[b"service_level_ms"]) / 1000,
            max_wait_seconds=int(data.get(b"max_wait_ms", b"0")) / 1000,
            max_wait_no_agent_seconds=int(data.get(b"max_wait_no_agent_ms", b"0")) / 1000,
            overflow=data.get(b"overflow", b"").decode(),
            exit_key=data.get(b"exit_key", b"").decode(),
            # A queue stored before announcements existed loads with their defaults.
            announce_seconds=int(data.get(b"announce_ms", b"0")) / 1000,
            announce_position=data.get(b"announce_position", b"1") != b"0",
            announce_wait=data.get(b"announce_wait", b"1") != b"0",
            ring_progressively_delay_seconds=int(data.get(b"ring_progressively_delay_ms", b"10000"))
            / 1000,
        )

    async def put_agent(
        self,
        agent: str,
        contact: str,
        skills: Mapping[str, int] | None = None,
        *,
        reject_delay: float = 0.0,
        busy_delay: float = 0.0,
        no_answer_delay: float = 0.0,
    ) -> None:
        """Add or update an agent. An existing agent keeps their state: a reload logs nobody out.

        The delays (seconds) keep an agent out of offers after they rejected one, were busy,
        or did not answer, as mod_callcenter's agent parameters of the same names.
        """
        _check_contact(agent, contact)
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(k.agents, agent)
            if skills:
                pipe.sadd(k.skills, *skills)
            pipe.hset(
                k.agent(agent),
                mapping={
                    "contact": contact,
                    "reject_delay_ms": int(reject_delay * 1000),
                    "busy_delay_ms": int(busy_delay * 1000),
                    "no_answer_delay_ms": int(no_answer_delay * 1000),
                },
            )
            pipe.hsetnx(k.agent(agent), "status", AgentStatus.LOGGED_OUT.value)
            pipe.delete(k.agent_skills(agent))
            if skills:
                pipe.hset(k.agent_skills(agent), mapping=dict(skills))
            await pipe.execute()

    async def put_tier(self, queue: str, agent: str, level: int = 1, position: int = 1) -> None:
        k = self.keys
        if not await self.redis.sismember(k.queues, queue):
            raise UnknownQueueError(queue)
        if not await self.redis.sismember(k.agents, agent):
            raise UnknownAgentError(agent)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(k.queue_tiers(queue), agent, f"{level}:{position}")
            pipe.sadd(k.agent_queues(agent), queue)
            await pipe.execute()
        # Re-place the agent in the queue's idle set if they are available now.
        if await self.status(agent) is AgentStatus.AVAILABLE:
            await self._transition(agent, AgentStatus.AVAILABLE, expected="available")

    # -- agent states ---------------------------------------------------------------------------

    async def status(self, agent: str) -> AgentStatus:
        value = await self.redis.hget(self.keys.agent(agent), "status")
        if value is None:
            raise UnknownAgentError(agent)
        return AgentStatus(value.decode())

    async def agent(self, agent: str) -> dict[str, str]:
        data = await self.redis.hgetall(self.keys.agent(agent))
        if not data:
            raise UnknownAgentError(agent)
        return {key.decode(): value.decode() for key, value in data.items()}

    async def _transition(
        self,
        agent: str,
        status: AgentStatus,
        *,
        expected: str = "",
        fields: Mapping[str, str | int] | None = None,
    ) -> AgentStatus:
        args: list[str | int | float] = [
            agent,
            status.value,
            _now_ms(),
            random.randint(0, 10**12),
            expected,
        ]
        for name, value in (fields or {}).items():
            args += [name, value]
        try:
            previous = await self._set_status(keys=[self.keys.base], args=args)
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("UNKNOWN_AGENT"):
                raise UnknownAgentError(agent) from exc
            if text.startswith("WRONG_STATE"):
                raise WrongAgentStateError(
                    f"agent {agent!r} cannot go {status.value}: {text.split(' ', 1)[1]}"
                ) from exc
            raise
        return AgentStatus(previous.decode() if isinstance(previous, bytes) else previous)

    async def login(self, agent: str, contact: str | None = None) -> None:
        """Log in (on break until ready, as agents do when they sit down)."""
        fields: dict[str, str | int] = {"reason": "login", "no_answer": 0}
        if contact:
            _check_contact(agent, contact)
            fields["contact"] = contact
        await self._transition(agent, AgentStatus.ON_BREAK, expected="logged_out", fields=fields)

    async def ready(self, agent: str) -> None:
        """Available for calls now (also ends a wrap-up or a delay early)."""
        await self._transition(
            agent,
            AgentStatus.AVAILABLE,
            expected="on_break,wrap_up,available",
            fields={"reason": "", "ready_at": ""},
        )

    async def take_break(self, agent: str, reason: str = "break") -> None:
        await self._transition(
            agent,
            AgentStatus.ON_BREAK,
            expected="available,on_break,wrap_up",
            fields={"reason": reason},
        )

    async def logout(self, agent: str) -> None:
        await self._transition(
            agent,
            AgentStatus.LOGGED_OUT,
            expected="available,on_break,wrap_up,logged_out",
            fields={"reason": ""},
        )

    # -- calls ----------------------------------------------------------------------------------

    async def _call_event(self, call_id: str, state: str, **fields: str | int) -> None:
        """A call's change on the event Stream."""
        await self._queue_call_event(self.redis, call_id, state, **fields)

    def _queue_call_event(
        self, target: Redis | Pipeline, call_id: str, state: str, **fields: str | int
    ) -> Any:
        """The Stream entry of a call's change, sent by ``target``: queued on a pipeline, or
        the awaitable of a client."""
        return self._event(target, {"type": "call", "call": call_id, "state": state, **fields})

    async def append_event(self, kind: str, **fields: str | int) -> None:
        """An entry of another kind on the Stream (a CDR leg, a recording started)."""
        await self._event(self.redis, {"type": kind, **fields})

    def _event(self, target: Redis | Pipeline, data: dict[str, str | int]) -> Any:
        """Every entry the store writes: stamped with its time, the Stream capped."""
        data.setdefault("ts", _now_ms())
        return target.xadd(self.keys.events, data, maxlen=STREAM_MAXLEN, approximate=True)

    async def enqueue(self, call: WaitingCall) -> bool:
        """Put a caller in the queue; priority moves them ahead by ``priority_weight`` each.

        Idempotent: several controllers see the same CHANNEL_PARK, only the first enqueues
        (False for the others), so a call being offered is never put back by a late duplicate.
        """
        needs = dict(call.skills)
        if needs:
            # A skill no agent has would keep the caller waiting for ever: serve them without
            # it, and say so.
            known = await self.redis.smismember(self.keys.skills, list(needs))
            unknown = [name for name, have in zip(needs, known, strict=True) if not have]
            if unknown:
                log.warning("queue_unknown_skill call=%s queue=%s skills=%s", call.call_id,
                            call.queue, ",".join(unknown))  # fmt: skip
                for name in unknown:
                    del needs[name]
        skills = ",".join(f"{s}={lvl}" for s, lvl in sorted(needs.items()))
        try:
            done = await self._enqueue(
                keys=[self.keys.base],
                args=[
                    call.call_id,
                    call.queue,
                    call.enqueued_ms or _now_ms(),
                    call.priority,
                    call.caller_number,
                    call.caller_name,
                    skills,
                    call.node,
                    _day(),
                    call.did,
                    call.campaign,
                ],
            )
        except ResponseError as exc:
            if str(exc).startswith("UNKNOWN_QUEUE"):
                raise UnknownQueueError(call.queue) from exc
            raise
        return bool(done)

    async def waiting(self, queue: str) -> list[str]:
        return [c.decode() for c in await self.redis.zrange(self.keys.queue_calls(queue), 0, -1)]

    async def reserve(
        self, queue: str, *, ring_all_limit: int = 50, more_for: str = ""
    ) -> list[Offer]:
        """Match the best waiting call with the best available agent, atomically.

        Returns no offer when nobody can be matched, one offer, or (ring-all) one offer per
        agent rung for the same call. ``more_for``: one more agent for this call, if it is still
        being offered (ring-progressively adds a phone while the first ones ring on).
        """
        try:
            result = await self._reserve(
                keys=[self.keys.base],
                args=[
                    queue,
                    _now_ms(),
                    self.reserve_ms,
                    ring_all_limit,
                    10,
                    200,
                    self.controller_id,
                    more_for,
                ],
            )
        except ResponseError as exc:
            if str(exc).startswith("UNKNOWN_QUEUE"):
                raise UnknownQueueError(queue) from exc
            raise
        if not result:
            return []
        call, node, number, name, enqueued, strategy, callback = (
            item.decode() for item in result[:7]
        )
        return [
            Offer(
                call,
                queue,
                result[i].decode(),
                result[i + 1].decode(),
                node=node,
                caller_number=number,
                caller_name=name,
                enqueued_ms=int(enqueued or 0),
                strategy=strategy,
                callback=callback == "1",
            )
            for i in range(7, len(result), 2)
        ]

    async def answered(self, offer: Offer) -> None:
        """The agent picked up: on call (refused unless they are still reserved for the call)."""
        try:
            await self._answer(
                keys=[self.keys.base],
                args=[
                    offer.agent,
                    offer.call_id,
                    _now_ms(),
                    offer.queue,
                    offer.enqueued_ms,
                    _day(),
                ],
            )
        except ResponseError as exc:
            if str(exc).startswith("WRONG_STATE"):
                raise WrongAgentStateError(str(exc).split(" ", 1)[1]) from exc
            raise

    async def bridged(self, offer: Offer) -> None:
        """Caller and agent talk: from here on a hangup of either ends the call."""
        now = _now_ms()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.call(offer.call_id), "bridged_ms", now)
            self._queue_call_event(
                pipe, offer.call_id, "bridged", queue=offer.queue, agent=offer.agent, ts=now
            )
            await pipe.execute()

    async def answer_lost(self, agent: str, call_id: str) -> bool:
        """The agent's leg went away between their answer and the bridge (they hung up at once):
        the caller goes back to their place in line. For the agent it counts as an unanswered
        offer, so a phone that always does this ends on break instead of taking every caller.

        Returns True when the agent reached the queue's max-no-answer and went on break.
        """
        return await self._missed(
            agent, call_id, "ANSWER_LOST", expected="on_call", from_state="answered"
        )

    async def not_answered(
        self, agent: str, call_id: str, cause: str = "NO_ANSWER", *, requeue: bool = True
    ) -> bool:
        """The offer failed (``cause``: NO_ANSWER, USER_BUSY, CALL_REJECTED...). The caller
        keeps their place; the agent waits out the delay the cause calls for.

        Returns True when the agent reached the queue's max-no-answer and went on break.
        """
        return await self._missed(
            agent,
            call_id,
            cause,
            expected=f"reserved@{call_id}",
            from_state="offering" if requeue else "",
        )

    async def _missed(
        self, agent: str, call_id: str, cause: str, *, expected: str, from_state: str
    ) -> bool:
        data = await self.agent(agent)
        queue = (await self.redis.hget(self.keys.call(call_id), "queue") or b"").decode()
        limit = (await self.queue_config(queue)).max_no_answer if queue else 3
        misses = int(data.get("no_answer", "0"))
        if cause == "USER_NOT_REGISTERED":
            delay = _NOT_REGISTERED_DELAY_MS
        elif cause in _DELAY_BY_CAUSE:
            delay = int(data.get(_DELAY_BY_CAUSE[cause], "0") or 0)
        else:
            misses += 1
            delay = int(data.get("no_answer_delay_ms", "0") or 0)
        to_break = limit > 0 and misses >= limit
        await self._transition(
            agent,
            AgentStatus.ON_BREAK if to_break else AgentStatus.AVAILABLE,
            expected=expected,
            fields={
                "reserved_for": "",
                "reserved_until": "",
                "call": "",
                "no_answer": misses,
                "reason": "no answer" if to_break else "",
                "ready_at": _now_ms() + delay if delay else "",
                "last_miss": cause,
            },
        )
        if from_state:
            await self.requeue(call_id, from_state=from_state)
        return to_break

    async def release(self, agent: str, call_id: str) -> None:
        """Cancel a reservation without blaming the agent (the offer could not be made)."""
        await self._transition(
            agent,
            AgentStatus.AVAILABLE,
            expected=f"reserved@{call_id}",
            fields={"reserved_for": "", "reserved_until": ""},
        )
        await self.requeue(call_id)

    async def heartbeat(self, lease_seconds: float) -> None:
        """This controller is alive for ``lease_seconds`` more."""
        await self.redis.set(
            self.keys.controller(self.controller_id), _now_ms(), px=int(lease_seconds * 1000)
        )

    async def expired_reservations(self, *, judge_owners: bool = True) -> list[tuple[str, str]]:
        """(agent, call) of offers nobody will settle: past their time, or (``judge_owners``)
        their controller stopped its heartbeat (killed, crashed, cut off)."""
        now = _now_ms()
        out = []
        for raw, until in await self.redis.zrange(self.keys.reservations, 0, -1, withscores=True):
            agent = raw.decode()
            fields = await self.redis.hmget(self.keys.agent(agent), "reserved_for", "reserved_by")
            call = (fields[0] or b"").decode()
            owner = (fields[1] or b"").decode()
            past = until <= now
            if past or (
                judge_owners
                and not (owner and await self.redis.exists(self.keys.controller(owner)))
            ):
                out.append((agent, call))
        return out

    async def reclaim(self, agent: str, call_id: str) -> bool:
        """Take back an expired offer (its controller died): agent free, caller back in line.

        False when someone else already settled it.
        """
        try:
            await self.release(agent, call_id)
        except WrongAgentStateError:
            await self.redis.zrem(self.keys.reservations, agent)
            return False
        return True

    async def overdue(self, queue: str, max_wait_seconds: float, *, since_ms: int = 0) -> list[str]:
        """Waiting calls of a queue that have waited longer than ``max_wait_seconds`` (counted
        from ``since_ms`` for those who came earlier). Callback requests are not: their caller
        is not on the line."""
        limit = _now_ms() - int(max_wait_seconds * 1000)
        calls = [
            raw.decode() for raw in await self.redis.zrange(self.keys.queue_calls(queue), 0, -1)
        ]
        async with self.redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.hmget(self.keys.call(call), "enqueued_ms", "callback")
            rows = await pipe.execute()
        return [
            call
            for call, (enqueued, callback) in zip(calls, rows, strict=True)
            if enqueued is not None and callback != b"1" and max(int(enqueued), since_ms) <= limit
        ]

    async def agentless_since(self, queue: str) -> int | None:
        """Since when (ms) no agent of the queue has been logged in; None while one is."""
        agents = [raw.decode() for raw in await self.redis.hkeys(self.keys.queue_tiers(queue))]
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent in agents:
                pipe.hget(self.keys.agent(agent), "status")
            statuses = await pipe.execute()
        key = self.keys.queue(queue)
        if any(status not in (None, b"logged_out") for status in statuses):
            await self.redis.hdel(key, "agentless_since")
            return None
        await self.redis.hsetnx(key, "agentless_since", _now_ms())
        return int(await self.redis.hget(key, "agentless_since") or 0)

    async def take_out(
        self, call_id: str, state: str, *, finished: bool = True, **fields: str | int
    ) -> bool:
        """Take a waiting call out of its queue. True only for the one caller that did it, so
        two controllers never both overflow or both call back the same caller. ``finished``:
        the ACD is done with the call (its hash expires); False when it waits on elsewhere."""
        queue = (await self.redis.hget(self.keys.call(call_id), "queue") or b"").decode()
        if not queue or not await self.redis.zrem(self.keys.queue_calls(queue), call_id):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.call(call_id), "state", state)
            if finished:
                pipe.expire(self.keys.call(call_id), FINISHED_CALL_TTL_S)
            self._queue_call_event(pipe, call_id, state, queue=queue, **fields)
            await pipe.execute()
        return True

    async def move(
        self,
        call_id: str,
        to_queue: str,
        *,
        state: str = "overflowed",
        keep_skills: bool = True,
        **fields: str | int,
    ) -> bool:
        """Move a waiting caller to another queue, keeping the time they have waited: an
        overflow, or a supervisor's move (``state="moved"``). False when the call is not
        waiting (being offered to an agent, gone). ``keep_skills=False``: the skills the first
        queue asked for are dropped (the new queue's agents may have none of them)."""
        target = await self.queue_config(to_queue)
        data = await self.redis.hgetall(self.keys.call(call_id))
        if not data or not await self.take_out(
            call_id, state, finished=False, to=to_queue, **fields
        ):
            return False
        enqueued = int(data[b"enqueued_ms"])
        score = enqueued - int(int(data[b"priority"]) * target.priority_weight_seconds * 1000)
        key = self.keys.call(call_id)
        origin = data[b"queue"].decode()
        # A callback request is listed with its queue's requests (``callbacks``): it moves too.
        callback = data.get(b"callback") == b"1"
        requested = None
        if callback:
            requested = await self.redis.zscore(self.keys.callbacks(origin), call_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"queue": to_queue, "state": "waiting", "score": score})
            if not keep_skills:
                pipe.hset(key, "skills", "")
            pipe.zadd(self.keys.queue_calls(to_queue), {call_id: score})
            if callback:
                pipe.zrem(self.keys.callbacks(origin), call_id)
                pipe.zadd(self.keys.callbacks(to_queue), {call_id: requested or _now_ms()})
            self._queue_call_event(pipe, call_id, "waiting", queue=to_queue, came_from=origin)
            await pipe.execute()
        return True

    async def request_callback(self, call_id: str, *, not_before_seconds: float = 5.0) -> bool:
        """The caller chose to be called back: they keep their place in line, and when it is
        their turn an agent is rung first, then their number. False if the call is not waiting
        (being offered already, gone) or has no number to call back.

        ``not_before_seconds``: not offered sooner, so that the callback does not ring while
        the caller still hears the goodbye prompt.
        """
        data = await self.redis.hgetall(self.keys.call(call_id))
        number = data.get(b"caller_number", b"").decode()
        if data.get(b"state") != b"waiting" or not CALLBACK_NUMBER.fullmatch(number):
            return False
        now = _now_ms()
        queue = data[b"queue"].decode()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.call(call_id),
                mapping={
                    "callback": 1,
                    "callback_attempts": 0,
                    "not_before": now + int(not_before_seconds * 1000),
                },
            )
            pipe.zadd(self.keys.callbacks(queue), {call_id: now})
            self._queue_call_event(pipe, call_id, "callback_requested", queue=queue, number=number)
            await pipe.execute()
        return True

    async def callback_missed(
        self,
        agent: str,
        call_id: str,
        *,
        max_attempts: int = 3,
        retry_seconds: float = 300.0,
    ) -> bool:
        """The customer did not answer the callback: the agent is free again (it was not their
        miss); the request keeps its place and is tried again after ``retry_seconds``, until
        ``max_attempts`` tries have failed. Returns True if it will be tried again."""
        await self._transition(
            agent, AgentStatus.AVAILABLE, expected="on_call", fields={"call": ""}
        )
        data = await self.redis.hgetall(self.keys.call(call_id))
        if data.get(b"state") != b"answered":
            return False
        queue = data[b"queue"].decode()
        attempts = int(data.get(b"callback_attempts", b"0")) + 1
        # The state and its Stream entry in one transaction: whoever sees the new state (a
        # supervisor page, the resync) finds its entry there too, and a crash loses neither.
        async with self.redis.pipeline(transaction=True) as pipe:
            if attempts >= max_attempts:
                pipe.hset(
                    self.keys.call(call_id),
                    mapping={"state": "callback_failed", "callback_attempts": attempts},
                )
                pipe.expire(self.keys.call(call_id), FINISHED_CALL_TTL_S)
                pipe.zrem(self.keys.callbacks(queue), call_id)
                self._queue_call_event(
                    pipe, call_id, "callback_failed", queue=queue, attempts=attempts
                )
                await pipe.execute()
                return False
            pipe.hset(
                self.keys.call(call_id),
                mapping={
                    "state": "waiting",
                    "callback_attempts": attempts,
                    "not_before": _now_ms() + int(retry_seconds * 1000),
                },
            )
            pipe.zadd(self.keys.queue_calls(queue), {call_id: int(data[b"score"])})
            self._queue_call_event(pipe, call_id, "callback_retry", queue=queue, attempts=attempts)
            await pipe.execute()
        return True

    async def callback_connected(self, call_id: str, customer_leg: str) -> None:
        """The customer answered the callback: the request is done; their leg is the call's
        live channel from now on."""
        data = await self.redis.hmget(self.keys.call(call_id), "queue")
        queue = (data[0] or b"").decode()
        await self.redis.hset(self.keys.call(call_id), "customer_leg", customer_leg)
        await self.redis.zrem(self.keys.callbacks(queue), call_id)

    async def callbacks(self, queue: str) -> list[dict[str, str]]:
        """Callback requests of a queue, oldest first (number, name, when)."""
        out = []
        for raw, when in await self.redis.zrange(
            self.keys.callbacks(queue), 0, -1, withscores=True
        ):
            data = await self.redis.hgetall(self.keys.call(raw.decode()))
            out.append(
                {
                    "call": raw.decode(),
                    "number": data.get(b"caller_number", b"").decode(),
                    "name": data.get(b"caller_name", b"").decode(),
                    "requested_ms": str(int(when)),
                }
            )
        return out

    async def requeue(self, call_id: str, *, from_state: str = "offering") -> None:
        """Back in the queue with the original score (the caller keeps their place)."""
        data = await self.redis.hgetall(self.keys.call(call_id))
        if not data or data.get(b"state") != from_state.encode():
            return
        # Ring-all: while another agent's phone still rings for this call, it stays offered.
        for other in data.get(b"agents", b"").decode().split(","):
            if other and await self.redis.hget(self.keys.agent(other), "reserved_for") == (
                call_id.encode()
            ):
                return
        queue = data[b"queue"].decode()
        await self.redis.hset(self.keys.call(call_id), "state", "waiting")
        await self.redis.zadd(self.keys.queue_calls(queue), {call_id: int(data[b"score"])})

    async def abandon(self, call_id: str) -> list[str]:
        """The caller hung up while waiting or ringing: out of the queue, agents released."""
        data = await self.redis.hgetall(self.keys.call(call_id))
        if not data:
            return []
        queue = data[b"queue"].decode()
        await self.redis.zrem(self.keys.queue_calls(queue), call_id)
        await self.redis.hset(self.keys.call(call_id), "state", "abandoned")
        await self.redis.expire(self.keys.call(call_id), FINISHED_CALL_TTL_S)
        # Read the offered agents only now: an offer made while we were marking the call is
        # then seen too (its controller also checks the state after ringing).
        agents = (await self.redis.hget(self.keys.call(call_id), "agents") or b"").decode()
        released = [a for a in agents.split(",") if a and await self.cancel_offer(a, call_id)]
        wait = _now_ms() - int(data.get(b"enqueued_ms", b"0") or 0)
        await self._call_event(call_id, "abandoned", queue=queue, wait_ms=wait)
        level = await self.redis.hget(self.keys.queue(queue), "service_level_ms")
        stats = self.keys.queue_stats(queue, _day())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(stats, "abandoned", 1)
            if wait <= int(level or 20_000):
                pipe.hincrby(stats, "abandoned_in_sl", 1)  # gave up early: not held against SL
            pipe.expire(stats, 40 * 86400)
            await pipe.execute()
        return released

    async def cancel_offer(self, agent: str, call_id: str) -> bool:
        """Free an agent reserved for this call (the caller left); False if not reserved for it."""
        try:
            await self._transition(
                agent,
                AgentStatus.AVAILABLE,
                expected=f"reserved@{call_id}",
                fields={"reserved_for": "", "reserved_until": ""},
            )
        except WrongAgentStateError:
            return False
        return True

    async def hung_up(self, call_id: str, agent: str = "", *, only_bridged: bool = False) -> bool:
        """The call ended: the agent to wrap-up for the queue's time, talk time and calls counted.

        ``agent``: only if the call is this agent's ('' = whoever took it). Only the first of the
        two hangups (caller, agent) counts: False for the second, and for a call nobody answered.
        ``only_bridged``: only once caller and agent were bridged (an agent's leg that ends
        before the bridge is the offer's business, see ``answer_lost``).
        """
        done = await self._end_call(
            keys=[self.keys.base],
            args=[
                agent,
                call_id,
                _now_ms(),
                random.randint(0, 10**12),
                "bridged" if only_bridged else "",
                _day(),
            ],
        )
        return bool(done)

    async def finish_wrap_ups(self) -> list[str]:
        """Agents whose wrap-up time or offer delay is over become available again (called by
        the controller's tick)."""
        now = _now_ms()
        done = []
        for key, expected in ((self.keys.wrap_up, "wrap_up"), (self.keys.delayed, "available")):
            for raw in await self.redis.zrangebyscore(key, 0, now):
                agent = raw.decode()
                try:
                    await self._transition(
                        agent, AgentStatus.AVAILABLE, expected=expected, fields={"ready_at": ""}
                    )
                    done.append(agent)
                except WrongAgentStateError:
                    await self.redis.zrem(key, agent)
        return done

    async def queue_stats(self, queue: str, day: str | None = None) -> dict[str, float]:
        """A queue's figures for one UTC day (today by default): offered, answered,
        answered_in_sl, abandoned, abandoned_in_sl, ended, wait_ms, talk_ms, and

        - ``service_level``: % of calls answered within the queue's threshold, out of those
          answered plus those abandoned after the threshold (a caller who gives up sooner is
          not held against the queue), 100 when there is none yet;
        - ``avg_wait_s`` (answered calls) and ``avg_talk_s`` (ended calls).
        """
        await self.queue_config(queue)  # unknown queue: a clear error
        raw = await self.redis.hgetall(self.keys.queue_stats(queue, day or _day()))
        names = ("offered", "answered", "answered_in_sl", "abandoned", "abandoned_in_sl",
                 "ended", "wait_ms", "talk_ms")  # fmt: skip
        out: dict[str, float] = {name: float(raw.get(name.encode(), b"0")) for name in names}
        counted = out["answered"] + out["abandoned"] - out["abandoned_in_sl"]
        out["service_level"] = 100.0 * out["answered_in_sl"] / counted if counted else 100.0
        out["avg_wait_s"] = out["wait_ms"] / 1000 / out["answered"] if out["answered"] else 0.0
        out["avg_talk_s"] = out["talk_ms"] / 1000 / out["ended"] if out["ended"] else 0.0
        return out

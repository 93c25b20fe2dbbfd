"""The live picture of a tenant's ACD, read from Redis: agents with their state and time in it,
queues with their waiting callers, longest wait and today's figures, calls in progress.

What the wallboard, the agent desktop and ``callcenter queue status`` show. Read-only: states
change through ``AcdStore``.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from callcenter.acd.errors import UnknownAgentError
from callcenter.acd.store import AcdStore

__all__ = [
    "AgentLive",
    "LiveCall",
    "QueueLive",
    "agent_live",
    "agents_live",
    "live_call",
    "queues_live",
]


class AgentLive(BaseModel):
    id: str
    status: str
    reason: str = ""
    # When the agent entered the state (epoch ms; 0: never changed since configured).
    since_ms: int = 0
    seconds_in_state: float = 0.0
    call: str = ""  # the call they are offered or on
    contact: str = ""
    queues: list[str] = []


class LiveCall(BaseModel):
    call: str
    queue: str
    state: str
    caller_number: str = ""
    caller_name: str = ""
    enqueued_ms: int = 0
    wait_seconds: float = 0.0
    agent: str = ""
    node: str = ""
    did: str = ""  # the number the caller dialed
    campaign: str = ""  # its label (which advert)
    callback: bool = False  # a callback request: the caller hung up and waits to be called


class QueueLive(BaseModel):
    name: str
    strategy: str
    service_level_seconds: float
    waiting: int
    longest_wait_seconds: float
    agents: dict[str, int]  # status -> how many of the queue's agents
    # Today (UTC): offered, answered, abandoned, service_level (%), avg_wait_s, avg_talk_s...
    today: dict[str, float]
    waiting_calls: list[LiveCall] = []


def _text(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


def _agent_from(agent: str, data: dict[bytes, bytes], queues: list[str], now_ms: int) -> AgentLive:
    since = int(data.get(b"since", b"0") or 0)
    return AgentLive(
        id=agent,
        status=_text(data.get(b"status")) or "logged_out",
        reason=_text(data.get(b"reason")),
        since_ms=since,
        seconds_in_state=max(0.0, (now_ms - since) / 1000) if since else 0.0,
        call=_text(data.get(b"call")),
        contact=_text(data.get(b"contact")),
        queues=sorted(queues),
    )


async def agents_live(store: AcdStore) -> list[AgentLive]:
    """Every agent of the tenant, by id."""
    names = sorted(a.decode() for a in await store.redis.smembers(store.keys.agents))
    async with store.redis.pipeline(transaction=False) as pipe:
        for agent in names:
            pipe.hgetall(store.keys.agent(agent))
            pipe.smembers(store.keys.agent_queues(agent))
        replies = await pipe.execute()
    now = int(time.time() * 1000)
    out = []
    for n, agent in enumerate(names):
        data, queues = replies[2 * n], replies[2 * n + 1]
        if data:
            out.append(_agent_from(agent, data, [q.decode() for q in queues], now))
    return out


async def agent_live(store: AcdStore, agent: str) -> AgentLive:
    data = await store.redis.hgetall(store.keys.agent(agent))
    if not data:
        raise UnknownAgentError(agent)
    queues = await store.redis.smembers(store.keys.agent_queues(agent))
    return _agent_from(agent, data, [q.decode() for q in queues], int(time.time() * 1000))


async def _call(store: AcdStore, call: str, now_ms: int) -> LiveCall | None:
    data = await store.redis.hgetall(store.keys.call(call))
    if not data:
        return None
    enqueued = int(data.get(b"enqueued_ms", b"0") or 0)
    return LiveCall(
        call=call,
        queue=_text(data.get(b"queue")),
        state=_text(data.get(b"state")),
        caller_number=_text(data.get(b"caller_number")),
        caller_name=_text(data.get(b"caller_name")),
        enqueued_ms=enqueued,
        wait_seconds=max(0.0, (now_ms - enqueued) / 1000) if enqueued else 0.0,
        agent=_text(data.get(b"agent")),
        node=_text(data.get(b"node")),
        did=_text(data.get(b"did")),
        campaign=_text(data.get(b"campaign")),
        callback=data.get(b"callback") == b"1",
    )


async def live_call(store: AcdStore, call: str) -> LiveCall | None:
    return await _call(store, call, int(time.time() * 1000))


async def queues_live(store: AcdStore, *, with_calls: bool = False) -> list[QueueLive]:
    """Every queue of the tenant, by name."""
    names = sorted(q.decode() for q in await store.redis.smembers(store.keys.queues))
    agents = {a.id: a for a in await agents_live(store)}
    now = int(time.time() * 1000)
    out = []
    for name in names:
        config = await store.queue_config(name)
        members = await store.redis.hkeys(store.keys.queue_tiers(name))
        counts: dict[str, int] = {}
        for raw in members:
            agent = agents.get(raw.decode())
            if agent is not None:
                counts[agent.status] = counts.get(agent.status, 0) + 1
        calls = [
            found
            for call in await store.waiting(name)
            if (found := await _call(store, call, now)) is not None
        ]
        out.append(
            QueueLive(
                name=name,
                strategy=config.strategy.value,
                service_level_seconds=config.service_level_seconds,
                waiting=len(calls),
                longest_wait_seconds=max((c.wait_seconds for c in calls), default=0.0),
                agents=counts,
                today=await store.queue_stats(name),
                waiting_calls=calls if with_calls else [],
            )
        )
    return out

"""Taking out of Redis what the center file no longer has: tiers, agents, queues.

``prune`` runs after ``AcdConfig.apply`` (at start and on each reload), so Redis holds what the
file says. Nothing that serves a caller is cut short:

- a tier goes at once (the agent gets no more offers of that queue; a call they are on goes on);
- an agent goes once logged out; one still logged in only loses their tiers (no more offers)
  and goes at the next prune after they log out;
- a queue goes once nobody waits in it (callback requests wait in it too) and none of its calls
  is being offered or answered (either could put a caller back in line); its settings stay
  readable for the calls it has served (wrap-up, statistics), and ``put_queue`` of the same
  name brings it back.

What is kept for later goes at the next prune (the next reload or start), not by itself: a
controller running an older file must not take out what another one has just added.

Each step is one Lua script, atomic with the ACD's own scripts (an agent cannot log in between
the check and the removal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.acd.store import AcdStore

if TYPE_CHECKING:
    from callcenter.acd.config import AcdConfig

__all__ = ["Pruned", "prune", "remove_agent", "remove_queue", "remove_tier"]

log = logging.getLogger("callcenter.acd")

_REMOVE_TIER = r"""
local base, queue, agent = KEYS[1], ARGV[1], ARGV[2]
local q = base .. ':queue:' .. queue
redis.call('HDEL', q .. ':tiers', agent)
redis.call('ZREM', q .. ':idle', agent)
redis.call('SREM', base .. ':agent:' .. agent .. ':queues', queue)
return 1
"""

# 1: removed; 0: still logged in (their tiers are gone, the agent stays).
_REMOVE_AGENT = r"""
local base, agent = KEYS[1], ARGV[1]
local a = base .. ':agent:' .. agent
for _, queue in ipairs(redis.call('SMEMBERS', a .. ':queues')) do
  redis.call('HDEL', base .. ':queue:' .. queue .. ':tiers', agent)
  redis.call('ZREM', base .. ':queue:' .. queue .. ':idle', agent)
end
redis.call('DEL', a .. ':queues')
local status = redis.call('HGET', a, 'status') or 'logged_out'
if status ~= 'logged_out' then
  return 0
end
redis.call('DEL', a, a .. ':skills')
redis.call('SREM', base .. ':agents', agent)
return 1
"""

# 1: removed; 0: callers still wait in it, or one of its calls is being offered or answered
# (an offer nobody answers, or an agent who hangs up at once, puts the caller back in line).
_REMOVE_QUEUE = r"""
local base, queue = KEYS[1], ARGV[1]
local q = base .. ':queue:' .. queue
if redis.call('ZCARD', q .. ':calls') > 0 then
  return 0
end
for _, agent in ipairs(redis.call('SMEMBERS', base .. ':agents')) do
  local a = base .. ':agent:' .. agent
  for _, call in ipairs(redis.call('HMGET', a, 'reserved_for', 'call')) do
    if call and call ~= '' and
        redis.call('HGET', base .. ':call:' .. call, 'queue') == queue then
      return 0
    end
  end
end
for _, agent in ipairs(redis.call('HKEYS', q .. ':tiers')) do
  redis.call('SREM', base .. ':agent:' .. agent .. ':queues', queue)
end
redis.call('DEL', q .. ':tiers', q .. ':idle')
redis.call('SREM', base .. ':queues', queue)
return 1
"""


async def remove_tier(store: AcdStore, queue: str, agent: str) -> None:
    await store.redis.eval(_REMOVE_TIER, 1, store.keys.base, queue, agent)


async def remove_agent(store: AcdStore, agent: str) -> bool:
    """False when the agent is still logged in (only their tiers went)."""
    return bool(await store.redis.eval(_REMOVE_AGENT, 1, store.keys.base, agent))


async def remove_queue(store: AcdStore, queue: str) -> bool:
    """False when callers still wait in the queue or one of its calls is being offered or
    answered (nothing changed)."""
    return bool(await store.redis.eval(_REMOVE_QUEUE, 1, store.keys.base, queue))


@dataclass
class Pruned:
    """What a prune took out, and what it left for later (still in use)."""

    queues: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)  # "queue/agent"
    kept: list[str] = field(default_factory=list)  # "queue support: 2 waiting", ...

    def __bool__(self) -> bool:
        return bool(self.queues or self.agents or self.tiers or self.kept)


def _names(raw: set[bytes]) -> set[str]:
    return {item.decode() for item in raw}


async def prune(config: AcdConfig, store: AcdStore) -> Pruned:
    """Take out of the store's tenant what ``config`` no longer has."""
    keys = store.keys
    pruned = Pruned()
    queues = {q.name for q in config.queues}
    agents = {a.id for a in config.agents}
    tiers = {(t.queue, t.agent) for t in config.tiers}
    for queue in sorted(_names(await store.redis.smembers(keys.queues)) & queues):
        for agent in sorted(_names(set(await store.redis.hkeys(keys.queue_tiers(queue))))):
            if agent in agents and (queue, agent) not in tiers:
                await remove_tier(store, queue, agent)
                pruned.tiers.append(f"{queue}/{agent}")
    for agent in sorted(_names(await store.redis.smembers(keys.agents)) - agents):
        if await remove_agent(store, agent):
            pruned.agents.append(agent)
        else:
            pruned.kept.append(f"agent {agent}: logged in")
    for queue in sorted(_names(await store.redis.smembers(keys.queues)) - queues):
        if await remove_queue(store, queue):
            pruned.queues.append(queue)
        else:
            pruned.kept.append(f"queue {queue}: calls in progress")
    if pruned:
        log.warning("center_pruned tenant=%s queues=%s agents=%s tiers=%s kept=%s",
                    keys.tenant, ",".join(pruned.queues), ",".join(pruned.agents),
                    ",".join(pruned.tiers), "; ".join(pruned.kept))  # fmt: skip
    return pruned

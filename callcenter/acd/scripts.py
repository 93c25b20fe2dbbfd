"""Lua scripts: each ACD decision is one atomic step inside Redis.

Keys are built inside the scripts from the tenant base (``cc:{tenant}``), which is passed as
KEYS[1]: every key shares that hash tag, so on Redis Cluster they live in one slot.
"""

from __future__ import annotations

__all__ = ["RESERVE", "SET_STATUS"]

# Shared helpers: the score of an available agent in one queue's idle set, and the removal of
# an agent from every idle set.
_HELPERS = r"""
local base = KEYS[1]
local function agent_key(a) return base .. ':agent:' .. a end

local function idle_score(queue, agent, now, rnd)
  local strategy = redis.call('HGET', base .. ':queue:' .. queue, 'strategy')
  if not strategy then strategy = 'longest-idle-agent' end
  local tier = redis.call('HGET', base .. ':queue:' .. queue .. ':tiers', agent) or '1:1'
  local level, position = string.match(tier, '^(%d+):(%d+)$')
  level = tonumber(level) or 1
  position = tonumber(position) or 1
  local a = agent_key(agent)
  local key
  if strategy == 'round-robin' then
    key = tonumber(redis.call('HGET', a, 'last_offer') or '0')
  elseif strategy == 'top-down' or strategy == 'sequentially-by-agent-order' then
    key = position
  elseif strategy == 'agent-with-least-talk-time' then
    key = tonumber(redis.call('HGET', a, 'talk_ms') or '0')
  elseif strategy == 'agent-with-fewest-calls' then
    key = tonumber(redis.call('HGET', a, 'calls') or '0')
  elseif strategy == 'random' then
    key = rnd
  else
    key = tonumber(redis.call('HGET', a, 'idle_since') or now)
  end
  -- Lower tier levels are tried first, then the strategy's order.
  return level * 10000000000000 + key
end

local function leave_idle(agent)
  for _, q in ipairs(redis.call('SMEMBERS', agent_key(agent) .. ':queues')) do
    redis.call('ZREM', base .. ':queue:' .. q .. ':idle', agent)
  end
end

local function join_idle(agent, now, rnd)
  for _, q in ipairs(redis.call('SMEMBERS', agent_key(agent) .. ':queues')) do
    redis.call('ZADD', base .. ':queue:' .. q .. ':idle', idle_score(q, agent, now, rnd), agent)
  end
end
"""

# KEYS[1] base. ARGV: agent, new status, now_ms, random score, expected status ('' = any),
# then field/value pairs to set. Returns the previous status, or an error.
SET_STATUS = (
    _HELPERS
    + r"""
local agent, status, expected = ARGV[1], ARGV[2], ARGV[5]
local now, rnd = tonumber(ARGV[3]), tonumber(ARGV[4])
local a = agent_key(agent)
if redis.call('SISMEMBER', base .. ':agents', agent) == 0 then
  return redis.error_reply('UNKNOWN_AGENT ' .. agent)
end
local previous = redis.call('HGET', a, 'status') or 'logged_out'
if expected ~= '' then
  local ok = false
  for want in string.gmatch(expected, '[^,]+') do
    if want == previous then ok = true end
  end
  if not ok then
    return redis.error_reply('WRONG_STATE ' .. agent .. ' is ' .. previous)
  end
end
leave_idle(agent)
redis.call('ZREM', base .. ':wrapup', agent)
redis.call('ZREM', base .. ':reservations', agent)
redis.call('HSET', a, 'status', status, 'since', now)
for i = 6, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', a, ARGV[i])
  else
    redis.call('HSET', a, ARGV[i], ARGV[i + 1])
  end
end
if status == 'available' then
  if previous ~= 'available' then redis.call('HSET', a, 'idle_since', now) end
  join_idle(agent, now, rnd)
elseif status == 'wrap_up' then
  local ready = tonumber(redis.call('HGET', a, 'ready_at') or now)
  redis.call('ZADD', base .. ':wrapup', ready, agent)
end
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 100000, '*',
  'type', 'agent', 'agent', agent, 'status', status, 'previous', previous,
  'reason', redis.call('HGET', a, 'reason') or '', 'ts', now)
return previous
"""
)

# KEYS[1] base. ARGV: queue, now_ms, reserve_ms, ring_all_limit, calls_to_scan, agents_to_scan,
# controller id (whose heartbeat vouches for the offer).
# Takes the first waiting call (in score order) that some available agent can serve, reserves
# the agent(s) and removes the call from the waiting set. Returns {call, agent, contact, ...}.
RESERVE = (
    _HELPERS
    + r"""
local queue, now, reserve_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_agents = tonumber(ARGV[4])
local calls_to_scan, agents_to_scan = tonumber(ARGV[5]), tonumber(ARGV[6])
local controller = ARGV[7] or ''
local calls_key = base .. ':queue:' .. queue .. ':calls'
local idle_key = base .. ':queue:' .. queue .. ':idle'
local strategy = redis.call('HGET', base .. ':queue:' .. queue, 'strategy')
if not strategy then return redis.error_reply('UNKNOWN_QUEUE ' .. queue) end
if redis.call('ZCARD', idle_key) == 0 then return nil end
-- Only ring-all and ring-progressively offer one call to several agents at once.
if strategy ~= 'ring-all' and strategy ~= 'ring-progressively' then max_agents = 1 end

local function can_serve(agent, needs)
  local a = agent_key(agent)
  if redis.call('HGET', a, 'status') ~= 'available' then return 'stale' end
  for skill, level in pairs(needs) do
    local have = tonumber(redis.call('HGET', a .. ':skills', skill) or '-1')
    if have < level then return false end
  end
  return true
end

for _, call in ipairs(redis.call('ZRANGE', calls_key, 0, calls_to_scan - 1)) do
  local needs = {}
  local skills = redis.call('HGET', base .. ':call:' .. call, 'skills') or ''
  for skill, level in string.gmatch(skills, '([^,=]+)=(%d+)') do needs[skill] = tonumber(level) end
  local chosen = {}
  for _, agent in ipairs(redis.call('ZRANGE', idle_key, 0, agents_to_scan - 1)) do
    local ok = can_serve(agent, needs)
    if ok == 'stale' then
      redis.call('ZREM', idle_key, agent)
    elseif ok then
      table.insert(chosen, agent)
      if #chosen >= max_agents then break end
    end
  end
  if #chosen > 0 then
    local out = {call}
    for _, agent in ipairs(chosen) do
      local a = agent_key(agent)
      leave_idle(agent)
      redis.call('HSET', a, 'status', 'reserved', 'since', now, 'last_offer', now,
        'reserved_for', call, 'reserved_until', now + reserve_ms, 'reserved_by', controller)
      redis.call('ZADD', base .. ':reservations', now + reserve_ms, agent)
      redis.call('XADD', base .. ':events', 'MAXLEN', '~', 100000, '*',
        'type', 'agent', 'agent', agent, 'status', 'reserved', 'previous', 'available',
        'call', call, 'ts', now)
      table.insert(out, agent)
      table.insert(out, redis.call('HGET', a, 'contact') or '')
    end
    redis.call('ZREM', calls_key, call)
    redis.call('HSET', base .. ':call:' .. call, 'state', 'offering', 'offered_at', now,
      'agents', table.concat(chosen, ','))
    redis.call('XADD', base .. ':events', 'MAXLEN', '~', 100000, '*',
      'type', 'call', 'call', call, 'queue', queue, 'state', 'offering',
      'agents', table.concat(chosen, ','), 'ts', now)
    return out
  end
end
return nil
"""
)

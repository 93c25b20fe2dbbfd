"""Lua scripts: each ACD decision is one atomic step inside Redis.

Keys are built inside the scripts from the tenant base (``cc:{tenant}``), which is passed as
KEYS[1]: every key shares that hash tag, so on Redis Cluster they live in one slot.
"""

from __future__ import annotations

__all__ = ["ANSWER", "END_CALL", "ENQUEUE", "RESERVE", "SET_STATUS"]

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
  elseif strategy == 'top-down' or strategy == 'sequentially-by-agent-order'
      or strategy == 'ring-progressively' then
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

# KEYS[1] base. ARGV: agent, new status, now_ms, random score, expected status ('' = any;
# "reserved@<call>": reserved for that call),
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
-- expected: "status,status,..." optionally followed by "@call": reserved for that call only
-- (an agent released and reserved again for another call must not be taken for this one).
local for_call = nil
local at = string.find(expected, '@', 1, true)
if at then
  for_call = string.sub(expected, at + 1)
  expected = string.sub(expected, 1, at - 1)
end
if expected ~= '' then
  local ok = false
  for want in string.gmatch(expected, '[^,]+') do
    if want == previous then ok = true end
  end
  if not ok then
    return redis.error_reply('WRONG_STATE ' .. agent .. ' is ' .. previous)
  end
end
if for_call and (redis.call('HGET', a, 'reserved_for') or '') ~= for_call then
  return redis.error_reply('WRONG_STATE ' .. agent .. ' is not reserved for ' .. for_call)
end
leave_idle(agent)
redis.call('ZREM', base .. ':wrapup', agent)
redis.call('ZREM', base .. ':delayed', agent)
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
  -- After a rejected, busy or unanswered offer the agent waits out their delay first.
  local ready = tonumber(redis.call('HGET', a, 'ready_at') or '0') or 0
  if ready > now then
    redis.call('ZADD', base .. ':delayed', ready, agent)
  else
    join_idle(agent, now, rnd)
  end
elseif status == 'wrap_up' then
  local ready = tonumber(redis.call('HGET', a, 'ready_at') or now)
  redis.call('ZADD', base .. ':wrapup', ready, agent)
end
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
  'type', 'agent', 'agent', agent, 'status', status, 'previous', previous,
  'reason', redis.call('HGET', a, 'reason') or '', 'ts', now)
return previous
"""
)

# KEYS[1] base. ARGV: queue, now_ms, reserve_ms, ring_all_limit, calls_to_scan, agents_to_scan,
# controller id (whose heartbeat vouches for the offer), and optionally a call being offered.
# Takes the first waiting call (in score order) that some available agent can serve, reserves
# the agent(s) and removes the call from the waiting set. With a call given (ring-progressively:
# one more agent for a call whose first phones still ring), only that call, if still offered.
# Returns {call, node, caller_number, caller_name, enqueued_ms, strategy, callback ('1' for a
# callback request), agent, contact, agent, contact...}.
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
-- Only ring-all offers one call to several agents at once; ring-progressively adds them one
-- by one (a call given).
if strategy ~= 'ring-all' then max_agents = 1 end
local more = ARGV[8] or ''
local candidates
if more ~= '' then
  if redis.call('HGET', base .. ':call:' .. more, 'state') ~= 'offering' then return nil end
  candidates = {more}
else
  candidates = redis.call('ZRANGE', calls_key, 0, calls_to_scan - 1)
end

local function can_serve(agent, needs)
  local a = agent_key(agent)
  if redis.call('HGET', a, 'status') ~= 'available' then return 'stale' end
  for skill, level in pairs(needs) do
    local have = tonumber(redis.call('HGET', a .. ':skills', skill) or '-1')
    if have < level then return false end
  end
  return true
end

for _, call in ipairs(candidates) do
  local needs = {}
  local skills, not_before = unpack(redis.call('HMGET', base .. ':call:' .. call, 'skills',
    'not_before'))
  skills = skills or ''
  for skill, level in string.gmatch(skills, '([^,=]+)=(%d+)') do needs[skill] = tonumber(level) end
  local chosen = {}
  -- A callback to try again later keeps its place but is not offered before its time.
  local agents = {}
  if (tonumber(not_before) or 0) <= now then
    agents = redis.call('ZRANGE', idle_key, 0, agents_to_scan - 1)
  end
  for _, agent in ipairs(agents) do
    local ok = can_serve(agent, needs)
    if ok == 'stale' then
      redis.call('ZREM', idle_key, agent)
    elseif ok then
      table.insert(chosen, agent)
      if #chosen >= max_agents then break end
    end
  end
  if #chosen > 0 then
    local c = base .. ':call:' .. call
    -- What the controller needs to ring the agent, so that it need not read the call again.
    local info = redis.call('HMGET', c, 'node', 'caller_number', 'caller_name', 'enqueued_ms',
      'callback')
    local out = {call}
    for i = 1, 4 do table.insert(out, info[i] or '') end
    table.insert(out, strategy)
    table.insert(out, info[5] or '')
    for _, agent in ipairs(chosen) do
      local a = agent_key(agent)
      leave_idle(agent)
      redis.call('HSET', a, 'status', 'reserved', 'since', now, 'last_offer', now,
        'reserved_for', call, 'reserved_until', now + reserve_ms, 'reserved_by', controller)
      redis.call('ZADD', base .. ':reservations', now + reserve_ms, agent)
      redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
        'type', 'agent', 'agent', agent, 'status', 'reserved', 'previous', 'available',
        'call', call, 'ts', now)
      table.insert(out, agent)
      table.insert(out, redis.call('HGET', a, 'contact') or '')
    end
    redis.call('ZREM', calls_key, call)
    local offered = table.concat(chosen, ',')
    if more ~= '' then
      offered = (redis.call('HGET', c, 'agents') or '') .. ',' .. offered
    end
    redis.call('HSET', c, 'state', 'offering', 'offered_at', now, 'agents', offered)
    redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
      'type', 'call', 'call', call, 'queue', queue, 'state', 'offering',
      'agents', table.concat(chosen, ','), 'ts', now)
    return out
  end
end
return nil
"""
)

# KEYS[1] base. ARGV: call id, queue, now_ms, priority, caller_number, caller_name, skills
# ("skill=level,..."), node, day (UTC YYYY-MM-DD, for the queue's daily counters), did,
# campaign (the DID's label).
# Puts a new caller in line, once: several controllers see the same CHANNEL_PARK, and a late
# duplicate must never put back a call being offered.
# Returns 1 (enqueued), 0 (known already) or an error for an unknown queue.
ENQUEUE = r"""
local base = KEYS[1]
local call, queue, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local priority = tonumber(ARGV[4]) or 0
local q = base .. ':queue:' .. queue
local weight = redis.call('HGET', q, 'priority_weight_ms')
if not weight then return redis.error_reply('UNKNOWN_QUEUE ' .. queue) end
local c = base .. ':call:' .. call
if redis.call('HSETNX', c, 'state', 'waiting') == 0 then return 0 end
-- A caller with priority p is served as if they had come p * weight earlier.
local score = now - priority * tonumber(weight)
redis.call('HSET', c, 'queue', queue, 'caller_number', ARGV[5], 'caller_name', ARGV[6],
  'priority', priority, 'skills', ARGV[7], 'enqueued_ms', now, 'score', score, 'node', ARGV[8],
  'did', ARGV[10] or '', 'campaign', ARGV[11] or '')
redis.call('ZADD', q .. ':calls', score, call)
-- Their place in line on arrival (1 = next), for the CDR's queue waits.
local position = redis.call('ZRANK', q .. ':calls', call) + 1
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
  'type', 'call', 'call', call, 'queue', queue, 'state', 'waiting', 'position', position,
  'ts', now)
local stats = q .. ':stats:' .. ARGV[9]
redis.call('HINCRBY', stats, 'offered', 1)
redis.call('EXPIRE', stats, 40 * 86400)
return 1
"""

# KEYS[1] base. ARGV: agent ('' = the call's agent), call id, now_ms, random score,
# "bridged" to act only on a call that was bridged (else ''), day (UTC YYYY-MM-DD).
# A call ended (caller or agent hung up, whichever came first): the agent goes to the queue's
# wrap-up (or available at once without one), talk time (from the bridge) and calls are
# counted, the call is marked ended. Only the first of the two hangups does it: returns 0 for
# the second, and for a call that is not (or not yet) connected.
END_CALL = (
    _HELPERS
    + r"""
local call, now, rnd = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local c = base .. ':call:' .. call
local state, queue, owner, bridged = unpack(redis.call('HMGET', c, 'state', 'queue', 'agent',
  'bridged_ms'))
if state ~= 'answered' then return 0 end
local agent = ARGV[1]
if agent == '' then agent = owner or '' end
if agent ~= owner then return 0 end
if ARGV[5] == 'bridged' and not bridged then return 0 end
queue = queue or ''
local talk = 0
if bridged then talk = math.max(0, now - tonumber(bridged)) end
redis.call('HSET', c, 'state', 'ended', 'ended_ms', now)
-- A finished call's hash stays a day (late events, the webhooks' caller numbers), then goes:
-- Redis must not grow with every call the center ever took.
redis.call('EXPIRE', c, 86400)
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
  'type', 'call', 'call', call, 'state', 'ended', 'queue', queue, 'agent', agent,
  'talk_ms', talk, 'ts', now)
local stats = base .. ':queue:' .. queue .. ':stats:' .. ARGV[6]
redis.call('HINCRBY', stats, 'ended', 1)
redis.call('HINCRBY', stats, 'talk_ms', talk)
redis.call('EXPIRE', stats, 40 * 86400)
local a = agent_key(agent)
if redis.call('HGET', a, 'status') ~= 'on_call' or redis.call('HGET', a, 'call') ~= call then
  return 1  -- the agent was moved on meanwhile (logged out by a supervisor...)
end
local wrap = tonumber(redis.call('HGET', base .. ':queue:' .. queue, 'wrap_up_ms') or '0') or 0
redis.call('HINCRBY', a, 'talk_ms', talk)
redis.call('HINCRBY', a, 'calls', 1)
redis.call('HDEL', a, 'call')
redis.call('HSET', a, 'ready_at', now + wrap, 'since', now)
local status = 'available'
if wrap > 0 then
  status = 'wrap_up'
  redis.call('HSET', a, 'status', status)
  redis.call('ZADD', base .. ':wrapup', now + wrap, agent)
else
  redis.call('HSET', a, 'status', status, 'idle_since', now)
  join_idle(agent, now, rnd)
end
local entry = {'type', 'agent', 'agent', agent, 'status', status, 'previous', 'on_call',
  'reason', redis.call('HGET', a, 'reason') or '', 'ts', now}
-- Wrap-up names the call it follows: the reports charge its time to the call's queue.
if status == 'wrap_up' then
  table.insert(entry, 'call')
  table.insert(entry, call)
end
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*', unpack(entry))
return 1
"""
)

# KEYS[1] base. ARGV: agent, call id, now_ms, queue, enqueued_ms, day (UTC YYYY-MM-DD).
# The agent picked up the offer: on call, the call answered (one step, so that nobody sees an
# agent on a call the call does not know). Refused unless the agent is reserved for this call.
ANSWER = r"""
local base = KEYS[1]
local agent, call, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local queue, enqueued = ARGV[4], tonumber(ARGV[5]) or 0
local a = base .. ':agent:' .. agent
local status, reserved_for = unpack(redis.call('HMGET', a, 'status', 'reserved_for'))
if status ~= 'reserved' or reserved_for ~= call then
  return redis.error_reply('WRONG_STATE ' .. agent .. ' is ' .. (status or 'unknown') ..
    ', not reserved for ' .. call)
end
-- Ring-all and ring-progressively ring several phones for one call: only the first answer
-- takes it, the others find it answered.
local call_state = redis.call('HGET', base .. ':call:' .. call, 'state')
if call_state ~= 'offering' then
  return redis.error_reply('WRONG_STATE call ' .. call .. ' is ' .. (call_state or 'gone') ..
    ', not offered to ' .. agent)
end
redis.call('ZREM', base .. ':reservations', agent)
redis.call('HDEL', a, 'reserved_for', 'reserved_until')
redis.call('HSET', a, 'status', 'on_call', 'since', now, 'call', call, 'no_answer', 0,
  'answered_ms', now)
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
  'type', 'agent', 'agent', agent, 'status', 'on_call', 'previous', 'reserved',
  'reason', redis.call('HGET', a, 'reason') or '', 'ts', now)
redis.call('HSET', base .. ':call:' .. call, 'state', 'answered', 'agent', agent,
  'answered_ms', now)
local wait = 0
if enqueued > 0 then wait = now - enqueued end
redis.call('XADD', base .. ':events', 'MAXLEN', '~', 1000000, '*',
  'type', 'call', 'call', call, 'state', 'answered', 'queue', queue, 'agent', agent,
  'wait_ms', wait, 'ts', now)
local q = base .. ':queue:' .. queue
local stats = q .. ':stats:' .. ARGV[6]
redis.call('HINCRBY', stats, 'answered', 1)
redis.call('HINCRBY', stats, 'wait_ms', wait)
if wait <= tonumber(redis.call('HGET', q, 'service_level_ms') or '20000') then
  redis.call('HINCRBY', stats, 'answered_in_sl', 1)
end
redis.call('EXPIRE', stats, 40 * 86400)
return 1
"""

"""Announcements to waiting callers: their position in line and the estimated wait.

Every ``announce_seconds`` (a queue setting; 0 = never) a caller waiting in a queue hears
"You are number <n> in line. Your estimated hold time is <m> minutes.", then the music on hold
again. The prompts are FreeSWITCH's stock sounds (the en/us/callie set of the vanilla
configuration), resolved against the switch's ``sound_prefix``:

- position: ``ivr/ivr-you_are_number.wav``, the number, ``ivr/ivr-in_line.wav``;
- wait: ``ivr/ivr-estimated_hold_time.wav``, the number, ``time/minute.wav`` or
  ``time/minutes.wav``;
- numbers (``number_prompts``): ``digits/<n>.wav`` up to 20, then tens and units
  (``digits/30.wav digits/5.wav``), hundreds as ``digits/<h>.wav digits/hundred.wav`` and the
  rest; above 999, "more than" (``ivr/ivr-more_than.wav``) nine hundred ninety-nine.

On the switch: ``uuid_break <uuid>`` stops the music, then ONE
``uuid_broadcast <uuid> file_string://<prompt>!...!<moh> aleg`` plays the prompts and goes
straight on with the music. One broadcast rather than one per prompt: a broadcast still queued
behind another survives ``uuid_bridge``, ``uuid_transfer`` and a plain ``uuid_break`` and would
then play in the middle of the agent's call (FreeSWITCH's bridge loop runs queued broadcasts,
switch_ivr_bridge.c), while the one broadcast that is playing is stopped by all three, as the
music the queue flow starts is. Not ``uuid_break <uuid> all``: that would also drop what the
queue flow queued on the channel meanwhile (the goodbye prompt and hangup after the exit key).

Estimated wait (``estimate_wait_minutes``): position * average handle time / agents of the queue
who are not logged out, rounded up to whole minutes, at least 1. The average handle time is the
talk time per call of the queue's agents (``talk_ms`` / ``calls`` of their hashes), 120 s while
they have taken no call yet. With every agent of the queue logged out there is no estimate: the
caller hears their position only.

Several controllers (or a restarted one) announce each call once per period: the time of the
last announcement is kept in the call's hash (``announced_ms``) and claimed by one Lua step that
also checks that the call is still waiting (not being offered), is not a callback request (the
caller hung up after pressing the exit key; the request keeps their place in line) and sits on a
node this announcer drives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from callcenter.acd.errors import AcdError
from callcenter.acd.model import AgentStatus
from callcenter.acd.store import AcdStore
from callcenter.cancellation import cancel_and_wait, reraise_cancellation
from callcenter.esl.client import InboundClient
from callcenter.esl.commands import check_value
from callcenter.esl.errors import EslError

__all__ = [
    "DEFAULT_HANDLE_SECONDS",
    "Announcement",
    "Announcer",
    "announcement_prompts",
    "average_handle_seconds",
    "broadcast_path",
    "estimate_wait_minutes",
    "number_prompts",
    "spoken_number",
]

log = logging.getLogger("callcenter.controller")

# The average handle time assumed while the queue's agents have not taken a call yet.
DEFAULT_HANDLE_SECONDS = 120.0
# The largest number said as it is; above it the caller hears "more than" this.
MAX_SPOKEN = 999

YOU_ARE_NUMBER = "ivr/ivr-you_are_number.wav"
IN_LINE = "ivr/ivr-in_line.wav"
ESTIMATED_HOLD_TIME = "ivr/ivr-estimated_hold_time.wav"
MORE_THAN = "ivr/ivr-more_than.wav"
MINUTE = "time/minute.wav"
MINUTES = "time/minutes.wav"

# KEYS[1] the call's hash. ARGV: now_ms, period_ms, then the nodes this announcer drives.
# Returns the call's node when this announcer is to announce it now (and notes the time), else
# nil: the call is gone or not waiting (being offered, answered, ended), is a callback request
# (nobody on the line), sits on a node driven by someone else, or was enqueued or announced less
# than a period ago.
CLAIM = """
local call = KEYS[1]
if redis.call('HGET', call, 'state') ~= 'waiting' then return false end
local callback = redis.call('HGET', call, 'callback')
if callback and callback ~= '' and callback ~= '0' then return false end
local node = redis.call('HGET', call, 'node')
local ours = false
for i = 3, #ARGV do
  if ARGV[i] == node then ours = true break end
end
if not ours then return false end
local last = redis.call('HGET', call, 'announced_ms')
if not last then last = redis.call('HGET', call, 'enqueued_ms') end
if not last or not tonumber(last) then return false end
if tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return false end
redis.call('HSET', call, 'announced_ms', ARGV[1])
return node
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def number_prompts(n: int) -> list[str]:
    """The stock ``digits/`` files that say ``n`` (0 to 999) in English."""
    if not 0 <= n <= MAX_SPOKEN:
        raise ValueError(f"can only say 0 to {MAX_SPOKEN}, not {n}")
    if n <= 20:
        return [f"digits/{n}.wav"]
    hundreds, rest = divmod(n, 100)
    out = [f"digits/{hundreds}.wav", "digits/hundred.wav"] if hundreds else []
    if rest == 0:
        return out
    if rest <= 20:
        return [*out, f"digits/{rest}.wav"]
    tens, units = divmod(rest, 10)
    out.append(f"digits/{tens * 10}.wav")
    if units:
        out.append(f"digits/{units}.wav")
    return out


def spoken_number(n: int) -> list[str]:
    """``number_prompts``, with "more than 999" for anything larger."""
    if n > MAX_SPOKEN:
        return [MORE_THAN, *number_prompts(MAX_SPOKEN)]
    return number_prompts(max(0, n))


def estimate_wait_minutes(position: int, handle_seconds: float, agents: int) -> int | None:
    """Estimated wait of the caller at ``position`` (1 = next) in whole minutes, rounded up and
    at least 1: position * average handle time / agents. None without agents (no estimate)."""
    if position < 1:
        raise ValueError(f"a position in line starts at 1, not {position}")
    if agents <= 0:
        return None
    handle_ms = max(0, round(handle_seconds * 1000))
    minutes = -(-(position * handle_ms) // (agents * 60_000))  # integer ceiling
    return max(1, minutes)


def average_handle_seconds(
    agents: Iterable[tuple[int, int]], default: float = DEFAULT_HANDLE_SECONDS
) -> float:
    """Talk time per call over ``(calls, talk_ms)`` of agents; ``default`` with no calls yet."""
    calls = talk_ms = 0
    for agent_calls, agent_talk_ms in agents:
        calls += max(0, agent_calls)
        talk_ms += max(0, agent_talk_ms)
    return talk_ms / calls / 1000 if calls else default


def announcement_prompts(position: int | None, wait_minutes: int | None) -> list[str]:
    """The prompt files of one announcement (None leaves that part out)."""
    out: list[str] = []
    if position is not None:
        out += [YOU_ARE_NUMBER, *spoken_number(position), IN_LINE]
    if wait_minutes is not None:
        unit = MINUTE if wait_minutes == 1 else MINUTES
        out += [ESTIMATED_HOLD_TIME, *spoken_number(wait_minutes), unit]
    return out


def _one_word(what: str, value: str) -> str:
    """``value`` as one argument of an api command: one line (``check_value``), no blanks."""
    check_value(what, value)
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{what} must be one word without blanks: {value!r}")
    return value


def broadcast_path(prompts: Iterable[str], moh: str) -> str:
    """One ``file_string://`` playing the prompts, then the music on hold."""
    files = [*prompts, moh.removeprefix("file_string://")]
    for file in files:
        _one_word("prompt", file)
    return "file_string://" + "!".join(files)


@dataclass(frozen=True)
class Announcement:
    """What one announcer told one caller."""

    call_id: str
    queue: str
    node: str
    position: int
    wait_minutes: int | None
    announced_ms: int
    path: str


class Announcer:
    """Announces position and estimated wait to the waiting callers of the queues that ask for
    it (``QueueConfig.announce_seconds``), on the nodes it drives, in a loop of its own."""

    def __init__(
        self,
        nodes: Mapping[str, InboundClient],
        store: AcdStore,
        moh: str,
        tick_seconds: float = 1.0,
        *,
        default_handle_seconds: float = DEFAULT_HANDLE_SECONDS,
    ) -> None:
        """``nodes``: the switch nodes this controller drives, by name; ``moh``: what the queue
        flow plays to waiting callers (played again after each announcement)."""
        if tick_seconds <= 0:
            raise ValueError(f"tick_seconds must be positive, not {tick_seconds}")
        if "!" in moh and not moh.startswith("file_string://"):
            raise ValueError(f"the music on hold cannot hold a '!': {moh!r}")
        self.nodes = dict(nodes)
        self.store = store
        self.moh = _one_word("moh", moh)
        broadcast_path([], self.moh)  # every file of a file_string is checked too
        self.tick_seconds = tick_seconds
        self.default_handle_seconds = default_handle_seconds
        self._claim = store.redis.register_script(CLAIM)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="announcer")

    @property
    def running(self) -> bool:
        """The loop is on (``start`` was called, ``stop`` not yet)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except (AcdError, EslError, RedisError, OSError) as exc:
                reraise_cancellation()
                log.warning("announce_tick_failed error=%s", exc)
            await asyncio.sleep(self.tick_seconds)

    async def claim(self, call_id: str, now_ms: int, period_ms: int) -> str | None:
        """Take the announcement of this period for one call: its node, or None when the call
        is not (or no longer) waiting, is a callback request, is on a node we do not drive, or
        is not due yet."""
        node = await self._claim(
            keys=[self.store.keys.call(call_id)], args=[now_ms, period_ms, *self.nodes]
        )
        if node is None:
            return None
        return node.decode() if isinstance(node, bytes) else str(node)

    async def tick(self) -> list[Announcement]:
        """One pass over every queue: announce to the callers who are due."""
        done: list[Announcement] = []
        if not self.nodes:
            return done
        for raw in sorted(await self.store.redis.smembers(self.store.keys.queues)):
            queue = raw.decode()
            try:
                done += await self._announce_queue(queue)
            except AcdError as exc:  # the queue went away meanwhile
                log.warning("announce_queue_failed queue=%s error=%s", queue, exc)
        return done

    async def _announce_queue(self, queue: str) -> list[Announcement]:
        config = await self.store.queue_config(queue)
        if config.announce_seconds <= 0 or not (config.announce_position or config.announce_wait):
            return []
        period_ms = round(config.announce_seconds * 1000)
        done: list[Announcement] = []
        estimate: tuple[float, int] | None = None
        for position, call_id in enumerate(await self.store.waiting(queue), 1):
            now = _now_ms()
            node = await self.claim(call_id, now, period_ms)
            if node is None:
                continue
            minutes = None
            if config.announce_wait:
                if estimate is None:
                    estimate = await self._handle_time_and_agents(queue)
                minutes = estimate_wait_minutes(position, *estimate)
            said_position = position if config.announce_position else None
            prompts = announcement_prompts(said_position, minutes)
            if not prompts:
                continue  # only the wait was asked for, and there is no estimate
            announcement = Announcement(
                call_id, queue, node, position, minutes, now, broadcast_path(prompts, self.moh)
            )
            try:
                if await self._play(announcement):
                    done.append(announcement)
            except (EslError, OSError, ValueError) as exc:
                log.warning("announce_failed uuid=%s queue=%s error=%s", call_id, queue, exc)
        return done

    async def _handle_time_and_agents(self, queue: str) -> tuple[float, int]:
        """(average handle seconds, agents not logged out) of a queue's agents (its tiers)."""
        keys = self.store.keys
        agents = [a.decode() for a in await self.store.redis.hkeys(keys.queue_tiers(queue))]
        if not agents:
            return self.default_handle_seconds, 0
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for agent in agents:
                pipe.hmget(keys.agent(agent), "status", "calls", "talk_ms")
            rows = await pipe.execute()
        logged_in = 0
        counts: list[tuple[int, int]] = []
        for status, calls, talk_ms in rows:
            if status is not None and status.decode() != AgentStatus.LOGGED_OUT.value:
                logged_in += 1
            counts.append((_int(calls), _int(talk_ms)))
        return average_handle_seconds(counts, self.default_handle_seconds), logged_in

    async def _play(self, announcement: Announcement) -> bool:
        esl = self.nodes[announcement.node]
        uuid = _one_word("uuid", announcement.call_id)
        # mod_commands' uuid_break answers nothing on success, "-ERR No such channel!" else.
        reply = await esl.api(f"uuid_break {uuid}")
        if reply.startswith("-"):
            # The channel is gone (the hangup is on its way to the queue flow): skip it.
            log.info("announce_skipped uuid=%s reply=%s", uuid, reply.strip())
            return False
        reply = await esl.api(f"uuid_broadcast {uuid} {announcement.path} aleg")
        if reply.startswith("-"):
            log.warning("announce_failed uuid=%s reply=%s", uuid, reply.strip())
            return False
        log.info("queue_announced uuid=%s queue=%s position=%d wait_minutes=%s",
                 uuid, announcement.queue, announcement.position,
                 announcement.wait_minutes)  # fmt: skip
        return True


def _int(raw: bytes | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0

"""What live call control shares: a queue call as Redis holds it (``LiveCall``), the commands
it sends to a node (``SwitchOps``), the settings, and the background tasks it leaves running.

Commands are one ESL line each, built from values checked before (UUIDs read from Redis or
made here, names and numbers matched against their patterns): ``check_value`` in the ESL
client refuses anything else anyway.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid as uuidlib
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from callcenter.acd.errors import AcdError
from callcenter.acd.store import AcdStore
from callcenter.cancellation import cancel_and_wait
from callcenter.controller.call_control_dial import originate_spec
from callcenter.controller.call_control_errors import (
    BadDestinationError,
    CallControlError,
    SwitchRefusedError,
    SwitchUnavailableError,
    UnknownCallError,
    WrongCallStateError,
)
from callcenter.dialplan.render import FAILOVER_CAUSES
from callcenter.esl.client import InboundClient
from callcenter.esl.errors import EslError, UnsafeValueError

__all__ = [
    "CALL_ID",
    "ENDED_STATES",
    "FAILOVER",
    "CallControlSettings",
    "LiveCall",
    "SwitchOps",
    "Tasks",
    "cause_of",
    "new_uuid",
]

log = logging.getLogger("callcenter.controller")

# The causes after which the next gateway is tried (the rendered dialplan's continue_on_fail).
FAILOVER = frozenset(FAILOVER_CAUSES.split(","))
# Call states after which the ACD no longer follows the caller's channel.
ENDED_STATES = frozenset({"ended", "abandoned", "overflowed", "callback_failed", "moved"})
# A call or leg id as the center makes them: nothing else read from Redis goes into a command.
CALL_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def cause_of(result: str) -> str:
    """``-ERR USER_BUSY`` -> ``USER_BUSY`` (an originate's BACKGROUND_JOB); NO_ANSWER if none."""
    words = result.split()
    return words[1] if result.startswith("-") and len(words) > 1 else "NO_ANSWER"


@dataclass(frozen=True)
class CallControlSettings:
    """``recordings_dir`` and ``moh`` must be the queue flow's (``FlowSettings``): a recording
    started again goes on in the file the flow started, and a caller on hold hears the queue's
    music. ``outbound_node``: the node click-to-call dials from ('' = the first one)."""

    recordings_dir: Path = Path("var/recordings")
    moh: str = "local_stream://moh"
    # What the agent hears while the customer's phone rings (the agent's phone rang first).
    ringback: str = "tone_stream://%(2000,4000,440,480);loops=-1"
    agent_ring_seconds: int = 20
    customer_ring_seconds: int = 30
    consult_ring_seconds: int = 30
    supervisor_ring_seconds: int = 20
    outbound_node: str = ""


@dataclass(frozen=True)
class LiveCall:
    """A queue call as Redis holds it (``Keys.call``), with the fields call control reads."""

    call_id: str
    node: str
    queue: str
    state: str
    agent: str
    agent_leg: str  # the agent's channel (``leg:<agent>``)
    live_leg: str  # the customer's channel: the caller's, or a callback's customer leg
    bridged: bool
    callback: bool
    caller_number: str
    consult_leg: str
    consult_state: str  # "ringing" | "talking" while a consultation goes on

    @classmethod
    def from_hash(cls, call_id: str, data: Mapping[str, str]) -> LiveCall:
        agent = data.get("agent", "")
        return cls(
            call_id=call_id,
            node=data.get("node", ""),
            queue=data.get("queue", ""),
            state=data.get("state", ""),
            agent=agent,
            agent_leg=data.get(f"leg:{agent}", "") if agent else "",
            live_leg=data.get("customer_leg") or call_id,
            bridged="bridged_ms" in data,
            callback=data.get("callback") == "1",
            caller_number=data.get("caller_number", ""),
            consult_leg=data.get("consult_leg", ""),
            consult_state=data.get("consult_state", ""),
        )

    def require_bridged(self) -> None:
        """Caller and agent talking: what transfers, recordings and monitoring act on."""
        if self.state in ENDED_STATES:
            raise WrongCallStateError(f"call {self.call_id} has ended ({self.state})")
        if self.state in ("waiting", "offering"):
            raise WrongCallStateError(
                f"call {self.call_id} is waiting in queue {self.queue!r}: no agent has it yet"
            )
        if self.state != "answered" or not self.bridged or not self.agent_leg:
            raise WrongCallStateError(
                f"call {self.call_id} is being connected to its agent; try again in a moment"
            )


class SwitchOps:
    """Reading calls from Redis and sending commands to the node that holds them."""

    def __init__(
        self, nodes: Mapping[str, InboundClient], store: AcdStore, settings: CallControlSettings
    ) -> None:
        self.nodes = dict(nodes)
        self.store = store
        self.settings = settings

    async def call(self, call_id: str) -> LiveCall:
        """The tenant's call by id; ``UnknownCallError`` for anything else (another tenant's
        calls live under other keys, so they are unknown here too)."""
        if not CALL_ID.fullmatch(call_id):
            raise UnknownCallError(call_id)
        try:
            raw = await self.store.redis.hgetall(self.store.keys.call(call_id))
        except (RedisError, OSError) as exc:
            raise CallControlError(f"the ACD cannot be read now ({exc}); try again") from exc
        if not raw:
            raise UnknownCallError(call_id)
        return LiveCall.from_hash(call_id, {k.decode(): v.decode() for k, v in raw.items()})

    def esl(self, node: str) -> InboundClient:
        client = self.nodes.get(node)
        if client is None:
            raise SwitchUnavailableError(
                f"the call is on switch node {node!r}, which this controller does not drive; "
                "send the request to the controller of that node"
            )
        return client

    async def api(self, esl: InboundClient, command: str) -> str:
        """``api <command>``; ``SwitchRefusedError`` on ``-ERR``/``-USAGE``."""
        reply = await self.raw(esl, command)
        if reply.startswith("-ERR") or reply.startswith("-USAGE"):
            raise SwitchRefusedError(command, reply)
        return reply

    async def raw(self, esl: InboundClient, command: str) -> str:
        try:
            return await esl.api(command)
        except UnsafeValueError as exc:
            raise BadDestinationError(str(exc)) from exc
        except EslError as exc:
            raise SwitchUnavailableError(f"switch node {esl.name} did not answer: {exc}") from exc

    async def quiet(self, esl: InboundClient, command: str) -> str:
        """A command on a clean-up path: failures are logged, never raised (the channel may be
        gone already, which is what a clean-up wants anyway)."""
        try:
            return await esl.api(command)
        except EslError as exc:
            log.warning("call_control_command_failed command=%s error=%s", command.split()[0], exc)
            return f"-ERR {exc}"

    async def exists(self, esl: InboundClient, uuid: str) -> bool:
        return (await self.quiet(esl, f"uuid_exists {uuid}")).strip() == "true"

    async def originate(
        self,
        esl: InboundClient,
        variables: Mapping[str, str],
        dial: str,
        app: str,
        ring_seconds: int,
    ) -> str:
        """``bgapi originate {vars}<dial> &<app>``: ``+OK <uuid>`` once answered, else
        ``-ERR <cause>`` (the BACKGROUND_JOB's text)."""
        spec = {**variables, "originate_timeout": str(ring_seconds)}
        try:
            command = f"originate {originate_spec(spec)}{dial} &{app}"
            return await esl.bgapi(command, timeout=ring_seconds + 15)
        except EslError as exc:
            return f"-ERR {exc}"

    async def append_event(self, kind: str, **fields: str | int) -> None:
        try:
            await self.store.append_event(kind, **fields)
        except (RedisError, OSError) as exc:
            log.warning("call_control_entry_lost type=%s call=%s error=%s", kind,
                        fields.get("call"), exc)  # fmt: skip


class Tasks:
    """The background work call control starts (rings that outlive the request)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if isinstance(exc, CallControlError | AcdError | EslError | RedisError | OSError):
                log.warning("call_control_task_failed error=%s", exc)
            else:
                log.error("call_control_task_failed error=%r", exc, exc_info=exc)

    async def stop(self) -> None:
        await cancel_and_wait(list(self._tasks))

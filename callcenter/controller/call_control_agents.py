"""An agent on an outside call the center placed for them (click-to-call), in the ACD's terms.

While the agent's phone rings and while they talk, they are ``on_call`` with ``call`` set to
the click-to-call's id: RESERVE only offers queue calls to ``available`` agents, so the ACD
leaves them alone, and every controller sees why. The status they had before (available,
on break, wrap-up) is kept in ``outbound_from``; when the call ends they go back to it (wrap-up
becomes available: an outbound call has no queue and no wrap-up time of its own).

The change runs the store's own ``SET_STATUS`` script (``callcenter.acd.scripts``): one atomic
step that checks the status it leaves, takes the agent out of (or puts them back in) the
queues' idle sets and writes the agent's entry on the event Stream, as every other state change
does. AcdStore has no public method for this yet; see the report of issue 6.
"""

from __future__ import annotations

import random
import time

from redis.exceptions import ResponseError

from callcenter.acd.model import AgentStatus
from callcenter.acd.scripts import SET_STATUS
from callcenter.acd.store import AcdStore
from callcenter.controller.call_control_errors import AgentUnavailableError, UnknownAgentError

__all__ = ["OUTBOUND_FROM", "OutboundAgents"]

# The agent statuses a click-to-call may start from: logged in and not on (or ringing for) a
# call.
OUTBOUND_FROM = (AgentStatus.AVAILABLE, AgentStatus.ON_BREAK, AgentStatus.WRAP_UP)

# KEYS[1] the agent. ARGV: call, field, value. Set only while the agent is on that call (the
# call may have ended, and another begun, since the caller looked).
_SET_ON_CALL = """
if redis.call('HGET', KEYS[1], 'call') == ARGV[1] then
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class OutboundAgents:
    def __init__(self, store: AcdStore) -> None:
        self.store = store
        self._set_status = store.redis.register_script(SET_STATUS)
        self._set_on_call = store.redis.register_script(_SET_ON_CALL)

    async def _transition(
        self, agent: str, status: AgentStatus, expected: str, fields: dict[str, str | int]
    ) -> None:
        args: list[str | int] = [
            agent,
            status.value,
            int(time.time() * 1000),
            random.randint(0, 10**12),
            expected,
        ]
        for name, value in fields.items():
            args += [name, value]
        try:
            await self._set_status(keys=[self.store.keys.base], args=args)
        except ResponseError as exc:
            text = str(exc)
            if text.startswith("UNKNOWN_AGENT"):
                raise UnknownAgentError(agent) from exc
            if text.startswith("WRONG_STATE"):
                raise AgentUnavailableError(
                    f"agent {agent!r} cannot start an outside call now: "
                    f"{text.split(' ', 1)[1]} (they must be logged in and not on a call)"
                ) from exc
            raise

    async def start(self, agent: str, call_id: str, node: str, current: dict[str, str]) -> None:
        """On call for ``call_id``, only if still in the status ``current`` was read in."""
        status = current.get("status", "")
        if status not in OUTBOUND_FROM:
            raise AgentUnavailableError(
                f"agent {agent!r} is {status.replace('_', ' ') or 'logged out'}: an outside call "
                "needs an agent who is logged in and not on a call"
            )
        await self._transition(
            agent,
            AgentStatus.ON_CALL,
            status,
            {
                "call": call_id,
                "reason": "outbound",
                "outbound_from": status,
                "outbound_reason": current.get("reason", ""),
                "outbound_node": node,
                # The controller running the call: if it dies before the two legs are bridged,
                # nobody will bridge them (``resync.release_outbound`` ends such a call).
                "outbound_by": self.store.controller_id,
                "outbound_leg": "",
                "outbound_bridged": "",
            },
        )

    async def set_leg(self, agent: str, call_id: str, leg: str) -> None:
        """The customer leg being dialed now (a hangup of the agent's leg must stop it)."""
        await self._set_on_call(keys=[self.store.keys.agent(agent)],
                                args=[call_id, "outbound_leg", leg])  # fmt: skip

    async def set_bridged(self, agent: str, call_id: str) -> None:
        """The agent and the customer are bridged: the call no longer needs its controller."""
        await self._set_on_call(keys=[self.store.keys.agent(agent)],
                                args=[call_id, "outbound_bridged", "1"])  # fmt: skip

    async def leg(self, agent: str) -> str:
        return (
            await self.store.redis.hget(self.store.keys.agent(agent), "outbound_leg") or b""
        ).decode()

    async def end(self, agent: str, call_id: str) -> bool:
        """Back to the status before the call; False if the agent is not on this call (ended
        already by another hangup or another controller)."""
        raw = await self.store.redis.hgetall(self.store.keys.agent(agent))
        data = {k.decode(): v.decode() for k, v in raw.items()}
        if data.get("status") != AgentStatus.ON_CALL.value or data.get("call") != call_id:
            return False
        if "outbound_from" not in data:
            return False  # a queue call, not ours
        back = (
            AgentStatus.ON_BREAK if data["outbound_from"] == "on_break" else AgentStatus.AVAILABLE
        )
        reason = data.get("outbound_reason", "") if back is AgentStatus.ON_BREAK else ""
        fields: dict[str, str | int] = {
            "call": "",
            "reason": reason,
            "ready_at": "",
            "outbound_from": "",
            "outbound_reason": "",
            "outbound_node": "",
            "outbound_leg": "",
            "outbound_by": "",
            "outbound_bridged": "",
        }
        try:
            await self._transition(agent, back, "on_call", fields)
        except AgentUnavailableError:
            return False  # someone else moved them on meanwhile
        return True

"""Calls written to a tenant's event Stream the way the controller writes them: through the
real ACD store (its Lua scripts) and the ``leg`` entries of ``cdr_legs.leg_entry``."""

from __future__ import annotations

import time

from callcenter.acd.model import QueueConfig, Strategy, WaitingCall
from callcenter.acd.store import AcdStore

__all__ = ["DID", "abandoned_call", "answered_call", "caller_leg", "set_up"]

DID = "74951234567"


async def set_up(store: AcdStore, *agents: str) -> None:
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, wrap_up_seconds=0))
    for agent in agents or ("1000",):
        await store.put_agent(agent, f"user/{agent}@default")
        await store.put_tier("support", agent)
        await store.login(agent)
        await store.ready(agent)


def caller_leg(
    call: str, *, queue: str = "support", answered: bool = True, number: str = "79161234567"
) -> dict[str, str | int]:
    """The caller's ``leg`` entry as the controller writes it when the channel is gone."""
    now = int(time.time() * 1000)
    return {
        "leg": call,
        "call": call,
        "role": "caller",
        "node": "office1",
        "direction": "inbound",
        "channel": f"sofia/gateway/pstn/{number}",
        "caller_number": number,
        "caller_name": "Ivan",
        "destination": DID,
        "did": DID,
        "campaign": "radio",
        "gateway": "pstn",
        "queue": queue,
        "agent": "",
        "created_ms": now - 30_000,
        "answered_ms": now - 29_000 if answered else 0,
        "ended_ms": now,
        "billsec": 29 if answered else 0,
        "duration": 30,
        "hold_ms": 0,
        "cause": "NORMAL_CLEARING",
        "disposition": "recv_bye",
        "bridged_to": "agent-leg" if answered else "",
    }


async def answered_call(store: AcdStore, call: str, *, leg_first: bool = True) -> None:
    """Queued, rung, answered by agent 1000, bridged, then the caller hangs up: the controller
    writes the caller's leg and the call's end from two handlers, in either order."""
    waiting = WaitingCall(call, "support", caller_number="79161234567", caller_name="Ivan",
                          node="n1", did=DID, campaign="radio")  # fmt: skip
    await store.enqueue(waiting)
    (offer,) = await store.reserve("support")
    await store.answered(offer)
    await store.bridged(offer)
    if leg_first:
        await store.append_event("leg", **caller_leg(call))
        await store.hung_up(call)
    else:
        await store.hung_up(call)
        await store.append_event("leg", **caller_leg(call))


async def abandoned_call(store: AcdStore, call: str) -> None:
    await store.enqueue(WaitingCall(call, "support", caller_number="79169999999", node="n1"))
    await store.append_event("leg", **caller_leg(call, answered=False, number="79169999999"))
    await store.abandon(call)

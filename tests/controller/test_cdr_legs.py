"""What the controller leaves on the Stream for the CDR workers: a leg per channel of the
tenant's calls as it ends, the recording it started, the caller's place in line."""

from __future__ import annotations

from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus
from tests.controller.test_queue_flow import Center, agent_is, center, until

__all__ = ["center"]  # the fixture, shared with the queue flow tests


async def _entries(redis: Redis, center: Center, kind: bytes) -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in e.items()}
        for _, e in await redis.xrange(center.store.keys.events)
        if e[b"type"] == kind
    ]


async def test_an_answered_call_leaves_both_legs_and_its_recording(
    center: Center, redis: Redis
) -> None:
    center.switch.phones.register("1000", "default", answer_after=0.5)
    await center.store.login("1000")
    await center.store.ready("1000")
    call = await center.switch.callers.dial("7000", caller_number="4951234567", caller_name="Ivan")
    await until(lambda: agent_is(center.store, "1000", AgentStatus.ON_CALL))
    await until(lambda: any(ch.other_uuid for ch in center.switch.channels.values()))
    await call.hangup()
    await until(lambda: agent_is(center.store, "1000", AgentStatus.WRAP_UP))

    async def two_legs() -> bool:
        return len(await _entries(redis, center, b"leg")) == 2

    await until(two_legs)
    legs = {leg["role"]: leg for leg in await _entries(redis, center, b"leg")}
    caller, agent = legs["caller"], legs["agent"]
    assert caller["leg"] == caller["call"] == call.uuid
    assert caller["caller_number"] == "4951234567" and caller["caller_name"] == "Ivan"
    assert caller["destination"] == "7000" and caller["queue"] == "support"
    assert caller["node"] == "node1" and caller["cause"] == "NORMAL_CLEARING"
    # The caller sent the BYE: sofia's point of view is "recv_bye".
    assert caller["disposition"] == "recv_bye"
    assert caller["bridged_to"] == agent["leg"]
    assert int(caller["created_ms"]) <= int(caller["answered_ms"]) <= int(caller["ended_ms"])
    assert caller["billsec"].isdigit() and caller["hold_ms"] == "0"
    assert agent["call"] == call.uuid and agent["agent"] == "1000"
    assert agent["leg"] != call.uuid and agent["disposition"] == "send_bye"
    recordings = await _entries(redis, center, b"recording")
    assert [(r["call"], r["path"]) for r in recordings] == [
        (call.uuid, str(center.recordings / f"{call.uuid}.wav"))
    ]
    waiting = [e for e in await _entries(redis, center, b"call") if e["state"] == "waiting"]
    assert [e["position"] for e in waiting] == ["1"]


async def test_channels_the_center_did_not_mark_are_not_reported(
    center: Center, redis: Redis
) -> None:
    # A call no dialplan marked (no cc_queue/cc_tenant/cc_did): not this center's CDR.
    reply = await center.switch.api.execute("originate null/x &park()", None)
    uuid = reply.split()[1]
    await center.switch.api.execute(f"uuid_kill {uuid}", None)
    call = await center.switch.callers.dial("7000", caller_number="1")
    await until(lambda: center.store.waiting("support"))
    await call.hangup()

    async def one_leg() -> bool:
        return len(await _entries(redis, center, b"leg")) >= 1

    await until(one_leg)
    legs = await _entries(redis, center, b"leg")
    assert [leg["leg"] for leg in legs] == [call.uuid]

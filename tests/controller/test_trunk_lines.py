"""Calls call control dials out (click-to-call, consultations with a number) hold a line of
their gateway, counted with the rendered dialplan's ``limit_execute hash cc_gateway`` on the
same node: a full gateway is skipped for the next one, and the dialplan's calls see the lines
these calls take."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from callcenter.acd.model import AgentStatus
from callcenter.sim import Answering
from tests.controller.test_call_control import (
    Desk,
    agent_is,
    bridged_call,
    desk,
    other_of,
    ready,
    until,
)
from tests.controller.test_call_control_outbound import gateway_channels

__all__ = ["desk"]  # the fixture, shared with test_call_control

PETERSBURG = "78121112233"  # gwb first (0.80), then gwa (0.90)


async def usage(desk: Desk, gateway: str) -> str:
    return await desk.probe.api(f"limit_usage hash cc_gateway {gateway}")


def usage_is(desk: Desk, gateway: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await usage(desk, gateway) == str(count)

    return check


def fill(desk: Desk, gateway: str, calls: int) -> None:
    """``calls`` calls of the dialplan through ``gateway`` (each holds one of its lines)."""
    desk.switch.core.limits[f"hash/cc_gateway/{gateway}"] = calls


async def test_a_click_to_call_holds_a_line_of_its_gateway_while_it_lasts(desk: Desk) -> None:
    await ready(desk, "1000")
    started = await desk.control.click_to_call("1000", PETERSBURG)
    await until(lambda: other_of(desk, started.call_id) is not None)
    assert gateway_channels(desk) == [f"sofia/gateway/gwb/{PETERSBURG}"]
    assert await usage(desk, "gwb") == "1"
    assert await usage(desk, "gwa") == "0"
    await desk.probe.api(f"uuid_kill {started.call_id}")
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.AVAILABLE))
    await until(lambda: not desk.switch.channels)
    await until(usage_is(desk, "gwb", 0))


async def test_a_full_gateway_is_skipped_for_the_next_one(desk: Desk) -> None:
    fill(desk, "gwb", 10)  # all ten lines of the cheapest gateway are taken
    far = Answering(answer_after=0.1)
    desk.switch.far_ends.set(PETERSBURG, far)
    await ready(desk, "1000")
    started = await desk.control.click_to_call("1000", PETERSBURG)
    await until(lambda: other_of(desk, started.call_id) is not None)
    assert gateway_channels(desk) == [f"sofia/gateway/gwa/{PETERSBURG}"]
    assert len(far.calls) == 1  # the provider behind gwb was never asked
    assert await usage(desk, "gwb") == "10"
    assert await usage(desk, "gwa") == "1"


async def test_with_every_gateway_full_nobody_is_dialed_and_the_agent_is_back(
    desk: Desk,
) -> None:
    fill(desk, "gwb", 10)
    fill(desk, "gwa", 10)
    far = Answering(answer_after=0.1)
    desk.switch.far_ends.set(PETERSBURG, far)
    await ready(desk, "1000")
    phone = desk.switch.phones.get("1000")
    assert phone is not None
    started = await desk.control.click_to_call("1000", PETERSBURG)
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.AVAILABLE))
    await until(lambda: started.call_id not in desk.switch.channels)
    assert phone.calls == [started.call_id]  # the agent was rung, then let go
    assert far.calls == []
    assert await usage(desk, "gwb") == "10"
    assert await usage(desk, "gwa") == "10"
    # The agent's desktop is told why (the live feed carries this Stream entry).
    entries = await desk.store.redis.xrange(desk.store.keys.events)
    failed = [e for _, e in entries if e.get(b"state") == b"outbound_failed"]
    assert [(e[b"call"], e[b"agent"], e[b"number"], e[b"cause"]) for e in failed] == [
        (started.call_id.encode(), b"1000", PETERSBURG.encode(), b"NORMAL_CIRCUIT_CONGESTION")
    ]


async def test_a_consultation_with_a_number_holds_a_line_too(desk: Desk) -> None:
    fill(desk, "gwb", 10)
    caller, leg = await bridged_call(desk)
    first = await desk.control.consult(caller.uuid, PETERSBURG)
    await until(lambda: other_of(desk, leg) is not None)
    # gwb refused its leg: the target is rung through gwa, on a leg of its own.
    target = other_of(desk, leg)
    assert target is not None and target != first
    assert desk.switch.channels[target].name == f"sofia/gateway/gwa/{PETERSBURG}"
    assert await usage(desk, "gwa") == "1"
    await desk.control.cancel_consult(caller.uuid)
    await until(lambda: target not in desk.switch.channels)
    await until(usage_is(desk, "gwa", 0))

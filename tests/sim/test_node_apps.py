"""``respond``, ``limit`` and ``bridge`` failover through the node's gateways (tenant globex:
DID 7812555NNN(N) -> extension NNN(N) in context globex)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import Answering, SimSwitch


def did(extension: str) -> str:
    return f"7812555{extension}"


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("404", "UNALLOCATED_NUMBER"),
        ("486", "USER_BUSY"),
        ("480", "NO_USER_RESPONSE"),
        ("503", "NORMAL_TEMPORARY_FAILURE"),
        ("603", "DECLINE"),
    ],
)
async def test_respond_refuses_the_call_with_the_matching_cause(
    node: SimSwitch, code: str, cause: str
) -> None:
    call = await node.callers.dial(did(code), caller_number="1")
    await call.wait_hangup()
    assert call.hangup_cause == cause
    assert not call.answered
    variables = call.channel.variables
    assert variables["sip_hangup_disposition"] == "send_refuse"
    assert "not_reached" not in variables  # the dialplan stopped there


async def limit_usage(esl: InboundClient, realm: str, resource: str) -> str:
    return await esl.api(f"limit_usage hash {realm} {resource}")


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Poll an async predicate until it holds."""
    for _ in range(int(timeout / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def test_limit_over_its_max_goes_to_limit_exceeded(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    first = await node.callers.dial(did("8123"), caller_number="1")
    assert (await bridged).unique_id == first.uuid
    assert await limit_usage(node_esl, "globex", "trunks") == "1"
    assert first.channel.variables["limit_usage"] == "1"
    assert first.channel.variables["limit_usage_globex_trunks"] == "1"

    # One call too many: transferred to limit_exceeded in the same context (the default).
    second = await node.callers.dial(did("8124"), caller_number="2")
    await second.wait_hangup()
    assert second.channel.variables.get("limit_hit") == "true"
    assert second.hangup_cause == "NORMAL_TEMPORARY_FAILURE"  # respond 503 there
    assert await limit_usage(node_esl, "globex", "trunks") == "1"

    # The count drops when the channel holding the resource hangs up.
    await first.hangup()

    async def released() -> bool:
        return await limit_usage(node_esl, "globex", "trunks") == "0"

    await eventually(released)
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    third = await node.callers.dial(did("8125"), caller_number="3")
    assert (await bridged).unique_id == third.uuid
    await third.hangup()


async def test_limit_with_a_hangup_cause(node: SimSwitch, node_esl: InboundClient) -> None:
    parked = node_esl.wait_for_event("CHANNEL_PARK", timeout=10)
    first = await node.callers.dial(did("7001"), caller_number="1")
    await parked
    second = await node.callers.dial(did("7002"), caller_number="2")
    await second.wait_hangup()
    assert second.hangup_cause == "USER_BUSY"  # limit ... !USER_BUSY
    assert first.channel.is_up
    await first.hangup()


def legs(esl: InboundClient) -> list[Event]:
    created: list[Event] = []

    def on_create(event: Event) -> None:
        if event.get("Call-Direction") == "outbound":
            created.append(event)

    esl.on("CHANNEL_CREATE", on_create)
    return created


async def test_bridge_fails_over_to_the_next_gateway(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    """nonexistent (INVALID_GATEWAY) | globex_a (down) | globex_b: the third one answers."""
    node.far_ends.set("600", Answering(answer_after=0.5, hangup_after=2.0))
    assert await node_esl.api("sim_gateway globex_a down") == "+OK globex_a down\n"
    created = legs(node_esl)
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    call = await node.callers.dial(did("6600"), caller_number="1")
    bridge = await bridged
    assert bridge.unique_id == call.uuid
    assert bridge.get("Other-Leg-Channel-Name") == "sofia/gateway/globex_b/600"
    assert [e.get("Channel-Name") for e in created] == ["sofia/gateway/globex_b/600"]
    assert created[0].variable("sip_gateway_name") == "globex_b"
    assert call.channel.variables["originate_disposition"] == "call accepted"
    # The far end hangs up; continue_on_fail aside, the dialplan goes on after the bridge.
    parked = node_esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    await parked
    uuid = call.uuid
    assert await node_esl.api(f"uuid_getvar {uuid} last_bridge_hangup_cause") == "NORMAL_CLEARING"
    await call.hangup()


async def test_bridge_with_every_target_failing_ends_the_call(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    """Without continue_on_fail a failed bridge hangs the caller up with the last cause."""
    await node_esl.api("sim_gateway globex_a down")
    call = await node.callers.dial(did("5600"), caller_number="1")
    await call.wait_hangup()
    assert call.hangup_cause == "INVALID_GATEWAY"
    variables = call.channel.variables
    assert variables["originate_disposition"] == "INVALID_GATEWAY"
    assert "not_reached" not in variables


async def test_bridge_rings_gateways_together(node: SimSwitch, node_esl: InboundClient) -> None:
    """``a,b`` with a down: the leg on b answers; with both up the first answer wins."""
    await node_esl.api("sim_gateway globex_a down")
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    call = await node.callers.dial(did("4600"), caller_number="1")
    assert (await bridged).get("Other-Leg-Channel-Name") == "sofia/gateway/globex_b/600"
    await call.hangup()

    await node_esl.api("sim_gateway globex_a up")
    created = legs(node_esl)
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", timeout=10)
    lost = node_esl.wait_for_event(
        "CHANNEL_HANGUP", predicate=lambda e: e.get("Hangup-Cause") == "LOSE_RACE", timeout=10
    )
    both = await node.callers.dial(did("4601"), caller_number="2")
    bridge = await bridged
    loser = await lost
    assert sorted(e.get("Channel-Name") or "" for e in created) == [
        "sofia/gateway/globex_a/601",
        "sofia/gateway/globex_b/601",
    ]
    assert {bridge.get("Other-Leg-Unique-ID"), loser.unique_id} == {e.unique_id for e in created}
    await both.hangup()

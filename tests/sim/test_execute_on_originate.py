"""``execute_on_originate``: the application switch_ivr_originate runs on a new leg before the
leg's thread starts. Call control sends ``limit hash cc_gateway <gateway> <channels> !CAUSE``
there, so its originates count on a trunk as the dialplan's ``limit_execute`` does."""

from __future__ import annotations

import asyncio

from callcenter.esl.client import InboundClient
from callcenter.sim import Answering, SimSwitch

HOLD_LINE = "{execute_on_originate='limit hash cc_gateway globex_a 1 !NORMAL_CIRCUIT_CONGESTION'}"


def originate(number: str, variables: str = HOLD_LINE) -> str:
    return f"originate {variables}sofia/gateway/globex_a/{number} &park()"


async def usage(esl: InboundClient) -> str:
    return await esl.api("limit_usage hash cc_gateway globex_a")


async def test_the_leg_holds_a_line_while_it_is_up(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    node.far_ends.default = Answering(answer_after=0.1)
    reply = await node_esl.api(originate("74951112233"))
    assert reply.startswith("+OK ")
    leg = reply.split()[1]
    assert await usage(node_esl) == "1"
    assert node.channels[leg].variables["limit_usage_cc_gateway_globex_a"] == "1"
    await node_esl.api(f"uuid_kill {leg}")
    for _ in range(250):
        if await usage(node_esl) == "0":
            break
        await asyncio.sleep(0.02)
    assert await usage(node_esl) == "0"


async def test_a_full_trunk_fails_the_originate_with_the_cause_given(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    far = Answering(answer_after=0.1)
    node.far_ends.default = far
    assert (await node_esl.api(originate("74951112233"))).startswith("+OK ")
    assert await node_esl.api(originate("74951112244")) == "-ERR NORMAL_CIRCUIT_CONGESTION\n"
    assert len(far.calls) == 1  # the second leg never rang the provider
    assert await usage(node_esl) == "1"  # the refused leg took no line


async def test_an_unknown_application_fails_the_originate(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    node.far_ends.default = Answering(answer_after=0.1)
    reply = await node_esl.api(originate("74951112233", "{execute_on_originate=no_such_app}"))
    assert reply == "-ERR DESTINATION_OUT_OF_ORDER\n"

"""Callbacks of a center-file tenant go out through its outbound routes: the cheapest gateway
with a free line first, the next one after a trunk failure, the customer shown the number they
called. A number no route takes cannot be called back: the caller stays in line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig
from callcenter.acd.store import AcdStore
from callcenter.sim import SimSwitch
from callcenter.sim.endpoints import Answering
from tests.controller.test_call_control import make_tenant
from tests.controller.test_overflow_callback import call_state_is, callback_flow
from tests.controller.test_queue_flow import agent_is, until

PETERSBURG = "78121112233"  # gwb first (0.80 a minute), then gwa (0.90)
DID = "74951234567"  # what the test dialplan's 7000 sets as cc_did


@pytest.fixture
async def running(tmp_path: Path, store: AcdStore) -> AsyncIterator[tuple[SimSwitch, AcdStore]]:
    tenant = make_tenant(store.keys.tenant, tmp_path)
    async with callback_flow(tmp_path, store, attempts=1, tenant=tenant) as switch:
        await store.put_queue(QueueConfig("support", exit_key="1", wrap_up_seconds=0))
        await store.put_agent("1000", "user/1000@default")
        await store.put_tier("support", "1000")
        switch.phones.register("1000", "default", answer_after=0.2)
        yield switch, store


async def request_and_serve(switch: SimSwitch, store: AcdStore, number: str) -> str:
    """A caller from ``number`` leaves a callback request; then the agent gets ready."""
    call = await switch.callers.dial("7000", caller_number=number, hangup_after=600)
    await until(lambda: store.waiting("support"))
    await call.press("1")
    await call.wait_hangup()
    await store.login("1000")
    await store.ready("1000")
    return call.uuid


async def customer_leg(redis: Redis, store: AcdStore, call: str) -> str:
    await until(lambda: redis.hget(store.keys.call(call), "bridged_ms"))
    return (await redis.hget(store.keys.call(call), "customer_leg") or b"").decode()


async def test_the_cheapest_gateway_calls_back_showing_the_number_called(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    far = Answering(answer_after=0.5)
    switch.far_ends.set(PETERSBURG, far)
    call = await request_and_serve(switch, store, PETERSBURG)
    leg = switch.channels[await customer_leg(redis, store, call)]
    assert leg.name == f"sofia/gateway/gwb/{PETERSBURG}"
    assert leg.variables["cc_gateway"] == "gwb"
    assert leg.variables["origination_caller_id_number"] == DID
    assert switch.core.limits["hash/cc_gateway/gwb"] == 1  # the leg holds one of its lines


async def test_a_full_gateway_is_skipped_for_the_next_one(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    switch.core.limits["hash/cc_gateway/gwb"] = 10  # its ten lines carry calls of the dialplan
    far = Answering(answer_after=0.5)
    switch.far_ends.set(PETERSBURG, far)
    call = await request_and_serve(switch, store, PETERSBURG)
    leg = switch.channels[await customer_leg(redis, store, call)]
    assert leg.name == f"sofia/gateway/gwa/{PETERSBURG}"
    assert switch.core.limits["hash/cc_gateway/gwa"] == 1
    assert len(far.calls) == 1  # rung once, through gwa


async def test_a_busy_customer_is_not_rung_again_through_another_gateway(
    running: tuple[SimSwitch, AcdStore], redis: Redis
) -> None:
    switch, store = running
    busy = Answering(reject="USER_BUSY")
    switch.far_ends.set(PETERSBURG, busy)
    call = await request_and_serve(switch, store, PETERSBURG)
    await until(lambda: call_state_is(redis, store, call, b"callback_failed"))
    assert len(busy.calls) == 1
    await until(lambda: agent_is(store, "1000", AgentStatus.AVAILABLE))
    assert not switch.core.limits  # every line given back


async def test_a_number_no_route_takes_cannot_be_called_back(
    running: tuple[SimSwitch, AcdStore], caplog: pytest.LogCaptureFixture
) -> None:
    switch, store = running
    caplog.set_level(logging.INFO, logger="callcenter.controller")
    call = await switch.callers.dial("7000", caller_number="15551234567", hangup_after=600)
    await until(lambda: store.waiting("support"))
    await call.press("1")
    await until(lambda: any("queue_callback_refused" in r.getMessage() for r in caplog.records))
    assert call.channel.is_up  # still in line, still hearing the queue
    assert await store.callbacks("support") == []
    assert await store.waiting("support") == [call.uuid]

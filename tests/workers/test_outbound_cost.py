"""An outside call through the example center's rendered dialplan gets its cost in the CDR:
the gateway that carried it (the cheapest one, named by ``cc_gateway``), its rate and billsec."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import Engine, select

from callcenter.acd.store import AcdStore
from callcenter.center import load_center
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.db.models import Call, CallLeg
from callcenter.sim import Answering
from tests.dialplan.test_calls_through_rendered_dialplan import (
    EXAMPLE,
    MOSCOW_NUMBER,
    Node,
    bridged,
    internal,
    node,
    price_order,
    until,
)
from workers.ingest.consumer import ingest
from workers.ingest.costs import RatePricer

__all__ = ["node"]  # the fixture: the example center rendered onto a simulated switch


async def test_an_outside_call_is_priced_by_the_gateway_that_carried_it(
    node: Node, redis: Redis, redis_url: str, db: Engine
) -> None:
    store = AcdStore(redis, "acme")
    await redis.delete(store.keys.events)
    flow = QueueCallFlow({"office1": node.esl}, store, FlowSettings(tick_seconds=0.1))
    await flow.start()
    try:
        cheapest = price_order(MOSCOW_NUMBER)[0]
        node.switch.far_ends.set(MOSCOW_NUMBER, Answering(answer_after=1))
        call = await internal(node, MOSCOW_NUMBER)
        await until(bridged(call.channel))
        await asyncio.sleep(1.2)  # a billable second at least
        await call.hangup()

        async def caller_leg_reported() -> bool:
            entries = await redis.xrange(store.keys.events)
            return any(e.get(b"role") == b"caller" for _, e in entries)

        for _ in range(200):
            if await caller_leg_reported():
                break
            await asyncio.sleep(0.02)
    finally:
        await flow.stop()
    sync = SyncRedis.from_url(redis_url)
    try:
        center = load_center(EXAMPLE)
        result = await asyncio.to_thread(
            ingest, sync, db, "acme", pricer=RatePricer(center, "acme")
        )
    finally:
        await redis.delete(store.keys.events)
        sync.close()
    assert result.entries >= 1
    with db.connect() as conn:
        row = conn.execute(select(Call).where(Call.call_uuid == call.uuid)).one()
        legs = conn.execute(select(CallLeg.role).where(CallLeg.call_uuid == call.uuid)).all()
    assert [tuple(leg) for leg in legs] == [("caller",)]  # the far end's leg is not marked
    assert (row.direction, row.gateway, row.destination) == ("outbound", cheapest, MOSCOW_NUMBER)
    assert row.outcome == "answered" and row.billsec is not None and row.billsec >= 1
    rate = load_center(EXAMPLE).tenants[0].route_for(MOSCOW_NUMBER)
    assert rate is not None
    table = rate.rates[cheapest].lookup(MOSCOW_NUMBER)
    assert table is not None
    assert (row.rate_prefix, row.rate_per_minute) == (table.prefix, table.per_minute)
    expected = (table.per_minute * row.billsec / 60).quantize(Decimal("0.00001"))
    assert row.cost == expected and row.cost > 0

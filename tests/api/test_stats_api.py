"""Figures over HTTP: a day's per-queue counters from the ACD, per-agent figures and calls per
hour from the call records, for each role and tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from callcenter.acd.model import WaitingCall
from tests.api.conftest import Api, Client
from tests.calls.rows import T0, add_call


def stats(api: Api, what: str, tenant: str | None = None) -> str:
    return f"/api/v1/tenants/{tenant or api.acme}/stats/{what}"


async def test_no_sign_in_no_figures_and_other_tenants_are_refused(
    api: Api, client: Client
) -> None:
    for what in ("queues", "agents", "hourly"):
        status, body = await client.request("GET", stats(api, what))
        assert (status, body["error_id"]) == (401, "unauthorized"), what
    await client.sign_in("gary")
    for what in ("queues", "agents", "hourly"):
        status, body = await client.request("GET", stats(api, what))
        assert (status, body["error_id"]) == (403, "forbidden"), what
        assert (await client.request("GET", stats(api, what, api.globex)))[0] == 200


async def test_todays_queue_figures_and_another_days(api: Api, client: Client) -> None:
    store = api.ctx.store(api.acme)
    await store.login("1001")
    await store.ready("1001")
    await store.enqueue(WaitingCall(str(uuid.uuid4()), "sales"))
    [offer] = await store.reserve("sales")
    await store.answered(offer)
    await store.enqueue(WaitingCall(str(uuid.uuid4()), "support"))
    await api.ctx.redis.hset(
        store.keys.queue_stats("sales", "2026-03-02"),
        mapping={"offered": 7, "answered": 5, "answered_in_sl": 5},
    )
    await client.sign_in("alice")  # agents see the wallboard's figures
    status, body = await client.request("GET", stats(api, "queues"))
    assert status == 200
    assert body["date"] == datetime.now(UTC).date().isoformat()
    by_queue = {q["queue"]: q for q in body["queues"]}
    assert set(by_queue) == {"sales", "support"}
    assert (by_queue["sales"]["offered"], by_queue["sales"]["answered"]) == (1, 1)
    assert by_queue["sales"]["service_level"] == 100.0
    assert (by_queue["support"]["offered"], by_queue["support"]["answered"]) == (1, 0)
    status, body = await client.request("GET", stats(api, "queues"), params={"date": "2026-03-02"})
    sales = next(q for q in body["queues"] if q["queue"] == "sales")
    assert (body["date"], sales["offered"], sales["answered"]) == ("2026-03-02", 7, 5)
    status, body = await client.request("GET", stats(api, "queues"), params={"date": "yesterday"})
    assert (status, body["details"]["problems"][0]["field"]) == (422, "date")


async def test_agent_figures_an_agent_sees_their_own_row(
    api: Api, client: Client, db: Engine
) -> None:
    add_call(db, tenant=api.acme, agent="1001", talk_ms=60_000, hold_ms=6_000)
    add_call(db, tenant=api.acme, agent="1001", talk_ms=120_000, hold_ms=0)
    add_call(db, tenant=api.acme, agent="1002", talk_ms=30_000)
    add_call(db, tenant=api.acme, agent="1002", started_at=T0 + timedelta(days=2))
    add_call(db, tenant=api.globex, agent="1001")
    window = {"from": "2026-03-02", "to": "2026-03-03"}
    await client.sign_in("sue")
    status, body = await client.request("GET", stats(api, "agents"), params=window)
    assert status == 200
    assert body["since"].startswith("2026-03-02T00:00:00")
    rows = {r["agent"]: r for r in body["agents"]}
    assert set(rows) == {"1001", "1002"}
    assert (rows["1001"]["calls"], rows["1001"]["answered"]) == (2, 2)
    assert rows["1001"]["talk_seconds"] == 180.0
    assert rows["1001"]["average_handle_seconds"] == 93.0
    assert rows["1002"]["calls"] == 1
    alice = Client(api.url)
    try:
        await alice.sign_in("alice")
        status, body = await alice.request("GET", stats(api, "agents"), params=window)
        assert [r["agent"] for r in body["agents"]] == ["1001"]
        status, body = await alice.request(
            "GET", stats(api, "agents"), params={"from": "2026-03-03", "to": "2026-03-02"}
        )
        assert (status, body["error_id"]) == (422, "invalid-input")
    finally:
        await alice.close()
    # Without a range: today so far (none of the 2026 calls).
    status, body = await client.request("GET", stats(api, "agents"))
    assert (status, body["agents"]) == (200, [])


async def test_calls_per_hour_for_the_wallboard_chart(api: Api, client: Client, db: Engine) -> None:
    add_call(db, tenant=api.acme, started_at=T0)
    add_call(db, tenant=api.acme, started_at=T0 + timedelta(minutes=30), outcome="abandoned")
    add_call(db, tenant=api.acme, started_at=T0 + timedelta(hours=5))
    add_call(db, tenant=api.globex, started_at=T0)
    await client.sign_in("alice")
    status, body = await client.request("GET", stats(api, "hourly"), params={"date": "2026-03-02"})
    assert status == 200
    assert body["date"] == "2026-03-02"
    hours = body["hours"]
    assert len(hours) == 24
    assert hours[10] == {"hour": 10, "calls": 2, "answered": 1, "abandoned": 1}
    assert hours[15]["calls"] == 1
    assert sum(h["calls"] for h in hours) == 3

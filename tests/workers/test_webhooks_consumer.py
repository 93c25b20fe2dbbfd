"""The webhooks' reading of a tenant's Stream, in this process against a real Redis and a real
HTTP receiver: which events go out, their payloads and signatures, what is not sent, and the
same delivery id when an entry is read again after a crash before its acknowledgement."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis import Redis

from callcenter.acd.store import AcdStore
from callcenter.crm import CrmConfig
from callcenter.crm.signing import TIMESTAMP_HEADER
from tests.crm.calls import DID, abandoned_call, answered_call, caller_leg, set_up
from tests.crm.receiver import Receiver, running_receiver
from workers.webhooks.consumer import GROUP, ensure_group, run_webhooks
from workers.webhooks.delivery import Attempt, Delivery, Outcome, post
from workers.webhooks.tasks import webhook_tenants

SECRET = "s3cret-0123456789abcdef"


@pytest.fixture
async def crm() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


def config(crm: Receiver, *events: str, path: str = "/hook") -> CrmConfig:
    return CrmConfig.model_validate(
        {"webhooks": [{"url": crm.url(path), "secret": SECRET, "events": list(events)}]}
    )


class Sender:
    """Delivers at once (the delivery task's own ``post``), keeping what each attempt gave."""

    def __init__(self, crm: CrmConfig, *, crash_after: int | None = None) -> None:
        self.crm = crm
        self.crash_after = crash_after
        self.attempts: list[tuple[Delivery, Attempt]] = []

    def __call__(self, delivery: Delivery) -> None:
        hook = self.crm.webhook(delivery.url)
        assert hook is not None
        self.attempts.append((delivery, post(delivery, hook)))
        if self.crash_after is not None and len(self.attempts) >= self.crash_after:
            raise KeyboardInterrupt("the worker dies here, before the acknowledgement")


async def run(redis: Redis, store: AcdStore, crm: CrmConfig, send: Any, **kw: Any) -> Any:
    # The HTTP receiver runs on this loop: the synchronous consumer goes to a thread.
    return await asyncio.to_thread(run_webhooks, redis, store.keys.tenant, crm, send, **kw)


async def test_a_call_gives_its_events_signed_in_order(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "queued", "ringing", "answered", "ended", "disposition", "agent_status")
    ensure_group(sync_redis, store.keys.tenant)
    await set_up(store)
    await answered_call(store, "call-1")
    await store.append_event("disposition", call="call-1", code="sale", set_by="1000",
                             tenant=store.keys.tenant)  # fmt: skip
    send = Sender(hooks)
    result = await run(sync_redis, store, hooks, send)
    assert all(a.outcome is Outcome.DELIVERED for _, a in send.attempts)
    assert result.deliveries == len(crm.requests) == len(send.attempts)
    for request in crm.requests:
        assert request.verifies(SECRET)
        assert request.headers["Content-Type"] == "application/json; charset=utf-8"
        assert abs(int(request.headers[TIMESTAMP_HEADER]) - time.time()) < 60
        assert request.event == request.json["event"]
    calls = [r.json for r in crm.requests if r.json["event"] != "agent_status"]
    assert [p["event"] for p in calls] == ["queued", "ringing", "answered", "ended", "disposition"]
    queued, ringing, answered, ended, disposition = calls
    tenant = store.keys.tenant
    for p in calls:
        assert (p["tenant"], p["call_id"], p["caller_number"], p["queue"]) == (
            tenant, "call-1", "79161234567", "support",
        )  # fmt: skip
    # The DID from the first event on (the ACD has it from the caller's channel).
    assert queued["position"] == 1 and queued["came_from"] is None and queued["did"] == DID
    assert ringing["did"] == answered["did"] == DID
    assert ringing["agents"] == ["1000"] and ringing["agent"] == "1000"
    assert answered["agent"] == "1000" and answered["wait_ms"] >= 0
    assert (ended["did"], ended["caller_name"], ended["agent"]) == (DID, "Ivan", "1000")
    assert (ended["outcome"], ended["hangup_cause"], ended["hangup_side"]) == (
        "answered", "NORMAL_CLEARING", "caller",
    )  # fmt: skip
    assert ended["wait_ms"] == answered["wait_ms"] and ended["talk_ms"] >= 0
    assert ended["duration_ms"] == 30_000 and ended["billsec"] == 29
    assert ended["started_at"].endswith("Z") and ended["answered_at"] == answered["at"]
    assert (disposition["code"], disposition["set_by"], disposition["agent"]) == (
        "sale", "1000", "1000",
    )  # fmt: skip
    assert disposition["did"] == DID
    statuses = [r.json["status"] for r in crm.requests if r.json["event"] == "agent_status"]
    assert statuses == ["on_break", "available", "reserved", "on_call", "available"]
    # Nothing left pending; a second run has nothing to send.
    assert sync_redis.xpending(store.keys.events, GROUP)["pending"] == 0
    again = await run(sync_redis, store, hooks, Sender(hooks))
    assert (again.entries, again.deliveries) == (0, 0)


async def test_ended_waits_for_the_final_state_whichever_comes_first(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "ended", "abandoned")
    ensure_group(sync_redis, store.keys.tenant)
    await set_up(store)
    await answered_call(store, "leg-last", leg_first=False)
    await abandoned_call(store, "gave-up")
    await run(sync_redis, store, hooks, Sender(hooks))
    by_event = {(r.json["event"], r.json["call_id"]): r.json for r in crm.requests}
    assert set(by_event) == {("ended", "leg-last"), ("abandoned", "gave-up"), ("ended", "gave-up")}
    assert by_event[("ended", "leg-last")]["talk_ms"] is not None
    gave_up = by_event[("ended", "gave-up")]
    assert (gave_up["outcome"], gave_up["agent"], gave_up["answered_at"]) == (
        "abandoned", None, None,
    )  # fmt: skip
    assert gave_up["wait_ms"] == by_event[("abandoned", "gave-up")]["wait_ms"]
    assert gave_up["caller_number"] == "79169999999"


async def test_ended_goes_out_after_the_grace_time_without_a_final_state(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "ended")
    ensure_group(sync_redis, store.keys.tenant)
    await store.append_event("leg", **caller_leg("lost-state"))  # its controller died
    await store.append_event("leg", **caller_leg("ivr-only", queue=""))  # no queue: at once
    await run(sync_redis, store, hooks, Sender(hooks))
    assert [r.json["call_id"] for r in crm.requests] == ["ivr-only"]
    assert crm.requests[0].json["outcome"] == "answered"
    later = int(time.time() * 1000) + 10_000
    await run(sync_redis, store, hooks, Sender(hooks), now_ms=lambda: later)
    assert [r.json["call_id"] for r in crm.requests] == ["ivr-only", "lost-state"]
    # Sent once: a later run does not send it again.
    await run(sync_redis, store, hooks, Sender(hooks), now_ms=lambda: later + 60_000)
    assert len(crm.requests) == 2


async def test_only_subscribed_events_are_sent(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    crm_config = CrmConfig.model_validate(
        {
            "webhooks": [
                {"url": crm.url("/ends"), "secret": SECRET, "events": ["ended"]},
                {"url": crm.url("/answers"), "secret": SECRET, "events": ["answered"]},
            ]
        }
    )
    ensure_group(sync_redis, store.keys.tenant)
    await set_up(store)
    await answered_call(store, "call-1")
    await run(sync_redis, store, crm_config, Sender(crm_config))
    assert [r.json["event"] for r in crm.at("/ends")] == ["ended"]
    assert [r.json["event"] for r in crm.at("/answers")] == ["answered"]
    # One receiver's delivery id is not another's.
    assert crm.at("/ends")[0].delivery != crm.at("/answers")[0].delivery


async def test_an_entry_read_again_after_a_crash_keeps_its_delivery_id(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "answered", "ended")
    ensure_group(sync_redis, store.keys.tenant)
    await set_up(store)
    await answered_call(store, "call-1")
    with pytest.raises(KeyboardInterrupt):
        await run(sync_redis, store, hooks, Sender(hooks, crash_after=2))
    assert len(crm.requests) == 2  # answered and ended sent, then the crash: nothing acked
    assert sync_redis.xpending(store.keys.events, GROUP)["pending"] > 0
    await run(sync_redis, store, hooks, Sender(hooks))
    first, second = crm.requests[:2], crm.requests[2:]
    assert [r.delivery for r in second] == [r.delivery for r in first]
    assert [r.body for r in second] == [r.body for r in first]
    assert sync_redis.xpending(store.keys.events, GROUP)["pending"] == 0


async def test_entries_from_before_the_webhooks_existed_are_not_sent(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "answered", "ended")
    await set_up(store)
    await answered_call(store, "old-call")
    result = await run(sync_redis, store, hooks, Sender(hooks))  # creates the group at the end
    assert (result.entries, crm.requests) == (0, [])


async def test_another_run_of_the_tenant_waits_its_turn(
    sync_redis: Redis, store: AcdStore, crm: Receiver
) -> None:
    hooks = config(crm, "ended")
    sync_redis.set(f"{store.keys.base}:webhooks:lock", "someone", px=5000)
    result = await run(sync_redis, store, hooks, Sender(hooks))
    assert result.busy


def test_only_tenants_with_webhooks_are_read(tmp_path: Any) -> None:
    from callcenter.center import load_center

    path = tmp_path / "center.yaml"
    path.write_text(
        "tenants:\n"
        "  - {name: plain, domain: plain.example.com}\n"
        "  - {name: lookup-only, domain: l.example.com, crm: {screen_pop_url: 'https://x/'}}\n"
        "  - name: hooked\n"
        "    domain: h.example.com\n"
        f"    crm: {{webhooks: [{{url: 'https://x/', secret: {SECRET}, events: [ended]}}]}}\n"
    )
    assert webhook_tenants(load_center(path)) == ["hooked"]
    assert webhook_tenants(None) == []

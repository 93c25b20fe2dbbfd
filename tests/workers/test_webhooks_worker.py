"""CRM webhooks end to end through a real Celery worker process (``callcenter worker``, beat
embedded): calls written to the Stream by the real ACD store reach a real HTTP receiver,
signed; a receiver answering 500 twice gets the delivery on the third attempt with the same
delivery id, a 400 is not tried again, a timeout is; a tenant without ``crm`` and events
nobody subscribed to send nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from callcenter.acd.store import AcdStore
from tests.crm.calls import answered_call, set_up
from tests.crm.receiver import Answer, Receiver, running_receiver
from tests.workers.worker_process import WorkerProcess
from workers.webhooks.consumer import GROUP

SECRET = "s3cret-0123456789abcdef"


@pytest.fixture
async def crm() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


def center_file(folder: Path, hooked: str, plain: str, crm: Receiver) -> Path:
    def hook(path: str, events: str, timeout: float = 2) -> str:
        return (
            f"        - {{url: '{crm.url(path)}', secret: {SECRET}, events: [{events}],\n"
            f"           timeout_seconds: {timeout}, max_attempts: 4,\n"
            "           retry_backoff_seconds: 0.1, retry_backoff_max_seconds: 0.3}\n"
        )

    path = folder / "center.yaml"
    path.write_text(
        "tenants:\n"
        f"  - name: {hooked}\n"
        f"    domain: {hooked}.example.com\n"
        "    crm:\n"
        "      webhooks:\n"
        + hook("/ok", "answered, ended, disposition")
        + hook("/flaky", "answered")
        + hook("/bad", "answered")
        + hook("/slow", "answered", timeout=0.5)
        + hook("/ended-only", "ended")
        + f"  - {{name: {plain}, domain: {plain}.example.com}}\n"
    )
    return path


async def until(what: str, predicate: Callable[[], object], worker: WorkerProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    while not predicate():
        if worker.proc is not None and worker.proc.poll() is not None:
            pytest.fail(f"{what}: the worker exited; log:\n{worker.output()[-3000:]}")
        if loop.time() > deadline:
            pytest.fail(f"{what}: not reached; worker log:\n{worker.output()[-3000:]}")
        await asyncio.sleep(0.05)


def has_group(redis: SyncRedis, stream: str) -> bool:
    if not redis.exists(stream):
        return False
    return any(g["name"] == GROUP.encode() for g in redis.xinfo_groups(stream))


async def test_webhooks_through_a_real_worker(
    tmp_path: Path, redis: Redis, redis_url: str, sync_redis: SyncRedis, crm: Receiver
) -> None:
    suffix = uuid.uuid4().hex[:8]
    hooked, plain = AcdStore(redis, f"hooked-{suffix}"), AcdStore(redis, f"plain-{suffix}")
    crm.script("/flaky", Answer(status=500), Answer(status=500), Answer(status=200))
    crm.script("/bad", Answer(status=400, body='{"error": "no such field"}'))
    crm.script("/slow", Answer(delay=1.5), Answer(status=200))
    worker = WorkerProcess(
        tmp_path / "worker",
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path / 'worker.db'}",
        center=str(center_file(tmp_path, hooked.keys.tenant, plain.keys.tenant, crm)),
        discover_tenants="false",
    )
    worker.start()
    try:
        # The group starts at the Stream's end: wait for the first run before the calls.
        await until("webhooks group", lambda: has_group(sync_redis, hooked.keys.events), worker)
        for store in (hooked, plain):
            await set_up(store)
            await answered_call(store, f"call-{store.keys.tenant}")
            await store.append_event("disposition", call=f"call-{store.keys.tenant}",
                                     code="sale", set_by="1000")  # fmt: skip
        await until(
            "every delivery",
            lambda: (
                len(crm.at("/ok")) == 3
                and len(crm.at("/flaky")) == 3
                and len(crm.at("/bad")) == 1
                and len(crm.at("/slow")) == 2
                and len(crm.at("/ended-only")) == 1
            ),
            worker,
        )
        await asyncio.sleep(1.5)  # time for a retry that should not happen
    finally:
        worker.stop()
    log = worker.output()

    call = f"call-{hooked.keys.tenant}"
    assert all(r.verifies(SECRET) for r in crm.requests)
    assert {r.json["tenant"] for r in crm.requests} == {hooked.keys.tenant}  # never the plain one
    assert [r.event for r in crm.at("/ok")] == ["answered", "ended", "disposition"]
    assert all(r.json["call_id"] == call for r in crm.requests)
    ended = crm.at("/ok")[1].json
    assert (ended["outcome"], ended["agent"], ended["hangup_cause"]) == (
        "answered", "1000", "NORMAL_CLEARING",
    )  # fmt: skip
    assert crm.at("/ok")[2].json["code"] == "sale"
    assert [r.event for r in crm.at("/ended-only")] == ["ended"]
    # Retried until taken: the same delivery (id and body) each time, signed anew each time.
    flaky = crm.at("/flaky")
    assert len({r.delivery for r in flaky}) == 1 and len({r.body for r in flaky}) == 1
    slow = crm.at("/slow")
    assert len({r.delivery for r in slow}) == 1
    # A 400 is final.
    assert len(crm.at("/bad")) == 1
    assert "webhook_failed" in log and "HTTP 400" in log
    assert "webhook_retry" in log and "timeout after 0.5s" in log

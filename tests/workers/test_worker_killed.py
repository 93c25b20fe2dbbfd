"""A worker killed with SIGKILL in the middle of ingesting loses nothing and doubles nothing:
a second worker finishes the Stream and every call is in the database exactly once."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine, func, select

from callcenter.acd.keys import Keys
from callcenter.controller.queue_flow import TENANTS_KEY
from callcenter.db.models import AgentStateChange, Call, CallLeg, QueueWait
from tests.workers.streams import many_calls
from tests.workers.worker_process import WorkerProcess

CALLS = 12_000


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Call, CallLeg, QueueWait, AgentStateChange)
        )


def _wait(what: str, predicate: object, timeout: float, worker: WorkerProcess) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if worker.proc is not None and worker.proc.poll() is not None:
            pytest.fail(f"{what}: the worker exited; its log:\n{worker.output()[-3000:]}")
        if time.monotonic() > deadline:
            log = worker.output()
            ingests = [line for line in log.splitlines() if "cc.ingest_tenant" in line]
            pytest.fail(
                f"{what}: not reached in {timeout} s; last ingest lines:\n"
                + "\n".join(ingests[-10:])
                + f"\nworker log:\n{log[-3000:]}"
            )
        time.sleep(0.05)


def test_sigkill_in_the_middle_of_a_batch_loses_nothing(
    tmp_path: Path, db: Engine, database_url: str, redis_url: str, sync_redis: Redis
) -> None:
    tenant = f"k{uuid.uuid4().hex[:8]}"
    stream = Keys(tenant).events
    pipe = sync_redis.pipeline(transaction=False)
    for n, entry in enumerate(many_calls(CALLS, recordings=False), 1):
        pipe.xadd(stream, dict(entry))
        if n % 5000 == 0:
            pipe.execute()
    pipe.execute()
    sync_redis.sadd(TENANTS_KEY, tenant)
    worker = WorkerProcess(
        tmp_path / "worker",
        redis_url=redis_url,
        database_url=database_url,
        batch_size="2000",
        ingest_lock_seconds="2",
        tenants=tenant,
        discover_tenants="false",  # other tests' tenants stay out of the counts
    )
    try:
        worker.start()
        # Killed once some batches are in and most are not: in the middle of its work.
        _wait("first rows", lambda: _counts(db)[0] > 0, 60, worker)
        worker.kill()
        partial = _counts(db)
        assert partial[0] < CALLS, "the worker finished before it could be killed"
        worker.start()
        _wait("every call", lambda: _counts(db)[0] == CALLS and _counts(db)[3] == 4 * CALLS,
              180, worker)  # fmt: skip
    finally:
        worker.stop()
        sync_redis.srem(TENANTS_KEY, tenant)
    assert _counts(db) == (CALLS, 2 * CALLS, CALLS, 4 * CALLS)
    with db.connect() as conn:
        unfinished = conn.execute(
            select(func.count())
            .select_from(Call)
            .where(Call.talk_ms.is_(None) | Call.ended_at.is_(None) | Call.agent.is_(None))
        ).scalar_one()
    assert unfinished == 0
    assert sync_redis.xpending(stream, "cdr")["pending"] == 0

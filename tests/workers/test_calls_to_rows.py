"""Calls made through the simulated switch, driven by the controller, end up as rows in
PostgreSQL through a real Celery worker process: the CDR, its legs, the queue waits, the agent
states, the processed recording; a duplicated Stream adds nothing; a corrupt WAV is a recorded
failure."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import TENANTS_KEY, FlowSettings, QueueCallFlow
from callcenter.db.models import (
    AgentStateChange,
    Base,
    Call,
    CallLeg,
    QualityScore,
    QueueWait,
    Recording,
)
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.workers.worker_process import WorkerProcess

DID = "74951234567"
T = TypeVar("T", bound=Base)


def dialplan(tenant: str) -> str:
    return f"""<include><context name="public">
  <extension name="advert">
    <condition field="destination_number" expression="^{DID}$">
      <action application="set" data="cc_tenant={tenant}"/>
      <action application="set" data="cc_did={DID}"/>
      <action application="set" data="cc_did_label=radio &amp; tv"/>
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="park"/>
    </condition>
  </extension>
</context></include>
"""


@dataclass
class Center:
    switch: SimSwitch
    store: AcdStore
    worker: WorkerProcess
    recordings: Path
    storage: Path


@pytest.fixture
async def center(
    tmp_path: Path, redis: Redis, redis_url: str, database_url: str, db: Engine
) -> AsyncIterator[Center]:
    tenant = f"e{uuid.uuid4().hex[:8]}"
    store = AcdStore(redis, tenant)
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "public.xml").write_text(dialplan(tenant))
    recordings, storage = tmp_path / "rec", tmp_path / "storage"
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=recordings)
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    await store.put_queue(QueueConfig("support", Strategy.LONGEST_IDLE, wrap_up_seconds=0.2))
    await store.put_agent("1000", "user/1000@default")
    await store.put_tier("support", "1000")
    flow = QueueCallFlow(
        {"office1": esl},
        store,
        FlowSettings(ring_seconds=3, recordings_dir=recordings, tick_seconds=0.05),
    )
    await flow.start()
    worker = WorkerProcess(
        tmp_path / "worker",
        redis_url=redis_url,
        database_url=database_url,
        recordings_dir=str(recordings),
        storage=str(storage),
        quality_delay="0",
    )
    worker.start()
    try:
        yield Center(switch, store, worker, recordings, storage)
    finally:
        worker.stop()
        await flow.stop()
        await esl.close()
        await switch.stop()
        await redis.srem(TENANTS_KEY, tenant)


async def until(
    what: str, predicate: Callable[[], object], center: Center, timeout: float = 30
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        proc = center.worker.proc
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the worker exited; log:\n{center.worker.output()[-3000:]}")
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{what}: not reached; worker log:\n{center.worker.output()[-3000:]}")
        await asyncio.sleep(0.05)


def _one(engine: Engine, model: type[T], **where: object) -> T | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(model).filter_by(**where)).one_or_none()


def _rows(engine: Engine, model: type[T], **where: object) -> list[T]:
    with Session(engine) as session:
        return list(session.scalars(select(model).filter_by(**where)))


def _columns(rows: list[T]) -> list[dict[str, object]]:
    return sorted(
        ({k: v for k, v in vars(r).items() if not k.startswith("_")} for r in rows), key=repr
    )


def _exists(path: Path) -> bool:
    return path.exists()


def _stored_file(uri: str, storage: Path) -> tuple[bool, str]:
    """Whether the URI is a file under ``storage``, and its sha256."""
    path = Path(url2pathname(urlsplit(uri).path))
    inside = path.is_file() and path.is_relative_to(storage)
    return inside, hashlib.sha256(path.read_bytes()).hexdigest() if inside else ""


def _count(engine: Engine, model: type, **where: object) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(model).filter_by(**where)).scalar_one()
        )


async def test_an_answered_and_an_abandoned_call_become_their_rows(
    center: Center, db: Engine
) -> None:
    switch, store = center.switch, center.store
    switch.phones.register("1000", "default", answer_after=0.3)
    await store.login("1000")
    await store.ready("1000")
    first = await switch.callers.dial(DID, caller_number="79161234567", caller_name="Ivan")

    async def on_call() -> bool:
        return await store.status("1000") is AgentStatus.ON_CALL

    await until("agent on the call", on_call, center)
    await until("bridged", lambda: switch.channels[first.uuid].other_uuid, center)
    # A second caller waits while the agent talks, and gives up.
    second = await switch.callers.dial(DID, caller_number="79169999999")
    await until("second caller waiting", lambda: store.waiting("support"), center)
    await asyncio.sleep(0.3)
    await second.hangup()
    await asyncio.sleep(0.3)
    await first.hangup()
    await until(
        "both calls in the database",
        lambda: (
            _count(db, Call, tenant=store.keys.tenant) == 2
            and _count(db, CallLeg, call_uuid=first.uuid) == 2
            and _count(db, Call, call_uuid=first.uuid, outcome="answered") == 1
            and _count(db, Recording, call_uuid=first.uuid, status="done") == 1
        ),
        center,
    )
    call = _one(db, Call, call_uuid=first.uuid)
    assert call is not None
    c = vars(call)
    assert (c["tenant"], c["node"], c["direction"]) == (store.keys.tenant, "office1", "inbound")
    assert (c["caller_number"], c["caller_name"]) == ("79161234567", "Ivan")
    assert (c["did"], c["campaign"], c["gateway"]) == (DID, "radio & tv", "pstn")
    assert (c["queue"], c["agent"], c["outcome"]) == ("support", "1000", "answered")
    assert c["wait_ms"] > 0 and c["talk_ms"] > 0 and c["billsec"] is not None
    assert (c["hangup_cause"], c["hangup_side"]) == ("NORMAL_CLEARING", "caller")
    assert c["started_at"] <= c["answered_at"] <= c["bridged_at"] <= c["ended_at"]
    legs = {leg.role: leg for leg in _rows(db, CallLeg, call_uuid=first.uuid)}
    assert legs["agent"].agent == "1000" and legs["agent"].hangup_side == "local"
    assert legs["caller"].hangup_side == "remote"
    wait = _one(db, QueueWait, call_uuid=first.uuid, queue="support")
    assert wait is not None
    assert (wait.outcome, wait.position, wait.agent) == ("answered", 1, "1000")

    abandoned = _one(db, Call, call_uuid=second.uuid)
    assert abandoned is not None
    assert (abandoned.outcome, abandoned.hangup_side) == ("abandoned", "caller")
    assert abandoned.agent is None and (abandoned.wait_ms or 0) > 0
    wait2 = _one(db, QueueWait, call_uuid=second.uuid, queue="support")
    assert wait2 is not None and (wait2.outcome, wait2.position) == ("abandoned", 1)

    statuses = [
        s.status for s in _rows(db, AgentStateChange, agent="1000", tenant=store.keys.tenant)
    ]
    for expected in ("available", "reserved", "on_call", "wrap_up"):
        assert expected in statuses

    rec = _one(db, Recording, call_uuid=first.uuid)
    assert rec is not None
    assert rec.storage_uri is not None
    assert _stored_file(rec.storage_uri, center.storage) == (True, rec.sha256)
    assert rec.format == "flac" and rec.duration_s is not None and rec.duration_s > 0
    assert not _exists(center.recordings / f"{first.uuid}.wav")  # moved to storage

    # The answered call got its automatic quality score (the abandoned one none).
    await until("scored", lambda: _one(db, QualityScore, call_uuid=first.uuid), center)
    score = _one(db, QualityScore, call_uuid=first.uuid)
    assert score is not None and 0 <= score.score <= 100
    assert (score.queue, score.agent) == ("support", "1000")
    assert _one(db, QualityScore, call_uuid=second.uuid) is None

    # The same calls on the Stream again (as a second controller would report them): no row
    # more, no row changed.
    models: tuple[type[Base], ...] = (Call, CallLeg, QueueWait, Recording)
    mine = store.keys.tenant  # other tests' tenants may be ingested meanwhile: not compared
    before = {m.__name__: _columns(_rows(db, m, tenant=mine)) for m in models}
    redis = store.redis
    for _, fields in await redis.xrange(store.keys.events):
        if fields[b"type"] in (b"leg", b"call", b"recording"):
            await redis.xadd(store.keys.events, fields)
    length = await redis.xlen(store.keys.events)

    async def all_read() -> bool:
        info = await redis.xinfo_groups(store.keys.events)
        return bool(info) and info[0]["entries-read"] == length and info[0]["pending"] == 0

    await until("the copies ingested", all_read, center)
    after = {m.__name__: _columns(_rows(db, m, tenant=mine)) for m in models}
    assert after == before


async def test_a_corrupt_recording_is_a_failure_with_its_reason(center: Center, db: Engine) -> None:
    call = str(uuid.uuid4())
    center.recordings.mkdir(parents=True, exist_ok=True)
    wav = center.recordings / f"{call}.wav"
    wav.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage that is not a recording")
    events = center.store.keys.events
    await center.store.redis.xadd(events, {"type": "recording", "call": call, "path": str(wav)})
    await center.store.redis.xadd(events, {
        "type": "leg", "leg": call, "call": call, "role": "caller", "queue": "support",
        "caller_number": "1", "created_ms": 1_767_000_000_000, "ended_ms": 1_767_000_010_000,
        "cause": "NORMAL_CLEARING", "disposition": "recv_bye",
    })  # fmt: skip
    await center.store.redis.sadd(TENANTS_KEY, center.store.keys.tenant)
    await until(
        "the failure recorded",
        lambda: _count(db, Recording, call_uuid=call, status="failed") == 1,
        center,
    )
    rec = _one(db, Recording, call_uuid=call)
    assert rec is not None and rec.failure_reason
    assert "wav" in rec.failure_reason.lower() or "riff" in rec.failure_reason.lower()
    assert _exists(wav)  # kept for someone to look at

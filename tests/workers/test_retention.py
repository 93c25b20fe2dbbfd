"""Retention on real PostgreSQL, Redis and a storage folder: what goes, what stays, twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

import workers.retention as retention
from callcenter.db.models import (
    AgentStateChange,
    Call,
    CallLeg,
    Comment,
    Disposition,
    QualityScore,
    QueueWait,
    Recording,
    RetentionRun,
)
from tests.calls.rows import (
    T0,
    add_call,
    add_recording,
    center_file,
    new_uuid,
    sqlite_engine,
    worker_context,
)
from workers.context import WorkerContext
from workers.recordings.storage import open_storage
from workers.retention import purge_expired, purge_expired_task

# acme keeps recordings 10 days and call records 30 (tests/calls/rows.py); globex keeps all.
NOW = T0 + timedelta(days=40)


@pytest.fixture
def ctx(db: Engine, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerContext]:
    context = worker_context(database_url, redis_url, center_file(tmp_path), tmp_path)
    yield context
    context.engine.dispose()


def _stored(ctx: WorkerContext, tmp_path: Path, name: str, size: int) -> str:
    """A file put in the workers' storage; its URI."""
    source = tmp_path / "encoded" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"\0" * size)
    return open_storage(ctx.settings.worker.storage).put(source, f"acme/{name}")


def _ended(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _call_with_everything(engine: Engine, tenant: str, ended: datetime) -> str:
    call = add_call(engine, tenant=tenant, ended_at=ended, started_at=ended)
    with engine.begin() as conn:
        conn.execute(
            insert(CallLeg).values(
                leg_uuid=new_uuid(), call_uuid=call, tenant=tenant, role="caller",
                created_at=ended, ended_at=ended,
            )
        )  # fmt: skip
        conn.execute(
            insert(QueueWait).values(call_uuid=call, queue="sales", tenant=tenant, left_at=ended)
        )
        conn.execute(
            insert(Comment).values(
                call_uuid=call, tenant=tenant, author="a", created_at=ended, text="x"
            )
        )
        conn.execute(
            insert(Disposition).values(
                call_uuid=call, tenant=tenant, code="sale", set_by="a", set_at=ended
            )
        )
        conn.execute(
            insert(QualityScore).values(
                call_uuid=call, tenant=tenant, score=90, reasons=[], scored_at=ended
            )
        )
    return call


def _agent_state(engine: Engine, tenant: str, stream_id: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(AgentStateChange).values(
                tenant=tenant, stream_id=stream_id, agent="1000", status="ready", at=at
            )
        )


def _count(engine: Engine, model: type[Any], tenant: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(model).where(model.tenant == tenant)
        return int(conn.execute(query).scalar_one())


def test_expired_recordings_and_records_go_the_rest_stays(
    ctx: WorkerContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ctx.engine
    # Call records: 45 days old (gone), 20 days old and 5 days old (kept), globex (kept).
    old = _call_with_everything(engine, "acme", _ended(-5))
    middle = _call_with_everything(engine, "acme", _ended(20))
    recent = _call_with_everything(engine, "acme", _ended(35))
    globex = _call_with_everything(engine, "globex", _ended(-5))
    # Recordings: the old and middle ones are past 10 days, the recent one is not.
    old_uri = _stored(ctx, tmp_path, "old.flac", 1000)
    middle_uri = _stored(ctx, tmp_path, "middle.flac", 300)
    recent_uri = _stored(ctx, tmp_path, "recent.flac", 50)
    add_recording(engine, old, storage_uri=old_uri, size_bytes=1000, created_at=_ended(-5))
    middle_rec = add_recording(engine, middle, storage_uri=middle_uri, created_at=_ended(20))
    add_recording(engine, recent, storage_uri=recent_uri, created_at=_ended(35))
    add_recording(engine, globex, tenant="globex", storage_uri=old_uri, created_at=_ended(-5))
    with engine.begin() as conn:
        conn.execute(
            insert(Comment).values(
                call_uuid=middle, recording_id=middle_rec, tenant="acme", author="qa",
                created_at=_ended(21), offset_s=3.0, text="on the recording",
            )
        )  # fmt: skip
    # A recording never processed: the switch's file is still in the recordings folder.
    raw = ctx.settings.worker.recordings_dir / "raw.wav"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(b"\0" * 70)
    unprocessed = add_call(engine, ended_at=_ended(15))
    add_recording(engine, unprocessed, source_path=str(raw), status="pending", created_at=None)
    # A file already gone, and a file somewhere the row should never point at: both rows go,
    # the stray file stays.
    stray = tmp_path / "not-a-recording.txt"
    stray.write_text("keep me")
    gone = add_call(engine, ended_at=_ended(15))
    add_recording(engine, gone, storage_uri=(tmp_path / "storage/acme/x.flac").as_uri(),
                  source_path=str(stray), created_at=_ended(15))  # fmt: skip
    # A leg whose call never got a record, and agent states on either side of 30 days.
    with engine.begin() as conn:
        conn.execute(
            insert(CallLeg).values(
                leg_uuid=new_uuid(), call_uuid=new_uuid(), tenant="acme", role="agent",
                created_at=_ended(1),
            )
        )  # fmt: skip
    _agent_state(engine, "acme", "1-0", _ended(0))
    _agent_state(engine, "acme", "2-0", _ended(39))
    _agent_state(engine, "globex", "1-0", _ended(0))

    caplog.set_level(logging.INFO, logger="callcenter.workers.retention")
    [summary] = purge_expired(ctx, now=NOW)

    assert (summary.tenant, summary.ran_at) == ("acme", NOW)
    assert summary.recordings_removed == 4  # old, middle, unprocessed, gone
    assert summary.bytes_freed == 1000 + 300 + 70
    assert summary.calls_removed == 1
    assert summary.details == {
        "recordings_days": 10,
        "recordings_before": (NOW - timedelta(days=10)).isoformat(),
        "recordings_failed": 0,
        "cdr_days": 30,
        "cdr_before": (NOW - timedelta(days=30)).isoformat(),
        "call_legs": 2,  # the old call's and the orphan
        "queue_waits": 1,
        "comments": 1,
        "dispositions": 1,
        "quality_scores": 1,
        "agent_states": 1,
    }
    with engine.connect() as conn:
        calls = set(conn.execute(select(Call.call_uuid)).scalars())
        recordings = set(conn.execute(select(Recording.call_uuid)).scalars())
        comment = conn.execute(
            select(Comment.recording_id).where(Comment.text == "on the recording")
        ).scalar_one()
    assert calls == {middle, recent, globex, unprocessed, gone}
    assert recordings == {recent, globex}
    assert comment is None  # its recording is gone, the comment stays with its call
    for model, kept in ((CallLeg, 2), (QueueWait, 2), (Disposition, 2), (QualityScore, 2)):
        assert _count(engine, model, "acme") == kept, model
        assert _count(engine, model, "globex") == 1, model
    assert _count(engine, AgentStateChange, "acme") == 1
    assert _count(engine, AgentStateChange, "globex") == 1
    storage = Path(ctx.settings.worker.storage)
    assert sorted(p.name for p in storage.rglob("*.flac")) == ["recent.flac"]
    assert not raw.exists()
    assert stray.read_text() == "keep me"
    assert any(
        r.getMessage().startswith(
            "retention_purged tenant=acme recordings=4 bytes=1370 calls=1 recordings_days=10 "
            "recordings_failed=0 cdr_days=30 call_legs=2 queue_waits=1 comments=1 "
            "dispositions=1 quality_scores=1 agent_states=1"
        )
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]

    # Again: nothing left to remove, and the pass is written down all the same.
    [again] = purge_expired(ctx, now=NOW)
    assert (again.recordings_removed, again.bytes_freed, again.calls_removed) == (0, 0, 0)
    with engine.connect() as conn:
        runs = conn.execute(
            select(RetentionRun.tenant, RetentionRun.recordings_removed, RetentionRun.bytes_freed,
                   RetentionRun.calls_removed, RetentionRun.details).order_by(RetentionRun.id)
        ).all()  # fmt: skip
    assert [tuple(run[:4]) for run in runs] == [("acme", 4, 1370, 1), ("acme", 0, 0, 0)]
    assert runs[0].details == summary.details


def test_a_file_that_cannot_be_deleted_keeps_its_row_for_the_next_pass(
    ctx: WorkerContext, tmp_path: Path
) -> None:
    engine = ctx.engine
    call = add_call(engine, ended_at=_ended(0))
    # A URI outside the storage folder: the storage refuses to touch it.
    outside = tmp_path / "elsewhere.flac"
    outside.write_bytes(b"\0" * 10)
    add_recording(engine, call, storage_uri=outside.as_uri(), created_at=_ended(0))
    [summary] = purge_expired(ctx, now=_ended(12))
    assert (summary.recordings_removed, summary.details["recordings_failed"]) == (0, 1)
    assert outside.exists()
    assert _count(engine, Recording, "acme") == 1


def test_many_calls_go_in_batches(
    ctx: WorkerContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    engine = ctx.engine
    for n in range(5):
        call = _call_with_everything(engine, "acme", _ended(n / 10))
        add_recording(engine, call, storage_uri=_stored(ctx, tmp_path, f"{n}.flac", 10),
                      created_at=_ended(0))  # fmt: skip
        _agent_state(engine, "acme", f"{n}-0", _ended(0))
    [summary] = purge_expired(ctx, now=NOW)
    assert (summary.recordings_removed, summary.bytes_freed, summary.calls_removed) == (5, 50, 5)
    assert (summary.details["call_legs"], summary.details["agent_states"]) == (5, 5)
    for model in (Call, CallLeg, QueueWait, Comment, Disposition, QualityScore, Recording):
        assert _count(engine, model, "acme") == 0, model


def test_a_call_row_without_times_is_dated_by_its_legs_and_stays(ctx: WorkerContext) -> None:
    engine = ctx.engine
    by_leg, by_stay, undated, recent = (new_uuid() for _ in range(4))
    with engine.begin() as conn:
        for call in (by_leg, by_stay, undated, recent):
            conn.execute(insert(Call).values(call_uuid=call, tenant="acme"))  # no times
        conn.execute(
            insert(CallLeg).values(
                leg_uuid=new_uuid(), call_uuid=by_leg, tenant="acme", role="agent",
                created_at=_ended(0),
            )
        )  # fmt: skip
        conn.execute(
            insert(QueueWait).values(
                call_uuid=by_stay, queue="sales", tenant="acme", enqueued_at=_ended(1)
            )
        )
        conn.execute(
            insert(QueueWait).values(
                call_uuid=recent, queue="sales", tenant="acme", enqueued_at=_ended(39)
            )
        )
    [summary] = purge_expired(ctx, now=NOW)
    assert summary.calls_removed == 2
    with engine.connect() as conn:
        left = set(conn.execute(select(Call.call_uuid).where(Call.tenant == "acme")).scalars())
    assert left == {undated, recent}  # nothing dates the one; the other is 1 day old
    assert _count(engine, CallLeg, "acme") == 0


def test_a_center_without_retention_removes_nothing(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    text = "tenants:\n  - {name: acme, domain: acme.example.com}\n"
    ctx = worker_context(database_url, redis_url, center_file(tmp_path, text), tmp_path)
    try:
        _call_with_everything(ctx.engine, "acme", _ended(-400))
        assert purge_expired(ctx, now=NOW) == []
        assert _count(ctx.engine, Call, "acme") == 1
        assert _count(ctx.engine, RetentionRun, "acme") == 0
    finally:
        ctx.engine.dispose()


def test_the_task_runs_one_pass_at_a_time(ctx: WorkerContext) -> None:
    _call_with_everything(ctx.engine, "acme", _ended(0))
    held = ctx.redis.lock(retention._LOCK_KEY, timeout=60)
    assert held.acquire(blocking=False)
    try:
        assert purge_expired_task() == 0  # another pass holds the lock
        assert _count(ctx.engine, Call, "acme") == 1
    finally:
        held.release()
    assert purge_expired_task() == 1  # acme (globex keeps everything)
    assert _count(ctx.engine, Call, "acme") == 0


def test_retention_on_sqlite(tmp_path: Path, redis_url: str) -> None:
    sqlite_engine(tmp_path).dispose()
    url = f"sqlite:///{tmp_path / 'callcenter.db'}"
    ctx = worker_context(url, redis_url, center_file(tmp_path), tmp_path)
    try:
        engine = ctx.engine
        old = _call_with_everything(engine, "acme", _ended(0))
        kept = _call_with_everything(engine, "acme", _ended(35))
        add_recording(engine, old, storage_uri=_stored(ctx, tmp_path, "o.flac", 7),
                      created_at=_ended(0))  # fmt: skip
        _agent_state(engine, "acme", "1-0", _ended(0))
        [summary] = purge_expired(ctx, now=NOW)
        assert (summary.recordings_removed, summary.bytes_freed, summary.calls_removed) == (1, 7, 1)
        assert summary.details["agent_states"] == 1
        with engine.connect() as conn:
            assert list(conn.execute(select(Call.call_uuid)).scalars()) == [kept]
        [again] = purge_expired(ctx, now=NOW)
        assert (again.recordings_removed, again.calls_removed) == (0, 0)
    finally:
        ctx.engine.dispose()

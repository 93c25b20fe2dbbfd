"""The ``recordings`` rows post-processing writes, each change one short transaction.

A row reaches ``done`` once and is never changed after: every update below is conditional on
the row not being done, so two workers processing the same call (a re-dispatch while the first
was still busy) cannot undo each other's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, and_, or_, select, update
from sqlalchemy.orm import Session

from callcenter.db.models import Call, Recording
from callcenter.db.types import dialect_insert
from workers.recordings.analysis import RecordingMetrics
from workers.recordings.transcode import Encoded

__all__ = [
    "StuckRecording",
    "begin_attempt",
    "load",
    "mark_done",
    "mark_failed",
    "note_waiting",
    "stuck_recordings",
]


def _recordings_table() -> Table:
    table = Recording.__table__
    assert isinstance(table, Table)
    return table


_table = _recordings_table()


def begin_attempt(
    engine: Engine, tenant: str, call_uuid: str, source_path: str, now: datetime
) -> Recording:
    """Count one more try and mark the row pending (creating it when the ingest did not); a
    row already done is returned as it is."""
    stmt = dialect_insert(engine.dialect, _table).values(
        call_uuid=call_uuid,
        tenant=tenant,
        source_path=source_path,
        status="pending",
        attempts=1,
        created_at=now,
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[_table.c.call_uuid],
        set_={
            "status": "pending",
            "attempts": _table.c.attempts + 1,
            "tenant": stmt.excluded.tenant,
            "source_path": stmt.excluded.source_path,
        },
        where=_table.c.status != "done",
    )
    with engine.begin() as conn:
        conn.execute(upsert)
    return load(engine, call_uuid)


def load(engine: Engine, call_uuid: str) -> Recording:
    """The row, detached from its session with every column loaded."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.scalars(select(Recording).where(Recording.call_uuid == call_uuid)).one()
        session.expunge(row)
        return row


def note_waiting(engine: Engine, call_uuid: str, reason: str) -> None:
    """The file is not ready yet: say so on the pending row; it stays pending."""
    with engine.begin() as conn:
        conn.execute(
            update(_table)
            .where(_table.c.call_uuid == call_uuid, _table.c.status == "pending")
            .values(failure_reason=reason)
        )


def mark_failed(engine: Engine, call_uuid: str, reason: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(_table)
            .where(_table.c.call_uuid == call_uuid, _table.c.status != "done")
            .values(status="failed", failure_reason=reason, processed_at=now)
        )


def mark_done(
    engine: Engine,
    call_uuid: str,
    metrics: RecordingMetrics,
    encoded: Encoded,
    storage_uri: str,
    now: datetime,
) -> bool:
    """Record the result; False when another worker had already done it."""
    with engine.begin() as conn:
        result = conn.execute(
            update(_table)
            .where(_table.c.call_uuid == call_uuid, _table.c.status != "done")
            .values(
                status="done",
                failure_reason=None,
                storage_uri=storage_uri,
                format=encoded.format,
                size_bytes=encoded.size_bytes,
                sha256=encoded.sha256,
                duration_s=metrics.duration_s,
                talk_caller_s=metrics.talk_caller_s,
                talk_agent_s=metrics.talk_agent_s,
                silence_share=metrics.silence_share,
                overtalk_s=metrics.overtalk_s,
                long_holds=metrics.long_holds,
                longest_silence_s=metrics.longest_silence_s,
                processed_at=now,
            )
        )
        return bool(result.rowcount)


@dataclass(frozen=True)
class StuckRecording:
    tenant: str
    call_uuid: str
    source_path: str
    attempts: int
    failure_reason: str | None


def stuck_recordings(
    engine: Engine,
    now: datetime,
    *,
    stuck_after: timedelta,
    unended_after: timedelta,
    limit: int,
) -> Sequence[StuckRecording]:
    """Pending rows nobody is going to finish: the call ended ``stuck_after`` ago (or a worker
    started it that long ago) and the recording is still pending, so its task was lost or its
    worker died. A recording of a call whose end never reached the database waits
    ``unended_after``, since the call may still be running and its file still being written."""
    cutoff = now - stuck_after
    stmt = (
        select(
            Recording.tenant,
            Recording.call_uuid,
            Recording.source_path,
            Recording.attempts,
            Recording.failure_reason,
        )
        .outerjoin(Call, Call.call_uuid == Recording.call_uuid)
        .where(
            Recording.status == "pending",
            or_(
                Call.ended_at < cutoff,
                and_(Recording.attempts > 0, Recording.created_at < cutoff),
                Recording.created_at < now - unended_after,
            ),
        )
        .order_by(Recording.created_at)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [StuckRecording(*row) for row in conn.execute(stmt)]

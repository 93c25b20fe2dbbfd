"""Retention: what each tenant keeps, and for how long (``retention:`` in the center file).

Every night (``cc.purge_expired``, on the beat) recordings older than the tenant's
``recordings_days`` lose their stored file and their row, and call records older than
``cdr_days`` go with everything hung on them: legs, queue waits, comments, dispositions, quality
scores, and the agents' state history of that age. A call's age counts from its end (else its
start or answer; a record without any of these is dated by its legs and queue stays). Each
tenant's pass is written down as a ``retention_runs`` row and one log line.

Work is done in batches, each its own transaction, so a pass that stops half way has removed
whole calls only and the next pass goes on from there. A file is deleted before its row: a
crash in between leaves a row whose file is already gone, which the next pass removes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import shared_task
from redis.exceptions import LockError
from sqlalchemy import ColumnElement, Connection, Engine, delete, exists, func, insert, select

from callcenter.center.tenant import Retention
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
from callcenter.db.types import utc
from workers.context import WorkerContext, context
from workers.recordings.storage import RecordingStorage, StorageError, configured_storage

__all__ = ["RetentionSummary", "purge_expired", "purge_expired_task"]

log = logging.getLogger("callcenter.workers.retention")

# Rows per transaction: small enough to stay far from the statement timeout and to hold locks
# briefly, large enough that a backlog of months goes in a few minutes.
BATCH = 500
# One pass at a time across all workers (the beat may fire twice after a restart).
_LOCK_KEY = "cc:retention:lock"
_LOCK_SECONDS = 3600


@dataclass(frozen=True)
class RetentionSummary:
    """What one pass removed for one tenant (as written to ``retention_runs``)."""

    tenant: str
    ran_at: datetime
    recordings_removed: int = 0
    bytes_freed: int = 0
    calls_removed: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def purge_expired(ctx: WorkerContext, now: datetime | None = None) -> list[RetentionSummary]:
    """One pass over every tenant of the center that has a retention setting."""
    center = ctx.center()
    if center is None:
        log.info("retention_skipped reason=no_center_file")
        return []
    at = utc(now)
    storage: list[RecordingStorage] = []

    def open_once() -> RecordingStorage:
        # Opened only when a tenant has recordings to remove: a center without recording
        # retention never needs the storage to be reachable.
        if not storage:
            storage.append(configured_storage(ctx.settings.worker))
        return storage[0]

    summaries = []
    for tenant in center.tenants:
        if tenant.retention.enabled:
            summaries.append(_purge_tenant(ctx, tenant.name, tenant.retention, at, open_once))
    return summaries


@shared_task(name="cc.purge_expired")
def purge_expired_task() -> int:
    """The number of tenants purged (0 when another worker's pass is running)."""
    ctx = context()
    lock = ctx.redis.lock(_LOCK_KEY, timeout=_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        log.info("retention_skipped reason=another_pass_running")
        return 0
    try:
        return len(purge_expired(ctx))
    finally:
        try:
            lock.release()
        except LockError:  # held longer than its timeout: it has expired already
            log.warning("retention_lock_expired seconds=%d", _LOCK_SECONDS)


def _purge_tenant(
    ctx: WorkerContext,
    tenant: str,
    retention: Retention,
    now: datetime,
    storage: Callable[[], RecordingStorage],
) -> RetentionSummary:
    engine = ctx.engine
    details: dict[str, Any] = {}
    recordings = freed = calls = 0
    if retention.recordings_days is not None:
        before = now - timedelta(days=retention.recordings_days)
        recordings, freed, failed = _purge_recordings(
            engine, storage, ctx.settings.worker.recordings_dir, tenant, before
        )
        details.update(
            recordings_days=retention.recordings_days,
            recordings_before=before.isoformat(),
            recordings_failed=failed,
        )
    if retention.cdr_days is not None:
        before = now - timedelta(days=retention.cdr_days)
        counts = _purge_cdrs(engine, tenant, before)
        calls = counts.pop("calls")
        details.update(cdr_days=retention.cdr_days, cdr_before=before.isoformat(), **counts)
    summary = RetentionSummary(tenant, now, recordings, freed, calls, details)
    with engine.begin() as conn:
        conn.execute(
            insert(RetentionRun).values(
                tenant=tenant,
                ran_at=now,
                recordings_removed=recordings,
                bytes_freed=freed,
                calls_removed=calls,
                details=details,
            )
        )
    counted = " ".join(f"{k}={v}" for k, v in details.items() if isinstance(v, int))
    log.info(
        "retention_purged tenant=%s recordings=%d bytes=%d calls=%d %s",
        tenant,
        recordings,
        freed,
        calls,
        counted,
    )
    return summary


def _purge_recordings(
    engine: Engine,
    storage: Callable[[], RecordingStorage],
    recordings_dir: Path,
    tenant: str,
    before: datetime,
) -> tuple[int, int, int]:
    """(rows removed, bytes freed, recordings whose file could not be deleted: kept for the
    next pass)."""
    ended = func.coalesce(Recording.created_at, Call.ended_at)
    removed = freed = failed = 0
    last_id = 0
    while True:
        with engine.connect() as conn:
            batch = conn.execute(
                select(
                    Recording.id, Recording.call_uuid, Recording.storage_uri, Recording.source_path
                )
                .outerjoin(Call, Call.call_uuid == Recording.call_uuid)
                .where(Recording.tenant == tenant, Recording.id > last_id, ended < before)
                .order_by(Recording.id)
                .limit(BATCH)
            ).all()
        if not batch:
            return removed, freed, failed
        last_id = batch[-1].id
        gone: list[int] = []
        for row in batch:
            try:
                size = storage().delete(row.storage_uri) if row.storage_uri else 0
                size += _remove_source(recordings_dir, row.source_path)
            except (StorageError, OSError) as exc:
                failed += 1
                log.warning(
                    "retention_file_failed tenant=%s call=%s uri=%s error=%s",
                    tenant,
                    row.call_uuid,
                    row.storage_uri,
                    exc,
                )
                continue
            freed += size
            gone.append(row.id)
        if gone:
            with engine.begin() as conn:
                removed += conn.execute(delete(Recording).where(Recording.id.in_(gone))).rowcount


def _remove_source(recordings_dir: Path, source_path: str) -> int:
    """The switch's own file, when it is still there (a recording never processed): only in
    the recordings folder, whatever the row says."""
    if not source_path:
        return 0
    path = Path(source_path)
    folder = recordings_dir.expanduser().resolve()
    if not path.is_absolute():
        path = folder / path
    if not path.resolve().is_relative_to(folder):
        return 0
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size


# The tables whose rows belong to one call (by call_uuid) and go with it.
_CallChild = (
    type[CallLeg] | type[QueueWait] | type[Comment] | type[Disposition] | type[QualityScore]
)


def _purge_cdrs(engine: Engine, tenant: str, before: datetime) -> dict[str, int]:
    counts = dict.fromkeys(
        (
            "calls",
            "call_legs",
            "queue_waits",
            "comments",
            "dispositions",
            "quality_scores",
            "agent_states",
        ),
        0,
    )
    children: dict[str, _CallChild] = {
        "call_legs": CallLeg,
        "queue_waits": QueueWait,
        "comments": Comment,
        "dispositions": Disposition,
        "quality_scores": QualityScore,
    }
    expired = select(Call.call_uuid).where(Call.tenant == tenant, _call_time() < before)
    expired = expired.limit(BATCH)
    while True:
        with engine.begin() as conn:
            uuids = list(conn.execute(expired).scalars())
            if not uuids:
                break
            for name, model in children.items():
                counts[name] += _delete(conn, model, model.call_uuid.in_(uuids))
            counts["calls"] += _delete(conn, Call, Call.call_uuid.in_(uuids))
    with engine.begin() as conn:
        # Rows of calls that never got a call record of their own (a caller leg lost before
        # ingest), by their own time; never those of a call that is still kept.
        orphans = {
            "call_legs": func.coalesce(CallLeg.ended_at, CallLeg.created_at),
            "queue_waits": func.coalesce(QueueWait.left_at, QueueWait.enqueued_at),
            "comments": Comment.created_at,
            "dispositions": Disposition.set_at,
            "quality_scores": QualityScore.scored_at,
        }
        for name, model in children.items():
            no_call = ~exists().where(Call.call_uuid == model.call_uuid)
            where = (model.tenant == tenant) & no_call & (orphans[name] < before)
            counts[name] += _delete(conn, model, where)
    states = (
        select(AgentStateChange.stream_id)
        .where(AgentStateChange.tenant == tenant, AgentStateChange.at < before)
        .limit(BATCH)
    )
    while True:
        with engine.begin() as conn:
            deleted = _delete(
                conn,
                AgentStateChange,
                (AgentStateChange.tenant == tenant)
                & AgentStateChange.stream_id.in_(states.scalar_subquery()),
            )
        counts["agent_states"] += deleted
        if deleted == 0:
            break
    return counts


def _call_time() -> ColumnElement[Any]:
    """When a call happened, for its age: its end, else its start, else its answer; for a row
    the ingest got no such time for (its first events lost), the latest time of its legs or
    queue stays. A call with no time anywhere is never old enough."""
    leg_time = (
        select(func.max(func.coalesce(CallLeg.ended_at, CallLeg.created_at)))
        .where(CallLeg.call_uuid == Call.call_uuid)
        .scalar_subquery()
    )
    stay_time = (
        select(func.max(func.coalesce(QueueWait.left_at, QueueWait.enqueued_at)))
        .where(QueueWait.call_uuid == Call.call_uuid)
        .scalar_subquery()
    )
    return func.coalesce(
        Call.ended_at, Call.started_at, Call.bridged_at, Call.answered_at, leg_time, stay_time
    )


def _delete(conn: Connection, model: type[Any], where: ColumnElement[bool]) -> int:
    return int(conn.execute(delete(model).where(where)).rowcount)

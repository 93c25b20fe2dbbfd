"""Celery tasks of recording post-processing, over plain functions the tests call directly.

``cc.process_recording`` (sent by the CDR ingest when a call with a recording ends): analyse
the switch's WAV, encode it, store it, record it all in ``recordings``, then remove the WAV.
A file that is not there yet, or not finished, is tried again a few times, a bit later each
time, then marked failed; a corrupt one is marked failed at once (and kept for a look). Storage
or database trouble is retried and, past the retries, left pending for the sweep.

``cc.retry_recordings`` (the beat, every 5 minutes) sends the task again for recordings left
pending well after their call ended (a lost message, a killed worker), and gives up on one
after ``GIVE_UP_ATTEMPTS`` tries. Failed recordings stay failed.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from celery import Task, shared_task
from sqlalchemy.exc import SQLAlchemyError

from callcenter.db.models import Recording
from workers.context import WorkerContext, context
from workers.recordings import rows
from workers.recordings.analysis import analyse
from workers.recordings.errors import RecordingError, RecordingNotReady, StorageError
from workers.recordings.storage import configured_storage, recording_key
from workers.recordings.transcode import transcode

__all__ = [
    "GIVE_UP_ATTEMPTS",
    "NOT_READY_RETRIES",
    "SweepResult",
    "process_recording",
    "process_recording_task",
    "retry_recordings",
    "retry_stuck_recordings",
    "source_file",
]

log = logging.getLogger("callcenter.workers.recordings")

# Tries of one task while the file is not ready (or storage fails): waits of 5, 10, 20, 40 and
# 60 s, over two minutes in all for the switch to close the file.
NOT_READY_RETRIES = 5
STUCK_AFTER = timedelta(minutes=10)
UNENDED_AFTER = timedelta(hours=12)
# Each dispatch may try up to NOT_READY_RETRIES + 1 times; this bounds a file that kills its
# worker every time (or storage that never comes back) to a few sweeps.
GIVE_UP_ATTEMPTS = 20
SWEEP_LIMIT = 500


def _backoff(retries: int) -> int:
    return int(min(60, 5 * 2**retries))


def source_file(recordings_dir: Path, source_path: str) -> Path:
    """The switch's file, refused when outside ``recordings_dir``: the worker deletes it once
    processed, so a path in a task message must not reach anything else."""
    folder = recordings_dir.expanduser().resolve()
    path = Path(source_path).expanduser()
    resolved = path.resolve()
    if not resolved.is_relative_to(folder):
        raise RecordingError(
            f"{source_path}: outside the recordings folder {folder}; set [worker] "
            "recordings_dir to the folder the switch records to, as the workers see it"
        )
    return resolved


def process_recording(
    ctx: WorkerContext,
    tenant: str,
    call_uuid: str,
    source_path: str,
    *,
    final: bool = True,
) -> Recording:
    """Process one call's recording and return its row (detached).

    With ``final=False`` a file that is not ready raises ``RecordingNotReady`` (the row stays
    pending with the reason) so the caller can try again later; with ``final=True`` it is
    marked failed. Storage and database errors propagate: the row stays pending.
    """
    cfg = ctx.settings.worker
    engine = ctx.engine
    now = datetime.now(UTC)
    row = rows.begin_attempt(engine, tenant, call_uuid, source_path, now)
    if row.status == "done":
        _drop_leftover_source(cfg.recordings_dir, row)
        return row
    try:
        source = source_file(cfg.recordings_dir, source_path)
        metrics = analyse(source)
    except RecordingNotReady as exc:
        if not final:
            rows.note_waiting(engine, call_uuid, exc.reason)
            log.info("recording_not_ready call_uuid=%s reason=%s", call_uuid, exc.reason)
            raise
        return _failed(ctx, call_uuid, exc.reason, now)
    except RecordingError as exc:
        return _failed(ctx, call_uuid, exc.reason, now)

    storage = configured_storage(cfg)
    day = (row.created_at or now).date()
    with tempfile.TemporaryDirectory(prefix="cc-recording-") as work:
        try:
            encoded = transcode(source, Path(work), cfg.recording_format)
        except RecordingError as exc:
            return _failed(ctx, call_uuid, exc.reason, now)
        key = recording_key(tenant, call_uuid, day, encoded.path.suffix)
        uri = storage.put(encoded.path, key)
    if rows.mark_done(engine, call_uuid, metrics, encoded, uri, now):
        # Only now is the WAV redundant: the copy is stored and the row says where.
        source.unlink(missing_ok=True)
        log.info(
            "recording_done tenant=%s call_uuid=%s uri=%s format=%s bytes=%d duration_s=%.1f",
            tenant,
            call_uuid,
            uri,
            encoded.format,
            encoded.size_bytes,
            metrics.duration_s,
        )
    return rows.load(engine, call_uuid)


def _failed(ctx: WorkerContext, call_uuid: str, reason: str, now: datetime) -> Recording:
    rows.mark_failed(ctx.engine, call_uuid, reason, now)
    log.warning("recording_failed call_uuid=%s reason=%s", call_uuid, reason)
    return rows.load(ctx.engine, call_uuid)


def _drop_leftover_source(recordings_dir: Path, row: Recording) -> None:
    """A worker that died between committing ``done`` and removing the WAV left it behind."""
    try:
        leftover = source_file(recordings_dir, row.source_path)
    except RecordingError:
        return
    if row.storage_uri and leftover.is_file():
        leftover.unlink(missing_ok=True)
        log.info("recording_source_removed call_uuid=%s path=%s", row.call_uuid, leftover)


@shared_task(name="cc.process_recording", bind=True, max_retries=NOT_READY_RETRIES)
def process_recording_task(
    self: Task[Any, Any], tenant: str, call_uuid: str, source_path: str
) -> dict[str, Any]:
    final = self.request.retries >= NOT_READY_RETRIES
    try:
        row = process_recording(context(), tenant, call_uuid, source_path, final=final)
    except RecordingNotReady as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    except (StorageError, SQLAlchemyError, OSError) as exc:
        log.warning("recording_retry call_uuid=%s error=%s", call_uuid, exc)
        # Past the retries Celery re-raises ``exc``: the row stays pending for the sweep.
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
    return {"call_uuid": call_uuid, "status": row.status, "attempts": row.attempts}


@dataclass(frozen=True)
class SweepResult:
    dispatched: list[str]  # call UUIDs sent to processing again
    gave_up: list[str]  # marked failed after GIVE_UP_ATTEMPTS


def retry_stuck_recordings(
    ctx: WorkerContext,
    dispatch: Callable[[str, str, str], object],
    *,
    now: datetime | None = None,
) -> SweepResult:
    """Send ``dispatch(tenant, call_uuid, source_path)`` for every stuck pending recording;
    mark failed those tried ``GIVE_UP_ATTEMPTS`` times already."""
    moment = now or datetime.now(UTC)
    stuck = rows.stuck_recordings(
        ctx.engine,
        moment,
        stuck_after=STUCK_AFTER,
        unended_after=UNENDED_AFTER,
        limit=SWEEP_LIMIT,
    )
    result = SweepResult(dispatched=[], gave_up=[])
    for rec in stuck:
        if rec.attempts >= GIVE_UP_ATTEMPTS:
            last = rec.failure_reason or "the worker never finished it (killed, or out of memory?)"
            reason = f"gave up after {rec.attempts} attempts; last: {last}"
            rows.mark_failed(ctx.engine, rec.call_uuid, reason, moment)
            log.warning("recording_gave_up call_uuid=%s reason=%s", rec.call_uuid, reason)
            result.gave_up.append(rec.call_uuid)
            continue
        dispatch(rec.tenant, rec.call_uuid, rec.source_path)
        result.dispatched.append(rec.call_uuid)
    if stuck:
        log.info(
            "recordings_swept dispatched=%d gave_up=%d",
            len(result.dispatched),
            len(result.gave_up),
        )
    return result


def _send(tenant: str, call_uuid: str, source_path: str) -> None:
    process_recording_task.delay(tenant, call_uuid, source_path)


@shared_task(name="cc.retry_recordings")
def retry_recordings() -> dict[str, int]:
    result = retry_stuck_recordings(context(), _send)
    return {"dispatched": len(result.dispatched), "gave_up": len(result.gave_up)}

"""Post-processing a call's recording into the ``recordings`` table on the real PostgreSQL:
done once, failed with a reason, retried while the file is not there, swept when stuck."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from callcenter.db.models import Call, Recording
from callcenter.settings import Settings
from tests.workers.recording_wavs import write_wav
from workers.context import WorkerContext, reset_context
from workers.recordings.errors import RecordingNotReady, StorageError
from workers.recordings.tasks import (
    GIVE_UP_ATTEMPTS,
    NOT_READY_RETRIES,
    process_recording,
    process_recording_task,
    retry_stuck_recordings,
)

TENANT = "acme"


def _settings(tmp_path: Path, database_url: str, redis_url: str, **worker: Any) -> Settings:
    return Settings.model_validate(
        {
            "database_url": database_url,
            "redis_url": redis_url,
            "worker": {
                "storage": str(tmp_path / "storage"),
                "recordings_dir": str(tmp_path / "rec"),
                "recording_format": "flac",
                **worker,
            },
        }
    )


@pytest.fixture
def ctx(db: Engine, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerContext]:
    context = reset_context(_settings(tmp_path, database_url, redis_url))
    try:
        yield context
    finally:
        context.engine.dispose()
        context.redis.close()


@pytest.fixture
def rec_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rec"
    folder.mkdir()
    return folder


def _row(engine: Engine, call_uuid: str) -> Recording:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(Recording).where(Recording.call_uuid == call_uuid)).one()


def _stored_path(uri: str) -> Path:
    assert uri.startswith("file://")
    return Path(uri.removeprefix("file://"))


def test_a_recording_is_measured_encoded_stored_and_its_wav_removed(
    ctx: WorkerContext, rec_dir: Path, tmp_path: Path
) -> None:
    source = rec_dir / "call-1.wav"
    data = write_wav(source, 18, caller=[(0, 3)], agent=[(2, 6)])

    rec = process_recording(ctx, TENANT, "call-1", str(source))

    assert (rec.status, rec.failure_reason, rec.attempts) == ("done", None, 1)
    today = datetime.now(UTC)
    stored = tmp_path / "storage" / TENANT / f"{today:%Y/%m/%d}" / "call-1.flac"
    assert rec.storage_uri == stored.as_uri()
    assert rec.format == "flac"
    assert rec.size_bytes == stored.stat().st_size
    assert rec.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert rec.duration_s == pytest.approx(18.0)
    assert rec.talk_caller_s == pytest.approx(3.0, abs=0.02)
    assert rec.talk_agent_s == pytest.approx(4.0, abs=0.02)
    assert rec.overtalk_s == pytest.approx(1.0, abs=0.02)
    assert rec.silence_share == pytest.approx(2 / 3, abs=0.01)
    assert rec.long_holds == 1
    assert rec.longest_silence_s == pytest.approx(12.0, abs=0.02)
    assert rec.processed_at is not None and rec.created_at is not None
    assert not source.exists()
    decoded, _ = sf.read(str(stored), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(decoded, data)
    assert _row(ctx.engine, "call-1").status == "done"


def test_a_done_recording_is_left_alone(ctx: WorkerContext, rec_dir: Path) -> None:
    source = rec_dir / "call-2.wav"
    write_wav(source, 4, caller=[(0, 2)], agent=[(2, 4)])
    first = process_recording(ctx, TENANT, "call-2", str(source))
    assert first.storage_uri is not None
    stored = _stored_path(first.storage_uri)
    before = stored.stat().st_mtime_ns

    again = process_recording(ctx, TENANT, "call-2", str(source))

    assert (again.status, again.attempts, again.sha256) == ("done", 1, first.sha256)
    assert again.processed_at == first.processed_at
    assert stored.stat().st_mtime_ns == before


def test_a_wav_left_behind_by_a_done_recording_is_removed(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    source = rec_dir / "call-3.wav"
    write_wav(source, 2, caller=[(0, 1)])
    process_recording(ctx, TENANT, "call-3", str(source))
    write_wav(source, 2, caller=[(0, 1)])  # as if the worker died before removing it

    assert process_recording(ctx, TENANT, "call-3", str(source)).attempts == 1
    assert not source.exists()


def test_the_pending_row_of_the_ingest_is_completed_and_keyed_by_its_day(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    started = datetime(2024, 2, 29, 23, 59, tzinfo=UTC)
    source = rec_dir / "call-4.wav"
    write_wav(source, 3, caller=[(0, 3)], agent=[])
    with Session(ctx.engine) as session, session.begin():
        session.add(
            Recording(
                call_uuid="call-4",
                tenant=TENANT,
                source_path=str(source),
                status="pending",
                attempts=0,
                created_at=started,
            )
        )

    rec = process_recording(ctx, TENANT, "call-4", str(source))

    assert (rec.status, rec.attempts) == ("done", 1)
    assert rec.storage_uri is not None
    assert rec.storage_uri.endswith("/storage/acme/2024/02/29/call-4.flac")


def test_the_format_comes_from_the_settings(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path, rec_dir: Path
) -> None:
    ctx = reset_context(_settings(tmp_path, database_url, redis_url, recording_format="ogg"))
    try:
        source = rec_dir / "call-5.wav"
        write_wav(source, 4, caller=[(0, 2)], agent=[(2, 4)])

        rec = process_recording(ctx, TENANT, "call-5", str(source))

        assert (rec.status, rec.format) == ("done", "ogg")
        assert rec.storage_uri is not None and rec.storage_uri.endswith("/call-5.ogg")
        assert sf.info(str(_stored_path(rec.storage_uri))).subtype == "OPUS"
    finally:
        ctx.engine.dispose()
        ctx.redis.close()


def test_a_corrupt_file_fails_at_once_with_its_reason_and_is_kept(
    ctx: WorkerContext, rec_dir: Path, tmp_path: Path
) -> None:
    source = rec_dir / "call-6.wav"
    write_wav(source, 4, caller=[(0, 2)])
    source.write_bytes(source.read_bytes()[:5000])

    rec = process_recording(ctx, TENANT, "call-6", str(source), final=False)

    assert (rec.status, rec.attempts) == ("failed", 1)
    assert rec.failure_reason is not None and "truncated" in rec.failure_reason
    assert rec.storage_uri is None and rec.processed_at is not None
    assert source.exists()
    assert not (tmp_path / "storage").exists()


def test_a_missing_file_waits_then_fails(ctx: WorkerContext, rec_dir: Path) -> None:
    source = str(rec_dir / "call-7.wav")

    with pytest.raises(RecordingNotReady):
        process_recording(ctx, TENANT, "call-7", source, final=False)
    waiting = _row(ctx.engine, "call-7")
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.failure_reason is not None and "file not found" in waiting.failure_reason

    rec = process_recording(ctx, TENANT, "call-7", source, final=True)

    assert (rec.status, rec.attempts) == ("failed", 2)
    assert rec.failure_reason is not None and "file not found" in rec.failure_reason


def test_a_file_arriving_late_is_processed_on_a_later_try(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    source = rec_dir / "call-8.wav"
    with pytest.raises(RecordingNotReady):
        process_recording(ctx, TENANT, "call-8", str(source), final=False)
    write_wav(source, 2, caller=[(0, 1)])

    rec = process_recording(ctx, TENANT, "call-8", str(source), final=False)

    assert (rec.status, rec.attempts, rec.failure_reason) == ("done", 2, None)


def test_a_failed_recording_sent_again_is_processed_again(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    source = rec_dir / "call-9.wav"
    source.write_text("not yet audio")
    assert process_recording(ctx, TENANT, "call-9", str(source)).status == "failed"
    write_wav(source, 2, caller=[(0, 1)])

    rec = process_recording(ctx, TENANT, "call-9", str(source))

    assert (rec.status, rec.attempts, rec.failure_reason) == ("done", 2, None)


def test_a_path_outside_the_recordings_folder_is_refused_and_untouched(
    ctx: WorkerContext, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.wav"
    write_wav(elsewhere, 2, caller=[(0, 1)])

    rec = process_recording(ctx, TENANT, "call-10", str(elsewhere))

    assert rec.status == "failed"
    assert rec.failure_reason is not None and "outside the recordings folder" in rec.failure_reason
    assert elsewhere.exists()


def test_storage_trouble_leaves_the_recording_pending_and_its_wav_in_place(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path, rec_dir: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    ctx = reset_context(_settings(tmp_path, database_url, redis_url, storage=str(blocker)))
    try:
        source = rec_dir / "call-11.wav"
        write_wav(source, 2, caller=[(0, 1)])

        with pytest.raises(StorageError):
            process_recording(ctx, TENANT, "call-11", str(source))

        assert _row(ctx.engine, "call-11").status == "pending"
        assert source.exists()
    finally:
        ctx.engine.dispose()
        ctx.redis.close()


def test_the_task_retries_a_missing_file_then_records_the_failure(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    # apply() runs the task and each of its retries in this process, without the countdowns.
    process_recording_task.apply(args=(TENANT, "call-12", str(rec_dir / "call-12.wav")))

    rec = _row(ctx.engine, "call-12")
    assert (rec.status, rec.attempts) == ("failed", NOT_READY_RETRIES + 1)
    assert rec.failure_reason is not None and "file not found" in rec.failure_reason


def test_the_task_processes_a_good_file(ctx: WorkerContext, rec_dir: Path) -> None:
    source = rec_dir / "call-13.wav"
    write_wav(source, 2, caller=[(0, 1)], agent=[(1, 2)])

    result = process_recording_task.apply(args=(TENANT, "call-13", str(source)))

    assert result.get() == {"call_uuid": "call-13", "status": "done", "attempts": 1}


def _call(call_uuid: str, ended_at: datetime | None) -> Call:
    return Call(call_uuid=call_uuid, tenant=TENANT, ended_at=ended_at)


def _pending(call_uuid: str, path: Path, created_at: datetime, attempts: int = 0) -> Recording:
    return Recording(
        call_uuid=call_uuid,
        tenant=TENANT,
        source_path=str(path),
        status="pending",
        attempts=attempts,
        created_at=created_at,
    )


def test_the_sweep_sends_again_only_recordings_left_pending_after_their_call(
    ctx: WorkerContext, rec_dir: Path
) -> None:
    now = datetime.now(UTC)

    def ago(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    with Session(ctx.engine) as session, session.begin():
        session.add_all(
            [
                # Call over 20 min ago, never processed (a lost message): swept.
                _call("ended-long-ago", ago(20)),
                _pending("ended-long-ago", rec_dir / "ended-long-ago.wav", ago(25)),
                # Call over 2 min ago: its task may still be waiting for the file.
                _call("ended-just-now", ago(2)),
                _pending("ended-just-now", rec_dir / "x.wav", ago(30)),
                # Call still running: its file is still being written.
                _call("still-talking", None),
                _pending("still-talking", rec_dir / "y.wav", ago(40)),
                # A worker started it 20 min ago and died (no call row at all).
                _pending("worker-died", rec_dir / "z.wav", ago(20), attempts=1),
                # A call whose end never reached the database, half a day ago.
                _pending("end-lost", rec_dir / "w.wav", ago(13 * 60)),
                # Tried too often: given up.
                _call("hopeless", ago(60)),
                _pending("hopeless", rec_dir / "h.wav", ago(65), attempts=GIVE_UP_ATTEMPTS),
                # Failed ones stay failed.
                _call("failed", ago(60)),
                Recording(
                    call_uuid="failed",
                    tenant=TENANT,
                    source_path="f.wav",
                    status="failed",
                    failure_reason="truncated",
                    attempts=1,
                    created_at=ago(65),
                ),
            ]
        )
    write_wav(rec_dir / "ended-long-ago.wav", 2, caller=[(0, 1)])
    sent: list[tuple[str, str, str]] = []

    def dispatch(tenant: str, call_uuid: str, source_path: str) -> None:
        sent.append((tenant, call_uuid, source_path))

    result = retry_stuck_recordings(ctx, dispatch, now=now)

    assert sorted(result.dispatched) == ["end-lost", "ended-long-ago", "worker-died"]
    assert result.gave_up == ["hopeless"]
    hopeless = _row(ctx.engine, "hopeless")
    assert hopeless.status == "failed"
    assert hopeless.failure_reason is not None
    assert hopeless.failure_reason.startswith(f"gave up after {GIVE_UP_ATTEMPTS} attempts")
    assert _row(ctx.engine, "failed").failure_reason == "truncated"

    # What the sweep sends is the task's own arguments: processing them finishes the job.
    args = next(a for a in sent if a[1] == "ended-long-ago")
    assert process_recording(ctx, *args).status == "done"

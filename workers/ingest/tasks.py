"""Celery tasks of the CDR ingest: the beat runs ``cc.ingest_all`` every ``ingest_interval``;
it starts one ``cc.ingest_tenant`` per tenant, which also sends the follow-up work of the calls
that ended (recording post-processing, the quality score) once their rows are committed."""

from __future__ import annotations

import logging

from celery import current_app, shared_task
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from callcenter.controller.queue_flow import TENANTS_KEY
from callcenter.db.models import Call, Recording
from workers.context import WorkerContext, context
from workers.ingest.batch import Batch
from workers.ingest.consumer import IngestResult, ingest
from workers.ingest.costs import RatePricer
from workers.ingest.writer import CursorMoved
from workers.reports_rollups import mark

__all__ = ["ingest_all", "ingest_tenant", "run_ingest", "tenants"]

log = logging.getLogger("callcenter.workers.ingest")


def tenants(ctx: WorkerContext) -> list[str]:
    cfg = ctx.settings.worker
    announced = {raw.decode() for raw in ctx.redis.smembers(TENANTS_KEY)}
    return sorted((announced if cfg.discover_tenants else set()) | set(cfg.tenants))


def _follow_up(ctx: WorkerContext, batch: Batch) -> None:
    """The batch's calls are marked for their report roll-ups to be redone; recordings of the
    calls that ended go to post-processing; answered calls get scored once the agent had time to
    set a disposition. All three are idempotent."""
    mark(ctx.redis, batch.tenant, sorted(key.decode() for key in batch.call_rows))
    if not batch.ended_calls:
        return
    ended = sorted(batch.ended_calls)
    with ctx.engine.connect() as conn:
        recordings = conn.execute(
            select(Recording.call_uuid, Recording.source_path).where(
                Recording.call_uuid.in_(ended), Recording.status == "pending"
            )
        ).all()
        queued = conn.execute(
            select(Call.call_uuid).where(Call.call_uuid.in_(ended), Call.queue.is_not(None))
        ).all()
    for call_uuid, path in recordings:
        current_app.send_task("cc.process_recording", args=[batch.tenant, call_uuid, path])
    if queued:
        current_app.send_task(
            "cc.score_calls",
            args=[batch.tenant, [call_uuid for (call_uuid,) in queued]],
            countdown=ctx.settings.worker.quality_delay,
        )


def run_ingest(ctx: WorkerContext, tenant: str, *, follow_up: bool = True) -> IngestResult:
    cfg = ctx.settings.worker
    return ingest(
        ctx.redis,
        ctx.engine,
        tenant,
        batch_size=cfg.batch_size,
        pricer=RatePricer(ctx.center(), tenant),
        lock_ms=int(cfg.ingest_lock_seconds * 1000),
        on_committed=(lambda batch: _follow_up(ctx, batch)) if follow_up else None,
    )


@shared_task(name="cc.ingest_all")
def ingest_all() -> list[str]:
    ctx = context()
    names = tenants(ctx)
    for tenant in names:
        ingest_tenant.delay(tenant)
    return names


@shared_task(name="cc.ingest_tenant")
def ingest_tenant(tenant: str) -> dict[str, int | bool]:
    """Errors are logged and left for the next run: what was not acknowledged is read again."""
    try:
        result = run_ingest(context(), tenant)
    except (RedisError, SQLAlchemyError, OSError, CursorMoved) as exc:
        log.warning("cdr_ingest_failed tenant=%s error=%s", tenant, exc)
        return {"failed": True}
    return {"entries": result.entries, "rows": result.rows, "busy": result.busy}

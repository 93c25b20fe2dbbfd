"""Celery tasks of the CDR ingest: the beat runs ``cc.ingest_all`` every ``ingest_interval``;
it starts one ``cc.ingest_tenant`` per tenant, which also sends the follow-up work of the calls
that ended (recording post-processing, the quality score) once their rows are committed."""

from __future__ import annotations

import logging
from datetime import date, datetime

from celery import current_app, shared_task
from redis.exceptions import RedisError
from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from callcenter.controller.queue_flow import TENANTS_KEY
from callcenter.db.models import AgentStateChange, Call, Recording
from callcenter.reports.agents import MAX_STATE
from callcenter.reports.queues import WRAP_HORIZON
from callcenter.reports.rollup import state_days
from workers.context import WorkerContext, context
from workers.ingest.batch import Batch, typed
from workers.ingest.consumer import IngestResult, ingest
from workers.ingest.costs import RatePricer
from workers.ingest.writer import CursorMoved
from workers.reports_rollups import mark

__all__ = ["ingest_all", "ingest_tenant", "run_ingest", "tenants", "wrapped_calls"]

log = logging.getLogger("callcenter.workers.ingest")


def tenants(ctx: WorkerContext) -> list[str]:
    cfg = ctx.settings.worker
    announced = {raw.decode() for raw in ctx.redis.smembers(TENANTS_KEY)}
    return sorted((announced if cfg.discover_tenants else set()) | set(cfg.tenants))


def wrapped_calls(conn: Connection, batch: Batch) -> set[str]:
    """The calls whose wrap-up ended in this batch (an agent state after ``wrap_up``): each
    agent's last wrap-up before it names the call, whose queue's AHT has just grown. Its
    roll-up bucket is the call's, which the batch may not otherwise touch."""
    ends: dict[str, datetime] = {}
    for row in batch.agent_states.values():
        if row[4] == b"wrap_up":
            agent, at = row[2].decode(), typed(("at",), (row[7],))["at"]
            ends[agent] = max(at, ends.get(agent, at))
    s = AgentStateChange.__table__
    found: set[str] = set()
    for agent, end in ends.items():
        call = conn.execute(
            select(s.c.call_uuid)
            .where(
                s.c.tenant == batch.tenant,
                s.c.agent == agent,
                s.c.at <= end,
                s.c.at >= end - WRAP_HORIZON,
                s.c.status == "wrap_up",
            )
            .order_by(s.c.at.desc(), s.c.stream_id.desc())
            .limit(1)
        ).scalar()
        if call:
            found.add(call)
    return found


def _follow_up(ctx: WorkerContext, batch: Batch) -> None:
    """The batch's calls are marked for their report roll-ups to be redone; recordings of the
    calls that ended go to post-processing; answered calls get scored once the agent had time to
    set a disposition. All three are idempotent."""
    calls = {key.decode() for key in batch.call_rows}
    if any(row[4] == b"wrap_up" for row in batch.agent_states.values()):
        with ctx.engine.connect() as conn:
            calls.update(wrapped_calls(conn, batch))
    # The state times are UTC text, which sorts as the times do: the first and the last
    # bound the days touched.
    times = [row[7] for row in batch.agent_states.values() if row[7]]
    days: list[date] = []
    if times:
        first, last = (typed(("at",), (at,))["at"] for at in (min(times), max(times)))
        days = state_days(first, last, MAX_STATE)
    mark(ctx.redis, batch.tenant, sorted(calls), days)
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

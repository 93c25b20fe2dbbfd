"""Keeping the report roll-ups current: after each ingest batch, the 15-minute buckets its
calls fall in are recomputed from the raw rows (``callcenter.reports.rollup``), off the ingest's
own path. Idempotent: a batch read twice, or this task run twice, gives the same roll-ups."""

from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy.exc import SQLAlchemyError

from callcenter.reports.registry import load_reports
from callcenter.reports.rollup import buckets_of_calls, refresh_buckets
from workers.context import context

__all__ = ["refresh_rollups"]

log = logging.getLogger("callcenter.workers.reports")


@shared_task(
    name="cc.refresh_rollups",
    autoretry_for=(SQLAlchemyError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
)
def refresh_rollups(tenant: str, call_uuids: list[str]) -> int:
    """Recompute the roll-ups of the buckets these calls fall in; returns how many buckets."""
    load_reports()  # each report module registers its roll-up
    engine = context().engine
    with engine.connect() as conn:
        starts = buckets_of_calls(conn, tenant, call_uuids)
    refresh_buckets(engine, tenant, starts)
    log.debug("rollups_refreshed tenant=%s buckets=%d", tenant, len(starts))
    return len(starts)

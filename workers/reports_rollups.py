"""Keeping the report roll-ups current, off the ingest's path.

After each ingest batch the calls it touched are added to a per-tenant Redis set (``mark``);
every few seconds ``cc.refresh_rollups_all`` has each tenant's set drained by one
``cc.refresh_rollups``, which recomputes the 15-minute buckets those calls fall in from the raw
rows (``callcenter.reports.rollup``). Coalesced so: ten batches of the same hour cost one
refresh of its buckets, not ten, and the ingest never waits behind roll-up work. Idempotent: a
call marked twice, or a refresh run twice, gives the same roll-ups. A refresh that fails leaves
its calls in the set for the next one; one refresh per tenant runs at a time (a Redis lock).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import date

from celery import shared_task
from redis import Redis
from sqlalchemy.exc import SQLAlchemyError

from callcenter.acd.keys import Keys
from callcenter.reports.registry import load_reports
from callcenter.reports.rollup import buckets_of_calls, refresh_buckets, refresh_state_days
from workers.context import context

__all__ = ["DRAIN", "mark", "refresh_rollups", "refresh_rollups_all"]

log = logging.getLogger("callcenter.workers.reports")

# Calls taken from the set per refresh (the rest wait for the next one).
DRAIN = 50_000
_LOCK_MS = 120_000


def _dirty(tenant: str) -> str:
    return f"{Keys(tenant).base}:rollups:dirty"


def _dirty_days(tenant: str) -> str:
    return f"{Keys(tenant).base}:rollups:state_days"


def mark(redis: Redis, tenant: str, call_uuids: list[str], days: Sequence[date] = ()) -> None:
    """Ask for the roll-ups of these calls' buckets to be redone, and for the state figures
    of these UTC days."""
    if call_uuids:
        redis.sadd(_dirty(tenant), *call_uuids)
    if days:
        redis.sadd(_dirty_days(tenant), *(day.isoformat() for day in days))


def _refresh(tenant: str, call_uuids: list[str]) -> int:
    load_reports()  # each report module registers its roll-up
    engine = context().engine
    with engine.connect() as conn:
        starts = buckets_of_calls(conn, tenant, call_uuids)
    refresh_buckets(engine, tenant, starts)
    return len(starts)


@shared_task(name="cc.refresh_rollups")
def refresh_rollups(tenant: str, call_uuids: list[str] | None = None) -> int:
    """Recompute the roll-ups of the buckets of ``call_uuids`` (or of the calls and state
    days marked for the tenant); returns how many buckets were redone (a day counts 96)."""
    if call_uuids is not None:
        return _refresh(tenant, call_uuids)
    redis = context().redis
    lock, token = f"{Keys(tenant).base}:rollups:lock", uuid.uuid4().hex
    if not redis.set(lock, token, nx=True, px=_LOCK_MS):
        return 0  # another refresh of the tenant runs; the next beat takes what is left
    try:
        raw = redis.srandmember(_dirty(tenant), DRAIN)
        calls = sorted(member.decode() for member in raw or [])
        marked_days = sorted(member.decode() for member in redis.smembers(_dirty_days(tenant)))
        if not calls and not marked_days:
            return 0
        try:
            done = _refresh(tenant, calls) if calls else 0
            if marked_days:
                days = [date.fromisoformat(day) for day in marked_days]
                refresh_state_days(context().engine, tenant, days)
                done += len(days) * 96
        except SQLAlchemyError as exc:
            log.warning("rollups_refresh_failed tenant=%s calls=%d days=%d error=%s", tenant,
                        len(calls), len(marked_days), exc)  # fmt: skip
            return 0
        # Only now: a call marked again meanwhile by a later batch is simply redone next time.
        if calls:
            redis.srem(_dirty(tenant), *calls)
        if marked_days:
            redis.srem(_dirty_days(tenant), *marked_days)
        log.debug("rollups_refreshed tenant=%s calls=%d buckets=%d", tenant, len(calls), done)
        return done
    finally:
        if redis.get(lock) == token.encode():
            redis.delete(lock)


@shared_task(name="cc.refresh_rollups_all")
def refresh_rollups_all() -> list[str]:
    """One refresh per tenant with calls waiting for their roll-ups."""
    from workers.ingest.tasks import tenants

    redis = context().redis
    names = [t for t in tenants(context()) if redis.scard(_dirty(t)) or redis.scard(_dirty_days(t))]
    for tenant in names:
        refresh_rollups.delay(tenant)
    return names

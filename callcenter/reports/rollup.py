"""Interval roll-ups: per-tenant figures in 15-minute UTC buckets, kept by the workers as CDRs
arrive, so reports over a year read thousands of rows, not millions.

Idempotent by construction: a bucket is never incremented, it is recomputed from the raw rows
of its calls (delete the bucket's roll-up rows, insert the GROUP BY of its calls) in one
transaction. A CDR ingested twice, or a call whose record grows over two batches, is counted
once. A call belongs to the bucket of its ``started_at``.

Each roll-up registers a ``Refresher``: given a connection, a tenant and the bucket starts to
redo, it rewrites its table for them. ``refresh_buckets`` runs them all (the ingest's
follow-up task); ``rebuild`` redoes a whole range (after a migration, or the benchmark).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, select, text

from callcenter.db.models import Call
from callcenter.reports.periods import BUCKET

__all__ = [
    "REFRESHERS",
    "Refresher",
    "bucket_of",
    "buckets_of_calls",
    "rebuild",
    "refresh_buckets",
    "refresh_state_days",
    "register_refresher",
    "state_days",
]


@dataclass(frozen=True)
class Refresher:
    name: str
    # (connection, tenant, bucket starts in UTC) -> rewrites the roll-up rows of those buckets.
    refresh: Callable[[Connection, str, Sequence[datetime]], None]
    # (connection, tenant or None for all, start, end) -> rewrites every bucket in [start, end)
    # in one statement (much faster than bucket by bucket for a year).
    rebuild: Callable[[Connection, str | None, datetime, datetime], None]
    # Kept by the time of agent states, not of calls: also redone for the UTC days in which
    # states changed (``refresh_state_days``).
    by_states: bool = False


REFRESHERS: dict[str, Refresher] = {}


def register_refresher(refresher: Refresher) -> Refresher:
    REFRESHERS[refresher.name] = refresher
    return refresher


def bucket_of(moment: datetime) -> datetime:
    """The 15-minute UTC bucket a moment falls in."""
    moment = moment.astimezone(UTC)
    return moment - timedelta(
        minutes=moment.minute % 15, seconds=moment.second, microseconds=moment.microsecond
    )


def buckets_of_calls(conn: Connection, tenant: str, call_uuids: Iterable[str]) -> list[datetime]:
    """The buckets the given calls fall in (what an ingest batch touched)."""
    wanted = list(call_uuids)
    found: set[datetime] = set()
    for i in range(0, len(wanted), 5000):
        rows = conn.execute(
            select(Call.started_at).where(
                Call.tenant == tenant,
                Call.call_uuid.in_(wanted[i : i + 5000]),
                Call.started_at.is_not(None),
            )
        ).scalars()
        found.update(bucket_of(at) for at in rows if at is not None)
    return sorted(found)


# PostgreSQL advisory lock keys (two 32-bit halves): one tenant's roll-ups, and all tenants'.
_LOCKS_TENANT, _LOCKS_ALL = 0x6363_5201, 0x6363_5202


def _one_writer(conn: Connection, tenant: str | None) -> None:
    """One rewrite of a tenant's roll-ups at a time, whoever runs it (the workers' refreshes,
    a rebuild from the command line): two at once would delete and insert the same buckets
    (a unique violation, or a deadlock). Locks held to the end of the transaction; a rebuild of
    every tenant takes them all. SQLite has one writer anyway."""
    if conn.dialect.name != "postgresql":
        return
    # The refresh queries look big to the planner (a series per state, a union per piece) and
    # are small: compiling them (JIT) took 5-10 times their run (measured: 356 ms for 50).
    conn.execute(text("SET LOCAL jit = off"))
    if tenant is None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:ns, 0)"), {"ns": _LOCKS_ALL})
        return
    conn.execute(text("SELECT pg_advisory_xact_lock_shared(:ns, 0)"), {"ns": _LOCKS_ALL})
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:tenant))"),
        {"ns": _LOCKS_TENANT, "tenant": tenant},
    )


def refresh_buckets(engine: Engine, tenant: str, starts: Sequence[datetime]) -> None:
    """Recompute every roll-up for these buckets of the tenant, in one transaction."""
    if not starts:
        return
    with engine.begin() as conn:
        _one_writer(conn, tenant)
        for refresher in REFRESHERS.values():
            refresher.refresh(conn, tenant, starts)


def state_days(first: datetime, last: datetime, reach: timedelta) -> list[date]:
    """The UTC days whose state figures state changes from ``first`` to ``last`` touch: each
    change ends the state before it, begun up to ``reach`` earlier."""
    day, end = (first.astimezone(UTC) - reach).date(), last.astimezone(UTC).date()
    days = []
    while day <= end:
        days.append(day)
        day += timedelta(days=1)
    return days


def refresh_state_days(engine: Engine, tenant: str, days: Sequence[date]) -> None:
    """Recompute the roll-ups kept by the time of agent states for these UTC days, in one
    transaction."""
    if not days:
        return
    with engine.begin() as conn:
        _one_writer(conn, tenant)
        for refresher in REFRESHERS.values():
            if refresher.by_states:
                for day in sorted(set(days)):
                    lo = datetime.combine(day, datetime.min.time(), UTC)
                    refresher.rebuild(conn, tenant, lo, lo + timedelta(days=1))


def rebuild(engine: Engine, start: datetime, end: datetime, tenant: str | None = None) -> None:
    """Recompute every roll-up for [start, end) (bucket-aligned outward)."""
    lo = bucket_of(start)
    hi = bucket_of(end)
    if hi < end:
        hi += BUCKET
    with engine.begin() as conn:
        _one_writer(conn, tenant)
        for refresher in REFRESHERS.values():
            refresher.rebuild(conn, tenant, lo, hi)

"""``callcenter db rollups``: rebuild the reports' roll-ups from the CDRs.

The workers keep the roll-ups current as calls arrive; this rewrites them for a span of UTC days
(by default every day that holds a call or an agent state), a month per transaction, printing
each month done. Needed once after an upgrade that adds a roll-up (the new one starts empty for
the calls before it) and after importing CDRs by other means. Safe beside running workers: a
tenant's roll-ups are rewritten by one transaction at a time (advisory locks), and rewriting a
bucket gives the same rows as the workers would.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select, union_all

from callcenter.db.models import AgentStateChange, Call
from callcenter.db.rollups_calls import ceil_day, floor_day, next_month
from callcenter.settings import Settings

__all__ = ["rebuild_rollups", "span_of"]


def _day(text: str, what: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def span_of(engine: Engine, tenant: str | None) -> tuple[datetime, datetime] | None:
    """The UTC days from the first to the last call or agent state (None: no CDRs)."""
    c, s = Call.__table__, AgentStateChange.__table__
    calls = select(func.min(c.c.started_at).label("lo"), func.max(c.c.started_at).label("hi"))
    states = select(func.min(s.c.at).label("lo"), func.max(s.c.at).label("hi"))
    if tenant is not None:
        calls, states = calls.where(c.c.tenant == tenant), states.where(s.c.tenant == tenant)
    both = union_all(calls, states).subquery("ends")
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(both.c.lo), func.max(both.c.hi))).one()
    if lo is None or hi is None:
        return None
    lo, hi = (_utc(lo), _utc(hi))
    return floor_day(lo), ceil_day(hi + timedelta(microseconds=1))


def _utc(value: datetime | str) -> datetime:
    """SQLite gives min()/max() of a time column as text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rebuild_rollups(
    settings: Settings, start: str | None, end: str | None, tenant: str | None
) -> int:
    from callcenter.db.engine import make_engine
    from callcenter.reports.registry import load_reports
    from callcenter.reports.rollup import rebuild

    load_reports()  # each report module registers its roll-up
    engine = make_engine(settings.database_url)
    try:
        found = span_of(engine, tenant)
        try:
            lo = _day(start, "--from") if start else (found[0] if found else None)
            hi = _day(end, "--to") + timedelta(days=1) if end else (found[1] if found else None)
        except ValueError as exc:
            print(f"callcenter db rollups: {exc}", file=sys.stderr)
            return 2
        if lo is None or hi is None:
            print("no calls or agent states: nothing to roll up")
            return 0
        if hi <= lo:
            print(
                f"callcenter db rollups: --to ({end}) is before --from ({start})", file=sys.stderr
            )
            return 2
        who = f"tenant {tenant}" if tenant else "every tenant"
        at = lo
        while at < hi:
            edge = min(next_month(at), hi)
            rebuild(engine, at, edge, tenant)
            print(
                f"roll-ups rebuilt for {who}: {at:%Y-%m-%d} to {edge - timedelta(days=1):%Y-%m-%d}"
            )
            at = edge
    finally:
        engine.dispose()
    return 0

"""Unique callers from the roll-up's sets of callers: a caller counted once over months, days
and quarter-hours put together, refreshed bucket by bucket like the ingest does, in the tenant's
time zone, and every caller number numbered once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select

from callcenter.db.rollups_callers import CallerNumber, DidCallers, unique_callers
from callcenter.reports import dids
from callcenter.reports.model import Granularity
from callcenter.reports.rollup import bucket_of, rebuild, refresh_buckets
from tests.reports.cdr_set import TENANT, Cdrs, request, z

# Berlin is UTC+1 in winter: the local year 2026 starts 2025-12-31 23:00 UTC, so a report of
# January-March reads 15-minute sets (the first local hour), two whole UTC months, UTC days
# and 15-minute sets again at the end.
CALLS = (
    # caller, DID, start (UTC)
    ("+491", "+100", "2025-12-31T23:10:00"),  # local 2026-01-01 00:10: the first 15-min piece
    ("+491", "+100", "2026-01-20T10:00:00"),  # January, a month piece: +491 again
    ("+491", "+100", "2026-03-30T22:50:00"),  # local 2026-03-31 00:50 (CEST), a day piece
    ("+492", "+100", "2026-02-10T10:00:00"),
    ("+492", "+100", "2026-02-11T10:00:00"),
    ("+493", "+100", "2026-03-31T21:45:00"),  # local 23:45, the last quarter-hour of March
    ("+493", "+100", "2026-03-31T22:00:00"),  # local 2026-04-01 00:00: outside the period
    ("+494", "+100", "2026-03-15T09:00:00"),
    ("+491", "+200", "2026-03-15T09:00:00"),  # another DID: its own count
    (None, "+100", "2026-03-16T09:00:00"),  # no caller number: a call, no caller
)


def _cdrs() -> Cdrs:
    s = Cdrs()
    for i, (caller, did, at) in enumerate(CALLS):
        s.call(f"u{i}", z(at), did=did, caller_number=caller, outcome="answered")
    return s


def _unique(
    engine: Engine, start: str, end: str, granularity: Granularity
) -> list[tuple[Any, ...]]:
    report = dids.dids_report(engine, request(start, end, granularity))
    raw = dids.dids_raw(engine, request(start, end, granularity))
    assert report.rows == raw.rows and report.source == "rollups"
    return [(r.get("period"), r["did"], r["calls"], r["unique_callers"]) for r in report.rows]


@pytest.fixture
def sets(db: Engine) -> Engine:
    _cdrs().write(db)
    rebuild(db, z("2025-12-01T00:00:00"), z("2026-05-01T00:00:00"))
    return db


def test_a_caller_is_counted_once_over_months_days_and_quarter_hours(sets: Engine) -> None:
    assert _unique(sets, "2026-01-01", "2026-03-31", Granularity.TOTAL) == [
        (None, "+100", 8, 4),  # +491 three times, +492 twice, +493, +494, one without a number
        (None, "+200", 1, 1),
    ]
    months = _unique(sets, "2026-01-01", "2026-03-31", Granularity.MONTH)
    assert [(p[:7], did, n, u) for p, did, n, u in months] == [
        ("2026-01", "+100", 2, 1),
        ("2026-02", "+100", 2, 1),
        ("2026-03", "+100", 4, 3),
        ("2026-03", "+200", 1, 1),
    ]


def test_sets_refreshed_bucket_by_bucket_equal_a_rebuild(sets: Engine) -> None:
    with sets.connect() as conn:
        rebuilt = sorted(tuple(r) for r in conn.execute(select(DidCallers.__table__)))
        numbers = conn.execute(select(func.count(), func.max(CallerNumber.id))).one()
        conn.execute(delete(DidCallers))
        conn.commit()
    starts = sorted({bucket_of(z(at)) for _, _, at in CALLS})
    refresh_buckets(sets, TENANT, starts)
    refresh_buckets(sets, TENANT, starts)
    with sets.connect() as conn:
        again = sorted(tuple(r) for r in conn.execute(select(DidCallers.__table__)))
        # Refreshing proposes only numbers without an integer: none is used up by a conflict.
        assert conn.execute(select(func.count(), func.max(CallerNumber.id))).one() == numbers
    assert again == rebuilt
    assert numbers[0] == 4  # +491..+494


def test_one_more_call_in_a_bucket_moves_its_day_and_month(sets: Engine) -> None:
    more = Cdrs()
    more.call("late", z("2026-02-20T10:05:00"), did="+100", caller_number="+495")
    more.write(sets)
    refresh_buckets(sets, TENANT, [bucket_of(z("2026-02-20T10:05:00"))])
    assert _unique(sets, "2026-01-01", "2026-03-31", Granularity.TOTAL)[0] == (None, "+100", 9, 5)
    with sets.connect() as conn:
        spans = [(z("2026-02-01T00:00:00"), z("2026-03-01T00:00:00"))]
        assert unique_callers(conn, TENANT, spans, ())[0][("+100", "")] == 2
        day = [(z("2026-02-20T00:00:00"), z("2026-02-20T00:00:00") + timedelta(days=1))]
        assert unique_callers(conn, TENANT, day, ("+100",)) == {0: {("+100", ""): 1}}
        assert unique_callers(conn, TENANT, day, ("+200",)) == {}

"""The roll-ups: refreshing twice changes nothing, bucket refreshes equal a rebuild, roll-up
reports equal the raw GROUP BY on a seeded random set (across a DST change), and SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from callcenter.db.engine import make_engine
from callcenter.db.migrate import upgrade
from callcenter.db.models import Call
from callcenter.db.rollups_callers import DidCallers
from callcenter.db.rollups_calls import (
    AgentRollup,
    AgentStateRollup,
    DidCodeRollup,
    DidFirstCaller,
    DidRollup,
    QueueRollup,
)
from callcenter.reports import agents, dids, queues
from callcenter.reports.model import Granularity
from callcenter.reports.rollup import bucket_of, rebuild, refresh_buckets
from tests.reports.cdr_set import TENANT, hand_made, random_set, request, z

TABLES = (
    QueueRollup, AgentRollup, AgentStateRollup, DidRollup, DidCodeRollup, DidCallers,
    DidFirstCaller,
)  # fmt: skip
SPECS = (
    (queues.queues_report, queues.queues_raw),
    (agents.agents_report, agents.agents_raw),
    (dids.dids_report, dids.dids_raw),
)
START, END = z("2026-03-01T00:00:00"), z("2026-04-02T00:00:00")


def _contents(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            m.__tablename__: sorted(tuple(r) for r in conn.execute(select(m.__table__)))
            for m in TABLES
        }


def test_refreshing_twice_is_the_same_and_buckets_equal_a_rebuild(db: Engine) -> None:
    random_set(1, 200).write(db)
    rebuild(db, START, END)
    once = _contents(db)
    assert all(once.values())
    rebuild(db, START, END)
    assert _contents(db) == once
    # The ingest's way: refresh the buckets of the calls, twice.
    with db.connect() as conn:
        starts = sorted(
            {bucket_of(t) for t in conn.execute(select(Call.started_at)).scalars() if t}
        )
    for table in TABLES[:-1]:
        with db.begin() as conn:
            conn.execute(delete(table))
    refresh_buckets(db, TENANT, starts)
    refresh_buckets(db, TENANT, starts)
    again = _contents(db)
    # State time is bucketed by the state's own time, not a call's: only call buckets compare.
    for name in ("rollup_queue_15m", "rollup_agent_15m", "rollup_did_15m", "rollup_did_code_15m",
                 "rollup_did_callers_15m", "did_first_callers"):  # fmt: skip
        assert again[name] == once[name], name


@pytest.mark.parametrize("seed", [7, 8])
def test_rollup_reports_equal_the_raw_group_by_on_a_random_set(db: Engine, seed: int) -> None:
    random_set(seed).write(db)
    rebuild(db, START, END)
    for granularity in (Granularity.TOTAL, Granularity.HOUR, Granularity.DAY):
        for run, raw in SPECS:
            req = request("2026-03-27", "2026-03-31", granularity)
            fast, slow = run(db, req), raw(db, req)
            assert fast.source == "rollups" and slow.source == "raw"
            assert fast.rows and fast.rows == slow.rows, (run.__name__, granularity)
            assert fast.totals == slow.totals


def test_a_day_across_the_spring_dst_change(db: Engine) -> None:
    s = hand_made()
    for rows in (s.calls, s.waits, s.legs, s.codes, s.scores):
        rows.clear()
    for uuid, at in (("d1", "2026-03-29T00:30:00"), ("d2", "2026-03-29T01:30:00"),
                     ("d3", "2026-03-29T22:30:00")):  # fmt: skip
        s.call(uuid, z(at), did="+100", caller_number="+491", queue="sales", outcome="abandoned")
        s.wait(uuid, "sales", z(at), wait_ms=1000, outcome="abandoned")
    s.write(db)
    rebuild(db, START, END)
    # 01:30 CET, then 03:30 CEST (02:00-03:00 does not exist); 00:30 CEST is the next day.
    hours = queues.queues_report(db, request("2026-03-29", granularity=Granularity.HOUR))
    assert [(r["period"], r["offered"]) for r in hours.rows] == [
        ("2026-03-29 01:00+0100", 1),
        ("2026-03-29 03:00+0200", 1),
    ]
    days = dids.dids_report(db, request("2026-03-29", "2026-03-30", Granularity.DAY))
    assert [(r["period"], r["calls"], r["first_time_callers"]) for r in days.rows] == [
        ("2026-03-29", 2, 1),
        ("2026-03-30", 1, 0),
    ]
    assert days.rows == dids.dids_raw(db, request("2026-03-29", "2026-03-30", Granularity.DAY)).rows


def test_the_demo_database_sqlite_gives_the_same_figures(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        random_set(3, 150).write(engine)
        rebuild(engine, START, END)
        for run, raw in SPECS:
            req = request("2026-03-27", "2026-03-31", Granularity.DAY)
            fast = run(engine, req)
            assert fast.rows and fast.rows == raw(engine, req).rows, run.__name__
        rebuild(engine, START, END - timedelta(days=1))
    finally:
        engine.dispose()


def test_a_period_is_read_from_months_days_hours_and_quarter_hours() -> None:
    from callcenter.db.rollups_calls import MONTH, pieces

    # A Berlin day (UTC+1): 24 hour rows, not 96 quarter hours.
    assert pieces(z("2026-03-09T23:00:00"), z("2026-03-10T23:00:00")) == [
        (z("2026-03-09T23:00:00"), z("2026-03-10T23:00:00"), 60)
    ]
    # A Kathmandu day (UTC+05:45): quarter hours at both ends.
    assert pieces(z("2026-03-09T18:15:00"), z("2026-03-10T18:15:00")) == [
        (z("2026-03-09T18:15:00"), z("2026-03-09T19:00:00"), 15),
        (z("2026-03-09T19:00:00"), z("2026-03-10T18:00:00"), 60),
        (z("2026-03-10T18:00:00"), z("2026-03-10T18:15:00"), 15),
    ]
    # A Berlin year: an hour, eleven months, thirty days, twenty-three hours.
    assert pieces(z("2025-12-31T23:00:00"), z("2026-12-31T23:00:00")) == [
        (z("2025-12-31T23:00:00"), z("2026-01-01T00:00:00"), 60),
        (z("2026-01-01T00:00:00"), z("2026-12-01T00:00:00"), MONTH),
        (z("2026-12-01T00:00:00"), z("2026-12-31T00:00:00"), 1440),
        (z("2026-12-31T00:00:00"), z("2026-12-31T23:00:00"), 60),
    ]
    assert pieces(z("2026-03-10T10:00:00"), z("2026-03-10T10:00:00")) == []

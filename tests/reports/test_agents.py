"""The agents report on a hand-made day, field by field, from roll-ups and from raw rows."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from callcenter.reports import agents
from callcenter.reports.errors import UnknownNameError
from callcenter.reports.model import Granularity
from callcenter.reports.rollup import rebuild
from tests.reports.cdr_set import Cdrs, hand_made, request, z


@pytest.fixture
def day(db: Engine) -> Engine:
    hand_made().write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    return db


A1 = {
    # legs: c1 (60 s, hold 5 s), c5 (120 s, across midnight), c6 (40 s before the transfer)
    "agent": "a1", "rank": 1, "offered": 3, "answered": 3, "missed": 0, "rejected": 0,
    "talk_s": 220.0, "hold_s": 5.0, "wrap_s": 30.0,
    "aht_s": 85.0,  # (220 + 5 + 30) / 3
    "ready_s": 28705.0,  # 08:30-09:00:10, 09:01:45-09:30, 10:00-17:00
    "break_s": 3600.0, "break:login": 1800.0, "break:lunch": 1800.0,
    "occupancy_pct": 0.33,  # (65 on call + 30 wrap-up) / (95 + 28705)
    "qa_avg": 80.0, "dispositions": 1, "outbound": 1,
}  # fmt: skip
A2 = {
    # legs: c1 rejected, c2 cancelled by the caller while ringing (no miss), c4 30 s, c6 50 s
    "agent": "a2", "rank": 2, "offered": 4, "answered": 2, "missed": 0, "rejected": 1,
    "talk_s": 80.0, "hold_s": 0.0, "wrap_s": 0.0, "aht_s": 40.0, "ready_s": 28800.0,
    "break_s": 0.0, "break:login": 0.0, "break:lunch": 0.0, "occupancy_pct": 0.0,
    "qa_avg": None, "dispositions": 1, "outbound": 0,
}  # fmt: skip


def test_agents_for_the_day_field_by_field_and_ranked(day: Engine) -> None:
    for run in (agents.agents_report, agents.agents_raw):
        report = run(day, request("2026-03-10"))
        assert report.rows == [A1, A2]
        assert report.totals is not None
        assert (report.totals["offered"], report.totals["answered"]) == (7, 5)
        assert report.totals["talk_s"] == 300.0


def test_compare_agent_against_the_average(day: Engine) -> None:
    report = agents.agents_report(day, request("2026-03-10", options={"compare_agent": "a2"}))
    mine, average = report.rows
    assert (mine["agent"], mine["answered"], mine["talk_s"]) == ("a2", 2, 80.0)
    assert average["agent"] == "~average of 2 agents"
    assert (average["answered"], average["talk_s"], average["offered"]) == (2.5, 150.0, 3.5)


def test_unknown_agent_and_empty_period(day: Engine) -> None:
    with pytest.raises(UnknownNameError):
        agents.agents_report(day, request("2026-03-10", agents=("zz",)))
    with pytest.raises(UnknownNameError):
        agents.agents_report(day, request("2026-03-10", options={"compare_agent": "zz"}))
    empty = agents.agents_report(day, request("2025-06-01"))
    assert empty.rows == [] and empty.totals is None
    only = agents.agents_report(day, request("2026-03-10", agents=("a2",)))
    assert [r["agent"] for r in only.rows] == ["a2"]


SUPPORT_FIELDS = ("agent", "offered", "answered", "talk_s", "qa_avg", "dispositions", "outbound")


def test_a_queue_keeps_to_its_calls_and_its_agents(day: Engine) -> None:
    for run in (agents.agents_report, agents.agents_raw):
        support = run(day, request("2026-03-10", queues=("support",)))
        # c5 (a1, 120 s) and c4 (a2, overflowed from sales, answered in support, 30 s).
        assert [tuple(r[k] for k in SUPPORT_FIELDS) for r in support.rows] == [
            ("a1", 1, 1, 120.0, None, 0, 0),
            ("a2", 1, 1, 30.0, None, 0, 0),
        ]
        assert support.rows[0]["ready_s"] == A1["ready_s"]  # state time is the agent's whole
        assert any("queue filter" in note for note in support.notes)
        sales = run(day, request("2026-03-10", queues=("sales",)))
        # a1: c1 (60 s, hold 5, QA 80, a sale), c6 (40 s); a2: c1 rejected, c2 cancelled, c6.
        assert [tuple(r[k] for k in SUPPORT_FIELDS) for r in sales.rows] == [
            ("a1", 2, 2, 100.0, 80.0, 1, 0),
            ("a2", 3, 1, 50.0, None, 1, 0),
        ]
        # Every offer here is of a call in sales or support: the two queues add up to the
        # whole day (the outbound c8 is no offer: no agent leg).
        whole = run(day, request("2026-03-10"))
        for row in whole.rows:
            parts = [r for rep in (support, sales) for r in rep.rows if r["agent"] == row["agent"]]
            assert sum(r["offered"] for r in parts) == row["offered"]
            assert sum(r["talk_s"] for r in parts) == row["talk_s"]


def test_compare_against_the_queue_average(day: Engine) -> None:
    report = agents.agents_report(
        day, request("2026-03-10", queues=("sales",), options={"compare_agent": "a1"})
    )
    mine, average = report.rows
    assert (mine["agent"], mine["answered"], mine["talk_s"]) == ("a1", 2, 100.0)
    assert average["agent"] == "~average of 2 agents"
    assert (average["answered"], average["talk_s"], average["offered"]) == (1.5, 75.0, 2.5)


def test_state_time_is_cut_at_the_hours_and_days_it_spans(db: Engine) -> None:
    s = Cdrs()
    # Berlin is UTC+1: a3 ready 08:50-10:20 local, lunch to 11:00, logged out; back for a break
    # from 23:30 to 00:45 the next day; a4 ready, then nothing for two days (24 h count).
    for at, status, reason in (("07:50", "available", None), ("09:20", "on_break", "lunch"),
                               ("10:00", "logged_out", None), ("22:30", "on_break", "late"),
                               ("23:45", "logged_out", None)):  # fmt: skip
        s.state("a3", z(f"2026-03-10T{at}:00"), status, reason)
    s.state("a4", z("2026-03-10T08:00:00"), "available")
    s.state("a4", z("2026-03-12T12:00:00"), "logged_out")
    s.write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    for run in (agents.agents_report, agents.agents_raw):
        hours = run(db, request("2026-03-10", granularity=Granularity.HOUR, agents=("a3",)))
        by_hour = {r["period"][11:13]: (r["ready_s"], r["break_s"]) for r in hours.rows}
        assert by_hour["08"] == (600.0, 0.0)  # 08:50-09:00
        assert by_hour["09"] == (3600.0, 0.0)
        assert by_hour["10"] == (1200.0, 2400.0)  # ready to 10:20, then the break
        assert by_hour["23"] == (0.0, 1800.0)  # the break from 23:30 ...
        days = run(db, request("2026-03-10", "2026-03-11", Granularity.DAY))
        per_day = {(r["period"][:10], r["agent"]): r for r in days.rows}
        # ... ends at 00:45 the next day (Berlin): 45 minutes of it count on the 11th.
        assert per_day[("2026-03-11", "a3")]["break_s"] == 2700.0
        assert per_day[("2026-03-10", "a3")]["ready_s"] == 5400.0  # 08:50-10:20
        # a4: ready from 09:00 on the 10th, counted 24 h: 15 h on the 10th, 9 h on the 11th.
        assert per_day[("2026-03-10", "a4")]["ready_s"] == 15 * 3600.0
        assert per_day[("2026-03-11", "a4")]["ready_s"] == 9 * 3600.0
    assert (
        agents.agents_report(db, request("2026-03-10")).rows
        == agents.agents_raw(db, request("2026-03-10")).rows
    )

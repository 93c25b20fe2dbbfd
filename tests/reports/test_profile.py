"""The hourly profile on real PostgreSQL: calls per weekday slot in the tenant's zone, averaged
over the weeks of the period, with the agents Erlang C says each slot needs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from callcenter.reports import erlang, profile
from callcenter.reports.errors import InvalidReportInputError
from callcenter.reports.model import Granularity, ReportRequest
from callcenter.reports.periods import resolve
from tests.reports.lines_helpers import TENANT, add_call, at

TZ = "Europe/Moscow"  # UTC+3 all year


def request(first: str = "2026-03-02", last: str = "2026-03-15", **kw: Any) -> ReportRequest:
    start, end = resolve(first, last, TZ)
    return ReportRequest(tenant=TENANT, start=start, end=end, tz=TZ, **kw)


def inbound(db: Engine, uuid: str, day: int, hour: int, minute: int, talk_s: int | None,
            **extra: Any) -> None:  # fmt: skip
    started = at(day, hour, minute)
    add_call(db, uuid, direction="inbound", did="+74950000000", queue="support",
             started_at=started, ended_at=at(day, hour, minute + 5),
             answered_at=started if talk_s else None,
             talk_ms=talk_s * 1000 if talk_s else None, **extra)  # fmt: skip


def seed(db: Engine) -> None:
    # Monday 2 March 09:10 and 09:40 Moscow (06:xx UTC), Monday 9 March 09:20: Mondays 09:00.
    inbound(db, "p1", 2, 6, 10, 120)
    inbound(db, "p2", 2, 6, 40, 240)
    inbound(db, "p3", 9, 6, 20, 180)
    # Tuesday 3 March 14:05 Moscow, not answered.
    inbound(db, "p4", 3, 11, 5, None)
    # Sunday 1 March 23:30 Moscow is outside the period; Sunday 15 March 23:50 Moscow inside.
    inbound(db, "p5", 1, 20, 30, 60)
    inbound(db, "p6", 15, 20, 50, None)
    # Outbound and another queue's calls.
    add_call(db, "o1", direction="outbound", gateway="gw-a", started_at=at(2, 6, 15),
             ended_at=at(2, 6, 20), answered_at=at(2, 6, 15), talk_ms=999000)  # fmt: skip
    inbound(db, "q1", 2, 6, 50, 60, agent="1001")


def test_hourly_slots_averaged_over_the_weeks(db: Engine) -> None:
    seed(db)
    report = profile.profile_report(db, request(queues=("support",), options={"aht_seconds": 1800}))
    rows = {(r["weekday"], r["time"]): r for r in report.rows}
    assert set(rows) == {("Mon", "09:00"), ("Tue", "14:00"), ("Sun", "23:00")}
    mon = rows[("Mon", "09:00")]
    # p1, p2, p3 and q1 (support too) over two Mondays: 4 / 2.
    assert (mon["occurrences"], mon["calls"], mon["calls_avg"]) == (2, 4, 2.0)
    # 2 calls an hour x 1800 s / 3600 s = 1 Erlang.
    assert mon["erlangs"] == 1.0
    assert mon["agents"] == erlang.agents_needed(1.0, 1800, 0.8, 20)
    assert mon["service_level"] >= 80
    assert mon["service_level"] == round(
        100 * erlang.service_level(mon["agents"], 1.0, 1800, 20), 2
    )
    assert (rows[("Tue", "14:00")]["calls_avg"], rows[("Sun", "23:00")]["calls_avg"]) == (0.5, 0.5)
    assert report.totals is not None and report.totals["calls"] == 6
    assert report.charts[0].x_labels == ["09:00", "14:00", "23:00"]


def test_aht_from_the_data_and_half_hours(db: Engine) -> None:
    seed(db)
    req = request(granularity=Granularity.MIN30, queues=("support",), agents=(),
                  options={"target_sl": 90, "sl_seconds": 15})  # fmt: skip
    report = profile.profile_report(db, req)
    rows = {(r["weekday"], r["time"]): r for r in report.rows}
    # Answered support calls in the period: 120, 240, 180, 60 s of talk: AHT 150 s.
    assert any("AHT 150.0 s" in note for note in report.notes)
    # Monday 09:00-09:30: p1 (2 March) and p3 (9 March); 09:30: p2, q1.
    assert rows[("Mon", "09:00")]["calls_avg"] == 1.0
    assert rows[("Mon", "09:30")]["calls_avg"] == 1.0
    load = 1.0 * 150 / 1800
    assert rows[("Mon", "09:00")]["erlangs"] == round(load, 4)
    assert rows[("Mon", "09:00")]["agents"] == erlang.agents_needed(load, 150, 0.9, 15)


def test_filters_direction_and_a_partial_period(db: Engine) -> None:
    seed(db)
    # Monday 2 .. Wednesday 11 March: two Mondays, two Tuesdays, one Sunday.
    report = profile.profile_report(db, request("2026-03-02", "2026-03-11", agents=("1001",)))
    assert [(r["weekday"], r["time"], r["occurrences"], r["calls"]) for r in report.rows] == [
        ("Mon", "09:00", 2, 1)
    ]
    out = profile.profile_report(db, request(options={"direction": "outbound"}))
    assert [(r["weekday"], r["time"], r["calls"]) for r in out.rows] == [("Mon", "09:00", 1)]
    # AHT from the outbound call's talk time.
    assert any("AHT 999.0 s" in note for note in out.notes)


def test_no_answered_call_leaves_agents_empty(db: Engine) -> None:
    inbound(db, "u1", 3, 11, 5, None)
    report = profile.profile_report(db, request())
    assert report.rows[0]["calls"] == 1 and report.rows[0]["agents"] is None
    assert any("aht_seconds" in note for note in report.notes)


def test_an_empty_period_is_an_empty_report(db: Engine) -> None:
    seed(db)
    report = profile.profile_report(db, request("2026-04-01", "2026-04-30"))
    assert report.rows == [] and report.totals is None


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"granularity": Granularity.DAY}, "15min, 30min or hour"),
        ({"options": {"target_sl": 100}}, "target_sl"),
        ({"options": {"target_sl": 0}}, "target_sl"),
        ({"options": {"target_sl": "high"}}, "target_sl"),
        ({"options": {"target_sl": "nan"}}, "target_sl"),
        ({"options": {"aht_seconds": 0}}, "aht_seconds"),
        ({"options": {"sl_seconds": -5}}, "sl_seconds"),
        ({"options": {"max_occupancy": 120}}, "max_occupancy"),
        ({"options": {"direction": "sideways"}}, "direction"),
    ],
)
def test_bad_input(db: Engine, kw: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidReportInputError, match=match):
        profile.profile_report(db, request(**kw))

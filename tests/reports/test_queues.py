"""The queues report on a hand-made day, field by field, from roll-ups and from raw rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from callcenter.reports import queues
from callcenter.reports.errors import UnknownNameError
from callcenter.reports.model import Granularity
from callcenter.reports.rollup import rebuild
from tests.reports.cdr_set import hand_made, request, z


@pytest.fixture
def day(db: Engine) -> Engine:
    hand_made().write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    return db


SALES = {
    # stays c1 (answered 12 s), c2 (abandoned 30 s), c3 (abandoned 3 s: short), c4 (overflowed
    # 40 s), c6 (answered at exactly 20 s), c9 (callback requested 50 s)
    "queue": "sales", "offered": 6, "answered": 2, "abandoned": 2, "abandoned_short": 1,
    "sl_pct": 40.0,  # c1, c6 within 20 s over 6 - 1 short abandon
    "asa_s": 16.0,  # (12 + 20) / 2
    "aht_s": 77.5,  # (60 + 5 hold) + 90, over 2
    "longest_wait_s": 50.0, "callbacks_requested": 1, "callbacks_completed": 0,
    "overflow_out": 1, "overflow_in": 0, "moved_out": 0,
}  # fmt: skip
SUPPORT = {
    # c4 (from sales, answered after 10 s, talk 30 s), c5 (across midnight, 5 s, talk 120 s)
    "queue": "support", "offered": 2, "answered": 2, "abandoned": 0, "abandoned_short": 0,
    "sl_pct": 100.0, "asa_s": 7.5, "aht_s": 75.0, "longest_wait_s": 10.0,
    "callbacks_requested": 0, "callbacks_completed": 0, "overflow_out": 0, "overflow_in": 1,
    "moved_out": 0,
}  # fmt: skip
TOTAL = {
    "queue": "Total", "offered": 8, "answered": 4, "abandoned": 2, "abandoned_short": 1,
    "sl_pct": 57.14,  # 4 / 7
    "asa_s": 11.75, "aht_s": 76.25, "longest_wait_s": 50.0, "callbacks_requested": 1,
    "callbacks_completed": 0, "overflow_out": 1, "overflow_in": 1, "moved_out": 0,
}  # fmt: skip


def test_queues_for_the_day_field_by_field(day: Engine) -> None:
    for run in (queues.queues_report, queues.queues_raw):
        report = run(day, request("2026-03-10"))
        assert report.rows == [SALES, SUPPORT]
        assert report.totals == TOTAL
    assert queues.queues_report(day, request("2026-03-10")).source == "rollups"


def test_the_call_across_midnight_belongs_to_the_day_it_began(day: Engine) -> None:
    report = queues.queues_report(day, request("2026-03-11"))
    assert report.rows == [] and report.totals is None


def test_thresholds_are_options_and_odd_ones_come_from_raw_rows(day: Engine) -> None:
    # abandon under 10 s short: still only c3; SL at 10 s: c1 (12 s) and c6 are late -> 0 of 5
    report = queues.queues_report(
        day, request("2026-03-10", options={"sl_seconds": 10, "abandon_short_seconds": 10})
    )
    assert report.rows[0]["sl_pct"] == 0.0
    # 12 s: not kept in the roll-ups, so from raw rows: c1 within -> 1 of 5
    odd = queues.queues_report(day, request("2026-03-10", options={"sl_seconds": 12}))
    assert odd.source == "raw" and odd.rows[0]["sl_pct"] == 20.0
    # abandons under 31 s are short: c2 and c3 -> SL 2 of 4
    short = queues.queues_report(day, request("2026-03-10", options={"abandon_short_seconds": 31}))
    assert short.rows[0]["abandoned_short"] == 2 and short.rows[0]["sl_pct"] == 50.0


def test_hourly_rows_and_the_queue_filter(day: Engine) -> None:
    report = queues.queues_report(
        day, request("2026-03-10", granularity=Granularity.HOUR, queues=("support",))
    )
    assert [(r["period"], r["queue"], r["offered"]) for r in report.rows] == [
        ("2026-03-10 11:00+0100", "support", 1),
        ("2026-03-10 23:00+0100", "support", 1),
    ]
    assert report.totals is not None and report.totals["offered"] == 2
    assert (
        report.rows
        == queues.queues_raw(
            day, request("2026-03-10", granularity=Granularity.HOUR, queues=("support",))
        ).rows
    )


def test_an_unknown_queue_is_an_error_and_an_empty_period_is_empty(day: Engine) -> None:
    with pytest.raises(UnknownNameError):
        queues.queues_report(day, request("2026-03-10", queues=("nope",)))
    empty = queues.queues_report(day, request("2025-01-01"))
    assert empty.rows == [] and empty.totals is None


def test_queue_aht_takes_the_wrap_up_after_the_queue_calls(db: Engine) -> None:
    s = hand_made()
    # a1 wraps up c1 (sales) for 25 s, a2 c4 (answered in support) for 14 s; a wrap-up naming
    # the abandoned c2 counts nowhere (no answered stay), and one with no call neither.
    end1 = z("2026-03-10T09:01:17")
    s.state("a1", end1, "wrap_up", call_uuid="c1")
    s.state("a1", end1 + timedelta(seconds=25), "available")
    end4 = z("2026-03-10T10:01:20")
    s.state("a2", end4, "wrap_up", call_uuid="c4")
    s.state("a2", end4 + timedelta(seconds=14), "on_break", "lunch")
    s.state("a2", z("2026-03-10T11:00:00"), "wrap_up", call_uuid="c2")
    s.state("a2", z("2026-03-10T11:00:30"), "available")
    s.state("a3", z("2026-03-10T11:00:00"), "wrap_up")
    s.state("a3", z("2026-03-10T11:05:00"), "available")
    s.write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    for run in (queues.queues_report, queues.queues_raw):
        report = run(db, request("2026-03-10"))
        assert report.rows == [
            SALES | {"aht_s": 90.0},  # (60 + 5 + 25) + 90, over 2
            SUPPORT | {"aht_s": 82.0},  # (30 + 14) + 120, over 2
        ]
        assert report.totals == TOTAL | {"aht_s": 86.0}  # (155 + 25 + 30 + 14 + 120) / 4


def test_callers_moved_by_a_supervisor_count_as_moved_out(db: Engine) -> None:
    s = hand_made()
    # C10: waited 25 s in sales, moved by a supervisor to support, answered there after 5 s;
    # C11: waited 8 s in support, moved to a voicemail box.
    t = z("2026-03-10T12:00:00")
    s.call("c10", t, caller_number="+495", queue="support", agent="a2", wait_ms=5000,
           talk_ms=10000, outcome="answered")  # fmt: skip
    s.wait("c10", "sales", t, wait_ms=25000, outcome="moved", overflow_to="support")
    s.wait("c10", "support", t + timedelta(seconds=25), wait_ms=5000, outcome="answered",
           agent="a2", came_from="sales")  # fmt: skip
    t = z("2026-03-10T12:10:00")
    s.call("c11", t, caller_number="+496", queue="support", outcome="moved")
    s.wait("c11", "support", t, wait_ms=8000, outcome="moved", overflow_to="voicemail:1001")
    s.write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    for run in (queues.queues_report, queues.queues_raw):
        report = run(db, request("2026-03-10"))
        sales, support = report.rows
        assert (sales["offered"], sales["moved_out"], sales["overflow_out"]) == (7, 1, 1)
        assert (support["offered"], support["moved_out"], support["overflow_in"]) == (4, 1, 2)
        assert (support["answered"], sales["answered"]) == (3, 2)
        assert report.totals is not None and report.totals["moved_out"] == 2

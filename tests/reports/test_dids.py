"""The DIDs report on a hand-made day, field by field, from roll-ups and from raw rows."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from callcenter.reports import dids
from callcenter.reports.errors import UnknownNameError
from callcenter.reports.rollup import rebuild
from tests.reports.cdr_set import hand_made, request, z


@pytest.fixture
def day(db: Engine) -> Engine:
    hand_made().write(db)
    rebuild(db, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    return db


D100 = {
    # c1, c2, c3, c6, c9; callers +491 (twice, and the day before), +492, +495, +496
    "did": "+100", "campaign": "spring", "calls": 5, "unique_callers": 4,
    "first_time_callers": 3, "answered": 2, "abandoned": 2,
    "avg_wait_s": 23.0,  # (12 + 30 + 3 + 20 + 50) / 5
    "code:info": 1, "code:sale": 1, "conversions": 1, "conversion_pct": 20.0,
    "calls_prev": 1, "calls_change_pct": 400.0,
}  # fmt: skip
D200 = {
    # c4 (overflowed, then answered), c5 (across midnight)
    "did": "+200", "campaign": "", "calls": 2, "unique_callers": 2, "first_time_callers": 2,
    "answered": 2, "abandoned": 0, "avg_wait_s": 7.5, "code:info": 0, "code:sale": 0,
    "conversions": 0, "conversion_pct": 0.0, "calls_prev": 0, "calls_change_pct": None,
}  # fmt: skip


def test_dids_for_the_day_field_by_field(day: Engine) -> None:
    for run in (dids.dids_report, dids.dids_raw):
        report = run(day, request("2026-03-10"))
        assert report.rows == [D100, D200]
        assert report.totals is not None
        assert (report.totals["calls"], report.totals["first_time_callers"]) == (7, 5)
        assert report.totals["unique_callers"] is None


def test_conversion_codes_option(day: Engine) -> None:
    report = dids.dids_report(
        day, request("2026-03-10", options={"conversion_codes": ["sale", "info"]})
    )
    assert (report.rows[0]["conversions"], report.rows[0]["conversion_pct"]) == (2, 40.0)


def test_refreshing_first_callers_twice_changes_nothing(day: Engine) -> None:
    rebuild(day, z("2026-03-01T00:00:00"), z("2026-04-01T00:00:00"))
    assert dids.dids_report(day, request("2026-03-10")).rows == [D100, D200]


def test_unknown_did_and_empty_period(day: Engine) -> None:
    with pytest.raises(UnknownNameError):
        dids.dids_report(day, request("2026-03-10", dids=("+999",)))
    only = dids.dids_report(day, request("2026-03-10", dids=("+200",)))
    assert only.rows == [{k: v for k, v in D200.items() if not k.startswith("code:")}]
    empty = dids.dids_report(day, request("2025-06-01"))
    assert empty.rows == [] and empty.totals is None

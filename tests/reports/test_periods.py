"""Periods in the tenant's time zone: what a person asks becomes an exact UTC interval, cut at
local boundaries, across DST changes; bad input says what to fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcenter.reports.errors import InvalidPeriodError
from callcenter.reports.model import Granularity
from callcenter.reports.periods import buckets, resolve


def test_a_day_in_moscow_is_21_to_21_utc() -> None:
    start, end = resolve("2026-03-01", "2026-03-01", "Europe/Moscow")
    assert (start, end) == (
        datetime(2026, 2, 28, 21, tzinfo=UTC),
        datetime(2026, 3, 1, 21, tzinfo=UTC),
    )


def test_a_spring_forward_day_has_23_hourly_buckets() -> None:
    start, end = resolve("2026-03-29", "2026-03-29", "Europe/Berlin")
    hours = buckets(start, end, "Europe/Berlin", Granularity.HOUR)
    assert len(hours) == 23
    assert [b.label[11:16] for b in hours[:3]] == ["00:00", "01:00", "03:00"]
    assert (end - start).total_seconds() == 23 * 3600


def test_a_fall_back_day_has_25_hourly_buckets_and_one_day_bucket() -> None:
    start, end = resolve("2026-10-25", "2026-10-25", "Europe/Berlin")
    hours = buckets(start, end, "Europe/Berlin", Granularity.HOUR)
    assert len(hours) == 25
    assert [b.label for b in hours[2:4]] == ["2026-10-25 02:00+0200", "2026-10-25 02:00+0100"]
    [day] = buckets(start, end, "Europe/Berlin", Granularity.DAY)
    assert (day.label, day.start, day.end) == ("2026-10-25", start, end)


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    start, end = resolve("2026-03-04", "2026-04-15", "UTC")
    weeks = buckets(start, end, "UTC", Granularity.WEEK)
    assert weeks[0].label == "2026-03-02" and weeks[0].start == start  # clipped to the period
    assert weeks[1].label == "2026-03-09"
    months = buckets(start, end, "UTC", Granularity.MONTH)
    assert [m.label for m in months] == ["2026-03", "2026-04"]
    assert months[-1].end == end


def test_a_quarter_hour_zone_keeps_its_boundaries() -> None:
    start, end = resolve("2026-01-10", "2026-01-10", "Asia/Kathmandu")  # +05:45
    assert start == datetime(2026, 1, 9, 18, 15, tzinfo=UTC)
    hours = buckets(start, end, "Asia/Kathmandu", Granularity.HOUR)
    assert len(hours) == 24 and hours[1].start == datetime(2026, 1, 9, 19, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "tz", "words"),
    [
        ("2026-03-02", "2026-03-01", "UTC", "ends"),
        ("2026-03-01", "2026-03-01", "Mars/Olympus", "does not exist"),
        ("2026-13-01", "2026-03-01", "UTC", "not a date"),
        ("yesterday", "2026-03-01", "UTC", "not a date"),
        ("2020-01-01", "2026-03-01", "UTC", "three years"),
    ],
)
def test_bad_periods_say_what_to_fix(start: str, end: str, tz: str, words: str) -> None:
    with pytest.raises(InvalidPeriodError) as info:
        resolve(start, end, tz)
    assert words in info.value.message
    assert info.value.error_id == "invalid-period"

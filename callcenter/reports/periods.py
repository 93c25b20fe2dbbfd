"""Turning what a person asks (a day, a week, "2026-03-01..2026-03-31", in Moscow time) into
an exact UTC interval, and cutting it into the buckets a report groups by.

Buckets are made in the tenant's zone on the wall clock, so a day across a DST change has 23
or 25 hours and a report's "03:00" is the local 03:00. The roll-ups are kept in 15-minute UTC
buckets, which every zone's day, hour and half-hour boundaries fall on (every zone offset in
use is a multiple of 15 minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.reports.errors import InvalidPeriodError
from callcenter.reports.model import Granularity

__all__ = ["BUCKET", "Bucket", "buckets", "parse_moment", "resolve", "zone"]

BUCKET = timedelta(minutes=15)
# A report over more than this is refused (a typo such as 2206 for 2026).
MAX_RANGE = timedelta(days=3 * 366 + 1)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPeriodError(
            f"time zone {name!r} does not exist: use an IANA name such as Europe/Moscow or UTC",
            tz=name,
        ) from None


def parse_moment(text: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """``2026-03-01`` (the start of that day, or with ``end`` the start of the next: the whole
    day included), ``2026-03-01T09:30`` (wall clock in ``tz``) or an ISO time with an offset."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidPeriodError(
            f"{text!r} is not a date (2026-03-01) or a time (2026-03-01T09:30)", value=text
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def resolve(start: str, end: str, tz_name: str = "UTC") -> tuple[datetime, datetime]:
    """The UTC interval [start, end) for what was asked; errors say what to fix."""
    tz = zone(tz_name)
    first = parse_moment(start, tz)
    last = parse_moment(end, tz, end=True)
    if last <= first:
        raise InvalidPeriodError(
            f"the period ends ({end}) before it starts ({start}): swap them", start=start, end=end
        )
    if last - first > MAX_RANGE:
        raise InvalidPeriodError(
            f"the period {start}..{end} is longer than three years: ask for less",
            start=start,
            end=end,
        )
    return first.astimezone(UTC), last.astimezone(UTC)


@dataclass(frozen=True)
class Bucket:
    label: str  # as the reader sees it, in the tenant's zone
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def _floor(local: datetime, granularity: Granularity) -> datetime:
    if granularity is Granularity.MIN15:
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    if granularity is Granularity.MIN30:
        return local.replace(minute=local.minute - local.minute % 30, second=0, microsecond=0)
    if granularity is Granularity.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity is Granularity.DAY:
        return midnight
    if granularity is Granularity.WEEK:
        return midnight - timedelta(days=midnight.weekday())
    return midnight.replace(day=1)


def _next(local: datetime, granularity: Granularity) -> datetime:
    """The next boundary after ``local`` (a boundary), on the wall clock."""
    if granularity is Granularity.MONTH:
        return local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    step = {
        Granularity.MIN15: timedelta(minutes=15),
        Granularity.MIN30: timedelta(minutes=30),
        Granularity.HOUR: timedelta(hours=1),
        Granularity.DAY: timedelta(days=1),
        Granularity.WEEK: timedelta(days=7),
    }[granularity]
    if step >= timedelta(days=1):
        # Calendar steps on the wall clock: a DST day is 23 or 25 hours long.
        naive = local.replace(tzinfo=None) + step
        return naive.replace(tzinfo=local.tzinfo)
    # Sub-day steps in real time, so the repeated hour of an autumn change is two buckets.
    return (local.astimezone(UTC) + step).astimezone(local.tzinfo)


def _label(local: datetime, granularity: Granularity) -> str:
    if granularity in (Granularity.DAY, Granularity.WEEK):
        return local.date().isoformat()
    if granularity is Granularity.MONTH:
        return local.strftime("%Y-%m")
    return local.strftime("%Y-%m-%d %H:%M%z")


def buckets(start: datetime, end: datetime, tz_name: str, granularity: Granularity) -> list[Bucket]:
    """The period cut at the granularity's boundaries in ``tz`` (the first and last buckets
    clipped to the period). ``TOTAL`` is one bucket."""
    if granularity is Granularity.TOTAL:
        return [Bucket("total", start, end)]
    tz = zone(tz_name)
    out: list[Bucket] = []
    local = _floor(start.astimezone(tz), granularity)
    while local.astimezone(UTC) < end:
        following = _next(local, granularity)
        lo = max(local.astimezone(UTC), start)
        hi = min(following.astimezone(UTC), end)
        if lo < hi:
            out.append(Bucket(_label(local, granularity), lo, hi))
        local = following
    return out

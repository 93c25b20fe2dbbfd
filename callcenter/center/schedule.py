"""Time conditions: a tenant's open hours in its own timezone, with holidays.

time_conditions:
  - name: business_hours
    timezone: Europe/Moscow
    hours:
      - {days: mon-fri, from: "09:00", to: "18:00"}
      - {days: [sat], from: "10:00", to: "14:00"}
    holidays: ["2026-01-01", {date: "2026-05-09", name: Victory Day}]
    open: ivr:main
    closed: voicemail:general
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from callcenter.center.errors import FieldProblems
from callcenter.center.model import Destination, Name, StrictModel, SwitchStr, one_line

__all__ = ["Holiday", "Hours", "TimeCondition", "Weekday"]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEK = list(Weekday)  # index = Python's weekday(): Monday is 0


_DAY_NAMES = {
    **{day.value: n for n, day in enumerate(_WEEK)},
    **{
        name: n
        for n, name in enumerate(
            ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        )
    },
}


def _day_index(text: str) -> int:
    index = _DAY_NAMES.get(text.strip().lower())
    if index is None:
        raise ValueError(f"{text!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    return index


def _parse_days(value: Any) -> Any:
    # "mon-fri", "sat", "mon,wed" or a list of those; a range may wrap ("fri-mon").
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("days: 'mon-fri', 'sat' or a list such as [mon, wed]")
    days: set[int] = set()
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{item!r} is not a day or a range of days such as mon-fri")
        one_line(item)
        for part in item.split(","):
            start, dash, end = part.partition("-")
            first = _day_index(start)
            last = _day_index(end) if dash else first
            day = first
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
    return [_WEEK[index] for index in sorted(days)]


_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])|24:00")


def _clock(value: Any) -> Any:
    # The center's YAML loader reads 18:00 as text (YAML 1.1 would make it the number 1080).
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, minutes = value.split(":")
    return f"{int(hours):02d}:{minutes}"


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown timezone {value!r} (an IANA name such as Europe/Moscow or UTC)"
        ) from None
    return value


ClockTime = Annotated[str, BeforeValidator(_clock)]
TimeZoneName = Annotated[str, BeforeValidator(one_line), Field(min_length=1), AfterValidator(_zone)]


class Hours(StrictModel):
    """Open from ``from`` to ``to`` (HH:MM, local time, ``to`` may be 24:00) on ``days``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    days: Annotated[tuple[Weekday, ...], BeforeValidator(_parse_days)]
    from_: ClockTime = Field(alias="from")
    to: ClockTime

    @model_validator(mode="after")
    def _forward(self) -> Hours:
        if _minutes(self.to) <= _minutes(self.from_):
            raise FieldProblems(
                [(("to",), "must be later than from (split a range over midnight in two)")]
            )
        return self

    def covers(self, local: dt.datetime) -> bool:
        """Whether the local wall-clock time falls in these hours."""
        now = local.hour * 60 + local.minute
        in_day = _minutes(self.from_) <= now < _minutes(self.to)
        return in_day and _WEEK[local.weekday()] in self.days

    @property
    def freeswitch_wday(self) -> str:
        """The days as FreeSWITCH's ``wday`` condition numbers them (1 = Sunday): "2,3,4"."""
        return ",".join(str((_WEEK.index(day) + 1) % 7 + 1) for day in self.days)


class Holiday(StrictModel):
    """A closed day (all day, in the condition's timezone); ``name`` is free text."""

    date: dt.date
    name: SwitchStr = ""


def _holiday(value: Any) -> Any:
    # A bare date ("2026-01-01") is a holiday without a name.
    if isinstance(value, str | dt.date):
        return {"date": value}
    return value


class TimeCondition(StrictModel):
    """Sends a call to ``open`` during the hours (and not on a holiday), else to ``closed``.

    ``timezone`` is an IANA name (checked against the system's zone database); the switch
    evaluates the condition in that zone whatever its own clock's zone.
    """

    name: Name
    timezone: TimeZoneName
    hours: list[Hours] = Field(min_length=1)
    holidays: list[Annotated[Holiday, BeforeValidator(_holiday)]] = []
    open: Destination
    closed: Destination

    def is_open(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` (an aware datetime) is within the open hours."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        if any(holiday.date == local.date() for holiday in self.holidays):
            return False
        return any(hours.covers(local) for hours in self.hours)

    def destination_at(self, moment: dt.datetime) -> Destination:
        return self.open if self.is_open(moment) else self.closed

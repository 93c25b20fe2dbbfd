"""A tenant's scheduled report e-mails (the ``reports:`` section of a tenant in the center
file): who receives them, daily and/or weekly, which reports, in which time zone."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from callcenter.center.model import StrictModel

__all__ = ["ReportsConfig"]

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
_REPORT_NAME = re.compile(r"[a-z0-9_-]{1,63}")


class ReportsConfig(StrictModel):
    """``reports: {recipients: [boss@example.com], daily: true, weekly: false,
    reports: [queues, agents], tz: Europe/Moscow, hour: 7}``."""

    recipients: list[str] = Field(min_length=1)
    # The daily summary covers yesterday; the weekly one the last ISO week (sent on Mondays).
    daily: bool = True
    weekly: bool = False
    # Report names (``callcenter report --help`` lists them); empty: every report there is.
    reports: list[str] = []
    # The zone the days are cut in, and the local hour the e-mail goes out at.
    tz: str = "UTC"
    hour: int = Field(7, ge=0, le=23)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _ADDRESS.fullmatch(address):
                raise ValueError(f"{address!r} is not an e-mail address (name@example.com)")
        return value

    @field_validator("reports")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _REPORT_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a report name (such as queues or agents)")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"time zone {value!r} does not exist: use an IANA name such as Europe/Moscow"
            ) from None
        return value

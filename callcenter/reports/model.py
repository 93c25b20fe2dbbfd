"""The one shape every report has: what was asked, and columns, rows, totals and charts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Chart",
    "ChartSeries",
    "Column",
    "ColumnKind",
    "Granularity",
    "Report",
    "ReportRequest",
]


class Granularity(StrEnum):
    """How a report's time axis (when it has one) is cut, in the tenant's time zone."""

    MIN15 = "15min"
    MIN30 = "30min"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first
    MONTH = "month"
    TOTAL = "total"  # the whole period as one


class ReportRequest(BaseModel):
    """What a report is asked for. ``start``/``end`` are aware datetimes (end exclusive) already
    resolved in ``tz`` by ``periods.resolve``; filters narrow the calls counted."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    start: datetime
    end: datetime
    tz: str = "UTC"
    granularity: Granularity = Granularity.TOTAL
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    dids: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    # Report-specific options (e.g. abandon_short_seconds, target_service_level, what-if rates).
    options: dict[str, Any] = Field(default_factory=dict)


class ColumnKind(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    PERCENT = "percent"  # 0..100
    SECONDS = "seconds"  # a duration, shown as h:mm:ss
    MONEY = "money"
    DATETIME = "datetime"  # ISO 8601 with the tenant's offset


class Column(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT


class ChartSeries(BaseModel):
    label: str
    values: list[float | None]


class Chart(BaseModel):
    """A bar or line chart: one label per point on the x axis, one or more series."""

    title: str
    kind: str = "bar"  # bar, line
    x_labels: list[str]
    series: list[ChartSeries]
    unit: str = ""


class Report(BaseModel):
    name: str
    title: str
    request: ReportRequest
    columns: list[Column]
    rows: list[dict[str, Any]]
    # The whole period's figures in the same columns (a text column says "Total").
    totals: dict[str, Any] | None = None
    charts: list[Chart] = []
    notes: list[str] = []  # what a reader must know (e.g. "times in Europe/Moscow")
    # Where the figures came from: rollups (the interval roll-ups) or raw (the CDR rows).
    source: str = "rollups"

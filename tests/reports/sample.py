"""A small report of the tests' own, registered for a test only: every output (files, mail,
CLI, API, page) is written against the generic Report shape, so this one stands for all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from unittest.mock import patch

from sqlalchemy import Engine

from callcenter.reports import registry
from callcenter.reports.errors import InvalidReportInputError
from callcenter.reports.model import (
    Chart,
    ChartSeries,
    Column,
    ColumnKind,
    Report,
    ReportRequest,
)
from callcenter.reports.registry import REPORTS, ReportSpec

NAME = "sample-agents"
TITLE = "Sample: calls per agent"
LAST_CALL = datetime(2026, 3, 2, 10, 5, tzinfo=UTC)

COLUMNS = [
    Column(key="agent", label="Agent", kind=ColumnKind.TEXT),
    Column(key="name", label="Name", kind=ColumnKind.TEXT),
    Column(key="calls", label="Calls", kind=ColumnKind.INT),
    Column(key="answered_pct", label="Answered", kind=ColumnKind.PERCENT),
    Column(key="talk", label="Talk time", kind=ColumnKind.SECONDS),
    Column(key="aht", label="Average handle", kind=ColumnKind.FLOAT),
    Column(key="cost", label="Cost", kind=ColumnKind.MONEY),
    Column(key="last_call", label="Last call", kind=ColumnKind.DATETIME),
]
ROWS = [
    {"agent": "1001", "name": "Anna Ivanova", "calls": 12, "answered_pct": 91.666,
     "talk": 3725, "aht": 310.42, "cost": 12.5, "last_call": LAST_CALL},
    {"agent": "1002", "name": "Борис Петров", "calls": 3, "answered_pct": 100.0,
     "talk": 95, "aht": 31.67, "cost": 0.75, "last_call": None},
]  # fmt: skip
TOTALS = {"agent": "Total", "name": "", "calls": 15, "answered_pct": 93.333, "talk": 3820,
          "aht": 254.67, "cost": 13.25, "last_call": LAST_CALL}  # fmt: skip


def sample_report(engine: Engine | None, request: ReportRequest) -> Report:
    if request.options.get("fail"):
        raise InvalidReportInputError("the sample was asked to fail", option="fail")
    rows = [row for row in ROWS if not request.agents or row["agent"] in request.agents]
    return Report(
        name=NAME,
        title=TITLE,
        request=request,
        columns=COLUMNS,
        rows=rows,
        totals=TOTALS,
        charts=[
            Chart(
                title="Calls per agent",
                kind="bar",
                x_labels=[row["agent"] for row in rows],
                series=[
                    ChartSeries(label="Calls", values=[row["calls"] for row in rows]),
                    ChartSeries(label="Answered %", values=[row["answered_pct"] for row in rows]),
                ],
            ),
            Chart(
                title="Calls per hour",
                kind="line",
                x_labels=[f"{h:02d}:00" for h in range(8, 14)],
                series=[ChartSeries(label="Calls", values=[1, 3, None, 5, 2, 4])],
                unit="calls",
            ),
        ],
        # What the server added (the API's center): shown, so that a test can see it arrive.
        notes=[
            f"times in {request.tz}",
            *(["center: given"] if "center" in request.options else []),
        ],
        source="raw",
    )


@contextmanager
def registered() -> Iterator[ReportSpec]:
    """The sample in the registry for the duration of a ``with``, alone: the other reports'
    modules are not loaded meanwhile (they are tested on their own, and may be half written)."""
    spec = ReportSpec(NAME, TITLE, "Calls per agent (a test's own report)", sample_report)
    REPORTS[NAME] = spec
    with patch.object(registry, "_REPORT_MODULES", []):
        try:
            yield spec
        finally:
            REPORTS.pop(NAME, None)

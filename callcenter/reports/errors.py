"""What a report request can get wrong, each said so that a person can fix it."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "InvalidPeriodError",
    "InvalidReportInputError",
    "ReportError",
    "UnknownNameError",
    "UnknownReportError",
]


class ReportError(Exception):
    error_id: ClassVar[str] = "report-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidPeriodError(ReportError):
    """An interval that ends before it starts, a date that is no date, a zone that does not
    exist, a range too long for the granularity asked."""

    error_id = "invalid-period"


class UnknownReportError(ReportError):
    error_id = "unknown-report"


class UnknownNameError(ReportError):
    """An unknown tenant, queue, agent, DID or gateway in a filter."""

    error_id = "unknown-name"


class InvalidReportInputError(ReportError):
    """Anything else in the request (a rate table with a malformed prefix, a negative price)."""

    error_id = "invalid-report-input"

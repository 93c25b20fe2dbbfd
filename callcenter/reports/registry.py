"""The reports by name: ``callcenter report <name>``, ``/api/v1/tenants/{t}/reports/<name>``
and the scheduled e-mail all look them up here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from callcenter.reports.errors import UnknownReportError
from callcenter.reports.model import Report, ReportRequest

__all__ = ["REPORTS", "ReportSpec", "get_report", "load_reports", "register", "run_report"]

ReportFunction = Callable[[Engine, ReportRequest], Report]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    run: ReportFunction
    # The same figures by a plain GROUP BY over the raw CDR rows (tests and bench/reports.py
    # check that both agree); None where the report reads raw rows anyway.
    raw: ReportFunction | None = None


REPORTS: dict[str, ReportSpec] = {}


def register(spec: ReportSpec) -> ReportSpec:
    if spec.name in REPORTS:
        raise ValueError(f"report {spec.name!r} registered twice")
    REPORTS[spec.name] = spec
    return spec


def get_report(name: str) -> ReportSpec:
    load_reports()
    try:
        return REPORTS[name]
    except KeyError:
        known = ", ".join(sorted(REPORTS)) or "none"
        raise UnknownReportError(f"no report {name!r} (reports: {known})", report=name) from None


def run_report(engine: Engine, name: str, request: ReportRequest) -> Report:
    return get_report(name).run(engine, request)


def load_reports() -> None:
    """Import the modules that register reports and their roll-ups (each one registers itself
    on import)."""
    import importlib

    for module in _REPORT_MODULES:
        importlib.import_module(module)


# Each report module, by its import path; a module added here registers its reports.
_REPORT_MODULES: list[str] = [
    "callcenter.reports.trunks",
    "callcenter.reports.tariffs",
    "callcenter.reports.profile",
    "callcenter.reports.queues",
    "callcenter.reports.agents",
    "callcenter.reports.dids",
]

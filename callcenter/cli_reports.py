"""``callcenter report``: any report in the terminal or as a file.

``callcenter report queues --from 2026-03-01 --to 2026-03-31 --tenant acme --tz Europe/Moscow
--granularity day --format xlsx --out march.xlsx``; ``callcenter report list`` names them all.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from callcenter.reports.errors import ReportError
from callcenter.reports.export import export, to_table
from callcenter.reports.model import Granularity
from callcenter.settings import Settings

if TYPE_CHECKING:
    from callcenter.center.tenant import Center
    from callcenter.reports.request import KnownNames

__all__ = ["add_report_parser", "run_report_command"]

TEXT_FORMATS = ("table", "csv", "json")
FORMATS = ("table", "csv", "xlsx", "json", "pdf")


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report", help="run a report (queues, agents, ...): a table, CSV, XLSX, JSON or PDF"
    )
    report.add_argument("name", help="the report (or 'list' to list them)")
    report.add_argument(
        "--from", dest="start", help="first day (2026-03-01) or time (2026-03-01T09:00); "
        "default today",
    )  # fmt: skip
    report.add_argument("--to", dest="end", help="last day, included (or a time, excluded)")
    report.add_argument("--tenant", default="default", help="the tenant (default: default)")
    report.add_argument("--tz", default="UTC", help="time zone of the days (e.g. Europe/Moscow)")
    report.add_argument(
        "--granularity", choices=[g.value for g in Granularity], help="rows per: hour, day, ..."
    )
    report.add_argument("--queue", action="append", help="only this queue (repeat, or a,b)")
    report.add_argument("--agent", action="append", help="only this agent (repeat, or a,b)")
    report.add_argument("--did", action="append", help="only this DID (repeat, or a,b)")
    report.add_argument("--gateway", action="append", help="only this gateway (repeat, or a,b)")
    report.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a report option, e.g. sl_seconds=30, conversion_codes='[\"sale\"]' (repeat)",
    )
    report.add_argument("--format", choices=FORMATS, default="table")
    report.add_argument("--out", help="write to this file (xlsx and pdf need it on a terminal)")
    report.add_argument(
        "--center", help="the center file, to check tenant and names (default from settings)"
    )


def run_report_command(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.db.engine import make_engine
    from callcenter.reports.registry import REPORTS, get_report

    if args.name == "list":
        with contextlib.suppress(ReportError):
            get_report("list")  # loads every report module
        for spec in sorted(REPORTS.values(), key=lambda s: s.name):
            print(f"{spec.name}\t{spec.title}\t{spec.description}")
        return 0
    binary = args.format in ("xlsx", "pdf")
    if binary and not args.out and sys.stdout.isatty():
        print(f"callcenter report: --format {args.format} writes a file: add --out FILE",
              file=sys.stderr)  # fmt: skip
        return 2
    engine = make_engine(settings.database_url)
    try:
        from callcenter.reports.request import (
            build_request,
            check_names,
            names_list,
            parse_options,
        )

        spec = get_report(args.name)
        _check_tenant(args, settings)
        request = build_request(
            args.tenant, args.start, args.end, args.tz, args.granularity,
            queues=names_list(args.queue), agents=names_list(args.agent),
            dids=names_list(args.did), gateways=names_list(args.gateway),
            options=_options(args, settings, parse_options(args.option)),
        )  # fmt: skip
        known = _known(args, settings)
        if known is not None:
            check_names(request, known)
        report = spec.run(engine, request)
    except ReportError as exc:
        print(f"callcenter report: {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"callcenter report: the database cannot be read: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    table = args.format == "table"
    body = to_table(report).encode() if table else export(report, args.format).body
    if args.out:
        try:
            Path(args.out).write_bytes(body)
        except OSError as exc:
            print(f"callcenter report: cannot write {args.out}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {args.out} ({len(body)} bytes)", file=sys.stderr)
        return 0
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()
    return 0


def _options(
    args: argparse.Namespace, settings: Settings, options: dict[str, Any]
) -> dict[str, Any]:
    """The options given, and the center file (channel limits, routes) for those that use it."""
    path = _center_path(args, settings)
    if path is not None:
        options["center"] = str(path)
    return options


def _center_path(args: argparse.Namespace, settings: Settings) -> Path | None:
    if args.center:
        return Path(args.center)
    return settings.worker.center or settings.http.center


def _center(args: argparse.Namespace, settings: Settings) -> Center | None:
    from callcenter.center import CenterError, load_center
    from callcenter.reports.errors import InvalidReportInputError

    path = _center_path(args, settings)
    if path is None:
        return None
    try:
        return load_center(path)
    except CenterError as exc:
        problems = "; ".join(str(p) for p in exc.problems)
        raise InvalidReportInputError(f"the center file {path} cannot be read: {problems}"
                                      ) from None  # fmt: skip


def _check_tenant(args: argparse.Namespace, settings: Settings) -> None:
    from callcenter.reports.errors import UnknownNameError

    center = _center(args, settings)
    if center is None:
        return
    names = [t.name for t in center.tenants]
    if args.tenant not in names:
        raise UnknownNameError(
            f"no tenant {args.tenant!r} in the center file (tenants: {', '.join(names)}): "
            "give --tenant",
            tenant=args.tenant,
        )


def _known(args: argparse.Namespace, settings: Settings) -> KnownNames | None:
    from callcenter.reports.request import KnownNames

    center = _center(args, settings)
    if center is None:
        return None
    tenant = center.tenant(args.tenant)
    return KnownNames(
        queues={q.name for q in tenant.queues},
        agents={a.id for a in tenant.agents},
        dids={d.number for d in tenant.dids},
        gateways={g.name for g in tenant.gateways},
    )

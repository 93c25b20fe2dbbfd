"""Reports over HTTP: the list, and any report for a period as JSON, CSV, XLSX or PDF.
Supervisors and admins only. A bad period or zone is a 422 that says what to fix; an unknown
report, queue, agent, DID or gateway a 404 that names it."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from callcenter.api.errors import ApiError, NotFound, Unprocessable
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.reports.errors import ReportError, UnknownNameError, UnknownReportError
from callcenter.reports.export import export
from callcenter.reports.model import Report
from callcenter.reports.registry import REPORTS, get_report, load_reports
from callcenter.reports.request import (
    KnownNames,
    build_request,
    check_names,
    names_list,
    parse_options,
    without_server_options,
)
from callcenter.users.model import Role

__all__ = ["ReportInfo", "ReportList", "ReportQuery", "report_error", "routes"]

routes = RouteTable("reports")
REPORTS_PATH = "/api/v1/tenants/{tenant}/reports"


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str


class ReportList(BaseModel):
    reports: list[ReportInfo]


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Days (2026-03-01, the last one included) or times in tz; default: today.
    start: str | None = Field(None, alias="from", max_length=40)
    end: str | None = Field(None, alias="to", max_length=40)
    tz: str = Field("UTC", max_length=64)
    granularity: str | None = Field(None, max_length=16)
    # Filters: one name, or several separated by commas.
    queue: str | None = Field(None, max_length=1000)
    agent: str | None = Field(None, max_length=1000)
    did: str | None = Field(None, max_length=1000)
    gateway: str | None = Field(None, max_length=1000)
    format: str = Field("json", pattern="^(json|csv|xlsx|pdf)$")
    # Report options as a JSON object, e.g. {"sl_seconds": 30, "conversion_codes": ["sale"]}.
    options: str | None = Field(None, max_length=20_000)


def report_error(exc: ReportError) -> ApiError:
    if isinstance(exc, UnknownReportError | UnknownNameError):
        return NotFound(exc.error_id, exc.message, exc.details)
    return Unprocessable(exc.error_id, exc.message, exc.details)


@routes.get(REPORTS_PATH, summary="The reports there are", role=Role.SUPERVISOR,
            response=ReportList)  # fmt: skip
async def list_reports(call: ApiCall) -> ReportList:
    await call.ctx.db(load_reports)
    return ReportList(
        reports=[
            ReportInfo(name=s.name, title=s.title, description=s.description)
            for s in sorted(REPORTS.values(), key=lambda s: s.name)
        ]
    )


def _options(call: ApiCall, text: str | None) -> dict[str, Any]:
    """The request's options, and the center's configuration (the gateways' channel limits,
    routes and rate tables the trunks and tariffs reports use) when the API has one."""
    options = parse_options(text=text, remote=True)
    if call.ctx.center is not None:
        options["center"] = call.ctx.center
    return options


async def _known(call: ApiCall) -> KnownNames:
    """The tenant's queues and agents (the center file's, else the ACD's in Redis), DIDs and
    gateways (the center file's; unchecked without one)."""
    assert call.tenant is not None
    tenant = call.ctx.tenant_config(call.tenant)
    if tenant is not None:
        return KnownNames(
            queues={q.name for q in tenant.queues},
            agents={a.id for a in tenant.agents},
            dids={d.number for d in tenant.dids},
            gateways={g.name for g in tenant.gateways},
        )
    store = call.ctx.store(call.tenant)
    queues = {raw.decode() for raw in await store.redis.smembers(store.keys.queues)}
    agents = {raw.decode() for raw in await store.redis.smembers(store.keys.agents)}
    return KnownNames(queues=queues, agents=agents)


@routes.get(
    REPORTS_PATH + "/{name}",
    summary="A report for a period: JSON (columns, rows, totals, charts), CSV, XLSX or PDF",
    role=Role.SUPERVISOR,
    query=ReportQuery,
    response=Report,
)
async def get(call: ApiCall) -> Any:
    assert call.tenant is not None
    query = call.query(ReportQuery)
    name = call.param("name")
    try:
        spec = await call.ctx.db(get_report, name)
        request = build_request(
            call.tenant, query.start, query.end, query.tz, query.granularity,
            queues=names_list(query.queue), agents=names_list(query.agent),
            dids=names_list(query.did), gateways=names_list(query.gateway),
            options=_options(call, query.options),
        )  # fmt: skip
        check_names(request, await _known(call))
        report = without_server_options(await call.ctx.db(spec.run, call.ctx.engine, request))
    except ReportError as exc:
        raise report_error(exc) from None
    if query.format == "json":
        return report
    exported = await call.ctx.db(export, report, query.format)
    return web.Response(
        body=exported.body,
        headers={
            "Content-Type": exported.content_type,
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "Cache-Control": "no-store",
        },
    )

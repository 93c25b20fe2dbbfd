"""Tariffs: what the outbound calls cost, what they would have cost otherwise, and where the
cheapest gateway was passed over.

Read from the raw calls (every call is re-costed one by one, so there is no roll-up to read
and no raw twin). Rows carry a ``section``:

- ``gateway``: per gateway, the calls, billed minutes and cost as recorded at ingest
  (``calls.cost``, from the rate the call was priced at); ``unpriced`` counts billed calls
  without a cost (no rate matched).
- ``prefix``: per gateway and rate prefix actually used (``calls.rate_prefix`` /
  ``rate_per_minute``).
- ``what-if`` (when the ``rates`` or ``route_order`` option is given): every billed outbound
  call re-costed as if it had gone out on the gateway the other configuration picks, with the
  same billsec: per (gateway used, gateway it would take), the recorded cost, the cost under the
  other configuration and the saving (positive: the other configuration is cheaper). A route
  with an order in ``route_order`` takes its first listed gateway whose table prices the number
  (failover order); any other route takes the cheapest of its gateways (least-cost routing, ties
  in the listed order). A gateway's table is the one in ``rates``, else the center's. A call no
  table prices keeps its recorded cost. It assumes the chosen gateway had a free line and
  connected the call.
- ``skipped`` (needs the center): calls whose route, by its rate tables, had a cheaper gateway
  for the number than the one that carried the call: per route, cheapest gateway, gateway used
  and reason, the calls, what they cost and what they would have cost on the cheapest gateway.
  The reason is the hangup cause of the call's leg on the cheapest gateway (the provider
  refused) or "unknown" when there is no such leg (``limit_execute`` skips a full gateway
  without making a leg, so a missing leg usually means no free line).

Options: ``center`` (a ``Center`` or the center file's path), ``rates`` (gateway -> the path of
a rates CSV, the CSV text itself, a list of ``[prefix, rate]`` rows or a ``{prefix: rate}``
mapping), ``route_order`` (route name -> list of gateways; ``"*"`` for every route, the only
way without a center). Filter: ``gateways`` (the gateway the call went out on).
A bad table (malformed prefix, negative or non-numeric price, duplicate prefix) is refused with
InvalidReportInputError naming the gateway and row.
"""

from __future__ import annotations

import bisect
import csv
import io
import tempfile
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from callcenter.center.rates import RateFileError, RateTable, cheapest, load_rates
from callcenter.center.tenant import Tenant
from callcenter.center.trunks import OutboundRoute
from callcenter.reports.errors import InvalidReportInputError, UnknownNameError
from callcenter.reports.model import Chart, ChartSeries, Column, ColumnKind, Report, ReportRequest
from callcenter.reports.periods import buckets
from callcenter.reports.registry import ReportSpec, register
from callcenter.reports.trunks import tenant_config

__all__ = ["cost_of", "parse_rates_option", "tariffs_report"]

_CENT_FRACTION = Decimal("0.00001")
_ZERO = Decimal(0)


def cost_of(per_minute: Decimal, billsec: int) -> Decimal:
    """As the ingest prices a call (``workers.ingest.costs.RatePricer``)."""
    return (per_minute * billsec / 60).quantize(_CENT_FRACTION, rounding=ROUND_HALF_UP)


# -- the rates option -----------------------------------------------------------------------------


def _csv_text(gateway: str, value: Any) -> tuple[str, str]:
    """(CSV text, where it came from) for one gateway's inline table."""
    if isinstance(value, str):
        return value, "inline CSV"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if isinstance(value, Mapping):
        for prefix, rate in value.items():
            writer.writerow([prefix, rate])
        return out.getvalue(), "inline table"
    if isinstance(value, list | tuple):
        for row in value:
            if isinstance(row, Mapping):
                cells = [row.get("prefix", ""), row.get("rate", "")]
                if row.get("description"):
                    cells.append(row["description"])
            elif isinstance(row, list | tuple):
                cells = list(row)
            else:
                cells = [row]
            writer.writerow(["" if cell is None else str(cell) for cell in cells] or ["?"])
        return out.getvalue(), "inline table"
    raise InvalidReportInputError(
        f"option rates: gateway {gateway}: expected a CSV path, CSV text, a list of "
        "[prefix, rate] rows or a {prefix: rate} mapping",
        gateway=gateway,
    )


def _table(gateway: str, value: Any) -> RateTable:
    if isinstance(value, RateTable):
        return value
    if isinstance(value, Path) or (
        isinstance(value, str) and "\n" not in value and "," not in value
    ):
        try:
            return load_rates(Path(value))
        except RateFileError as exc:
            line, message = exc.problems[0]
            raise InvalidReportInputError(
                f"option rates: gateway {gateway}: {value} line {line}: {message}"
                + (f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""),
                gateway=gateway,
                line=line,
                problems=exc.problems,
            ) from None
        except ValueError as exc:
            raise InvalidReportInputError(
                f"option rates: gateway {gateway}: {exc}", gateway=gateway
            ) from None
    body, origin = _csv_text(gateway, value)
    # load_rates's own checks, on the inline rows (a row number is the line of the CSV text).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rates.csv"
        path.write_text(body, encoding="utf-8")
        try:
            table = load_rates(path)
        except RateFileError as exc:
            line, message = exc.problems[0]
            raise InvalidReportInputError(
                f"option rates: gateway {gateway}: {origin} row {line}: {message}"
                + (f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""),
                gateway=gateway,
                row=line,
                problems=exc.problems,
            ) from None
    return RateTable(Path(f"<{origin} for {gateway}>"), table.rates)


def parse_rates_option(value: Any) -> dict[str, RateTable]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidReportInputError(
            "option rates: expected a mapping of gateway -> rates table", rates=repr(value)
        )
    return {str(gateway): _table(str(gateway), table) for gateway, table in value.items()}


def _route_order(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(gws, list | tuple) and gws and all(isinstance(g, str) for g in gws)
        for gws in value.values()
    ):
        raise InvalidReportInputError(
            "option route_order: expected route name -> a non-empty list of gateway names",
            route_order=repr(value),
        )
    return {str(route): list(gws) for route, gws in value.items()}


# -- the report -----------------------------------------------------------------------------------

_COLUMNS = [
    Column(key="period", label="Period"),
    Column(key="section", label="Section"),
    Column(key="route", label="Route"),
    Column(key="gateway", label="Gateway"),
    Column(key="alt_gateway", label="Other gateway"),
    Column(key="prefix", label="Prefix"),
    Column(key="rate", label="Rate per minute", kind=ColumnKind.MONEY),
    Column(key="calls", label="Calls", kind=ColumnKind.INT),
    Column(key="unpriced", label="Unpriced calls", kind=ColumnKind.INT),
    Column(key="minutes", label="Minutes", kind=ColumnKind.FLOAT),
    Column(key="cost", label="Cost", kind=ColumnKind.MONEY),
    Column(key="alt_cost", label="Other cost", kind=ColumnKind.MONEY),
    Column(key="saving", label="Saving", kind=ColumnKind.MONEY),
    Column(key="reason", label="Reason"),
]
_SECTIONS = {"gateway": 0, "prefix": 1, "what-if": 2, "skipped": 3}


@dataclass
class _Sum:
    calls: int = 0
    unpriced: int = 0
    billsec: int = 0
    cost: Decimal = _ZERO
    alt_cost: Decimal = _ZERO


def _choose(
    number: str,
    candidates: list[str],
    tables: Mapping[str, RateTable],
    ordered: bool,
) -> tuple[str, Decimal] | None:
    priced: list[tuple[str, Decimal]] = []
    for gateway in candidates:
        table = tables.get(gateway)
        rate = table.lookup(number) if table is not None else None
        if rate is not None:
            if ordered:
                return gateway, rate.per_minute
            priced.append((gateway, rate.per_minute))
    if not priced:
        return None
    return min(priced, key=lambda pair: pair[1])  # min keeps the first of equal prices


def tariffs_report(engine: Engine, request: ReportRequest) -> Report:
    if engine.dialect.name != "postgresql":
        raise InvalidReportInputError(
            "the tariffs report needs the center's database on PostgreSQL", report="tariffs"
        )
    for name in ("queues", "agents", "dids"):
        if getattr(request, name):
            raise InvalidReportInputError(
                f"the tariffs report has no {name} filter (gateways)", filter=name
            )
    tenant_cfg: Tenant | None = tenant_config(request)
    overrides = parse_rates_option(request.options.get("rates"))
    orders = _route_order(request.options.get("route_order"))
    known_gateways = {gw.name for gw in tenant_cfg.gateways} if tenant_cfg else None
    if known_gateways is not None:
        named = set(overrides) | {g for gws in orders.values() for g in gws} | set(request.gateways)
        unknown = sorted(named - known_gateways)
        if unknown:
            raise UnknownNameError(
                f"no gateway {', '.join(unknown)} in tenant {request.tenant}", gateways=unknown
            )
        routes = {route.name for route in tenant_cfg.outbound_routes} if tenant_cfg else set()
        unknown_routes = sorted(set(orders) - routes - {"*"})
        if unknown_routes:
            raise UnknownNameError(
                f"no outbound route {', '.join(unknown_routes)} in tenant {request.tenant}",
                routes=unknown_routes,
            )
    what_if = bool(overrides or orders)
    if what_if and tenant_cfg is None and not overrides and "*" not in orders:
        raise InvalidReportInputError(
            'option route_order by route name needs the center option (or use "*")'
        )

    params: dict[str, Any] = {"tenant": request.tenant, "lo": request.start, "hi": request.end}
    where = (
        "c.tenant = :tenant AND c.started_at >= :lo AND c.started_at < :hi "
        "AND c.gateway IS NOT NULL AND c.gateway <> '' "
        "AND coalesce(c.direction, '') <> 'inbound'"
    )
    if request.gateways:
        where += " AND c.gateway = ANY(:gateways)"
        params["gateways"] = list(request.gateways)
    with engine.connect() as conn:
        calls = conn.execute(
            text(
                "SELECT c.call_uuid, c.started_at, c.gateway, coalesce(c.destination, '') AS dest, "
                "coalesce(c.billsec, 0) AS billsec, c.rate_prefix, c.rate_per_minute, c.cost "
                f"FROM calls c WHERE {where} ORDER BY c.started_at"
            ),
            params,
        ).all()
        legs: dict[tuple[str, str], str] = {}
        if tenant_cfg is not None and calls:
            for leg in conn.execute(
                text(
                    "SELECT l.call_uuid, l.gateway, l.hangup_cause FROM call_legs l "
                    "JOIN calls c ON c.call_uuid = l.call_uuid "
                    f"WHERE {where} AND l.gateway IS NOT NULL AND l.gateway <> '' "
                    "ORDER BY l.created_at"
                ),
                params,
            ):
                if leg.hangup_cause:
                    legs[(leg.call_uuid, leg.gateway)] = leg.hangup_cause

    cut = buckets(request.start, request.end, request.tz, request.granularity)
    starts = [b.start for b in cut]

    def slot(at: datetime) -> int:
        return max(0, bisect.bisect_right(starts, at) - 1)

    sums: dict[tuple[Any, ...], _Sum] = defaultdict(_Sum)
    rates_seen: dict[tuple[Any, ...], Decimal | None] = {}
    notes = [f"times in {request.tz}", "costs as priced at ingest (calls.cost)"]
    if tenant_cfg is None:
        notes.append("no center given: skipped-cheapest-gateway section not computed")
    for call in calls:
        i = slot(call.started_at)
        cost = call.cost if call.cost is not None else _ZERO
        unpriced = 1 if call.cost is None and call.billsec > 0 else 0
        for key in (
            (i, "gateway", "", call.gateway, "", "", ""),
            (i, "prefix", "", call.gateway, "", call.rate_prefix or "", ""),
        ):
            s = sums[key]
            s.calls += 1
            s.unpriced += unpriced
            s.billsec += call.billsec
            s.cost += cost
        rates_seen[(i, "prefix", "", call.gateway, "", call.rate_prefix or "", "")] = (
            call.rate_per_minute
        )
        route: OutboundRoute | None = (
            tenant_cfg.route_for(call.dest) if tenant_cfg is not None and call.dest else None
        )
        if what_if and call.billsec > 0 and call.dest:
            if route is not None and route.name in orders:
                candidates, ordered = orders[route.name], True
            elif "*" in orders:
                candidates, ordered = orders["*"], True
            elif route is not None:
                candidates, ordered = list(route.gateways), False
            else:
                candidates, ordered = list(overrides), False
            tables: dict[str, RateTable] = dict(route.rates) if route is not None else {}
            tables.update(overrides)
            choice = _choose(call.dest, candidates, tables, ordered)
            alt_gateway, alt_cost = (
                (choice[0], cost_of(choice[1], call.billsec)) if choice else (call.gateway, cost)
            )
            s = sums[(i, "what-if", route.name if route else "", call.gateway, alt_gateway, "", "")]
            s.calls += 1
            s.unpriced += unpriced
            s.billsec += call.billsec
            s.cost += cost
            s.alt_cost += alt_cost
        if route is not None and route.rates and call.dest:
            order = cheapest(call.dest, route)
            used = dict(order).get(call.gateway)
            best, best_rate = order[0] if order else ("", None)
            if used is not None and best_rate is not None and used > best_rate:
                reason = legs.get((call.call_uuid, best), "unknown")
                s = sums[(i, "skipped", route.name, call.gateway, best, "", reason)]
                s.calls += 1
                s.unpriced += unpriced
                s.billsec += call.billsec
                s.cost += cost
                s.alt_cost += cost_of(best_rate, call.billsec)

    rows: list[dict[str, Any]] = []
    for key in sorted(sums, key=lambda k: (k[0], _SECTIONS[k[1]], *k[2:])):
        i, section, route_name, gateway, alt_gateway, prefix, reason = key
        s = sums[key]
        has_alt = section in ("what-if", "skipped")
        rows.append(
            {
                "period": cut[i].label,
                "section": section,
                "route": route_name,
                "gateway": gateway,
                "alt_gateway": alt_gateway,
                "prefix": prefix,
                "rate": rates_seen.get(key) if section == "prefix" else None,
                "calls": s.calls,
                "unpriced": s.unpriced,
                "minutes": round(s.billsec / 60, 3),
                "cost": s.cost,
                "alt_cost": s.alt_cost if has_alt else None,
                "saving": (s.cost - s.alt_cost) if has_alt else None,
                "reason": reason,
            }
        )
    if not rows:
        return Report(
            name="tariffs",
            title="Tariffs: costs per gateway and prefix, what-if",
            request=request,
            columns=_COLUMNS,
            rows=[],
            notes=notes,
            source="raw",
        )
    gw_rows = [r for r in rows if r["section"] == "gateway"]
    wi_rows = [r for r in rows if r["section"] == "what-if"]
    totals: dict[str, Any] = {
        "period": "Total",
        "section": "",
        "route": "",
        "gateway": "",
        "alt_gateway": "",
        "prefix": "",
        "rate": None,
        "calls": sum(r["calls"] for r in gw_rows),
        "unpriced": sum(r["unpriced"] for r in gw_rows),
        "minutes": round(sum(r["minutes"] for r in gw_rows), 3),
        "cost": sum((r["cost"] for r in gw_rows), _ZERO),
        "alt_cost": sum((r["alt_cost"] for r in wi_rows), _ZERO) if what_if else None,
        "saving": sum((r["saving"] for r in wi_rows), _ZERO) if what_if else None,
        "reason": "",
    }
    gateway_names = sorted({r["gateway"] for r in gw_rows})
    charts = [
        Chart(
            title="Cost per gateway",
            kind="bar",
            x_labels=gateway_names,
            series=[
                ChartSeries(
                    label="cost",
                    values=[
                        float(sum((r["cost"] for r in gw_rows if r["gateway"] == g), _ZERO))
                        for g in gateway_names
                    ],
                )
            ],
        )
    ]
    if what_if:
        notes.append(
            "what-if: same billsec, each call on the gateway the other configuration picks "
            "(assumes it had a free line)"
        )
    return Report(
        name="tariffs",
        title="Tariffs: costs per gateway and prefix, what-if",
        request=request,
        columns=_COLUMNS,
        rows=rows,
        totals=totals,
        charts=charts,
        notes=notes,
        source="raw",
    )


register(
    ReportSpec(
        name="tariffs",
        title="Tariffs: costs per gateway and prefix, what-if",
        description=(
            "Cost per gateway and per rate prefix as priced; the saving under other rate "
            "tables or another route order; routes whose cheapest gateway was passed over, "
            "and why."
        ),
        run=tariffs_report,
    )
)

"""The hourly profile: calls per 15/30/60-minute slot of each weekday, averaged over the weeks
of the period (in the tenant's zone), with the agents Erlang C says each slot needs for a target
service level, so a supervisor can plan shifts.

A slot's average is its calls divided by how many times that slot (weekday and wall-clock time)
occurs in the period, so a period of ten days averages Mondays over the Mondays it holds. The
hour repeated at an autumn DST change counts as two occurrences of its slot.

Options: ``direction`` (inbound, the default; outbound; all), ``target_sl`` (percent of calls
answered within ``sl_seconds``; default 80), ``sl_seconds`` (default 20), ``aht_seconds``
(default: the mean talk time of the answered calls in the period, ``talk_ms`` else
``billsec``), ``max_occupancy`` (percent, default 100: no cap). Filters: queues, agents, dids,
gateways. Granularity: 15min, 30min or hour (total means hour).

Read from the raw calls by one GROUP BY on the local slot (no roll-up, so no raw twin).
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from callcenter.reports import erlang
from callcenter.reports.errors import InvalidReportInputError
from callcenter.reports.model import (
    Chart,
    ChartSeries,
    Column,
    ColumnKind,
    Granularity,
    Report,
    ReportRequest,
)
from callcenter.reports.periods import buckets, zone
from callcenter.reports.registry import ReportSpec, register

__all__ = ["profile_report"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_STEP = {Granularity.MIN15: 15, Granularity.MIN30: 30, Granularity.HOUR: 60}

_COLUMNS = [
    Column(key="weekday", label="Weekday"),
    Column(key="time", label="Time"),
    Column(key="occurrences", label="Weeks", kind=ColumnKind.INT),
    Column(key="calls", label="Calls (all weeks)", kind=ColumnKind.INT),
    Column(key="calls_avg", label="Calls (average)", kind=ColumnKind.FLOAT),
    Column(key="erlangs", label="Traffic (Erlangs)", kind=ColumnKind.FLOAT),
    Column(key="agents", label="Agents needed", kind=ColumnKind.INT),
    Column(key="service_level", label="Expected service level", kind=ColumnKind.PERCENT),
    Column(key="occupancy", label="Occupancy", kind=ColumnKind.PERCENT),
]


def _number(request: ReportRequest, name: str, default: float | None, lo: float, hi: float,
            *, lo_open: bool = False) -> float | None:  # fmt: skip
    value = request.options.get(name, default)
    if value is None:
        return None
    if isinstance(value, str):  # from a command line or a URL
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidReportInputError(f"option {name}: expected a number, got {value!r}",
                                      option=name, value=value)  # fmt: skip
    if value < lo or value > hi or (lo_open and value == lo):
        bound = f"more than {lo}" if lo_open else f"at least {lo}"
        raise InvalidReportInputError(
            f"option {name}: {value} is out of range ({bound}, at most {hi})",
            option=name,
            value=value,
        )
    return float(value)


def profile_report(engine: Engine, request: ReportRequest) -> Report:
    if engine.dialect.name != "postgresql":
        raise InvalidReportInputError(
            "the profile report needs the center's database on PostgreSQL", report="profile"
        )
    granularity = request.granularity
    if granularity is Granularity.TOTAL:
        granularity = Granularity.HOUR
    if granularity not in _STEP:
        raise InvalidReportInputError(
            f"the profile is by 15min, 30min or hour slots, not {granularity.value}",
            granularity=granularity.value,
        )
    step = _STEP[granularity]
    target_sl = _number(request, "target_sl", 80, 0, 100, lo_open=True)
    sl_seconds = _number(request, "sl_seconds", 20, 0, 86400)
    aht_option = _number(request, "aht_seconds", None, 0, 86400, lo_open=True)
    max_occupancy = _number(request, "max_occupancy", 100, 0, 100, lo_open=True)
    assert target_sl is not None and sl_seconds is not None and max_occupancy is not None
    if target_sl >= 100:
        raise InvalidReportInputError(
            "option target_sl: 100% is never reached by Erlang C: ask for less", option="target_sl"
        )
    direction = request.options.get("direction", "inbound")
    if direction not in ("inbound", "outbound", "all"):
        raise InvalidReportInputError(
            f"option direction: inbound, outbound or all, not {direction!r}", option="direction"
        )
    tz = zone(request.tz)

    where = ["c.tenant = :tenant", "c.started_at >= :lo", "c.started_at < :hi"]
    params: dict[str, Any] = {
        "tenant": request.tenant,
        "lo": request.start,
        "hi": request.end,
        "tz": request.tz,
        "step": step,
    }
    if direction == "inbound":
        where.append("c.direction = 'inbound'")
    elif direction == "outbound":
        where.append("c.direction IN ('outbound', 'callback')")
    for name, column in (("queues", "queue"), ("agents", "agent"), ("dids", "did"),
                         ("gateways", "gateway")):  # fmt: skip
        values = getattr(request, name)
        if values:
            where.append(f"c.{column} = ANY(:{name})")
            params[name] = list(values)
    local = "(c.started_at AT TIME ZONE :tz)"
    sql = f"""
        SELECT date_trunc('hour', {local})
               + make_interval(mins => CAST(floor(extract(minute FROM {local}) / :step) * :step
                                            AS integer)) AS slot,
               count(*) AS calls,
               count(c.answered_at) AS answered,
               sum(CASE WHEN c.answered_at IS NOT NULL
                        THEN coalesce(c.talk_ms / 1000.0, c.billsec) END) AS handle
        FROM calls c WHERE {" AND ".join(where)}
        GROUP BY 1"""
    with engine.connect() as conn:
        found = conn.execute(text(sql), params).all()

    calls: dict[tuple[int, str], int] = defaultdict(int)
    answered = 0
    handle = 0.0
    handled = 0
    for found_row in found:
        slot: datetime = found_row.slot
        calls[(slot.weekday(), slot.strftime("%H:%M"))] += found_row.calls
        answered += found_row.answered
        if found_row.handle is not None:
            handle += float(found_row.handle)
            handled += found_row.answered
    notes = [f"times in {request.tz}", f"{step}-minute slots"]
    if not calls:
        return Report(name="profile", title="Hourly profile and agents needed", request=request,
                      columns=_COLUMNS, rows=[], notes=notes, source="raw")  # fmt: skip

    occurrences: dict[tuple[int, str], int] = defaultdict(int)
    for b in buckets(request.start, request.end, request.tz, granularity):
        at = b.start.astimezone(tz)
        occurrences[(at.weekday(), at.strftime("%H:%M"))] += 1

    aht = aht_option if aht_option is not None else (handle / handled if handled else None)
    if aht is None:
        notes.append("no answered call to take the handle time from: give aht_seconds")
    else:
        source = "given" if aht_option is not None else "mean talk time of the answered calls"
        notes.append(
            f"Erlang C: AHT {aht:.1f} s ({source}), target {target_sl:g}% within "
            f"{sl_seconds:g} s, occupancy at most {max_occupancy:g}%"
        )
    interval = step * 60.0
    rows: list[dict[str, Any]] = []
    for key in sorted(calls):
        weekday, clock = key
        seen = max(occurrences.get(key, 0), 1)
        avg = calls[key] / seen
        row: dict[str, Any] = {
            "weekday": WEEKDAYS[weekday],
            "time": clock,
            "occurrences": seen,
            "calls": calls[key],
            "calls_avg": round(avg, 3),
            "erlangs": None,
            "agents": None,
            "service_level": None,
            "occupancy": None,
        }
        if aht is not None:
            load = erlang.traffic(avg, aht, interval)
            agents = erlang.agents_needed(
                load, aht, target_sl / 100, sl_seconds, max_occupancy / 100
            )
            row["erlangs"] = round(load, 4)
            row["agents"] = agents
            if agents:
                row["service_level"] = round(
                    100 * erlang.service_level(agents, load, aht, sl_seconds), 2
                )
                row["occupancy"] = round(100 * load / agents, 2)
        rows.append(row)
    totals = {
        "weekday": "Total",
        "time": "",
        "occurrences": None,
        "calls": sum(calls.values()),
        "calls_avg": round(sum(r["calls_avg"] for r in rows), 3),
        "erlangs": None,
        "agents": max((r["agents"] or 0 for r in rows), default=0) if aht is not None else None,
        "service_level": None,
        "occupancy": None,
    }
    times = sorted({r["time"] for r in rows})
    by_key = {(r["weekday"], r["time"]): r for r in rows}
    days = [d for d in WEEKDAYS if any(r["weekday"] == d for r in rows)]
    charts = [
        Chart(
            title="Average calls per slot",
            kind="line",
            x_labels=times,
            series=[
                ChartSeries(
                    label=day,
                    values=[
                        by_key[(day, t)]["calls_avg"] if (day, t) in by_key else 0.0 for t in times
                    ],
                )
                for day in days
            ],
            unit="calls",
        )
    ]
    if aht is not None:
        charts.append(
            Chart(
                title="Agents needed",
                kind="bar",
                x_labels=times,
                series=[
                    ChartSeries(
                        label=day,
                        values=[
                            float(by_key[(day, t)]["agents"]) if (day, t) in by_key else 0.0
                            for t in times
                        ],
                    )
                    for day in days
                ],
                unit="agents",
            )
        )
    return Report(
        name="profile",
        title="Hourly profile and agents needed",
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
        name="profile",
        title="Hourly profile and agents needed",
        description=(
            "Calls per 15/30/60-minute slot of each weekday averaged over the weeks of the "
            "period, with the agents Erlang C says each slot needs for a target service level."
        ),
        run=profile_report,
    )
)

"""Lines: how busy each gateway (SIP trunk) and each office node is.

Per gateway and per node, per bucket of the granularity: calls and minutes in and out, calls
refused for lack of a free line, and the number of calls up at once over time: its peak, its
95th percentile (time-weighted: the level the lines were at or below 95% of the time) and the
share of time at the gateway's channel limit. Gateways of the tenant never used (or used fewer
than ``rare_calls`` times) in the period are flagged.

What is counted:

- A call holds a line of a gateway from the first of its legs on that gateway being created to
  the last of them ending (the caller and the far leg of one call count once); a call is up on
  a node from its ``started_at`` to its ``ended_at``. Calls or legs without both times (still
  up, or never recorded) are not counted. Concurrency is exact on these intervals (to the
  millisecond), kept per 15-minute UTC bucket as a time-weighted histogram
  (``rollup_line_concurrency_15m``), not sampled per minute.
- Refused for lack of a line: calls not answered whose hangup cause is NORMAL_CIRCUIT_CONGESTION
  or SWITCH_CONGESTION. The tenant dialplan tries each gateway with ``limit_execute``, which
  skips a gateway whose channels are all taken (no leg is made), and hangs up with
  NORMAL_CIRCUIT_CONGESTION after the last one; a provider refusing with congestion ends the
  same way. Refused calls count on the call's ``gateway``, the last gateway tried.
- Minutes in: inbound calls' billsec; minutes out: every other direction's.
- A call belongs to the bucket of its ``started_at`` (calls, minutes, refused); concurrency
  belongs to the time it happened. Buckets are whole 15-minute UTC buckets starting within the
  report's bucket.

Options: ``center`` (a ``Center`` or the path of the center file: gateways' channel limits and
the never-used gateways; without it those columns are empty), ``rare_calls`` (int, default 0:
a gateway with fewer calls than this in the period is "rare"), ``nodes`` (list: only these
nodes' rows). Filter: ``gateways`` (only these gateways' rows).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from callcenter.center.tenant import Center, Tenant
from callcenter.reports.errors import InvalidReportInputError, UnknownNameError
from callcenter.reports.model import Chart, ChartSeries, Column, ColumnKind, Report, ReportRequest
from callcenter.reports.periods import BUCKET, Bucket, buckets
from callcenter.reports.registry import ReportSpec, register
from callcenter.reports.rollup import Refresher, register_refresher

__all__ = [
    "REFUSED_CAUSES",
    "calls_sql",
    "concurrency_sql",
    "percentile_level",
    "tenant_config",
    "trunks_raw",
    "trunks_report",
]

REFUSED_CAUSES = ("NORMAL_CIRCUIT_CONGESTION", "SWITCH_CONGESTION")
_REFUSED_SQL = ", ".join(f"'{cause}'" for cause in REFUSED_CAUSES)
_INSERT_CALLS = (
    "INSERT INTO rollup_line_calls_15m "
    "(tenant, bucket, kind, name, direction, calls, answered, refused, billsec) "
)
_BIN = "date_bin('15 minutes', {col}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"


# -- configuration --------------------------------------------------------------------------------


def tenant_config(request: ReportRequest) -> Tenant | None:
    """The tenant's configuration from the ``center`` option (a ``Center`` or a path), if any."""
    value = request.options.get("center")
    if value is None:
        return None
    if isinstance(value, str | Path):
        from callcenter.center.errors import CenterError
        from callcenter.center.loader import load_center

        try:
            center = load_center(value)
        except CenterError as exc:
            raise InvalidReportInputError(f"center file {value}: {exc}", center=str(value)) from exc
    elif isinstance(value, Center):
        center = value
    else:
        raise InvalidReportInputError(
            "option center: expected a Center or the path of the center file", center=repr(value)
        )
    try:
        return center.tenant(request.tenant)
    except KeyError:
        raise UnknownNameError(
            f"no tenant {request.tenant!r} in the center file", tenant=request.tenant
        ) from None


def int_option(request: ReportRequest, name: str, default: int, minimum: int = 0) -> int:
    value = request.options.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():  # from a command line or a URL
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidReportInputError(
            f"option {name}: expected a whole number of at least {minimum}, got {value!r}",
            option=name,
            value=value,
        )
    return value


# -- SQL shared by the roll-up and the raw twin ---------------------------------------------------


def calls_sql(where: str) -> str:
    """Per 15-minute bucket of ``started_at``, per gateway and per node, per direction: calls,
    answered, refused, billsec. ``where`` narrows ``calls c`` (binds are the caller's)."""
    parts = []
    for kind, col in (("gateway", "c.gateway"), ("node", "c.node")):
        parts.append(
            f"""
            SELECT c.tenant, {_BIN.format(col="c.started_at")} AS bucket, '{kind}' AS kind,
                   {col} AS name, coalesce(c.direction, '') AS direction,
                   count(*) AS calls, count(c.answered_at) AS answered,
                   count(*) FILTER (WHERE c.answered_at IS NULL
                                    AND c.hangup_cause IN ({_REFUSED_SQL})) AS refused,
                   coalesce(sum(c.billsec), 0) AS billsec
            FROM calls c
            WHERE c.started_at IS NOT NULL AND {col} IS NOT NULL AND {col} <> '' AND ({where})
            GROUP BY 1, 2, 3, 4, 5"""
        )
    return " UNION ALL ".join(parts)


def concurrency_sql(tenant_filter: str) -> str:
    """Per 15-minute UTC bucket in [:lo, :hi), per gateway and node: milliseconds at each level
    of calls up at once (level > 0). ``tenant_filter`` narrows on ``tenant`` (binds: caller's)."""
    return f"""
    WITH spans AS (
        SELECT tenant, 'gateway' AS kind, gateway AS name, min(created_at) AS s,
               max(ended_at) AS e
        FROM call_legs
        WHERE gateway IS NOT NULL AND gateway <> '' AND created_at IS NOT NULL
              AND ended_at IS NOT NULL AND {tenant_filter}
        GROUP BY tenant, gateway, call_uuid
        HAVING min(created_at) < :hi AND max(ended_at) > :lo
        UNION ALL
        SELECT tenant, 'node', node, started_at, ended_at
        FROM calls
        WHERE node IS NOT NULL AND node <> '' AND started_at IS NOT NULL
              AND ended_at IS NOT NULL AND started_at < :hi AND ended_at > :lo
              AND {tenant_filter}
    ), clipped AS (
        SELECT tenant, kind, name, greatest(s, :lo) AS s, least(e, :hi) AS e FROM spans
    ), events AS (
        SELECT tenant, kind, name, t, sum(d) AS d FROM (
            SELECT tenant, kind, name, s AS t, 1 AS d FROM clipped WHERE s < e
            UNION ALL
            SELECT tenant, kind, name, e, -1 FROM clipped WHERE s < e
        ) x GROUP BY tenant, kind, name, t
    ), steps AS (
        SELECT tenant, kind, name, t,
               sum(d) OVER (PARTITION BY tenant, kind, name ORDER BY t) AS level,
               lead(t) OVER (PARTITION BY tenant, kind, name ORDER BY t) AS nxt
        FROM events
    ), grid AS (
        SELECT b FROM generate_series(CAST(:lo AS timestamptz),
                                      CAST(:hi AS timestamptz) - interval '15 minutes',
                                      interval '15 minutes') AS b
    )
    SELECT s.tenant, g.b AS bucket, s.kind, s.name, CAST(s.level AS integer) AS level,
           CAST(round(sum(extract(epoch FROM least(s.nxt, g.b + interval '15 minutes')
                                  - greatest(s.t, g.b)) * 1000)) AS bigint) AS ms
    FROM steps s JOIN grid g ON s.t < g.b + interval '15 minutes' AND s.nxt > g.b
    WHERE s.level > 0 AND s.nxt IS NOT NULL
    GROUP BY s.tenant, g.b, s.kind, s.name, s.level
    """


# -- the roll-up ----------------------------------------------------------------------------------


def _aligned(lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    from callcenter.reports.rollup import bucket_of

    start = bucket_of(lo)
    end = bucket_of(hi)
    if end < hi:
        end += BUCKET
    return start, end


def _rewrite_concurrency(conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
    tenant_filter = "tenant = :tenant" if tenant is not None else "TRUE"
    params: dict[str, Any] = {"lo": lo, "hi": hi, "tenant": tenant}
    conn.execute(
        text(
            "DELETE FROM rollup_line_concurrency_15m "
            f"WHERE bucket >= :lo AND bucket < :hi AND {tenant_filter}"
        ),
        params,
    )
    conn.execute(
        text(
            "INSERT INTO rollup_line_concurrency_15m (tenant, bucket, kind, name, level, ms) "
            f"SELECT * FROM ({concurrency_sql(tenant_filter)}) q WHERE ms > 0"
        ),
        params,
    )


def _postgres(conn: Connection) -> bool:
    """The lines SQL (date_bin, generate_series, window sums) is PostgreSQL's; on the embedded
    SQLite the roll-up is left empty and the report says it needs PostgreSQL."""
    return conn.dialect.name == "postgresql"


def _refresh(conn: Connection, tenant: str, starts: Sequence[datetime]) -> None:
    if not _postgres(conn):
        return
    starts = sorted(set(starts))
    # The range first (an index range on the tenant's start times), then the buckets in it.
    params: dict[str, Any] = {
        "tenant": tenant, "starts": starts, "first": starts[0], "end": starts[-1] + BUCKET,
    }  # fmt: skip
    in_range = "c.started_at >= :first AND c.started_at < :end"
    conn.execute(
        text("DELETE FROM rollup_line_calls_15m WHERE tenant = :tenant AND bucket = ANY(:starts)"),
        params,
    )
    bin_started = _BIN.format(col="c.started_at")
    conn.execute(
        text(
            _INSERT_CALLS
            + calls_sql(f"c.tenant = :tenant AND {in_range} AND {bin_started} = ANY(:starts)")
        ),
        params,
    )
    # The calls of these buckets may have been up long after (or legs before) their bucket:
    # every bucket they touched is recomputed from every call overlapping it.
    windows: list[tuple[datetime, datetime]] = []
    rows = conn.execute(
        text(
            f"""SELECT {bin_started} AS b,
                       least(min(l.created_at), min(c.started_at)) AS lo,
                       greatest(max(l.ended_at), max(c.ended_at)) AS hi
                FROM calls c LEFT JOIN call_legs l ON l.call_uuid = c.call_uuid
                WHERE c.tenant = :tenant AND {in_range} AND {bin_started} = ANY(:starts)
                GROUP BY 1"""
        ),
        params,
    ).all()
    spans = {row.b: (row.lo, row.hi) for row in rows}
    for start in starts:
        lo, hi = start, start + BUCKET
        if start in spans:
            found_lo, found_hi = spans[start]
            lo = min(lo, found_lo or lo)
            hi = max(hi, found_hi or hi)
        windows.append(_aligned(lo, hi))
    windows.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in windows:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    for lo, hi in merged:
        _rewrite_concurrency(conn, tenant, lo, hi)


def _rebuild(conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
    if not _postgres(conn):
        return
    tenant_filter = "c.tenant = :tenant" if tenant is not None else "TRUE"
    params: dict[str, Any] = {"lo": lo, "hi": hi, "tenant": tenant}
    conn.execute(
        text(
            "DELETE FROM rollup_line_calls_15m WHERE bucket >= :lo AND bucket < :hi AND "
            + ("tenant = :tenant" if tenant is not None else "TRUE")
        ),
        params,
    )
    conn.execute(
        text(
            _INSERT_CALLS
            + calls_sql(f"{tenant_filter} AND c.started_at >= :lo AND c.started_at < :hi")
        ),
        params,
    )
    _rewrite_concurrency(conn, tenant, lo, hi)


register_refresher(Refresher("lines", _refresh, _rebuild))


# -- the report -----------------------------------------------------------------------------------


@dataclass
class _Figures:
    calls_in: int = 0
    calls_out: int = 0
    answered: int = 0
    refused: int = 0
    billsec_in: int = 0
    billsec_out: int = 0
    levels: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # level -> ms


def _peak(levels: dict[int, int]) -> int:
    return max((level for level, ms in levels.items() if ms > 0), default=0)


def percentile_level(levels: dict[int, int], total_ms: int, share: float) -> int:
    """The lowest level the lines were at or below for ``share`` (0..1) of ``total_ms``
    (the time not in ``levels`` is at level 0)."""
    covered = total_ms - sum(levels.values())
    if covered >= share * total_ms:
        return 0
    for level in sorted(levels):
        covered += levels[level]
        if covered >= share * total_ms - 1e-6:
            return level
    return max(levels, default=0)


_COLUMNS = [
    Column(key="period", label="Period"),
    Column(key="kind", label="Kind"),
    Column(key="name", label="Gateway / node"),
    Column(key="channels", label="Channels", kind=ColumnKind.INT),
    Column(key="calls_in", label="Calls in", kind=ColumnKind.INT),
    Column(key="calls_out", label="Calls out", kind=ColumnKind.INT),
    Column(key="minutes_in", label="Minutes in", kind=ColumnKind.FLOAT),
    Column(key="minutes_out", label="Minutes out", kind=ColumnKind.FLOAT),
    Column(key="refused", label="Refused (no free line)", kind=ColumnKind.INT),
    Column(key="peak", label="Peak concurrent", kind=ColumnKind.INT),
    Column(key="p95", label="95th percentile concurrent", kind=ColumnKind.INT),
    Column(key="at_limit_pct", label="Time at channel limit", kind=ColumnKind.PERCENT),
    Column(key="usage", label="Usage"),
]


def _row_values(
    label: str, kind: str, name: str, f: _Figures, span_ms: int, channels: int | None
) -> dict[str, Any]:
    at_limit: float | None = None
    if channels is not None and span_ms > 0:
        at_limit = round(
            100.0 * sum(ms for level, ms in f.levels.items() if level >= channels) / span_ms, 3
        )
    return {
        "period": label,
        "kind": kind,
        "name": name,
        "channels": channels,
        "calls_in": f.calls_in,
        "calls_out": f.calls_out,
        "minutes_in": round(f.billsec_in / 60, 3),
        "minutes_out": round(f.billsec_out / 60, 3),
        "refused": f.refused,
        "peak": _peak(f.levels),
        "p95": percentile_level(f.levels, span_ms, 0.95) if span_ms > 0 else 0,
        "at_limit_pct": at_limit,
        "usage": "",
    }


def _build(
    request: ReportRequest,
    call_rows: Iterable[Any],
    level_rows: Iterable[Any],
    source: str,
) -> Report:
    tenant_cfg = tenant_config(request)
    rare_calls = int_option(request, "rare_calls", 0)
    nodes_option = request.options.get("nodes", ())
    if isinstance(nodes_option, str) or not all(isinstance(n, str) for n in nodes_option):
        raise InvalidReportInputError(
            "option nodes: expected a list of node names", nodes=nodes_option
        )
    only_nodes = set(nodes_option)
    channels = {gw.name: gw.channels for gw in tenant_cfg.gateways} if tenant_cfg else {}
    if tenant_cfg is not None:
        unknown = [g for g in request.gateways if g not in channels]
        if unknown:
            raise UnknownNameError(
                f"no gateway {', '.join(unknown)} in tenant {request.tenant} "
                f"(gateways: {', '.join(channels) or 'none'})",
                gateways=unknown,
            )
    only_gateways = set(request.gateways)

    cut = buckets(request.start, request.end, request.tz, request.granularity)
    starts = [b.start for b in cut]

    def slot(at: datetime) -> int | None:
        i = bisect.bisect_right(starts, at) - 1
        return i if i >= 0 and at < cut[i].end else None

    def wanted(kind: str, name: str) -> bool:
        if kind == "gateway":
            return not only_gateways or name in only_gateways
        return not only_nodes or name in only_nodes

    figures: dict[tuple[int, str, str], _Figures] = defaultdict(_Figures)
    any_data = False
    for row in call_rows:
        i = slot(row.bucket)
        if i is None or not wanted(row.kind, row.name):
            continue
        any_data = True
        f = figures[(i, row.kind, row.name)]
        if row.direction == "inbound":
            f.calls_in += row.calls
            f.billsec_in += row.billsec
        else:
            f.calls_out += row.calls
            f.billsec_out += row.billsec
        f.answered += row.answered
        f.refused += row.refused
    for row in level_rows:
        i = slot(row.bucket)
        if i is None or not wanted(row.kind, row.name):
            continue
        any_data = True
        figures[(i, row.kind, row.name)].levels[row.level] += row.ms

    notes = [f"times in {request.tz}", "concurrency from legs' and calls' exact intervals"]
    if tenant_cfg is None:
        notes.append("no center given: channel limits and never-used gateways unknown")
    if not any_data:
        if channels:
            notes.append(f"no calls: gateways never used: {', '.join(sorted(channels))}")
        return Report(
            name="trunks",
            title="Lines: gateways and nodes",
            request=request,
            columns=_COLUMNS,
            rows=[],
            totals=None,
            notes=notes,
            source=source,
        )

    # Every gateway of the tenant gets a row in every bucket (zeros when unused).
    for name in channels:
        if wanted("gateway", name):
            for i in range(len(cut)):
                figures.setdefault((i, "gateway", name), _Figures())
    per_name: dict[tuple[str, str], _Figures] = defaultdict(_Figures)
    for (_, kind, name), f in figures.items():
        total = per_name[(kind, name)]
        total.calls_in += f.calls_in
        total.calls_out += f.calls_out
        total.refused += f.refused
    usage: dict[str, str] = {}
    for (kind, name), total in per_name.items():
        if kind != "gateway":
            continue
        count = total.calls_in + total.calls_out
        usage[name] = "never" if count == 0 else ("rare" if count < rare_calls else "")

    rows: list[dict[str, Any]] = []
    totals_f = _Figures()
    for (i, kind, name), f in sorted(figures.items()):
        b: Bucket = cut[i]
        span_ms = int((b.end - b.start) / timedelta(milliseconds=1))
        row = _row_values(
            b.label, kind, name, f, span_ms, channels.get(name) if kind == "gateway" else None
        )
        if kind == "gateway":
            row["usage"] = usage.get(name, "")
        rows.append(row)
        totals_f.calls_in += f.calls_in
        totals_f.calls_out += f.calls_out
        totals_f.billsec_in += f.billsec_in
        totals_f.billsec_out += f.billsec_out
        totals_f.refused += f.refused
    peak_all = max((r["peak"] for r in rows), default=0)
    totals = {
        "period": "Total",
        "kind": "",
        "name": "",
        "channels": None,
        # Every call is counted once per gateway row and once per node row: the gateway rows'.
        "calls_in": sum(r["calls_in"] for r in rows if r["kind"] == "gateway"),
        "calls_out": sum(r["calls_out"] for r in rows if r["kind"] == "gateway"),
        "minutes_in": round(sum(r["minutes_in"] for r in rows if r["kind"] == "gateway"), 3),
        "minutes_out": round(sum(r["minutes_out"] for r in rows if r["kind"] == "gateway"), 3),
        "refused": sum(r["refused"] for r in rows if r["kind"] == "gateway"),
        "peak": peak_all,
        "p95": None,
        "at_limit_pct": None,
        "usage": ", ".join(f"{n}: {u}" for n, u in sorted(usage.items()) if u),
    }
    gateway_names = sorted({name for (_, kind, name) in figures if kind == "gateway"})
    charts = []
    if gateway_names:
        charts.append(
            Chart(
                title="Peak concurrent calls per gateway",
                kind="line",
                x_labels=[b.label for b in cut],
                series=[
                    ChartSeries(
                        label=name,
                        values=[
                            float(
                                max(
                                    (
                                        lv
                                        for lv, ms in figures[(i, "gateway", name)].levels.items()
                                        if ms > 0
                                    ),
                                    default=0,
                                )
                            )
                            if (i, "gateway", name) in figures
                            else 0.0
                            for i in range(len(cut))
                        ],
                    )
                    for name in gateway_names
                ],
                unit="calls",
            )
        )
    return Report(
        name="trunks",
        title="Lines: gateways and nodes",
        request=request,
        columns=_COLUMNS,
        rows=rows,
        totals=totals,
        charts=charts,
        notes=notes,
        source=source,
    )


def _check(engine: Engine, request: ReportRequest) -> None:
    if engine.dialect.name != "postgresql":
        raise InvalidReportInputError(
            "the trunks report needs the center's database on PostgreSQL", report="trunks"
        )
    for name in ("queues", "agents", "dids"):
        if getattr(request, name):
            raise InvalidReportInputError(
                f"the trunks report has no {name} filter (gateways, option nodes)", filter=name
            )


def trunks_report(engine: Engine, request: ReportRequest) -> Report:
    """From the roll-ups."""
    _check(engine, request)
    params = {"tenant": request.tenant, "lo": request.start, "hi": request.end}
    with engine.connect() as conn:
        call_rows = conn.execute(
            text(
                "SELECT bucket, kind, name, direction, calls, answered, refused, billsec "
                "FROM rollup_line_calls_15m "
                "WHERE tenant = :tenant AND bucket >= :lo AND bucket < :hi"
            ),
            params,
        ).all()
        level_rows = conn.execute(
            text(
                "SELECT bucket, kind, name, level, ms FROM rollup_line_concurrency_15m "
                "WHERE tenant = :tenant AND bucket >= :lo AND bucket < :hi"
            ),
            params,
        ).all()
    return _build(request, call_rows, level_rows, "rollups")


def trunks_raw(engine: Engine, request: ReportRequest) -> Report:
    """The same figures by GROUP BY over the raw calls and legs."""
    _check(engine, request)
    lo, hi = _aligned(request.start, request.end)
    params = {"tenant": request.tenant, "lo": lo, "hi": hi}
    with engine.connect() as conn:
        call_rows = conn.execute(
            text(calls_sql("c.tenant = :tenant AND c.started_at >= :lo AND c.started_at < :hi")),
            params,
        ).all()
        level_rows = conn.execute(text(concurrency_sql("tenant = :tenant")), params).all()
    # Whole 15-minute buckets starting within the period, as the roll-ups are read.
    call_rows = [r for r in call_rows if request.start <= r.bucket < request.end]
    level_rows = [r for r in level_rows if request.start <= r.bucket < request.end]
    return _build(request, call_rows, level_rows, "raw")


register(
    ReportSpec(
        name="trunks",
        title="Lines: gateways and nodes",
        description=(
            "Per gateway and node: calls and minutes in and out, calls refused for lack of a "
            "free line, peak and 95th percentile of concurrent calls, share of time at the "
            "channel limit, gateways never or rarely used."
        ),
        run=trunks_report,
        raw=trunks_raw,
    )
)

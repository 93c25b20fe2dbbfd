"""The queues report: what each queue was offered and what became of it.

A *stay* is one call in one queue (``queue_waits``): a call that overflowed from queue A to B is
offered to both, counts as ``overflow_out`` in A and ``overflow_in`` in B. A stay belongs to the
bucket of its call's start (a call across midnight counts on the day it began).

- ``abandoned_short``: abandoned after waiting less than ``abandon_short_seconds`` (option,
  default 5): counted apart, and left out of the service level.
- Service level (``sl_pct``): stays answered after waiting at most ``sl_seconds`` (option,
  default 20) over stays offered minus the short abandons, in percent.
- ASA: the average wait of the answered stays. AHT: the average talk + hold + wrap-up of the
  answered stays. Wrap-up is the time of the agents' ``wrap_up`` states that name the call
  (the controller writes the call on the wrap-up that follows it), until the agent's next
  state, charged to the queue that answered the call, in the bucket of the call's start. A
  wrap-up still under way (no next state yet) counts 0 until the next state arrives; one that
  begins more than a day after its call started is not counted.
- Callbacks: ``callbacks_requested`` is stays that ended in a callback request;
  ``callbacks_completed`` is answered calls of direction ``callback`` in the queue.
- ``moved_out``: stays a supervisor ended by moving the caller elsewhere (another queue, where
  the next stay counts as ``overflow_in``, or any other destination).

Thresholds other than the ones kept in the roll-up (``SL_SECONDS``, ``ABANDON_SHORT_SECONDS``)
are answered from the raw rows (the report says so in its notes).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    FromClause,
    Select,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect

from callcenter.db.models import AgentStateChange, Call, QueueWait
from callcenter.db.rollups_calls import (
    ABANDON_SHORT_SECONDS,
    SL_SECONDS,
    Cube,
    Fetched,
    Figures,
    Measure,
    QueueRollup,
    combine,
    fetch,
    in_or_all,
    ms_between,
    ratio,
    require_known,
    table_of,
)
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
from callcenter.reports.periods import buckets
from callcenter.reports.registry import ReportSpec, register
from callcenter.reports.rollup import Refresher, register_refresher

__all__ = ["CUBE", "queues_raw", "queues_report"]

_BASE = (
    "offered", "answered", "abandoned", "answered_wait_ms", "talk_ms", "hold_ms",
    "callbacks_requested", "callbacks_completed", "overflow_out", "overflow_in", "moved_out",
    "wrap_ms",
)  # fmt: skip
# How long after its call's start a wrap-up is looked for.
WRAP_HORIZON = timedelta(days=1)


def _flag(cond: Any) -> Any:
    return case((cond, 1), else_=0)


def name(pattern: str, seconds: int) -> str:
    return pattern.replace("%d", str(seconds))


def _source(sl: tuple[int, ...], short: tuple[int, ...], sl_name: str, short_name: str) -> Any:
    def source(dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime) -> Select[Any]:
        w, c = QueueWait.__table__, Call.__table__
        wait = func.coalesce(w.c.wait_ms, 0)
        answered = w.c.outcome == "answered"
        abandoned = w.c.outcome == "abandoned"
        stmt = (
            select(
                c.c.tenant,
                c.c.started_at.label("at"),
                w.c.queue,
                literal(1).label("offered"),
                _flag(answered).label("answered"),
                _flag(abandoned).label("abandoned"),
                *(
                    _flag(and_(abandoned, wait < s * 1000)).label(short_name.replace("%d", str(s)))
                    for s in short
                ),
                *(
                    _flag(and_(answered, wait <= s * 1000)).label(sl_name.replace("%d", str(s)))
                    for s in sl
                ),
                case((answered, wait), else_=0).label("answered_wait_ms"),
                case((answered, func.coalesce(c.c.talk_ms, 0)), else_=0).label("talk_ms"),
                case((answered, func.coalesce(c.c.hold_ms, 0)), else_=0).label("hold_ms"),
                wait.label("max_wait_ms"),
                _flag(w.c.outcome == "callback_requested").label("callbacks_requested"),
                _flag(and_(answered, c.c.direction == "callback")).label("callbacks_completed"),
                _flag(w.c.outcome == "overflowed").label("overflow_out"),
                _flag(w.c.came_from.is_not(None) & (w.c.came_from != "")).label("overflow_in"),
                _flag(w.c.outcome == "moved").label("moved_out"),
                literal(0).label("wrap_ms"),
            )
            .select_from(w.join(c, c.c.call_uuid == w.c.call_uuid))
            .where(c.c.started_at >= lo, c.c.started_at < hi)
        )
        if tenant is not None:
            stmt = stmt.where(c.c.tenant == tenant)
        names = [col.name for col in stmt.selected_columns]
        union = union_all(stmt, _wrap_rows(dialect, tenant, lo, hi, names)).subquery("stays")
        return select(*union.c)

    return source


def _wrap_rows(
    dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime, names: list[str]
) -> Select[Any]:
    """One row per wrap-up after an answered call of [lo, hi): the queue that answered it,
    ``wrap_ms`` until the agent's next state, every other figure 0 (``names``: the columns
    of the stays' rows, in their order)."""
    s, w, c = AgentStateChange.__table__, QueueWait.__table__, Call.__table__
    until = func.lead(s.c.at).over(
        partition_by=(s.c.tenant, s.c.agent), order_by=(s.c.at, s.c.stream_id)
    )
    states = select(s.c.tenant, s.c.status, s.c.call_uuid, s.c.at, until.label("until")).where(
        s.c.at >= lo, s.c.at < hi + 2 * WRAP_HORIZON
    )
    if tenant is not None:
        states = states.where(s.c.tenant == tenant)
    st = states.subquery("next_states")
    wrap = func.coalesce(ms_between(dialect, st.c.at, st.c.until), 0)
    figures = {"tenant": c.c.tenant, "at": c.c.started_at, "queue": w.c.queue, "wrap_ms": wrap}
    return (
        select(*(figures.get(n, literal(0)).label(n) for n in names))
        .select_from(
            st.join(c, c.c.call_uuid == st.c.call_uuid).join(
                w, and_(w.c.call_uuid == c.c.call_uuid, w.c.outcome == "answered")
            )
        )
        .where(
            st.c.status == "wrap_up",
            ms_between(dialect, c.c.started_at, st.c.at)
            < WRAP_HORIZON // timedelta(milliseconds=1),
            c.c.started_at >= lo,
            c.c.started_at < hi,
        )
    )


def _measures(names: list[str]) -> tuple[Measure, ...]:
    return tuple(Measure(n, "max" if n == "max_wait_ms" else "sum") for n in names)


# What the roll-up table keeps (every threshold of the lists).
CUBE = Cube(
    table_of(QueueRollup),
    ("queue",),
    _measures(
        [*_BASE, "max_wait_ms"]
        + [f"aband_in_{s}" for s in ABANDON_SHORT_SECONDS]
        + [f"ans_in_{s}" for s in SL_SECONDS]
    ),
    _source(SL_SECONDS, ABANDON_SHORT_SECONDS, "ans_in_%d", "aband_in_%d"),
)

register_refresher(Refresher("queues", CUBE.refresh, CUBE.rebuild))


def _report_cube(sl: int, short: int) -> Cube:
    """The figures a report with these thresholds needs; ``ans_in_sl``/``aband_short`` are
    the threshold counts (from the raw rows, or the roll-up column of that threshold)."""
    return Cube(
        CUBE.table,
        CUBE.keys,
        _measures([*_BASE, "max_wait_ms", "aband_short", "ans_in_sl"]),
        _source((sl,), (short,), "ans_in_sl", "aband_short"),
    )


COLUMNS = [
    Column(key="queue", label="Queue"),
    Column(key="offered", label="Offered", kind=ColumnKind.INT),
    Column(key="answered", label="Answered", kind=ColumnKind.INT),
    Column(key="abandoned", label="Abandoned", kind=ColumnKind.INT),
    Column(key="abandoned_short", label="Short abandons", kind=ColumnKind.INT),
    Column(key="sl_pct", label="Service level", kind=ColumnKind.PERCENT),
    Column(key="asa_s", label="ASA", kind=ColumnKind.SECONDS),
    Column(key="aht_s", label="AHT (talk + hold + wrap-up)", kind=ColumnKind.SECONDS),
    Column(key="longest_wait_s", label="Longest wait", kind=ColumnKind.SECONDS),
    Column(key="callbacks_requested", label="Callbacks requested", kind=ColumnKind.INT),
    Column(key="callbacks_completed", label="Callbacks completed", kind=ColumnKind.INT),
    Column(key="overflow_out", label="Overflow out", kind=ColumnKind.INT),
    Column(key="overflow_in", label="Overflow in", kind=ColumnKind.INT),
    Column(key="moved_out", label="Moved out by a supervisor", kind=ColumnKind.INT),
]


def _row(label: str, f: Figures) -> dict[str, Any]:
    answered = f["answered"]
    return {
        "queue": label,
        "offered": f["offered"],
        "answered": answered,
        "abandoned": f["abandoned"],
        "abandoned_short": f["aband_short"],
        "sl_pct": ratio(f["ans_in_sl"], f["offered"] - f["aband_short"], 100),
        "asa_s": ratio(f["answered_wait_ms"], answered, 0.001),
        "aht_s": ratio(f["talk_ms"] + f["hold_ms"] + f["wrap_ms"], answered, 0.001),
        "longest_wait_s": round(f["max_wait_ms"] / 1000, 3),
        "callbacks_requested": f["callbacks_requested"],
        "callbacks_completed": f["callbacks_completed"],
        "overflow_out": f["overflow_out"],
        "overflow_in": f["overflow_in"],
        "moved_out": f["moved_out"],
    }


def _options(request: ReportRequest) -> tuple[int, int]:
    try:
        sl = int(request.options.get("sl_seconds", 20))
        short = int(request.options.get("abandon_short_seconds", 5))
    except (TypeError, ValueError):
        raise InvalidReportInputError(
            "sl_seconds and abandon_short_seconds are whole seconds", options=request.options
        ) from None
    if sl < 0 or short < 0:
        raise InvalidReportInputError("thresholds cannot be negative", options=request.options)
    return sl, short


def build(
    name: str,
    title: str,
    request: ReportRequest,
    columns: list[Column],
    cube: Cube,
    fetched: Fetched,
    spans_labels: list[str],
    row: Any,
    key_label: Any,
    source: str,
    notes: list[str],
    chart_key: str,
) -> Report:
    """The generic shape: a row per (bucket, key) (the bucket column only when cut), totals."""
    by_time = request.granularity is not Granularity.TOTAL
    cols = ([Column(key="period", label="Period")] if by_time else []) + columns
    rows: list[dict[str, Any]] = []
    per_key: dict[tuple[str, ...], list[Figures]] = {}
    for idx, label in enumerate(spans_labels):
        for key, figures in sorted(fetched.get(idx, {}).items()):
            per_key.setdefault(key, []).append(figures)
            out = row(key_label(key), figures)
            rows.append({"period": label, **out} if by_time else out)
    everything = [f for parts in per_key.values() for f in parts]
    totals = row("Total", combine(cube, everything)) if everything else None
    if totals is not None and by_time:
        totals = {"period": "Total", **totals}
    chart_rows = [(key_label(k), combine(cube, parts)) for k, parts in sorted(per_key.items())]
    charts = []
    if chart_rows:
        charts.append(
            Chart(
                title=f"{chart_key} by {columns[0].label.lower()}",
                x_labels=[
                    label if isinstance(label, str) else " / ".join(label)
                    for label, _ in chart_rows
                ],
                series=[
                    ChartSeries(
                        label=chart_key, values=[float(f[chart_key]) for _, f in chart_rows]
                    )
                ],
            )
        )
    return Report(
        name=name,
        title=title,
        request=request,
        columns=cols,
        rows=rows,
        totals=totals,
        charts=charts,
        notes=[f"times in {request.tz}", *notes],
        source=source,
    )


def _where(request: ReportRequest) -> Any:
    def where(frm: FromClause) -> list[Any]:
        return in_or_all(frm.c.queue, request.queues)

    return where


def _run(engine: Engine, request: ReportRequest, raw: bool) -> Report:
    sl, short = _options(request)
    spans = buckets(request.start, request.end, request.tz, request.granularity)
    notes = [
        f"service level: answered within {sl} s over offered minus abandons under {short} s",
        "AHT is talk + hold + the agents' wrap-up after the queue's answered calls",
    ]
    use_raw = raw or sl not in SL_SECONDS or short not in ABANDON_SHORT_SECONDS
    if use_raw and not raw:
        notes.append("these thresholds are not kept in the roll-ups: counted from the CDRs")
    cube = _report_cube(sl, short)
    with engine.connect() as conn:
        _check(conn, request)
        fetched = fetch(
            conn,
            cube,
            request.tenant,
            [(b.start, b.end) for b in spans],
            _where(request),
            raw=use_raw,
            rename={"ans_in_sl": f"ans_in_{sl}", "aband_short": f"aband_in_{short}"},
        )
    return build(
        "queues",
        "Queues",
        request,
        COLUMNS,
        cube,
        fetched,
        [b.label for b in spans],
        _row,
        lambda key: key[0],
        "raw" if use_raw else "rollups",
        notes,
        "offered",
    )


def _check(conn: Connection, request: ReportRequest) -> None:
    require_known(conn, table_of(QueueWait), "queue", request.tenant, request.queues, "queue")


def queues_report(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=False)


def queues_raw(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=True)


register(
    ReportSpec(
        "queues",
        "Queues",
        "Offered, answered, abandoned (short ones apart), service level, ASA, AHT, longest "
        "wait, callbacks and overflows per queue",
        queues_report,
        queues_raw,
    )
)

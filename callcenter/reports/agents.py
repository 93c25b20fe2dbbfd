"""The agents report: what each agent was offered and did, and how their time went; ranked.

- Offers are the agent legs rung (``call_legs`` role ``agent``), in the bucket of the call's
  start: ``answered`` (the leg was answered), ``rejected`` (CALL_REJECTED or USER_BUSY),
  ``missed`` (any other unanswered leg, e.g. no answer; not one the caller hung up on while it
  rang, ORIGINATOR_CANCEL, nor one another leg took, LOSE_RACE / PICKED_OFF). A call
  transferred from one agent to another is an offer to each, with each one's talk.
- Talk is the answered agent legs' billsec; hold is their hold time.
- State time (ready = ``available``, wrap-up, breaks by reason) comes from ``agent_states``: each
  state lasts until the agent's next state change, at most 24 hours (``MAX_STATE``: a
  forgotten logout does not fill the days after), and is cut at the 15-minute boundaries, so
  an hour or a day gets the part of a state that fell in it. The agent's last known state,
  still open, counts nothing yet. ``times`` counts the states begun in the bucket.
- Occupancy: time on calls and in wrap-up over time available, ringing, on calls and in
  wrap-up. AHT: (talk + hold + wrap-up) / answered.
- QA score: the average of the agent's ``quality_scores``; dispositions and outbound calls are
  the calls whose agent (``calls.agent``) is the agent.
- The queue filter keeps the call figures (offers, talk, hold, QA, dispositions, outbound) to
  the calls of those queues (a call belongs to the queue it ended in, ``calls.queue``; a QA
  score to its own queue, else the call's), and the agents to those with such a call; state
  time is an agent's whole time, in any queue (the report says so).
- ``compare_agent`` (option): that agent's row against the average per agent of the report
  (with a queue filter: of that queue's agents).
- Rows are ranked by answered offers, then talk time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    FromClause,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect

from callcenter.db.models import AgentStateChange, Call, CallLeg, Disposition, QualityScore
from callcenter.db.rollups_calls import (
    AgentRollup,
    AgentStateRollup,
    Cube,
    Fetched,
    Figures,
    Measure,
    ceil_day,
    combine,
    epoch_ms,
    fetch,
    floor_day,
    from_epoch_ms,
    in_or_all,
    ratio,
    require_known,
    table_of,
)
from callcenter.reports.model import Column, ColumnKind, Report, ReportRequest
from callcenter.reports.periods import BUCKET, buckets
from callcenter.reports.queues import build
from callcenter.reports.registry import ReportSpec, register
from callcenter.reports.rollup import Refresher, register_refresher

__all__ = ["CALLS_CUBE", "STATES_CUBE", "agents_raw", "agents_report"]

_REJECTED = ("CALL_REJECTED", "USER_BUSY")
# An unanswered leg ended by these is nobody's miss: the caller hung up while it rang, or
# another leg took the call.
_NOT_MISSED = ("ORIGINATOR_CANCEL", "LOSE_RACE", "PICKED_OFF")
_CALL_MEASURES = (
    "offered", "answered", "missed", "rejected", "talk_ms", "hold_ms", "qa_sum", "qa_count",
    "dispositions", "outbound",
)  # fmt: skip


def _zeros(but: dict[str, Any]) -> list[Any]:
    return [but.get(name, literal(0)).label(name) for name in _CALL_MEASURES]


def _calls_source(dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime) -> Select[Any]:
    c, leg = Call.__table__, CallLeg.__table__
    q, d = QualityScore.__table__, Disposition.__table__
    in_range = [c.c.started_at >= lo, c.c.started_at < hi]
    if tenant is not None:
        in_range.append(c.c.tenant == tenant)
    answered = leg.c.answered_at.is_not(None)
    rejected = and_(~answered, func.coalesce(leg.c.hangup_cause, "").in_(_REJECTED))
    missed = and_(~answered, ~func.coalesce(leg.c.hangup_cause, "").in_(_REJECTED + _NOT_MISSED))
    queue = func.coalesce(c.c.queue, "").label("queue")
    legs = (
        select(
            c.c.tenant,
            c.c.started_at.label("at"),
            leg.c.agent.label("agent"),
            queue,
            *_zeros(
                {
                    "offered": literal(1),
                    "answered": case((answered, 1), else_=0),
                    "missed": case((missed, 1), else_=0),
                    "rejected": case((rejected, 1), else_=0),
                    "talk_ms": case((answered, func.coalesce(leg.c.billsec, 0) * 1000), else_=0),
                    "hold_ms": func.coalesce(leg.c.hold_ms, 0),
                }
            ),
        )
        .select_from(leg.join(c, c.c.call_uuid == leg.c.call_uuid))
        .where(leg.c.role == "agent", leg.c.agent.is_not(None), *in_range)
    )
    scores = (
        select(
            c.c.tenant,
            c.c.started_at.label("at"),
            q.c.agent.label("agent"),
            func.coalesce(q.c.queue, c.c.queue, "").label("queue"),
            *_zeros({"qa_sum": q.c.score, "qa_count": literal(1)}),
        )
        .select_from(q.join(c, c.c.call_uuid == q.c.call_uuid))
        .where(q.c.agent.is_not(None), *in_range)
    )
    codes = (
        select(
            c.c.tenant,
            c.c.started_at.label("at"),
            c.c.agent.label("agent"),
            queue,
            *_zeros({"dispositions": literal(1)}),
        )
        .select_from(d.join(c, c.c.call_uuid == d.c.call_uuid))
        .where(c.c.agent.is_not(None), *in_range)
    )
    outbound = select(
        c.c.tenant,
        c.c.started_at.label("at"),
        c.c.agent.label("agent"),
        queue,
        *_zeros({"outbound": literal(1)}),
    ).where(c.c.direction == "outbound", c.c.agent.is_not(None), *in_range)
    union = union_all(legs, scores, codes, outbound).subquery("agent_rows")
    return select(*union.c)


# A state counts at most this long: an agent who forgot to log out does not fill the days
# after (and a bucket's state time only depends on the states begun the day before it).
MAX_STATE = timedelta(hours=24)
_QUARTER_MS = 900_000
# Pieces of one state: every 15-minute bucket a state of at most MAX_STATE can touch.
_PIECES = MAX_STATE // timedelta(milliseconds=_QUARTER_MS) + 1


def _states_source(dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime) -> Select[Any]:
    """Each state's time cut at the 15-minute boundaries: one row per bucket it spans, ``at``
    in that bucket (its own start for the first), ``times`` 1 on the first only."""
    s = AgentStateChange.__table__
    until = func.lead(s.c.at).over(
        partition_by=(s.c.tenant, s.c.agent), order_by=(s.c.at, s.c.stream_id)
    )
    # States begun up to MAX_STATE before lo may still run into it; the next state of one begun
    # before hi is before hi + MAX_STATE, or it does not matter how much later it is.
    inner = select(
        s.c.tenant, s.c.agent, s.c.status, s.c.reason, s.c.at, until.label("until")
    ).where(s.c.at >= lo - MAX_STATE, s.c.at < hi + MAX_STATE)
    if tenant is not None:
        inner = inner.where(s.c.tenant == tenant)
    w = inner.subquery("states")
    start_ms = epoch_ms(dialect, w.c.at)
    cap = start_ms + MAX_STATE // timedelta(milliseconds=1)
    # No next state in the window: an open state (none at all yet) counts nothing yet; one
    # whose next state is past the window lasted longer than MAX_STATE.
    later = (
        select(literal(1))
        .where(s.c.tenant == w.c.tenant, s.c.agent == w.c.agent, s.c.at >= hi + MAX_STATE)
        .exists()
    )
    end_ms = func.coalesce(epoch_ms(dialect, w.c.until), case((later, cap), else_=start_ms))
    least = func.least if dialect.name == "postgresql" else func.min
    timed = select(
        w.c.tenant, w.c.agent, w.c.status, w.c.reason, w.c.at,
        start_ms.label("start_ms"),
        least(end_ms, cap).label("end_ms"),
        (func.floor(start_ms / _QUARTER_MS) * _QUARTER_MS).label("first_ms"),
    ).subquery("timed")  # fmt: skip
    numbers: FromClause
    if dialect.name == "postgresql":
        # Only the pieces each state has (most states are a piece or two).
        last = func.floor((timed.c.end_ms - timed.c.first_ms - 1) / _QUARTER_MS)
        count = case((timed.c.status == "logged_out", 0), else_=func.greatest(last, 0))
        numbers = func.generate_series(0, count).table_valued("n").lateral("n")
    else:
        numbers = union_all(*(select(literal(n).label("n")) for n in range(_PIECES))).subquery("n")
    bucket_ms = timed.c.first_ms + numbers.c.n * _QUARTER_MS
    piece_start = case((numbers.c.n == 0, timed.c.start_ms), else_=bucket_ms)
    piece_end = least(timed.c.end_ms, bucket_ms + _QUARTER_MS)
    at = case((numbers.c.n == 0, timed.c.at), else_=from_epoch_ms(dialect, bucket_ms))
    pieces = (
        select(
            timed.c.tenant,
            at.label("at"),
            timed.c.agent,
            timed.c.status,
            func.coalesce(timed.c.reason, "").label("reason"),
            case((numbers.c.n == 0, 1), else_=0).label("times"),
            cast(func.round(piece_end - piece_start), BigInteger).label("duration_ms"),
        )
        .select_from(timed.join(numbers, literal(True)))
        .where(
            or_(
                numbers.c.n == 0,
                # Time logged out is in no figure: counted (times), not cut into buckets.
                and_(bucket_ms < timed.c.end_ms, timed.c.status != "logged_out"),
            )
        )
    ).subquery("pieces")
    return select(*pieces.c).where(pieces.c.at >= lo, pieces.c.at < hi)


CALLS_CUBE = Cube(
    table_of(AgentRollup),
    ("agent", "queue"),
    tuple(Measure(n) for n in _CALL_MEASURES),
    _calls_source,
)
STATES_CUBE = Cube(
    table_of(AgentStateRollup),
    ("agent", "status", "reason"),
    (Measure("times"), Measure("duration_ms")),
    _states_source,
)

register_refresher(Refresher("agents", CALLS_CUBE.refresh, CALLS_CUBE.rebuild))


def _refresh_states(conn: Connection, tenant: str, starts: Sequence[datetime]) -> None:
    """State time is bucketed by the state's own time, not by a call's, and a state's length
    depends on the next state: the buckets of a batch's calls do not name the state buckets
    that changed. The states of the whole UTC days the batch touched are redone instead (the
    state changes an ingest batch brings are around its calls)."""
    if starts:
        STATES_CUBE.rebuild(conn, tenant, floor_day(min(starts)), ceil_day(max(starts) + BUCKET))


register_refresher(Refresher("agent_states", _refresh_states, STATES_CUBE.rebuild, by_states=True))

_STATES = ("available", "reserved", "on_call", "wrap_up", "on_break")


def _merge(calls: Fetched, states: Fetched) -> tuple[Fetched, list[str]]:
    """One flat figures dict per (span, agent): the call figures, ``<status>_ms`` per state
    and ``break:<reason>`` per break reason."""
    out: Fetched = {}
    reasons: set[str] = set()
    empty = {name: 0 for name in _CALL_MEASURES} | {f"{s}_ms": 0 for s in _STATES}
    for idx, rows in calls.items():
        for key, figures in rows.items():
            out.setdefault(idx, {}).setdefault(key, dict(empty)).update(figures)
    for idx, rows in states.items():
        for (agent, status, reason), figures in rows.items():
            target = out.setdefault(idx, {}).setdefault((agent,), dict(empty))
            if status in _STATES:
                target[f"{status}_ms"] += figures["duration_ms"]
            if status == "on_break":
                name = f"break:{reason or 'break'}"
                reasons.add(name)
                target[name] = target.get(name, 0) + figures["duration_ms"]
    for rows in out.values():
        for figures in rows.values():
            for name in reasons:
                figures.setdefault(name, 0)
    return out, sorted(reasons)


def _columns(reasons: list[str]) -> list[Column]:
    seconds, count = ColumnKind.SECONDS, ColumnKind.INT
    return [
        Column(key="agent", label="Agent"),
        Column(key="rank", label="Rank", kind=count),
        Column(key="offered", label="Offered", kind=count),
        Column(key="answered", label="Answered", kind=count),
        Column(key="missed", label="Missed", kind=count),
        Column(key="rejected", label="Rejected", kind=count),
        Column(key="talk_s", label="Talk", kind=seconds),
        Column(key="hold_s", label="Hold", kind=seconds),
        Column(key="wrap_s", label="Wrap-up", kind=seconds),
        Column(key="aht_s", label="AHT", kind=seconds),
        Column(key="ready_s", label="Ready", kind=seconds),
        Column(key="break_s", label="Break", kind=seconds),
        *(Column(key=r, label=f"Break: {r[6:]}", kind=seconds) for r in reasons),
        Column(key="occupancy_pct", label="Occupancy", kind=ColumnKind.PERCENT),
        Column(key="qa_avg", label="QA score", kind=ColumnKind.FLOAT),
        Column(key="dispositions", label="Dispositions", kind=count),
        Column(key="outbound", label="Outbound calls", kind=count),
    ]


def _row(reasons: list[str]) -> Any:
    def row(label: str, f: Figures) -> dict[str, Any]:
        busy = f["on_call_ms"] + f["wrap_up_ms"]
        present = busy + f["available_ms"] + f["reserved_ms"]
        return {
            "agent": label,
            "rank": None,
            "offered": f["offered"],
            "answered": f["answered"],
            "missed": f["missed"],
            "rejected": f["rejected"],
            "talk_s": f["talk_ms"] / 1000,
            "hold_s": f["hold_ms"] / 1000,
            "wrap_s": f["wrap_up_ms"] / 1000,
            "aht_s": ratio(f["talk_ms"] + f["hold_ms"] + f["wrap_up_ms"], f["answered"], 0.001),
            "ready_s": f["available_ms"] / 1000,
            "break_s": f["on_break_ms"] / 1000,
            **{r: f[r] / 1000 for r in reasons},
            "occupancy_pct": ratio(busy, present, 100),
            "qa_avg": ratio(f["qa_sum"], f["qa_count"]),
            "dispositions": f["dispositions"],
            "outbound": f["outbound"],
        }

    return row


def _run(engine: Engine, request: ReportRequest, raw: bool) -> Report:
    spans = buckets(request.start, request.end, request.tz, request.granularity)
    compare = request.options.get("compare_agent")
    wanted = list(request.agents)

    def where(frm: FromClause) -> list[Any]:
        return in_or_all(frm.c.agent, wanted) if wanted and not compare else []

    def where_calls(frm: FromClause) -> list[Any]:
        return [*where(frm), *in_or_all(frm.c.queue, request.queues)]

    with engine.connect() as conn:
        names = [*wanted, *([str(compare)] if compare else [])]
        require_known(conn, table_of(AgentStateChange), "agent", request.tenant, names, "agent")
        pairs = [(b.start, b.end) for b in spans]
        calls = _per_agent(fetch(conn, CALLS_CUBE, request.tenant, pairs, where_calls, raw=raw))
        states = fetch(conn, STATES_CUBE, request.tenant, pairs, where, raw=raw)
    if request.queues:
        # The queues' agents: those with a call of them in the bucket.
        states = {
            idx: {key: f for key, f in rows.items() if (key[0],) in calls.get(idx, {})}
            for idx, rows in states.items()
        }
    merged, reasons = _merge(calls, states)
    measures = {name for rows in merged.values() for f in rows.values() for name in f}
    cube = Cube(
        CALLS_CUBE.table, ("agent",), tuple(Measure(n) for n in sorted(measures)), _calls_source
    )
    notes = ["state time is cut at the period's edges; a state counts at most 24 hours"]
    if request.queues:
        notes.append(
            "queue filter: the calls of those queues, their agents; state time is the agents' "
            "whole time"
        )
    if compare:
        merged = _compare(merged, str(compare), cube)
    report = build(
        "agents",
        "Agents",
        request,
        _columns(reasons),
        cube,
        merged,
        [b.label for b in spans],
        _row(reasons),
        lambda key: key[0],
        "raw" if raw else "rollups",
        notes,
        "answered",
    )
    if not compare:
        _rank(report)
    return report


def _per_agent(calls: Fetched) -> Fetched:
    """The call figures per (agent, queue) summed per agent."""
    out: Fetched = {}
    for idx, rows in calls.items():
        parts: dict[tuple[str, ...], list[Figures]] = {}
        for (agent, _queue), figures in rows.items():
            parts.setdefault((agent,), []).append(figures)
        out[idx] = {key: combine(CALLS_CUBE, found) for key, found in parts.items()}
    return out


def _compare(merged: Fetched, agent: str, cube: Cube) -> Fetched:
    """Per span: the agent, and the average per agent of every agent of the span."""
    out: Fetched = {}
    for idx, rows in merged.items():
        total = combine(cube, list(rows.values()))
        n = len(rows)
        average = {k: v / n for k, v in total.items()}
        mine = rows.get((agent,), {k: 0 for k in total})
        out[idx] = {(agent,): mine, (f"~average of {n} agents",): average}  # type: ignore[dict-item]
    return out


def _rank(report: Report) -> None:
    by_period: dict[str, list[dict[str, Any]]] = {}
    for row in report.rows:
        by_period.setdefault(str(row.get("period", "")), []).append(row)
    ordered: list[dict[str, Any]] = []
    for rows in by_period.values():
        rows.sort(key=lambda r: (-r["answered"], -r["talk_s"], r["agent"]))
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank
        ordered.extend(rows)
    report.rows = ordered


def agents_report(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=False)


def agents_raw(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=True)


register(
    ReportSpec(
        "agents",
        "Agents",
        "Offers answered, missed and rejected, talk, hold, wrap-up, ready and break time, "
        "occupancy, QA score, dispositions and outbound calls per agent, ranked",
        agents_report,
        agents_raw,
    )
)

"""The DIDs report: what each number (and its campaign label) brought in.

- ``calls`` is the inbound calls to the DID (campaign '' when the DID has no label), in the
  bucket of their start; ``answered``/``abandoned`` by the call's outcome; ``avg_wait_s`` over
  the calls that waited in a queue.
- ``unique_callers``: distinct caller numbers in the bucket. Not additive: the roll-up keeps the
  set of callers of each DID+campaign per 15 minutes, day and month
  (``callcenter/db/rollups_callers.py``), and a bucket's figure is the size of the union of the
  sets that cover it. The raw twin counts DISTINCT over the calls, on the index (tenant,
  started_at, did, campaign, caller_number).
- ``first_time_callers``: callers whose first call ever to this DID+campaign falls in the
  bucket. Not additive either; kept in ``did_first_callers`` (one row per DID, campaign and
  caller: the time of their first call), which the roll-up refresh keeps by an upsert of the
  minimum, so a period's first-time callers are an index range, not a scan of all history.
- Dispositions per code (``code:<code>`` columns); ``conversions`` are the calls whose code is
  one of the ``conversion_codes`` option (default ``["sale"]``), ``conversion_pct`` over calls.
- ``calls_prev``/``calls_change_pct``: the same bucket one period length earlier (the period
  before of the same length), per DID.
"""

from __future__ import annotations

from datetime import datetime
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

from callcenter.db.models import Call, Disposition
from callcenter.db.rollups_callers import rebuild_did_callers, refresh_did_callers, unique_callers
from callcenter.db.rollups_calls import (
    Cube,
    DidCodeRollup,
    DidFirstCaller,
    DidRollup,
    Fetched,
    Figures,
    Measure,
    fetch,
    in_or_all,
    ratio,
    require_known,
    table_of,
)
from callcenter.db.types import UtcDateTime, dialect_insert
from callcenter.reports.errors import InvalidReportInputError
from callcenter.reports.model import Column, ColumnKind, Report, ReportRequest
from callcenter.reports.periods import buckets
from callcenter.reports.queues import build
from callcenter.reports.registry import ReportSpec, register
from callcenter.reports.rollup import Refresher, register_refresher

__all__ = ["CALLS_CUBE", "CODES_CUBE", "dids_raw", "dids_report", "refresh_first_callers"]


def _calls_source(dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime) -> Select[Any]:
    c, t = Call.__table__, DidFirstCaller.__table__
    calls = select(
        c.c.tenant,
        c.c.started_at.label("at"),
        c.c.did,
        func.coalesce(c.c.campaign, "").label("campaign"),
        literal(1).label("calls"),
        case((c.c.outcome == "answered", 1), else_=0).label("answered"),
        case((c.c.outcome == "abandoned", 1), else_=0).label("abandoned"),
        func.coalesce(c.c.wait_ms, 0).label("wait_ms"),
        case((c.c.wait_ms.is_not(None), 1), else_=0).label("waited"),
        literal(0).label("first_callers"),
    ).where(c.c.did.is_not(None), c.c.started_at >= lo, c.c.started_at < hi)
    firsts = select(
        t.c.tenant,
        t.c.first_at.label("at"),
        t.c.did,
        t.c.campaign,
        *(literal(0).label(n) for n in ("calls", "answered", "abandoned", "wait_ms", "waited")),
        literal(1).label("first_callers"),
    ).where(t.c.first_at >= lo, t.c.first_at < hi)
    if tenant is not None:
        calls = calls.where(c.c.tenant == tenant)
        firsts = firsts.where(t.c.tenant == tenant)
    union = union_all(calls, firsts).subquery("did_rows")
    return select(*union.c)


def _codes_source(dialect: Dialect, tenant: str | None, lo: datetime, hi: datetime) -> Select[Any]:
    c, d = Call.__table__, Disposition.__table__
    stmt = (
        select(
            c.c.tenant,
            c.c.started_at.label("at"),
            c.c.did,
            func.coalesce(c.c.campaign, "").label("campaign"),
            d.c.code,
            literal(1).label("calls"),
        )
        .select_from(d.join(c, c.c.call_uuid == d.c.call_uuid))
        .where(c.c.did.is_not(None), c.c.started_at >= lo, c.c.started_at < hi)
    )
    return stmt.where(c.c.tenant == tenant) if tenant is not None else stmt


CALLS_CUBE = Cube(
    table_of(DidRollup),
    ("did", "campaign"),
    tuple(
        Measure(n) for n in ("calls", "answered", "abandoned", "wait_ms", "waited", "first_callers")
    ),
    _calls_source,
)
CODES_CUBE = Cube(
    table_of(DidCodeRollup), ("did", "campaign", "code"), (Measure("calls"),), _codes_source
)


def refresh_first_callers(conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
    """Upsert the first call time of every (DID, campaign, caller) with a call in [lo, hi)."""
    c, t = Call.__table__, DidFirstCaller.__table__
    campaign = func.coalesce(c.c.campaign, "")
    found = (
        select(c.c.tenant, c.c.did, campaign, c.c.caller_number, func.min(c.c.started_at))
        .where(
            c.c.did.is_not(None),
            c.c.caller_number.is_not(None),
            c.c.started_at >= lo,
            c.c.started_at < hi,
        )
        .group_by(c.c.tenant, c.c.did, campaign, c.c.caller_number)
    )
    if tenant is not None:
        found = found.where(c.c.tenant == tenant)
    stmt = dialect_insert(conn.dialect, t).from_select(
        ["tenant", "did", "campaign", "caller_number", "first_at"], found
    )
    earliest = func.least if conn.dialect.name == "postgresql" else func.min
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant", "did", "campaign", "caller_number"],
        set_={"first_at": earliest(t.c.first_at, stmt.excluded.first_at)},
    )
    conn.execute(stmt)


def _first_refresh(conn: Connection, tenant: str, starts: Any) -> None:
    from datetime import timedelta

    for start in starts:
        refresh_first_callers(conn, tenant, start, start + timedelta(minutes=15))


# First callers first: the DID roll-up counts them.
register_refresher(Refresher("did_first_callers", _first_refresh, refresh_first_callers))
register_refresher(Refresher("dids", CALLS_CUBE.refresh, CALLS_CUBE.rebuild))
register_refresher(Refresher("did_codes", CODES_CUBE.refresh, CODES_CUBE.rebuild))
register_refresher(Refresher("did_callers", refresh_did_callers, rebuild_did_callers))


def _spans_query(spans: list[tuple[datetime, datetime]]) -> FromClause:
    return union_all(
        *(
            select(
                literal(i).label("idx"),
                literal(a, UtcDateTime()).label("lo"),
                literal(b, UtcDateTime()).label("hi"),
            )
            for i, (a, b) in enumerate(spans)
        )
    ).subquery("spans")


def _callers(
    conn: Connection, tenant: str, spans: list[tuple[datetime, datetime]], dids: tuple[str, ...],
    raw: bool,
) -> dict[int, dict[tuple[str, ...], Figures]]:  # fmt: skip
    """Unique callers and, with ``raw``, first-time callers by the minimum over all of the
    calls (else they come from the roll-up). Unique callers: from the roll-up's sets of
    callers, or (``raw``) count(DISTINCT) over the calls on the index."""
    out: dict[int, dict[tuple[str, ...], Figures]] = {}
    if not spans:
        return out
    if not raw:
        for idx, rows in unique_callers(conn, tenant, spans, dids).items():
            for key, n in rows.items():
                out.setdefault(idx, {})[key] = {"unique_callers": n}
        return out  # first-time callers: in the roll-up too
    c = Call.__table__
    s = _spans_query(spans)
    lo, hi = spans[0][0], spans[-1][1]
    campaign = func.coalesce(c.c.campaign, "")
    in_period = [c.c.tenant == tenant, c.c.did.is_not(None), c.c.started_at >= lo]
    in_period += [c.c.started_at < hi, *in_or_all(c.c.did, dids)]
    distinct = func.count(func.distinct(c.c.caller_number))
    if len(spans) == 1:
        unique = select(literal(0), c.c.did, campaign, distinct).where(*in_period)
        unique = unique.group_by(c.c.did, campaign)
    else:
        unique = (
            select(s.c.idx, c.c.did, campaign, distinct)
            .select_from(c.join(s, and_(c.c.started_at >= s.c.lo, c.c.started_at < s.c.hi)))
            .where(*in_period)
            .group_by(s.c.idx, c.c.did, campaign)
        )
    for idx, did, camp, n in conn.execute(unique):
        out.setdefault(int(idx), {})[(did, camp)] = {"unique_callers": int(n)}
    firsts = (
        select(c.c.did, campaign.label("campaign"), func.min(c.c.started_at).label("first_at"))
        .where(c.c.tenant == tenant, c.c.did.is_not(None), c.c.caller_number.is_not(None))
        .where(*in_or_all(c.c.did, dids))
        .group_by(c.c.did, campaign, c.c.caller_number)
        .subquery("firsts")
    )
    first = (
        select(s.c.idx, firsts.c.did, firsts.c.campaign, func.count())
        .select_from(firsts.join(s, and_(firsts.c.first_at >= s.c.lo, firsts.c.first_at < s.c.hi)))
        .group_by(s.c.idx, firsts.c.did, firsts.c.campaign)
    )
    for idx, did, camp, n in conn.execute(first):
        out.setdefault(int(idx), {}).setdefault((did, camp), {})["first_time_callers"] = int(n)
    return out


def _figures(
    conn: Connection,
    request: ReportRequest,
    spans: list[tuple[datetime, datetime]],
    raw: bool,
    *,
    calls_only: bool = False,
) -> tuple[Fetched, list[str]]:
    """The figures of each span; ``calls_only``: the calls alone (the period before, whose
    only figure the report shows is its calls)."""

    def where(frm: FromClause) -> list[Any]:
        return in_or_all(frm.c.did, request.dids)

    calls = fetch(conn, CALLS_CUBE, request.tenant, spans, where, raw=raw)
    if calls_only:
        codes: Fetched = {}
        callers: dict[int, dict[tuple[str, ...], Figures]] = {}
    else:
        codes = fetch(conn, CODES_CUBE, request.tenant, spans, where, raw=raw)
        callers = _callers(conn, request.tenant, spans, request.dids, raw)
    empty = {"calls": 0, "answered": 0, "abandoned": 0, "wait_ms": 0, "waited": 0}
    empty |= {"unique_callers": 0, "first_time_callers": 0}
    out: Fetched = {}
    names: set[str] = set()
    for idx, rows in calls.items():
        for key, f in rows.items():
            target = out.setdefault(idx, {}).setdefault(key, dict(empty))
            target.update(f)
            target["first_time_callers"] = 0 if raw else f["first_callers"]
    for idx, rows in codes.items():
        for (did, camp, code), f in rows.items():
            target = out.setdefault(idx, {}).setdefault((did, camp), dict(empty))
            target[f"code:{code}"] = f["calls"]
            names.add(f"code:{code}")
    for idx, rows in callers.items():
        for key, f in rows.items():
            out.setdefault(idx, {}).setdefault(key, dict(empty)).update(f)
    for rows in out.values():
        for f in rows.values():
            for name in names:
                f.setdefault(name, 0)
    return out, sorted(names)


def _run(engine: Engine, request: ReportRequest, raw: bool) -> Report:
    codes_wanted = request.options.get("conversion_codes", ["sale"])
    if isinstance(codes_wanted, str) or not all(isinstance(x, str) for x in codes_wanted):
        raise InvalidReportInputError(
            "conversion_codes is a list of disposition codes", options=request.options
        )
    spans = buckets(request.start, request.end, request.tz, request.granularity)
    length = request.end - request.start
    pairs = [(b.start, b.end) for b in spans]
    with engine.connect() as conn:
        require_known(conn, table_of(Call), "did", request.tenant, request.dids, "DID")
        now, names = _figures(conn, request, pairs, raw)
        earlier = [(a - length, b - length) for a, b in pairs]
        before, _ = _figures(conn, request, earlier, raw, calls_only=True)
    for idx, rows in now.items():
        for key, f in rows.items():
            f["calls_prev"] = before.get(idx, {}).get(key, {}).get("calls", 0)
            f["conversions"] = sum(f.get(f"code:{code}", 0) for code in codes_wanted)
    measures = {n for rows in now.values() for f in rows.values() for n in f}
    cube = Cube(
        CALLS_CUBE.table,
        ("did", "campaign"),
        tuple(Measure(n) for n in sorted(measures)),
        _calls_source,
    )

    def row(label: Any, f: Figures) -> dict[str, Any]:
        did, campaign = label if isinstance(label, tuple) else (label, "")
        return {
            "did": did,
            "campaign": campaign,
            "calls": f["calls"],
            "unique_callers": f["unique_callers"] if did != "Total" else None,
            "first_time_callers": f["first_time_callers"],
            "answered": f["answered"],
            "abandoned": f["abandoned"],
            "avg_wait_s": ratio(f["wait_ms"], f["waited"], 0.001),
            **{n: f.get(n, 0) for n in names},
            "conversions": f["conversions"],
            "conversion_pct": ratio(f["conversions"], f["calls"], 100),
            "calls_prev": f["calls_prev"],
            "calls_change_pct": ratio(f["calls"] - f["calls_prev"], f["calls_prev"], 100),
        }

    count = ColumnKind.INT
    columns = [
        Column(key="did", label="DID"),
        Column(key="campaign", label="Campaign"),
        Column(key="calls", label="Calls", kind=count),
        Column(key="unique_callers", label="Unique callers", kind=count),
        Column(key="first_time_callers", label="First-time callers", kind=count),
        Column(key="answered", label="Answered", kind=count),
        Column(key="abandoned", label="Abandoned", kind=count),
        Column(key="avg_wait_s", label="Average wait", kind=ColumnKind.SECONDS),
        *(Column(key=n, label=f"Disposition {n[5:]}", kind=count) for n in names),
        Column(key="conversions", label="Conversions", kind=count),
        Column(key="conversion_pct", label="Conversion", kind=ColumnKind.PERCENT),
        Column(key="calls_prev", label="Calls, period before", kind=count),
        Column(key="calls_change_pct", label="Change", kind=ColumnKind.PERCENT),
    ]
    notes = [
        "unique callers are per row (not summed into the totals)",
        f"conversions: dispositions {', '.join(codes_wanted)}",
    ]
    if request.queues or request.gateways or request.agents:
        notes.append("only the DID filter applies to this report")
    return build(
        "dids",
        "DIDs and campaigns",
        request,
        columns,
        cube,
        now,
        [b.label for b in spans],
        row,
        lambda key: key,
        "raw" if raw else "rollups",
        notes,
        "calls",
    )


def dids_report(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=False)


def dids_raw(engine: Engine, request: ReportRequest) -> Report:
    return _run(engine, request, raw=True)


register(
    ReportSpec(
        "dids",
        "DIDs and campaigns",
        "Calls, unique and first-time callers, answered, abandoned, average wait, dispositions "
        "and conversions per DID and campaign, against the period before",
        dids_report,
        dids_raw,
    )
)

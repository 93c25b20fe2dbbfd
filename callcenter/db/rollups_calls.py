"""The roll-ups the queue, agent and DID reports read: additive figures per tenant, per 15-minute
UTC bucket and per queue / agent / DID+campaign, recomputed from the raw CDR rows.

Every figure here is a count, a sum or a maximum, so the figures of any set of buckets are the
SUM (or MAX) of its rows. What is not additive (unique callers) is counted from the raw rows;
first-time callers come from ``did_first_callers`` (the first call of each caller to each
DID+campaign), kept beside the roll-ups.

``Cube`` below is the one query builder both ways use: the same per-row figures (a SELECT over
the raw rows) are either grouped by 15-minute bucket into a roll-up table (the refresher) or
grouped straight by the report's buckets (the ``raw`` report functions), so the roll-up report
and the raw GROUP BY agree exactly by construction, and the tests and the benchmark check it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Index,
    Integer,
    Select,
    String,
    Table,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db.models import Base
from callcenter.db.types import UtcDateTime

__all__ = [
    "ABANDON_SHORT_SECONDS",
    "SL_SECONDS",
    "AgentRollup",
    "AgentStateRollup",
    "Cube",
    "DidCodeRollup",
    "DidFirstCaller",
    "DidRollup",
    "QueueRollup",
    "bucket15",
    "ceil_hour",
    "epoch_ms",
    "floor_hour",
    "from_epoch_ms",
    "ms_between",
    "next_month",
    "runs",
    "table_of",
]

# The thresholds whose counts the queue roll-up keeps (any other is answered from raw rows).
SL_SECONDS = (10, 15, 20, 30, 60, 120)
ABANDON_SHORT_SECONDS = (3, 5, 10)


def _key(length: int = 64) -> Mapped[str]:
    return mapped_column(String(length), primary_key=True)


def _level() -> Mapped[int]:
    """15: a 15-minute bucket; 60: the sum of a whole UTC hour's 15-minute rows; 1440: the
    sum of a UTC day's hour rows; MONTH: the sum of a UTC month's day rows."""
    return mapped_column(Integer, primary_key=True)


def _n() -> Mapped[int]:
    return mapped_column(BigInteger, default=0)


class QueueRollup(Base):
    """Stays in a queue (queue_waits), by the bucket of the call's start."""

    __tablename__ = "rollup_queue_15m"

    tenant: Mapped[str] = _key()
    minutes: Mapped[int] = _level()
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    queue: Mapped[str] = _key()
    offered: Mapped[int] = _n()
    answered: Mapped[int] = _n()
    abandoned: Mapped[int] = _n()
    aband_in_3: Mapped[int] = _n()
    aband_in_5: Mapped[int] = _n()
    aband_in_10: Mapped[int] = _n()
    ans_in_10: Mapped[int] = _n()
    ans_in_15: Mapped[int] = _n()
    ans_in_20: Mapped[int] = _n()
    ans_in_30: Mapped[int] = _n()
    ans_in_60: Mapped[int] = _n()
    ans_in_120: Mapped[int] = _n()
    answered_wait_ms: Mapped[int] = _n()
    talk_ms: Mapped[int] = _n()
    hold_ms: Mapped[int] = _n()
    max_wait_ms: Mapped[int] = _n()
    callbacks_requested: Mapped[int] = _n()
    callbacks_completed: Mapped[int] = _n()
    overflow_out: Mapped[int] = _n()
    overflow_in: Mapped[int] = _n()
    moved_out: Mapped[int] = _n()  # callers a supervisor moved elsewhere while they waited
    # The agents' wrap-up after the queue's answered calls (wrap_up states naming the call).
    wrap_ms: Mapped[int] = _n()


class AgentRollup(Base):
    """Offers (agent legs) and calls of an agent, by the bucket of the call's start and the
    queue of the call ('' for none), so that a report can keep to one queue's calls."""

    __tablename__ = "rollup_agent_15m"

    tenant: Mapped[str] = _key()
    minutes: Mapped[int] = _level()
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    agent: Mapped[str] = _key()
    queue: Mapped[str] = _key()
    offered: Mapped[int] = _n()
    answered: Mapped[int] = _n()
    missed: Mapped[int] = _n()
    rejected: Mapped[int] = _n()
    talk_ms: Mapped[int] = _n()
    hold_ms: Mapped[int] = _n()
    qa_sum: Mapped[int] = _n()
    qa_count: Mapped[int] = _n()
    dispositions: Mapped[int] = _n()
    outbound: Mapped[int] = _n()


class AgentStateRollup(Base):
    """Time in each state (and reason) of an agent, by the bucket the state began in."""

    __tablename__ = "rollup_agent_state_15m"

    tenant: Mapped[str] = _key()
    minutes: Mapped[int] = _level()
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    agent: Mapped[str] = _key()
    status: Mapped[str] = _key(16)
    reason: Mapped[str] = _key(128)
    times: Mapped[int] = _n()
    duration_ms: Mapped[int] = _n()


class DidRollup(Base):
    """Calls to a DID (and its campaign label, '' when none), by the bucket of their start."""

    __tablename__ = "rollup_did_15m"

    tenant: Mapped[str] = _key()
    minutes: Mapped[int] = _level()
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    did: Mapped[str] = _key()
    campaign: Mapped[str] = _key(128)
    calls: Mapped[int] = _n()
    answered: Mapped[int] = _n()
    abandoned: Mapped[int] = _n()
    wait_ms: Mapped[int] = _n()
    waited: Mapped[int] = _n()
    # Callers whose first call ever to this DID+campaign is in the bucket (from
    # did_first_callers, so additive: each caller has one first call).
    first_callers: Mapped[int] = _n()


class DidCodeRollup(Base):
    """Dispositions of the calls to a DID, per code."""

    __tablename__ = "rollup_did_code_15m"

    tenant: Mapped[str] = _key()
    minutes: Mapped[int] = _level()
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    did: Mapped[str] = _key()
    campaign: Mapped[str] = _key(128)
    code: Mapped[str] = _key()
    calls: Mapped[int] = _n()


class DidFirstCaller(Base):
    """The first call of each caller to each DID+campaign: first-time callers of a period are
    the rows whose ``first_at`` falls in it (an index range, not a scan of all history)."""

    __tablename__ = "did_first_callers"

    tenant: Mapped[str] = _key()
    did: Mapped[str] = _key()
    campaign: Mapped[str] = _key(128)
    caller_number: Mapped[str] = _key()
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_did_first_callers_first", "tenant", "first_at"),)


# Raw rows: the calls' index for the raw GROUP BYs and the unique-caller counts.
# (tenant, started_at, did, campaign, caller_number): unique callers of a period are an
# index-only scan.
_calls = Base.metadata.tables["calls"]
Index("ix_calls_tenant_started", _calls.c.tenant, _calls.c.started_at, _calls.c.did,
      _calls.c.campaign, _calls.c.caller_number)  # fmt: skip
# The agent states of a period (state time, wrap-ups): a range of one tenant's times.
_states = Base.metadata.tables["agent_states"]
Index("ix_agent_states_tenant_at", _states.c.tenant, _states.c.at)


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# -- expressions that differ between PostgreSQL and SQLite -------------------------------------


MONTH = 44640  # the level of a calendar month's rows (31 days of minutes: only a tag)


def bucket15(dialect: Dialect, at: ColumnElement[Any], seconds: int = 900) -> ColumnElement[Any]:
    """The 15-minute (or ``seconds``, or the UTC month for MONTH * 60) bucket start of a time,
    in SQL."""
    if seconds == MONTH * 60:
        if dialect.name == "postgresql":
            return func.timezone("UTC", func.date_trunc("month", func.timezone("UTC", at)))
        return func.strftime("%Y-%m-01 00:00:00.000000", at)
    if dialect.name == "postgresql":
        return func.to_timestamp(func.floor(func.extract("epoch", at) / seconds) * seconds)
    epoch = cast(func.strftime("%s", at), Integer)
    return func.strftime(
        "%Y-%m-%d %H:%M:%S.000000", literal_column("0") + epoch / seconds * seconds, "unixepoch"
    )


DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    hour = floor_hour(at)
    return hour if hour == at else hour + HOUR


def floor_day(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(at: datetime) -> datetime:
    day = floor_day(at)
    return day if day == at else day + DAY


def floor_month(at: datetime) -> datetime:
    return floor_day(at).replace(day=1)


def next_month(at: datetime) -> datetime:
    """The start of the UTC month after the one ``at`` is in."""
    return floor_month(floor_month(at) + timedelta(days=32))


def ceil_month(at: datetime) -> datetime:
    month = floor_month(at)
    if month == at:
        return month
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def pieces(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime, int]]:
    """[lo, hi) as the roll-up rows that cover it: whole UTC months from the month rows, whole
    UTC days from the day rows, whole UTC hours from the hour rows, the ragged ends from the
    15-minute rows. (start, end, level) with level 15, 60, 1440 or MONTH."""
    m0, m1 = ceil_month(lo), floor_month(hi)
    if m0 < m1:
        return [*pieces(lo, m0), (m0, m1, MONTH), *pieces(m1, hi)]
    d0, d1 = ceil_day(lo), floor_day(hi)
    if d0 < d1:
        return [*_hours(lo, d0), (d0, d1, 1440), *_hours(d1, hi)]
    return _hours(lo, hi)


def _hours(lo: datetime, hi: datetime) -> list[tuple[datetime, datetime, int]]:
    """[lo, hi) (less than a day) as hour rows and 15-minute rows: a local day in a zone
    that is not UTC reads 24 hour rows, not 96 quarter-hour ones."""
    if lo >= hi:
        return []
    h0, h1 = ceil_hour(lo), floor_hour(hi)
    if h0 >= h1:
        return [(lo, hi, 15)]
    out = [(lo, h0, 15)] if lo < h0 else []
    out.append((h0, h1, 60))
    if h1 < hi:
        out.append((h1, hi, 15))
    return out


def epoch_ms(dialect: Dialect, at: ColumnElement[Any]) -> ColumnElement[Any]:
    """Milliseconds since 1970 (with their fraction) of a time, in SQL."""
    if dialect.name == "postgresql":
        return func.extract("epoch", at) * 1000
    return (func.julianday(at) - 2440587.5) * 86_400_000.0


def from_epoch_ms(dialect: Dialect, ms: ColumnElement[Any]) -> ColumnElement[Any]:
    """The time of a count of milliseconds since 1970, in SQL (SQLite: as the times are
    stored, six digits of fraction, so that text comparisons order them)."""
    if dialect.name == "postgresql":
        return func.to_timestamp(ms / 1000.0)
    return func.strftime("%Y-%m-%d %H:%M:%f", ms / 1000.0, "unixepoch").concat("000")


def runs(starts: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """15-minute bucket starts as ranges [lo, hi) of adjacent buckets."""
    step = timedelta(minutes=15)
    ordered = sorted(set(starts))
    out: list[tuple[datetime, datetime]] = []
    for start in ordered:
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + step)
        else:
            out.append((start, start + step))
    return out


def ms_between(
    dialect: Dialect, a: ColumnElement[Any], b: ColumnElement[Any]
) -> ColumnElement[Any]:
    """Whole milliseconds from ``a`` to ``b`` (NULL when either is)."""
    if dialect.name == "postgresql":
        return cast(func.round(func.extract("epoch", b - a) * 1000), BigInteger)
    return cast(func.round((func.julianday(b) - func.julianday(a)) * 86_400_000), BigInteger)


# -- one query builder for roll-ups and raw reports --------------------------------------------


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str = "sum"  # sum or max


# (dialect, tenant or None, start, end) -> a SELECT of the raw rows with columns: tenant, at
# (the time that buckets the row), the key columns, then one column per measure.
SourceFn = Callable[[Dialect, str | None, datetime, datetime], Select[Any]]


@dataclass(frozen=True)
class Cube:
    table: Table
    keys: tuple[str, ...]
    measures: tuple[Measure, ...]
    source: SourceFn

    def _agg(self, column: ColumnElement[Any], measure: Measure) -> ColumnElement[Any]:
        if measure.agg == "max":
            return func.coalesce(func.max(column), 0)
        return func.coalesce(func.sum(column), 0)

    def rebuild(self, conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
        """Rewrite the 15-minute rows of [lo, hi) (15-minute aligned) in one INSERT … SELECT
        from the raw rows, then the day rows of the UTC days it touches from those."""
        table = self.table
        keys = [*self.keys, *(m.name for m in self.measures)]
        levels = (
            (15, 15, lo, hi),
            (60, 15, floor_hour(lo), ceil_hour(hi)),
            (1440, 60, floor_day(lo), ceil_day(hi)),
            (MONTH, 1440, floor_month(lo), ceil_month(hi)),
        )
        for level, below, a, b in levels:
            gone = delete(table).where(
                table.c.minutes == level, table.c.bucket_start >= a, table.c.bucket_start < b
            )
            if tenant is not None:
                gone = gone.where(table.c.tenant == tenant)
            conn.execute(gone)
            if level == 15:
                src = self.source(conn.dialect, tenant, a, b).subquery("src")
                aggs = [self._agg(src.c[m.name], m).label(m.name) for m in self.measures]
            else:
                lower = (
                    select(table)
                    .where(table.c.minutes == below, table.c.bucket_start >= a)
                    .where(table.c.bucket_start < b)
                )
                if tenant is not None:
                    lower = lower.where(table.c.tenant == tenant)
                src = lower.subquery("src")
                aggs = [
                    (func.max if m.agg == "max" else func.sum)(src.c[m.name]).label(m.name)
                    for m in self.measures
                ]
            at = src.c.at if level == 15 else src.c.bucket_start
            bucket = bucket15(conn.dialect, at, level * 60).label("bucket_start")
            grouped = select(
                src.c.tenant,
                literal(level).label("minutes"),
                bucket,
                *(src.c[k] for k in self.keys),
                *aggs,
            ).group_by(src.c.tenant, bucket, *(src.c[k] for k in self.keys))
            conn.execute(
                insert(table).from_select(["tenant", "minutes", "bucket_start", *keys], grouped)
            )

    def refresh(self, conn: Connection, tenant: str, starts: Sequence[datetime]) -> None:
        """Rewrite the given buckets (runs of adjacent buckets go as one range)."""
        for lo, hi in runs(starts):
            self.rebuild(conn, tenant, lo, hi)

    def query(
        self,
        dialect: Dialect,
        tenant: str,
        spans: Sequence[tuple[datetime, datetime]],
        where: Callable[[FromClause], list[ColumnElement[bool]]],
        *,
        raw: bool,
        extra_keys: Sequence[str] = (),
        rename: dict[str, str] | None = None,
    ) -> Select[Any]:
        """Rows of (span index, keys..., measures...) over ``spans`` (the report's buckets,
        UTC), from the roll-up table or (``raw``) straight from the raw rows. ``where`` gives
        the filters on the key columns of either."""
        lo, hi = spans[0][0], spans[-1][1]
        if raw:
            frm: FromClause = self.source(dialect, tenant, lo, hi).subquery("src")
            at = frm.c.at
            aggs = [self._agg(frm.c[m.name], m).label(m.name) for m in self.measures]
        else:
            frm = self.table
            at = frm.c.bucket_start
            names = rename or {}
            aggs = [
                (func.max if m.agg == "max" else func.sum)(frm.c[names.get(m.name, m.name)]).label(
                    m.name
                )
                for m in self.measures
            ]
        keys = [frm.c[k] for k in (*self.keys, *extra_keys)]
        conds: list[ColumnElement[bool]] = [frm.c.tenant == tenant, at >= lo, at < hi]
        conds += where(frm)
        if raw:
            parts = [(i, a, b, 0) for i, (a, b) in enumerate(spans)]
        else:
            parts = [(i, *p) for i, (a, b) in enumerate(spans) for p in pieces(a, b)]
        if len(spans) == 1:
            index: ColumnElement[Any] = literal(0).label("idx")
            if not raw:
                conds.append(
                    or_(
                        *(and_(frm.c.minutes == level, at >= a, at < b) for _, a, b, level in parts)
                    )
                )
            stmt = select(index, *keys, *aggs).where(*conds).group_by(*keys)
        else:
            rows = [
                select(
                    literal(i).label("idx"),
                    literal(a, UtcDateTime()).label("lo"),
                    literal(b, UtcDateTime()).label("hi"),
                    literal(level).label("minutes"),
                )
                for i, a, b, level in parts
            ]
            spans_t = union_all(*rows).subquery("spans")
            on = and_(at >= spans_t.c.lo, at < spans_t.c.hi)
            if not raw:
                on = and_(on, frm.c.minutes == spans_t.c.minutes)
            stmt = (
                select(spans_t.c.idx, *keys, *aggs)
                .select_from(frm.join(spans_t, on))
                .where(*conds)
                .group_by(spans_t.c.idx, *keys)
            )
        return stmt


def in_or_all(column: ColumnElement[Any], values: Sequence[str]) -> list[ColumnElement[bool]]:
    return [column.in_(values)] if values else []


def is_one_of(column: ColumnElement[Any], values: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(column == v for v in values))


# -- what the three report modules share ----------------------------------------------------

Figures = dict[str, int]
Fetched = dict[int, dict[tuple[str, ...], Figures]]


def fetch(
    conn: Connection,
    cube: Cube,
    tenant: str,
    spans: Sequence[tuple[datetime, datetime]],
    where: Callable[[FromClause], list[ColumnElement[bool]]],
    *,
    raw: bool,
    extra_keys: Sequence[str] = (),
    rename: dict[str, str] | None = None,
) -> Fetched:
    """{span index: {key: figures}} for the report's spans."""
    out: Fetched = {}
    if not spans:
        return out
    stmt = cube.query(
        conn.dialect, tenant, spans, where, raw=raw, extra_keys=extra_keys, rename=rename
    )
    width = len(cube.keys) + len(extra_keys)
    for row in conn.execute(stmt):
        key = tuple("" if v is None else str(v) for v in row[1 : 1 + width])
        figures = {
            m.name: int(v or 0) for m, v in zip(cube.measures, row[1 + width :], strict=True)
        }
        out.setdefault(int(row[0]), {})[key] = figures
    return out


def combine(cube: Cube, parts: Sequence[Figures]) -> Figures:
    """The figures of several rows as one (sums, and maxima for the max measures)."""
    total: Figures = {m.name: 0 for m in cube.measures}
    for part in parts:
        for m in cube.measures:
            value = part.get(m.name, 0)
            total[m.name] = max(total[m.name], value) if m.agg == "max" else total[m.name] + value
    return total


def require_known(
    conn: Connection, table: Table, column: str, tenant: str, names: Sequence[str], what: str
) -> None:
    """Each name must have been seen in ``table`` for the tenant, else UnknownNameError."""
    from callcenter.reports.errors import UnknownNameError

    for name in names:
        found = conn.execute(
            select(literal(1))
            .select_from(table)
            .where(table.c.tenant == tenant, table.c[column] == name)
            .limit(1)
        ).first()
        if found is None:
            raise UnknownNameError(
                f"no {what} {name!r} in tenant {tenant!r}: check the spelling", name=name
            )


def ratio(part: int | float, whole: int | float, scale: float = 1.0) -> float | None:
    return None if not whole else round(part * scale / whole, 2)


# The sets of callers per DID are a roll-up of their own, built on this module's helpers: its
# tables join the metadata with these (imported last, when this module is complete).
from callcenter.db import rollups_callers as _rollups_callers  # noqa: E402, F401

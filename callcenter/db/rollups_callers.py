"""Unique callers per DID and campaign, exact over any period, from roll-ups.

A distinct count is not a sum: the unique callers of a month are not the sum of its days'. So
this roll-up keeps the sets themselves. Each caller number of a tenant gets a small integer
(``caller_numbers``), and every 15-minute bucket, UTC hour, UTC day and UTC month keeps, per
DID and campaign, the set of its callers' integers as a compressed bitmap (a roaring bitmap: sorted
16-bit arrays, bitsets or runs per block of 65 536 integers, a few bytes per caller). The
unique callers of a period are the size of the union of the sets that cover it (the pieces of
``rollups_calls.pieces``: whole months, days and hours, the 15-minute ends), so a year in a
time zone that is not UTC reads about 65 small sets per DID, not every call of the year; and the
figure is the same as ``count(DISTINCT caller_number)`` over the raw calls (the tests and the
benchmark check it). Calls without a caller number are in no set, as count(DISTINCT) skips
NULL.

Kept like the other roll-ups: a bucket is rewritten from the raw calls (never added to), then
the days and months it is part of from the sets below them; rewriting twice writes the same sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pyroaring import BitMap
from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.db.models import Base, Call
from callcenter.db.rollups_calls import (
    MONTH,
    bucket15,
    ceil_day,
    ceil_hour,
    ceil_month,
    floor_day,
    floor_hour,
    floor_month,
    in_or_all,
    next_month,
    pieces,
    runs,
    table_of,
)
from callcenter.db.types import UtcDateTime, dialect_insert

__all__ = [
    "CallerNumber",
    "DidCallers",
    "rebuild_did_callers",
    "refresh_did_callers",
    "unique_callers",
]

_INSERT_ROWS = 5_000  # rows of sets per INSERT


class CallerNumber(Base):
    """A tenant's caller number and the integer that stands for it in the sets."""

    __tablename__ = "caller_numbers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("tenant", "caller_number", name="uq_caller_numbers_tenant_number"),
    )


class DidCallers(Base):
    """The callers of a DID+campaign in a bucket (15 minutes, a UTC day or a UTC month)."""

    __tablename__ = "rollup_did_callers_15m"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, primary_key=True)  # 15, 1440 or MONTH
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    did: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(128), primary_key=True)
    callers: Mapped[int] = mapped_column(BigInteger)  # the set's size
    caller_set: Mapped[bytes] = mapped_column(LargeBinary)  # a serialized roaring bitmap


_SETS, _NUMBERS = table_of(DidCallers), table_of(CallerNumber)
Key = tuple[str, datetime, str, str]  # tenant, bucket start, DID, campaign


def _months(lo: datetime, hi: datetime) -> Iterator[tuple[datetime, datetime]]:
    """[lo, hi) cut at the UTC month starts: a year is rewritten a month at a time, so that
    the sets in memory stay those of one month."""
    while lo < hi:
        edge = min(next_month(lo), hi)
        yield lo, edge
        lo = edge


def _number_callers(conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
    """Give an integer to every caller number of [lo, hi) that has none yet. Only the new ones
    are proposed (a proposed row that conflicts would still use up a sequence value)."""
    c, n = table_of(Call), _NUMBERS
    new = (
        select(c.c.tenant, c.c.caller_number)
        .distinct()
        .where(
            c.c.did.is_not(None),
            c.c.caller_number.is_not(None),
            c.c.started_at >= lo,
            c.c.started_at < hi,
            ~exists().where(n.c.tenant == c.c.tenant, n.c.caller_number == c.c.caller_number),
        )
    )
    if tenant is not None:
        new = new.where(c.c.tenant == tenant)
    stmt = dialect_insert(conn.dialect, n).from_select(["tenant", "caller_number"], new)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["tenant", "caller_number"]))


def _sets_of_calls(
    conn: Connection, tenant: str | None, lo: datetime, hi: datetime
) -> dict[Key, BitMap]:
    c, n = table_of(Call), _NUMBERS
    bucket = type_coerce(bucket15(conn.dialect, c.c.started_at), UtcDateTime())
    stmt = (
        select(c.c.tenant, bucket, c.c.did, func.coalesce(c.c.campaign, ""), n.c.id)
        .select_from(
            c.join(n, and_(n.c.tenant == c.c.tenant, n.c.caller_number == c.c.caller_number))
        )
        .where(c.c.did.is_not(None), c.c.started_at >= lo, c.c.started_at < hi)
    )
    if tenant is not None:
        stmt = stmt.where(c.c.tenant == tenant)
    members: dict[Key, list[int]] = {}
    for row in conn.execute(stmt.execution_options(yield_per=50_000)):
        key = (row[0], row[1], row[2], row[3])
        found = members.get(key)
        if found is None:
            members[key] = [row[4]]
        else:
            found.append(row[4])
    return {key: BitMap(ids) for key, ids in members.items()}


def _sets_below(
    conn: Connection, tenant: str | None, below: int, level: int, lo: datetime, hi: datetime
) -> dict[Key, BitMap]:
    """The sets of level ``below`` in [lo, hi), merged into the buckets of ``level``."""
    t = _SETS
    stmt = select(t.c.tenant, t.c.bucket_start, t.c.did, t.c.campaign, t.c.caller_set).where(
        t.c.minutes == below, t.c.bucket_start >= lo, t.c.bucket_start < hi
    )
    if tenant is not None:
        stmt = stmt.where(t.c.tenant == tenant)
    floor = {60: floor_hour, 1440: floor_day, MONTH: floor_month}[level]
    parts: dict[Key, list[BitMap]] = {}
    for ten, start, did, campaign, blob in conn.execute(stmt):
        parts.setdefault((ten, floor(start), did, campaign), []).append(BitMap.deserialize(blob))
    return {key: BitMap.union(*sets) for key, sets in parts.items()}


def _write(
    conn: Connection,
    tenant: str | None,
    level: int,
    lo: datetime,
    hi: datetime,
    sets: dict[Key, BitMap],
) -> None:
    t = _SETS
    gone = delete(t).where(t.c.minutes == level, t.c.bucket_start >= lo, t.c.bucket_start < hi)
    if tenant is not None:
        gone = gone.where(t.c.tenant == tenant)
    conn.execute(gone)
    rows: list[dict[str, Any]] = []
    for (ten, start, did, campaign), members in sorted(sets.items()):
        members.run_optimize()
        rows.append(
            {
                "tenant": ten,
                "minutes": level,
                "bucket_start": start,
                "did": did,
                "campaign": campaign,
                "callers": len(members),
                "caller_set": members.serialize(),
            }
        )
        if len(rows) >= _INSERT_ROWS:
            conn.execute(insert(t), rows)
            rows = []
    if rows:
        conn.execute(insert(t), rows)


def rebuild_did_callers(conn: Connection, tenant: str | None, lo: datetime, hi: datetime) -> None:
    """Rewrite the sets of [lo, hi) (15-minute aligned) from the calls, then those of the UTC
    days and months it touches from the sets below them (``tenant`` None: every tenant)."""
    _number_callers(conn, tenant, lo, hi)
    for a, b in _months(lo, hi):
        _write(conn, tenant, 15, a, b, _sets_of_calls(conn, tenant, a, b))
    for level, below, start, end in (
        (60, 15, floor_hour(lo), ceil_hour(hi)),
        (1440, 60, floor_day(lo), ceil_day(hi)),
        (MONTH, 1440, floor_month(lo), ceil_month(hi)),
    ):
        for a, b in _months(start, end):
            _write(conn, tenant, level, a, b, _sets_below(conn, tenant, below, level, a, b))


def refresh_did_callers(conn: Connection, tenant: str, starts: Sequence[datetime]) -> None:
    """Rewrite the given 15-minute buckets (runs of adjacent ones as one range)."""
    for lo, hi in runs(starts):
        rebuild_did_callers(conn, tenant, lo, hi)


def unique_callers(
    conn: Connection,
    tenant: str,
    spans: Sequence[tuple[datetime, datetime]],
    dids: Sequence[str],
) -> dict[int, dict[tuple[str, ...], int]]:
    """{span index: {(DID, campaign): unique callers}} over the report's spans (UTC), from the
    sets of the pieces that cover each span."""
    if not spans:
        return {}
    t = _SETS
    parts = union_all(
        *(
            select(
                literal(i).label("idx"),
                literal(a, UtcDateTime()).label("lo"),
                literal(b, UtcDateTime()).label("hi"),
                literal(level).label("minutes"),
            )
            for i, (lo, hi) in enumerate(spans)
            for a, b, level in pieces(lo, hi)
        )
    ).subquery("pieces")
    stmt = (
        select(parts.c.idx, t.c.did, t.c.campaign, t.c.callers, t.c.caller_set)
        .select_from(
            t.join(
                parts,
                and_(
                    t.c.minutes == parts.c.minutes,
                    t.c.bucket_start >= parts.c.lo,
                    t.c.bucket_start < parts.c.hi,
                ),
            )
        )
        .where(t.c.tenant == tenant, *in_or_all(t.c.did, dids))
    )
    found: dict[tuple[int, str, str], list[tuple[int, bytes]]] = {}
    for idx, did, campaign, size, blob in conn.execute(stmt):
        found.setdefault((int(idx), did, campaign), []).append((int(size), blob))
    out: dict[int, dict[tuple[str, ...], int]] = {}
    for (idx, did, campaign), sets in found.items():
        if len(sets) == 1:
            size = sets[0][0]  # one piece: its size is kept beside it
        else:
            size = len(BitMap.union(*(BitMap.deserialize(blob) for _, blob in sets)))
        out.setdefault(idx, {})[(did, campaign)] = size
    return out

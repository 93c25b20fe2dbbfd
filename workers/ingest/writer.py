"""Write one batch in one transaction, merged into what the database already holds.

On PostgreSQL each table's rows are COPYed (CSV) into a temporary table of the same columns,
times as epoch milliseconds, and merged with one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``:
COPY is the fast way in, and the merge makes the same call written again (two controllers
reporting one leg, a call spread over two batches) change nothing it should not. Agent states
are named by their Stream entry, which the tenant's ingest cursor (``ingest_cursors``, moved in
the same transaction) has never passed: they go in without a conflict check. On SQLite (the
demo) the same merge is an executemany upsert.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from callcenter.db.models import (
    AgentStateChange,
    Call,
    CallLeg,
    IngestCursor,
    QueueWait,
    Recording,
)
from workers.ingest.batch import AGENT_STATE_COLUMNS, CALL_FIRST, WAIT_FIRST, Batch, Row

__all__ = ["CursorMoved", "IngestCursorMove", "read_cursor", "write_batch"]


class CursorMoved(Exception):
    """Another ingest of the tenant committed meanwhile (its lock had lapsed): this batch is
    dropped, and its entries stay pending for the next run."""


@dataclass(frozen=True)
class IngestCursorMove:
    tenant: str
    before: str | None  # the cursor this batch was read after (None: no row yet)
    after: str  # the batch's last Stream ID


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


CALLS, LEGS, WAITS = _table(Call), _table(CallLeg), _table(QueueWait)
AGENT_STATES, RECORDINGS, CURSORS = (
    _table(AgentStateChange),
    _table(Recording),
    _table(IngestCursor),
)

# How a batch's rows are merged: update an existing row (last non-null value wins, except the
# "first" columns), or leave it alone.
_UPDATE, _KEEP, _NEW = "update", "keep", "new"


def _keys(table: Table) -> list[str]:
    """What names a row: the primary key, but a recording is its call's (id is a counter)."""
    if table is RECORDINGS:
        return ["call_uuid"]
    return [c.name for c in table.primary_key.columns]


def read_cursor(engine: Engine, tenant: str) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(CURSORS.c.last_id).where(CURSORS.c.tenant == tenant)
        ).scalar_one_or_none()
    return str(value) if value is not None else None


def write_batch(
    engine: Engine,
    batch: Batch,
    *,
    cursor: IngestCursorMove | None = None,
    now: datetime | None = None,
) -> None:
    """Everything the batch touched, and the cursor, committed together or not at all."""
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    recordings: list[Row] = [
        {"call_uuid": call, "tenant": batch.tenant, "source_path": path, "status": "pending",
         "attempts": 0, "created_at": now_ms}
        for call, path in batch.recordings.items()
    ]  # fmt: skip
    states = [dict(zip(AGENT_STATE_COLUMNS, r, strict=True)) for r in batch.agent_states.values()]
    with engine.begin() as conn:
        if cursor is not None:
            _move_cursor(conn, cursor, now_ms)
        merge = _copy_merge if conn.dialect.name == "postgresql" else _upsert
        merge(conn, CALLS, list(batch.calls.values()), CALL_FIRST, _UPDATE)
        merge(conn, LEGS, list(batch.legs.values()), frozenset(), _UPDATE)
        merge(conn, WAITS, list(batch.waits.values()), WAIT_FIRST, _UPDATE)
        merge(conn, RECORDINGS, recordings, frozenset(), _KEEP)
        merge(conn, AGENT_STATES, states, frozenset(), _NEW if cursor is not None else _KEEP)


def _move_cursor(conn: Connection, move: IngestCursorMove, now_ms: int) -> None:
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if move.before is None:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        done = conn.execute(
            insert(CURSORS)
            .values(tenant=move.tenant, last_id=move.after, updated_at=now)
            .on_conflict_do_nothing(index_elements=["tenant"])
        )
    else:
        done = conn.execute(
            update(CURSORS)
            .where(CURSORS.c.tenant == move.tenant, CURSORS.c.last_id == move.before)
            .values(last_id=move.after, updated_at=now)
        )
    if done.rowcount != 1:
        raise CursorMoved(move.tenant)


def _columns(table: Table, rows: Iterable[Row]) -> list[str]:
    seen: set[str] = set()
    for row in rows:
        seen.update(row)
    return [c.name for c in table.columns if c.name in seen]


def _is_time(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, DateTime)


def _upsert(
    conn: Connection, table: Table, rows: Sequence[Row], first: frozenset[str], how: str
) -> None:
    if not rows:
        return
    columns = _columns(table, rows)
    times = {name for name in columns if _is_time(table, name)}
    full = [
        {
            name: (
                datetime.fromtimestamp(row[name] / 1000, tz=UTC)
                if name in times and row.get(name) is not None
                else row.get(name)
            )
            for name in columns
        }
        for row in rows
    ]
    stmt = sqlite_insert(table)
    keys = _keys(table)
    sets: dict[str, Any] = {}
    for name in columns:
        if name not in keys:
            old, new = table.c[name], stmt.excluded[name]
            sets[name] = func.coalesce(old, new) if name in first else func.coalesce(new, old)
    if how == _UPDATE and sets:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=sets)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, full)


def _stage(conn: Connection, table: Table) -> str:
    """The session's staging table of ``table``: its columns, times as epoch-ms bigints, no
    constraints (a serial id stays NULL there); emptied at every commit."""
    stage = f"cc_stage_{table.name}"
    columns = ", ".join(
        f'"{c.name}" {"bigint" if _is_time(table, c.name) else c.type.compile(conn.dialect)}'
        for c in table.columns
    )
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ({columns}) ON COMMIT DELETE ROWS'
    )
    return stage


def _copy_merge(
    conn: Connection, table: Table, rows: Sequence[Row], first: frozenset[str], how: str
) -> None:
    if not rows:
        return
    columns = _columns(table, rows)
    stage = _stage(conn, table)
    buf = io.StringIO()
    # CSV: None (and an empty string) arrive as NULL.
    csv.writer(buf, lineterminator="\n").writerows([row.get(c) for c in columns] for row in rows)
    buf.seek(0)
    quoted = ", ".join(f'"{c}"' for c in columns)
    cur: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.copy_expert(f'COPY "{stage}" ({quoted}) FROM STDIN WITH (FORMAT csv)', buf)
    finally:
        cur.close()
    values = ", ".join(
        f'to_timestamp("{c}" / 1000.0)' if _is_time(table, c) else f'"{c}"' for c in columns
    )
    keys = _keys(table)
    sets = []
    for name in columns:
        if name in keys:
            continue
        if name in first:
            sets.append(f'"{name}" = COALESCE("{table.name}"."{name}", EXCLUDED."{name}")')
        else:
            sets.append(f'"{name}" = COALESCE(EXCLUDED."{name}", "{table.name}"."{name}")')
    conflict = ", ".join(f'"{k}"' for k in keys)
    if how == _NEW:
        action = ""
    elif how == _UPDATE and sets:
        action = f" ON CONFLICT ({conflict}) DO UPDATE SET {', '.join(sets)}"
    else:
        action = f" ON CONFLICT ({conflict}) DO NOTHING"
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {values} FROM "{stage}"{action}'
    )

"""Write one batch in one transaction, merged into what the database already holds.

On PostgreSQL each table's rows are COPYed into a temporary table and merged with one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE``: COPY is the fast way in, the merge makes a
repeated batch (a retried task, a worker killed before it acknowledged) change nothing. On
SQLite (the demo) the same merge is an executemany upsert.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from callcenter.db.models import AgentStateChange, Call, CallLeg, QueueWait, Recording
from workers.ingest.batch import CALL_FIRST, WAIT_FIRST, Batch, Row

__all__ = ["write_batch"]


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# table, columns that keep their first value, whether an existing row is updated at all
_PLAN: tuple[tuple[Table, frozenset[str], bool], ...] = (
    (_table(Call), CALL_FIRST, True),
    (_table(CallLeg), frozenset(), True),
    (_table(QueueWait), WAIT_FIRST, True),
    (_table(AgentStateChange), frozenset(), False),
)


def _rows_of(batch: Batch, table: Table) -> Sequence[Row]:
    if table.name == "calls":
        return list(batch.calls.values())
    if table.name == "call_legs":
        return list(batch.legs.values())
    if table.name == "queue_waits":
        return list(batch.waits.values())
    return list(batch.agent_states.values())


def write_batch(engine: Engine, batch: Batch, *, now: datetime | None = None) -> None:
    """Everything the batch touched, committed together or not at all."""
    with engine.begin() as conn:
        for table, first, update in _PLAN:
            rows = _rows_of(batch, table)
            if not rows:
                continue
            if conn.dialect.name == "postgresql":
                _copy_merge(conn, table, rows, first, update)
            else:
                _upsert(conn, table, rows, first, update)
        if batch.recordings:
            _pending_recordings(conn, batch, now or datetime.now(UTC))


def _columns(table: Table, rows: Iterable[Row]) -> list[str]:
    seen: set[str] = set()
    for row in rows:
        seen.update(row)
    return [c.name for c in table.columns if c.name in seen]


def _set_clause(
    table: Table, columns: list[str], first: frozenset[str], excluded: Any
) -> dict[str, Any]:
    keys = {c.name for c in table.primary_key.columns}
    out: dict[str, Any] = {}
    for name in columns:
        if name in keys:
            continue
        old, new = table.c[name], excluded[name]
        out[name] = func.coalesce(old, new) if name in first else func.coalesce(new, old)
    return out


def _upsert(
    conn: Connection, table: Table, rows: Sequence[Row], first: frozenset[str], update: bool
) -> None:
    columns = _columns(table, rows)
    full = [{name: row.get(name) for name in columns} for row in rows]
    stmt = sqlite_insert(table)
    keys = [c.name for c in table.primary_key.columns]
    sets = _set_clause(table, columns, first, stmt.excluded)
    if update and sets:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_=sets)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, full)


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if any(ch in text for ch in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _copy_merge(
    conn: Connection, table: Table, rows: Sequence[Row], first: frozenset[str], update: bool
) -> None:
    columns = _columns(table, rows)
    stage = f"cc_stage_{table.name}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    buf = io.StringIO()
    buf.writelines("\t".join([_copy_text(row.get(c)) for c in columns]) + "\n" for row in rows)
    buf.seek(0)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cur: Any = raw.cursor()  # psycopg2: copy_expert is not in the DBAPI types
    try:
        cur.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" (LIKE "{table.name}") ON COMMIT DELETE ROWS'
        )
        cur.copy_expert(f'COPY "{stage}" ({quoted}) FROM STDIN', buf)
        keys = [c.name for c in table.primary_key.columns]
        conflict = ", ".join(f'"{k}"' for k in keys)
        sets = []
        for name in columns:
            if name in keys:
                continue
            if name in first:
                sets.append(f'"{name}" = COALESCE("{table.name}"."{name}", EXCLUDED."{name}")')
            else:
                sets.append(f'"{name}" = COALESCE(EXCLUDED."{name}", "{table.name}"."{name}")')
        action = f"DO UPDATE SET {', '.join(sets)}" if update and sets else "DO NOTHING"
        cur.execute(
            f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{stage}" '
            f"ON CONFLICT ({conflict}) {action}"
        )
    finally:
        cur.close()


def _pending_recordings(conn: Connection, batch: Batch, now: datetime) -> None:
    """A row per recording the switch started, so a file that never gets processed shows."""
    rows = [
        {
            "call_uuid": call,
            "tenant": batch.tenant,
            "source_path": path,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for call, path in batch.recordings.items()
    ]
    table = _table(Recording)
    if conn.dialect.name == "postgresql":
        conn.execute(pg_insert(table).on_conflict_do_nothing(index_elements=["call_uuid"]), rows)
    else:
        conn.execute(
            sqlite_insert(table).on_conflict_do_nothing(index_elements=["call_uuid"]), rows
        )

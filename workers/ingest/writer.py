"""Write one batch in one transaction, merged into what the database already holds.

On PostgreSQL each table's rows are COPYed (text format, the batch's rows joined as they are)
into a temporary table of the same columns, times as epoch milliseconds, and merged with one
``INSERT ... SELECT ... ON CONFLICT DO UPDATE``: COPY is the fast way in, and the merge makes
the same call written again (two controllers reporting one leg, a call spread over two batches)
change nothing it should not. The merges of all tables go in one round trip, and the temporary
tables are made once per database session. Agent states are named by their Stream entry, which
the tenant's ingest cursor (``ingest_cursors``, moved in the same transaction) has never
passed: they go in without a conflict check. On SQLite (the demo) the same merge is an
executemany upsert.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from callcenter.db.models import (
    AgentStateChange,
    Call,
    CallLeg,
    IngestCursor,
    QueueWait,
    Recording,
)
from callcenter.db.types import dialect_insert, is_time
from workers.ingest.batch import (
    AGENT_STATE_COLUMNS,
    CALL_COLUMNS,
    CALL_FIRST,
    LEG_COLUMNS,
    WAIT_COLUMNS,
    WAIT_FIRST,
    Batch,
    Row,
    typed,
)

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
RECORDING_COLUMNS = ("call_uuid", "tenant", "source_path", "status", "attempts", "created_at")

# How a batch's rows are merged: update an existing row (last non-null value wins, except the
# "first" columns), or leave it alone.
_UPDATE, _KEEP, _NEW = "update", "keep", "new"


@dataclass(frozen=True)
class _Merge:
    """How one table's rows of a batch go in: the SQL is made once, not per batch."""

    table: Table
    columns: tuple[str, ...]
    stage: str
    copy: str  # COPY into the staging table
    insert: dict[str, str]  # how -> INSERT ... SELECT from the staging table
    stage_ddl: str  # the staging table, created once per database session


def _keys(table: Table) -> list[str]:
    """What names a row: the primary key, but a recording is its call's (id is a counter)."""
    if table is RECORDINGS:
        return ["call_uuid"]
    return [c.name for c in table.primary_key.columns]


def _merge_sql(table: Table, columns: tuple[str, ...], first: frozenset[str]) -> _Merge:
    assert set(columns) <= set(table.c.keys()), (table.name, columns)
    stage = f"cc_stage_{table.name}"
    # Times go through as epoch-ms bigints (PostgreSQL converts them), no constraints (a serial
    # id stays NULL there); emptied at every commit.
    stage_ddl = ", ".join(
        f'"{c.name}" {"bigint" if is_time(table, c.name) else c.type.compile(_PG)}'
        for c in table.columns
    )
    quoted = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(
        f'to_timestamp("{c}" / 1000.0)' if is_time(table, c) else f'"{c}"' for c in columns
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
    insert = f'INSERT INTO "{table.name}" ({quoted}) SELECT {values} FROM "{stage}"'
    return _Merge(
        table=table,
        columns=columns,
        stage=stage,
        # Text format, an empty field is NULL (the batch's rows have "" for no value).
        copy=f"COPY \"{stage}\" ({quoted}) FROM STDIN WITH (NULL '')",
        insert={
            _NEW: insert,
            _UPDATE: f"{insert} ON CONFLICT ({conflict}) DO UPDATE SET {', '.join(sets)}",
            _KEEP: f"{insert} ON CONFLICT ({conflict}) DO NOTHING",
        },
        stage_ddl=f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" ({stage_ddl}) ON COMMIT DELETE ROWS',
    )


_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_CALLS = _merge_sql(CALLS, CALL_COLUMNS, CALL_FIRST)
_LEGS = _merge_sql(LEGS, LEG_COLUMNS, frozenset())
_WAITS = _merge_sql(WAITS, WAIT_COLUMNS, WAIT_FIRST)
_RECORDINGS = _merge_sql(RECORDINGS, RECORDING_COLUMNS, frozenset())
_AGENT_STATES = _merge_sql(AGENT_STATES, AGENT_STATE_COLUMNS, frozenset())
_ALL = (_CALLS, _LEGS, _WAITS, _RECORDINGS, _AGENT_STATES)
_STAGED = "cc_ingest_staged"  # set in a DBAPI connection's info once its staging tables exist


def read_cursor(engine: Engine, tenant: str) -> str | None:
    with engine.connect() as conn:
        value = conn.execute(
            select(CURSORS.c.last_id).where(CURSORS.c.tenant == tenant)
        ).scalar_one_or_none()
    return str(value) if value is not None else None


def write_batch(
    db: Engine | Connection,
    batch: Batch,
    *,
    cursor: IngestCursorMove | None = None,
    now: datetime | None = None,
) -> None:
    """Everything the batch touched, and the cursor, committed together or not at all (on a
    connection of the engine, or on ``db`` when it is a connection outside a transaction)."""
    if isinstance(db, Engine):
        with db.connect() as conn:
            write_batch(conn, batch, cursor=cursor, now=now)
        return
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    tenant = batch.tenant
    created = str(now_ms)
    recordings: list[Row] = [
        [call, tenant, path, "pending", "0", created] for call, path in batch.recordings.items()
    ]
    # Agent states are named by their Stream entry: behind a cursor move they are new.
    states_how = _NEW if cursor is not None else _KEEP
    parts: list[tuple[_Merge, Sequence[Sequence[str]], frozenset[str], str]] = [
        (_CALLS, list(batch.call_rows.values()), CALL_FIRST, _UPDATE),
        (_LEGS, list(batch.leg_rows.values()), frozenset(), _UPDATE),
        (_WAITS, list(batch.wait_rows.values()), WAIT_FIRST, _UPDATE),
        (_RECORDINGS, recordings, frozenset(), _KEEP),
        (_AGENT_STATES, list(batch.agent_states.values()), frozenset(), states_how),
    ]
    conn = db
    with conn.begin():
        if cursor is not None:
            _move_cursor(conn, cursor, now_ms)
        if conn.dialect.name == "postgresql":
            staged = _copy_merge(conn, [(m, rows, how) for m, rows, _, how in parts])
        else:
            staged = None
            for merge, rows, first, how in parts:
                _upsert(conn, merge.table, merge.columns, rows, first, how)
    if staged is not None:
        staged[_STAGED] = True  # committed: the staging tables stay for the session


def _move_cursor(conn: Connection, move: IngestCursorMove, now_ms: int) -> None:
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if move.before is None:
        done = conn.execute(
            dialect_insert(conn.dialect, CURSORS)
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


def _upsert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    first: frozenset[str],
    how: str,
) -> None:
    if not rows:
        return
    times = [name for name in columns if is_time(table, name)]
    full = [typed(columns, row) for row in rows]
    for values in full:
        for name in times:
            if values[name] is not None:
                values[name] = datetime.fromtimestamp(values[name] / 1000, tz=UTC)
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


def _copy_text(rows: Sequence[Sequence[str]], width: int) -> str:
    """Rows as COPY text: a tab between values, a newline after each row. A value with a tab,
    newline, carriage return or backslash in it (which the checks on the whole text find, one
    C loop each) needs escaping: only then is each value looked at."""
    text = "\n".join(["\t".join(row) for row in rows]) + "\n"
    if (
        text.count("\t") == len(rows) * (width - 1)
        and text.count("\n") == len(rows)
        and "\\" not in text
        and "\r" not in text
    ):
        return text
    return "".join(
        "\t".join(
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            for value in row
        )
        + "\n"
        for row in rows
    )


def _copy_merge(
    conn: Connection, parts: Sequence[tuple[_Merge, Sequence[Sequence[str]], str]]
) -> dict[Any, Any] | None:
    """COPY each table's rows into its staging table, then merge them all in one round trip.
    Returns the connection's info, to mark once committed that its staging tables exist."""
    parts = [part for part in parts if part[1]]
    if not parts:
        return None
    info = conn.connection.info
    dbapi: Any = conn.connection.dbapi_connection
    cur = dbapi.cursor()
    try:
        if not info.get(_STAGED):
            cur.execute("; ".join(merge.stage_ddl for merge in _ALL))
        for merge, rows, _ in parts:
            text = _copy_text(rows, len(merge.columns))
            # In one piece: after each chunk the writer thread would wait for the GIL again.
            cur.copy_expert(merge.copy, io.StringIO(text), size=max(len(text), 8192))
        cur.execute("; ".join(merge.insert[how] for merge, _, how in parts))
    except Exception:
        # Made again next time: a session that lost them would otherwise fail every batch.
        info.pop(_STAGED, None)
        raise
    finally:
        cur.close()
    return info

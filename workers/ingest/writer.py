"""Write one batch in one transaction, merged into what the database already holds.

On PostgreSQL most rows are new (a call's events mostly come in one batch), and new rows are
COPYed (text format, the batch's rows joined as they are, times as UTC text) straight into
their table: the fast way in, as fast as a raw COPY. Calls and queue stays often span batches
(a call's first events in one, its end in the next), so one query first asks which of them the
tables hold; those go through a temporary table of the same columns, and one ``INSERT ...
SELECT ... ON CONFLICT DO UPDATE`` per table merges them (in one round trip; the temporary
tables are made once per database session), so that a call written again changes nothing it
should not: a "first" column keeps its first value, the others take the last non-null one.
Legs (reported once, when they end), recordings (once, when they start) and agent states
(named by their Stream entry, which the tenant's ingest cursor, moved in the same transaction,
has never passed) are taken for new without asking. When one is not (two controllers reporting
one leg, a batch written again) the table's unique index refuses the COPY: the transaction goes
back to a savepoint taken before the COPYs and merges all the batch's rows instead, a
recording that exists being left as it is. The ingest's lock and the cursor's compare-and-set
make one writer per tenant; were another transaction to add a row meanwhile, the same unique
index refuses it, and no row is ever doubled. On SQLite (the demo) the same merge is an
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
from callcenter.db.types import dialect_insert
from workers.ingest.batch import (
    AGENT_STATE_COLUMNS,
    CALL_COLUMNS,
    CALL_FIRST,
    LEG_COLUMNS,
    WAIT_COLUMNS,
    WAIT_FIRST,
    Batch,
    pg_time,
    typed,
)

__all__ = ["CopyTexts", "CursorMoved", "IngestCursorMove", "prepare", "read_cursor", "write_batch"]


class CursorMoved(Exception):
    """Another ingest of the tenant committed meanwhile (its lock had lapsed): this batch is
    dropped, and its entries are read again by the next run."""


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

# How a batch's rows that may exist go in: update an existing row (last non-null value wins,
# except the "first" columns), or leave it alone.
_UPDATE, _KEEP = "update", "keep"

Rows = Sequence[Sequence[bytes]]


@dataclass(frozen=True)
class _Merge:
    """How one table's rows of a batch go in: the SQL is made once, not per batch."""

    table: Table
    columns: tuple[str, ...]
    stage: str
    copy: str  # COPY straight into the table
    copy_stage: str  # COPY into the staging table
    insert: dict[str, str]  # how -> INSERT ... SELECT from the staging table
    stage_ddl: str  # the staging table, created once per database session


def _keys(table: Table) -> list[str]:
    """What names a row: the primary key, but a recording is its call's (id is a counter)."""
    if table is RECORDINGS:
        return ["call_uuid"]
    return [c.name for c in table.primary_key.columns]


def _merge_sql(table: Table, columns: tuple[str, ...], first: frozenset[str]) -> _Merge:
    assert set(columns) <= set(table.c.keys()), (table.name, columns)
    stage = f"cc_ingest_{table.name}"
    # The table's columns without constraints (a serial id stays NULL there); emptied at every
    # commit.
    stage_ddl = ", ".join(f'"{c.name}" {c.type.compile(_PG)}' for c in table.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
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
    insert = f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{stage}"'
    # Text format, an empty field is NULL (the batch's rows have b"" for no value).
    return _Merge(
        table=table,
        columns=columns,
        stage=stage,
        copy=f"COPY \"{table.name}\" ({quoted}) FROM STDIN WITH (NULL '')",
        copy_stage=f"COPY \"{stage}\" ({quoted}) FROM STDIN WITH (NULL '')",
        insert={
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
_STAGED = "cc_ingest_stage_tables"  # set in a DBAPI connection's info once its staging tables exist

# Which of the batch's calls and queue stays the tables hold, the keys one a line; after a
# savepoint, to go back to when a COPY meets a row that exists.
_SAVEPOINT = "cc_ingest_direct"
_SEP = b"\n"
_EXISTING = """
SELECT 0, call_uuid, '' FROM calls WHERE call_uuid = ANY(string_to_array(%(calls)s, E'\\n'))
UNION ALL
SELECT 1, call_uuid, queue FROM queue_waits
WHERE call_uuid = ANY(string_to_array(%(calls)s, E'\\n'))
"""
_UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class CopyTexts:
    """A batch's rows as COPY text, made by the thread that folds while the writer thread waits
    on PostgreSQL with the batch before: the writer thread, busy the whole run, then holds the
    GIL less. Each text is of all the table's rows of the batch; rows found to exist already
    are joined again apart, in the writer."""

    tenant: str
    entries: int  # the batch's entries when made: a batch folded further is made again
    calls: bytes
    legs: bytes
    waits: bytes
    recordings: bytes
    agent_states: bytes
    recording_rows: Rows


def _recording_rows(batch: Batch, now: datetime) -> Rows:
    tenant, created = batch.tenant.encode(), pg_time(now)
    return [
        [call, tenant, path, b"pending", b"0", created]
        for call, path in batch.recording_paths.items()
    ]


def prepare(batch: Batch, now: datetime | None = None) -> CopyTexts:
    """The batch's COPY texts (PostgreSQL), to hand to ``write_batch`` with it."""
    recordings = _recording_rows(batch, now or datetime.now(UTC))
    return CopyTexts(
        tenant=batch.tenant,
        entries=batch.entries,
        calls=_copy_text(list(batch.call_rows.values()), len(CALL_COLUMNS)),
        legs=_copy_text(list(batch.leg_rows.values()), len(LEG_COLUMNS)),
        waits=_copy_text(list(batch.wait_rows.values()), len(WAIT_COLUMNS)),
        recordings=_copy_text(recordings, len(RECORDING_COLUMNS)),
        agent_states=_copy_text(list(batch.agent_states.values()), len(AGENT_STATE_COLUMNS)),
        recording_rows=recordings,
    )


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
    texts: CopyTexts | None = None,
) -> None:
    """Everything the batch touched, and the cursor, committed together or not at all (on a
    connection of the engine, or on ``db`` when it is a connection outside a transaction).
    ``texts``: the batch's COPY texts made by ``prepare`` (else they are made here)."""
    if isinstance(db, Engine):
        with db.connect() as conn:
            write_batch(conn, batch, cursor=cursor, now=now, texts=texts)
        return
    now = now or datetime.now(UTC)
    if texts is not None and (texts.tenant != batch.tenant or texts.entries != batch.entries):
        texts = None  # made of another batch, or before more was folded in
    recordings = texts.recording_rows if texts is not None else _recording_rows(batch, now)
    conn = db
    with conn.begin():
        if cursor is not None:
            _move_cursor(conn, cursor, now)
        if conn.dialect.name == "postgresql":
            staged = _copy_merge(
                conn, batch, recordings, states_new=cursor is not None, texts=texts
            )
        else:
            staged = None
            _upsert(conn, _CALLS, list(batch.call_rows.values()), CALL_FIRST, _UPDATE)
            _upsert(conn, _LEGS, list(batch.leg_rows.values()), frozenset(), _UPDATE)
            _upsert(conn, _WAITS, list(batch.wait_rows.values()), WAIT_FIRST, _UPDATE)
            _upsert(conn, _RECORDINGS, recordings, frozenset(), _KEEP)
            # Agent states are named by their Stream entry: one written is left as it is.
            _upsert(conn, _AGENT_STATES, list(batch.agent_states.values()), frozenset(), _KEEP)
    if staged is not None:
        staged[_STAGED] = True  # committed: the staging tables stay for the session


def _move_cursor(conn: Connection, move: IngestCursorMove, now: datetime) -> None:
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


def _upsert(conn: Connection, merge: _Merge, rows: Rows, first: frozenset[str], how: str) -> None:
    if not rows:
        return
    table, columns = merge.table, merge.columns
    full = [typed(columns, row) for row in rows]
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


def _copy_text(rows: Rows, width: int) -> bytes:
    """Rows as COPY text: a tab between values, a newline after each row. A value with a tab,
    newline, carriage return or backslash in it (which the checks on the whole text find, one
    C loop each) needs escaping: only then is each value looked at. Bytes that are not UTF-8
    (the database's encoding) are replaced, as any decoding of them would."""
    text = b"\n".join([b"\t".join(row) for row in rows]) + b"\n"
    if (
        text.count(b"\t") != len(rows) * (width - 1)
        or text.count(b"\n") != len(rows)
        or b"\\" in text
        or b"\r" in text
    ):
        text = b"".join(
            b"\t".join(
                value.replace(b"\\", b"\\\\")
                .replace(b"\t", b"\\t")
                .replace(b"\n", b"\\n")
                .replace(b"\r", b"\\r")
                for value in row
            )
            + b"\n"
            for row in rows
        )
    return text if text.isascii() else _utf8(text)


def _utf8(text: bytes) -> bytes:
    try:
        text.decode()
    except UnicodeDecodeError:
        return text.decode(errors="replace").encode()
    return text


def _lines(keys: Sequence[bytes]) -> str | None:
    """Keys one a line, as text for the query; None when a key has a newline in it, or is not
    UTF-8 (the batch then merges all its rows: the database holds such a key changed)."""
    text = _SEP.join(keys)
    if text.count(_SEP) != max(len(keys) - 1, 0):
        return None
    try:
        return text.decode()
    except UnicodeDecodeError:
        return None


def _copy_merge(
    conn: Connection,
    batch: Batch,
    recordings: Rows,
    *,
    states_new: bool,
    texts: CopyTexts | None,
) -> dict[Any, Any] | None:
    """COPY the new rows into their tables, merge the others through the staging tables in one
    round trip. Returns the connection's info, to mark once committed that its staging tables
    exist (None when none were needed)."""
    calls = list(batch.call_rows.values())
    legs = list(batch.leg_rows.values())
    waits = list(batch.wait_rows.values())
    states = list(batch.agent_states.values())
    dbapi: Any = conn.connection.dbapi_connection
    cur = dbapi.cursor()
    try:
        # The COPY text made ahead, by the list of rows it is of (all of a table's rows).
        ready: dict[int, bytes] = {}
        if texts is not None:
            for rows, text in (
                (calls, texts.calls),
                (legs, texts.legs),
                (waits, texts.waits),
                (recordings, texts.recordings),
                (states, texts.agent_states),
            ):
                ready[id(rows)] = text
        # Which calls and queue stays exist is asked; legs, recordings and agent states behind
        # a cursor move are taken for new (see the module's doc).
        direct: list[tuple[_Merge, Rows]] = [(_LEGS, legs), (_RECORDINGS, recordings)]
        merged: list[tuple[_Merge, Rows, str]] = []
        keys = _lines(list(dict.fromkeys([*batch.call_rows, *(c for c, _ in batch.wait_rows)])))
        if not (calls or waits):
            cur.execute(f"SAVEPOINT {_SAVEPOINT}")
        elif keys is None:  # a key with a newline, or not UTF-8: these merge
            cur.execute(f"SAVEPOINT {_SAVEPOINT}")
            merged += [(_CALLS, calls, _UPDATE), (_WAITS, waits, _UPDATE)]
        else:
            cur.execute(f"SAVEPOINT {_SAVEPOINT}; {_EXISTING}", {"calls": keys})
            found: tuple[set[Any], set[Any]] = (set(), set())
            for kind, call, queue in cur.fetchall():
                found[kind].add(call.encode() if kind == 0 else (call.encode(), queue.encode()))
            new, old = _split(calls, found[0])
            direct.append((_CALLS, new))
            merged.append((_CALLS, old, _UPDATE))
            new, old = _split(waits, found[1], pair=True)
            direct.append((_WAITS, new))
            merged.append((_WAITS, old, _UPDATE))
        if states_new:
            direct.append((_AGENT_STATES, states))
        else:
            merged.append((_AGENT_STATES, states, _KEEP))
        try:
            for merge, rows in direct:
                if rows:
                    _copy(cur, merge.copy, rows, len(merge.columns), ready.get(id(rows)))
        except Exception as exc:
            if getattr(exc, "pgcode", None) != _UNIQUE_VIOLATION:
                raise
            cur.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            merged = [
                (_CALLS, calls, _UPDATE),
                (_LEGS, legs, _UPDATE),
                (_WAITS, waits, _UPDATE),
                (_RECORDINGS, recordings, _KEEP),
                (_AGENT_STATES, states, _KEEP),
            ]
        merged = [part for part in merged if part[1]]
        if not merged:
            return None
        info = conn.connection.info
        try:
            if not info.get(_STAGED):
                cur.execute("; ".join(merge.stage_ddl for merge in _ALL))
            for merge, rows, _ in merged:
                _copy(cur, merge.copy_stage, rows, len(merge.columns))
            cur.execute("; ".join(merge.insert[how] for merge, _, how in merged))
        except Exception:
            # Made again next time: a session that lost them would otherwise fail every batch.
            info.pop(_STAGED, None)
            raise
        return info
    finally:
        cur.close()


def _split(rows: Rows, existing: set[Any], *, pair: bool = False) -> tuple[Rows, Rows]:
    """The rows whose key the table does not hold yet, and the others."""
    if not existing:
        return rows, []
    new: list[Sequence[bytes]] = []
    old: list[Sequence[bytes]] = []
    for row in rows:
        key = (row[0], row[1]) if pair else row[0]
        (old if key in existing else new).append(row)
    return new, old


def _copy(cur: Any, sql: str, rows: Rows, width: int, text: bytes | None = None) -> None:
    if text is None:
        text = _copy_text(rows, width)
    # In one piece: after each chunk the writer thread would wait for the GIL again.
    cur.copy_expert(sql, io.BytesIO(text), size=max(len(text), 8192))

"""The writer's two ways in on real PostgreSQL: rows the tables do not hold yet are COPYed
straight in, rows they hold are merged; a batch that meets a row it took for new goes back and
merges everything. Whatever the way, the rows are the ones one fold of all the entries gives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select, update

from callcenter.db.models import AgentStateChange, Call, CallLeg, QueueWait, Recording
from tests.workers.streams import Entry, abandoned_call, answered_call
from workers.ingest.batch import CALL_COLUMNS, LEG_COLUMNS, WAIT_COLUMNS, Batch
from workers.ingest.writer import IngestCursorMove, prepare, write_batch

T0 = 1_767_000_000_000


@pytest.fixture
def tenant() -> str:
    return f"d{uuid.uuid4().hex[:8]}"


def _batch(tenant: str, entries: Sequence[tuple[str, Entry]]) -> Batch:
    batch = Batch(tenant)
    for stream_id, entry in entries:
        batch.add(stream_id, {k: str(v) for k, v in entry.items()})
    return batch


def _numbered(entries: Sequence[Entry], start: int = 1) -> list[tuple[str, Entry]]:
    return [(f"{T0 + n}-0", entry) for n, entry in enumerate(entries, start)]


def _row(db: Engine, model: Any, columns: Sequence[str], *key: object) -> dict[str, Any]:
    table = model.__table__
    assert isinstance(table, Table)
    where = [c == k for c, k in zip(table.primary_key.columns, key, strict=True)]
    with db.connect() as conn:
        row = conn.execute(select(*(table.c[c] for c in columns)).where(*where)).one()
    return dict(zip(columns, row, strict=True))


def _count(db: Engine, model: Any, tenant: str) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(model).where(model.tenant == tenant)
            ).scalar_one()
        )


def _same_as_one_fold(db: Engine, tenant: str, entries: Sequence[tuple[str, Entry]]) -> None:
    """Every call, leg and queue stay in the database, column by column, is what the fold of
    all the entries at once gives."""
    whole = _batch(tenant, entries)
    for call, values in whole.calls.items():
        assert _row(db, Call, CALL_COLUMNS, call) == values, call
    for leg, values in whole.legs.items():
        assert _row(db, CallLeg, LEG_COLUMNS, leg) == values, leg
    for (call, queue), values in whole.waits.items():
        assert _row(db, QueueWait, WAIT_COLUMNS, call, queue) == values, (call, queue)
    assert _count(db, Call, tenant) == len(whole.calls)
    assert _count(db, CallLeg, tenant) == len(whole.legs)
    assert _count(db, QueueWait, tenant) == len(whole.waits)
    assert _count(db, AgentStateChange, tenant) == len(whole.agent_states)


@pytest.mark.parametrize("ahead", [False, True], ids=["texts-in-writer", "texts-made-ahead"])
def test_a_batch_mixing_new_calls_and_calls_already_in_the_table(
    db: Engine, tenant: str, ahead: bool
) -> None:
    spanning = [str(uuid.uuid4()) for _ in range(3)]
    fresh = [str(uuid.uuid4()) for _ in range(4)]
    calls = {c: answered_call(c, t0=T0 + n * 1000, agent=str(1000 + n)) for n, c in
             enumerate(spanning + fresh)}  # fmt: skip
    calls[fresh[0]] = abandoned_call(fresh[0], t0=T0 + 9000)
    # The first batch has the start of three calls (waiting, offering, an agent state), the
    # second their end and four calls from start to end.
    first = [e for c in spanning for e in calls[c][:3]]
    second = [e for c in spanning for e in calls[c][3:]] + [e for c in fresh for e in calls[c]]
    entries = _numbered(first + second)
    one = _batch(tenant, entries[: len(first)])
    write_batch(
        db,
        one,
        cursor=IngestCursorMove(tenant, None, entries[len(first) - 1][0]),
        texts=prepare(one) if ahead else None,
    )
    assert _count(db, Call, tenant) == 3 and _count(db, CallLeg, tenant) == 0
    # The second batch's calls and queue stays are partly in the tables: the texts made ahead
    # (of all its rows) are not the ones COPYed for those tables, the others are.
    two = _batch(tenant, entries[len(first) :])
    write_batch(
        db,
        two,
        cursor=IngestCursorMove(tenant, entries[len(first) - 1][0], entries[-1][0]),
        texts=prepare(two) if ahead else None,
    )
    _same_as_one_fold(db, tenant, entries)
    spanned = _row(db, QueueWait, WAIT_COLUMNS, spanning[1], "support")
    assert spanned["enqueued_at"] == datetime.fromtimestamp((T0 + 1000) / 1000, UTC)
    assert spanned["offered_at"] is not None and spanned["outcome"] == "answered"
    assert _count(db, Recording, tenant) == len(spanning) + len(fresh) - 1


def test_first_columns_keep_their_first_value_and_others_take_the_last_non_null(
    db: Engine, tenant: str
) -> None:
    call = str(uuid.uuid4())
    entries = answered_call(call, t0=T0)
    # A second controller reports the call's arrival again, later and at another place, and
    # the caller leg again without its hold time and cause.
    again: list[Entry] = [
        {**entries[0], "ts": T0 + 5000, "position": 7},
        {**entries[9], "hold_ms": "", "cause": "", "billsec": 99},
    ]
    ids = _numbered(entries + again)
    for part in (ids[:5], ids[5:12], ids[12:]):
        write_batch(db, _batch(tenant, part))
    wait = _row(db, QueueWait, WAIT_COLUMNS, call, "support")
    assert wait["enqueued_at"] == datetime.fromtimestamp(T0 / 1000, UTC) and wait["position"] == 1
    row = _row(db, Call, CALL_COLUMNS, call)
    assert row["started_at"] == datetime.fromtimestamp((T0 - 2000) / 1000, UTC)
    assert row["billsec"] == 99 and row["hangup_cause"] == "NORMAL_CLEARING"
    leg = _row(db, CallLeg, LEG_COLUMNS, call)
    assert leg["billsec"] == 99 and leg["hold_ms"] == 0 and leg["hangup_cause"] == "NORMAL_CLEARING"
    _same_as_one_fold(db, tenant, ids)


def test_a_leg_already_written_sends_the_whole_batch_through_the_merge(
    db: Engine, tenant: str
) -> None:
    """Legs are taken for new without asking: a leg reported again in a later batch (two
    controllers) makes that batch's COPY fail, and the batch merges all its rows instead."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    one, two = answered_call(first, t0=T0), answered_call(second, t0=T0 + 60_000)
    ids = _numbered([*one, one[9], *two])
    write_batch(db, _batch(tenant, ids[:12]), cursor=IngestCursorMove(tenant, None, ids[11][0]))
    write_batch(
        db, _batch(tenant, ids[12:]), cursor=IngestCursorMove(tenant, ids[11][0], ids[-1][0])
    )
    _same_as_one_fold(db, tenant, ids)
    assert _count(db, Recording, tenant) == 2


def test_a_recording_already_there_is_left_as_it_is(db: Engine, tenant: str) -> None:
    call = str(uuid.uuid4())
    ids = _numbered(answered_call(call))
    write_batch(db, _batch(tenant, ids))
    with db.begin() as conn:
        conn.execute(
            update(Recording).where(Recording.call_uuid == call).values(status="done", attempts=1)
        )
    again: Entry = {"type": "recording", "call": call, "path": "/elsewhere.wav"}
    rec = [(f"{T0 + 100}-0", again)]
    write_batch(db, _batch(tenant, rec))
    with db.connect() as conn:
        rows = conn.execute(
            select(Recording.status, Recording.attempts, Recording.source_path).where(
                Recording.call_uuid == call
            )
        ).all()
    assert [tuple(r) for r in rows] == [("done", 1, f"/var/rec/{call}.wav")]


def test_keys_with_a_newline_or_a_tab_merge_like_any_other(db: Engine, tenant: str) -> None:
    call = f"a\nb\tc\\{uuid.uuid4().hex[:8]}"
    entries = answered_call(call, t0=T0)
    ids = _numbered(entries)
    write_batch(db, _batch(tenant, ids[:5]))
    write_batch(db, _batch(tenant, ids[5:]))
    write_batch(db, _batch(tenant, ids[5:]))
    _same_as_one_fold(db, tenant, ids)


def test_texts_made_before_more_was_folded_in_are_not_used(db: Engine, tenant: str) -> None:
    """A batch folded further after its texts were made: the writer makes them again (the
    texts made ahead would miss the later rows)."""
    entries = _numbered(answered_call(str(uuid.uuid4()), t0=T0, agent="1000"))
    batch = _batch(tenant, entries[:4])
    early = prepare(batch)
    for stream_id, entry in entries[4:]:
        batch.add(stream_id, {k: str(v) for k, v in entry.items()})
    write_batch(db, batch, cursor=IngestCursorMove(tenant, None, entries[-1][0]), texts=early)
    _same_as_one_fold(db, tenant, entries)
    other = _batch(f"{tenant}x", entries)
    # Texts of another tenant's batch are not used either.
    write_batch(db, other, texts=prepare(_batch(tenant, entries[:2])))
    _same_as_one_fold(db, f"{tenant}x", entries)

"""The ingest on real Redis and PostgreSQL: rows once and only once, whatever happens."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError

from callcenter.acd.keys import Keys
from callcenter.center.loader import load_center
from callcenter.db.models import AgentStateChange, Call, CallLeg, QueueWait, Recording
from tests.workers.streams import Entry, abandoned_call, answered_call, many_calls
from workers.ingest.batch import Batch
from workers.ingest.consumer import CONSUMER, GROUP, ingest
from workers.ingest.costs import RatePricer
from workers.ingest.writer import CursorMoved, IngestCursorMove, read_cursor, write_batch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tenant() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _add(redis: Redis, tenant: str, entries: list[Entry]) -> None:
    pipe = redis.pipeline(transaction=False)
    for entry in entries:
        pipe.xadd(Keys(tenant).events, dict(entry))
    pipe.execute()


def _counts(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Call, CallLeg, QueueWait, AgentStateChange)
        )


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    with engine.connect() as conn:
        for model in (Call, CallLeg, QueueWait, AgentStateChange):
            table = model.__table__
            rows += [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key))]
    return rows


def test_calls_on_the_stream_become_rows(db: Engine, sync_redis: Redis, tenant: str) -> None:
    answered, abandoned = str(uuid.uuid4()), str(uuid.uuid4())
    _add(sync_redis, tenant, answered_call(answered) + abandoned_call(abandoned))
    result = ingest(sync_redis, db, tenant)
    assert (result.entries, result.skipped) == (15, 0)
    assert _counts(db) == (2, 3, 2, 4)
    with db.connect() as conn:
        call = conn.execute(select(Call).where(Call.call_uuid == answered)).one()
        outcome = conn.execute(select(Call.outcome).where(Call.call_uuid == abandoned)).scalar()
        rec = conn.execute(select(Recording.status, Recording.source_path)).one()
    assert call.tenant == tenant and call.agent == "1000"
    assert call.campaign == "tv-spring" and call.talk_ms == 60_000
    assert outcome == "abandoned"
    assert tuple(rec) == ("pending", f"/var/rec/{answered}.wav")
    # Everything was acknowledged: nothing is left pending for the group.
    assert sync_redis.xpending(Keys(tenant).events, GROUP)["pending"] == 0


def test_the_same_entries_twice_make_no_second_row(
    db: Engine, sync_redis: Redis, tenant: str
) -> None:
    entries = answered_call(str(uuid.uuid4()))
    _add(sync_redis, tenant, entries)
    ingest(sync_redis, db, tenant)
    before = _snapshot(db)
    # A duplicated task: the same calls again on the Stream (as two controllers would write
    # the same leg), and the same batch written once more directly.
    _add(sync_redis, tenant, [e for e in entries if e["type"] != "agent"])
    ingest(sync_redis, db, tenant)
    batch = Batch(tenant)
    for n, entry in enumerate(entries):
        batch.add(f"1-{n}", {k: str(v) for k, v in entry.items()})
    write_batch(db, batch)
    write_batch(db, batch)
    after = _snapshot(db)
    assert [r for r in after if r not in before] == [
        r for r in after if len(r) == 8 and r[1] in {f"1-{n}" for n in range(len(entries))}
    ]  # only the directly written agent states (new Stream IDs) are new rows
    assert _counts(db)[:3] == (1, 2, 1)


def test_split_anywhere_the_rows_are_the_same(db: Engine, tenant: str) -> None:
    entries = answered_call(str(uuid.uuid4())) + abandoned_call(str(uuid.uuid4()))
    expected: list[tuple[object, ...]] | None = None
    for cut in (0, 3, 6, 9, len(entries)):
        with db.begin() as conn:
            for model in (Call, CallLeg, QueueWait, AgentStateChange):
                conn.execute(delete(model))
        for part in (entries[:cut], entries[cut:]):
            batch = Batch(tenant)
            for entry in part:
                batch.add(f"{entries.index(entry) + 1}-0", {k: str(v) for k, v in entry.items()})
            write_batch(db, batch)
        snapshot = _snapshot(db)
        if expected is None:
            expected = snapshot
        assert snapshot == expected, f"split at {cut} differs"


def test_a_killed_run_leaves_its_entries_pending_and_the_next_run_writes_them(
    db: Engine, sync_redis: Redis, tenant: str
) -> None:
    _add(sync_redis, tenant, list(many_calls(40)))
    stream = Keys(tenant).events
    # A worker read a batch and died before writing it: entries delivered, never acknowledged.
    sync_redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    taken = sync_redis.xreadgroup(GROUP, CONSUMER, {stream: ">"}, count=100)
    assert len(taken[0][1]) == 100
    assert sync_redis.xpending(stream, GROUP)["pending"] == 100
    result = ingest(sync_redis, db, tenant, batch_size=64)
    assert result.entries == 40 * 12
    assert _counts(db) == (40, 80, 40, 160)
    assert sync_redis.xpending(stream, GROUP)["pending"] == 0


def test_a_database_that_refuses_loses_nothing(db: Engine, sync_redis: Redis, tenant: str) -> None:
    from callcenter.db.engine import make_engine

    gone = make_engine("postgresql://postgres@127.0.0.1:1/none")
    _add(sync_redis, tenant, answered_call(str(uuid.uuid4())))
    with pytest.raises(OperationalError, match=r"Connection refused|could not connect"):
        ingest(sync_redis, gone, tenant)
    # The lock was released (the next run is not kept waiting) and nothing was acknowledged.
    assert not sync_redis.exists(f"{Keys(tenant).base}:ingest:lock")
    assert ingest(sync_redis, db, tenant).entries == 12
    assert _counts(db) == (1, 2, 1, 4)


def test_a_second_ingest_of_the_same_tenant_waits_its_turn(
    db: Engine, sync_redis: Redis, tenant: str
) -> None:
    sync_redis.set(f"{Keys(tenant).base}:ingest:lock", "someone", px=10_000)
    _add(sync_redis, tenant, answered_call(str(uuid.uuid4())))
    assert ingest(sync_redis, db, tenant).busy
    assert _counts(db) == (0, 0, 0, 0)


def test_outbound_calls_are_priced_from_the_center_rate_tables(
    db: Engine, sync_redis: Redis, tenant: str
) -> None:
    center = load_center(REPO / "examples" / "center.yaml")
    acme = next(t for t in center.tenants if t.name == "acme")
    route = acme.outbound_routes[0]
    gateway, table = next(iter(route.rates.items()))
    rate = next(r for r in table.rates.values() if r.prefix.startswith("7"))
    number = (rate.prefix + "0" * 11)[:11]
    assert route.matches(number), "the example's first route should take this number"
    expected_rate = table.lookup(number)
    assert expected_rate is not None
    call = str(uuid.uuid4())
    _add(sync_redis, tenant, [
        {"type": "leg", "leg": call, "call": call, "role": "caller", "caller_number": "1001",
         "destination": number, "gateway": gateway, "created_ms": 1_767_000_000_000,
         "answered_ms": 1_767_000_003_000, "ended_ms": 1_767_000_093_000, "billsec": 90,
         "cause": "NORMAL_CLEARING", "disposition": "recv_bye", "bridged_to": "x"},
    ])  # fmt: skip
    ingest(sync_redis, db, tenant, pricer=RatePricer(center, "acme"))
    with db.connect() as conn:
        row = conn.execute(select(Call).where(Call.call_uuid == call)).one()
    assert row.direction == "outbound" and row.gateway == gateway
    assert row.rate_prefix == expected_rate.prefix
    assert row.rate_per_minute == expected_rate.per_minute
    assert row.cost == (expected_rate.per_minute * Decimal(90) / 60).quantize(Decimal("0.00001"))


def test_a_run_that_committed_but_died_before_acknowledging_writes_nothing_twice(
    db: Engine, sync_redis: Redis, tenant: str
) -> None:
    _add(sync_redis, tenant, list(many_calls(5)))
    stream = Keys(tenant).events
    sync_redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    taken = sync_redis.xreadgroup(GROUP, CONSUMER, {stream: ">"}, count=1000)[0][1]
    batch = Batch(tenant)
    for entry_id, fields in taken:
        batch.add(entry_id.decode(), {k.decode(): v.decode() for k, v in fields.items()})
    last = taken[-1][0].decode()
    write_batch(db, batch, cursor=IngestCursorMove(tenant, None, last))  # then it died
    before = _snapshot(db)
    result = ingest(sync_redis, db, tenant)
    assert result.entries == 0  # the run reads after the cursor: nothing is read again
    assert _snapshot(db) == before
    # What that run left pending in the group (as an earlier version read) is acknowledged,
    # and the group shows the Stream as read.
    assert sync_redis.xpending(stream, GROUP)["pending"] == 0
    group = sync_redis.xinfo_groups(stream)[0]
    assert group["lag"] == 0 and group["last-delivered-id"].decode() == last


def test_a_batch_written_after_another_run_moved_the_cursor_is_refused(
    db: Engine, tenant: str
) -> None:
    batch = Batch(tenant)
    for n, entry in enumerate(answered_call(str(uuid.uuid4()))):
        batch.add(f"5-{n}", {k: str(v) for k, v in entry.items()})
    write_batch(db, batch, cursor=IngestCursorMove(tenant, None, "5-11"))
    with pytest.raises(CursorMoved):
        write_batch(db, batch, cursor=IngestCursorMove(tenant, None, "6-0"))
    with pytest.raises(CursorMoved):
        write_batch(db, batch, cursor=IngestCursorMove(tenant, "4-0", "6-0"))
    newer = Batch(tenant)
    for n, entry in enumerate(abandoned_call(str(uuid.uuid4()))):
        newer.add(f"6-{n}", {k: str(v) for k, v in entry.items()})
    write_batch(db, newer, cursor=IngestCursorMove(tenant, "5-11", "6-2"))
    assert read_cursor(db, tenant) == "6-2"


def test_the_embedded_sqlite_database_gets_the_same_rows(
    tmp_path: Path, sync_redis: Redis, tenant: str
) -> None:
    from callcenter.db.engine import make_engine
    from callcenter.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        call = str(uuid.uuid4())
        _add(sync_redis, tenant, answered_call(call) + abandoned_call(str(uuid.uuid4())))
        ingest(sync_redis, engine, tenant, batch_size=4)  # a call spread over many batches
        _add(sync_redis, tenant, answered_call(call))  # and reported twice
        ingest(sync_redis, engine, tenant)
        assert _counts(engine) == (2, 3, 2, 8)  # the repeated agent states are new entries
        with engine.connect() as conn:
            row = conn.execute(select(Call).where(Call.call_uuid == call)).one()
        assert row.outcome == "answered" and row.talk_ms == 60_000 and row.wait_ms == 15_000
        assert row.bridged_at is not None and row.started_at < row.bridged_at
    finally:
        engine.dispose()

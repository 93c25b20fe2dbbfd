"""The workers keep the roll-ups: after an ingest batch, ``cc.refresh_rollups`` recomputes the
buckets its calls fall in, and every report read from the roll-ups then equals the same report
computed from the raw rows. Running it twice changes nothing."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path

from sqlalchemy import Engine

from callcenter.reports.registry import REPORTS, load_reports
from tests.calls.rows import worker_context
from tests.reports.cdr_set import TENANT, random_set, request
from workers.reports_rollups import refresh_rollups


def _reports_agree(db: Engine) -> list[str]:
    load_reports()
    checked = []
    for name in ("queues", "agents", "dids"):
        spec = REPORTS[name]
        assert spec.raw is not None
        asked = request("2026-03-27", "2026-03-31")
        from_rollups = spec.run(db, asked)
        from_raw = spec.raw(db, asked)
        assert from_rollups.rows == from_raw.rows, name
        assert from_rollups.totals == from_raw.totals, name
        assert from_rollups.rows, f"{name}: the random set gave an empty report"
        checked.append(name)
    return checked


def test_the_task_refreshes_the_buckets_of_an_ingested_batch(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    cdrs = random_set(seed=11, calls=150)
    cdrs.write(db)
    worker_context(database_url, redis_url, None, tmp_path)
    uuids = [row["call_uuid"] for row in cdrs.calls]
    buckets = refresh_rollups.run(TENANT, uuids)
    assert buckets > 50  # 150 calls over five days fall in many quarter hours
    assert _reports_agree(db) == ["queues", "agents", "dids"]
    # Again (the batch read twice, the task retried): the same figures.
    assert refresh_rollups.run(TENANT, uuids) == buckets
    _reports_agree(db)


def test_every_real_report_exports_to_every_format(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    from callcenter.reports.export import export
    from tests.reports.cdr_set import hand_made

    cdrs = hand_made()
    cdrs.write(db)
    worker_context(database_url, redis_url, None, tmp_path)
    refresh_rollups.run(TENANT, [row["call_uuid"] for row in cdrs.calls])
    load_reports()
    asked = request("2026-03-10")
    for name, spec in sorted(REPORTS.items()):
        if name.startswith("test-") or spec.run.__module__.startswith("tests."):
            continue
        report = spec.run(db, asked)
        for fmt in ("json", "csv", "xlsx", "pdf"):
            exported = export(report, fmt)
            assert exported.body, (name, fmt)


def test_marked_calls_are_refreshed_once_and_leave_the_set(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    from workers.reports_rollups import mark

    cdrs = random_set(seed=5, calls=120)
    cdrs.write(db)
    ctx = worker_context(database_url, redis_url, None, tmp_path)
    uuids = [row["call_uuid"] for row in cdrs.calls]
    # Two batches touching the same calls: one refresh redoes their buckets once.
    mark(ctx.redis, TENANT, uuids[:80])
    mark(ctx.redis, TENANT, uuids[40:])
    assert refresh_rollups.run(TENANT) > 30
    assert _reports_agree(db) == ["queues", "agents", "dids"]
    assert refresh_rollups.run(TENANT) == 0  # nothing left to do
    # Another refresh of the tenant running holds the lock: this one leaves the calls marked.
    mark(ctx.redis, TENANT, uuids[:1])
    lock = f"cc:{{{TENANT}}}:rollups:lock"
    ctx.redis.set(lock, "someone", px=60_000)
    assert refresh_rollups.run(TENANT) == 0
    ctx.redis.delete(lock)
    assert refresh_rollups.run(TENANT) >= 1


def test_marked_state_days_redo_the_state_figures(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    """States that change in a batch without calls: the days they touch are marked, and their
    state figures redone (here after a write that no refresh saw)."""
    from datetime import datetime

    from sqlalchemy import func, select

    from callcenter.db.rollups_calls import AgentStateRollup
    from callcenter.reports.agents import MAX_STATE
    from callcenter.reports.rollup import state_days
    from workers.reports_rollups import mark

    cdrs = random_set(seed=9, calls=60)
    cdrs.calls.clear()
    cdrs.write(db)
    ctx = worker_context(database_url, redis_url, None, tmp_path)
    times = [row["at"] for row in cdrs.states]
    days = state_days(min(times), max(times), MAX_STATE)
    assert days[0] == (min(times) - MAX_STATE).date() and days[-1] == max(times).date()
    mark(ctx.redis, TENANT, [], days)
    assert refresh_rollups.run(TENANT) == 96 * len(days)
    assert refresh_rollups.run(TENANT) == 0  # the days left the set
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AgentStateRollup)).scalar_one()
    load_reports()
    spec = REPORTS["agents"]
    assert spec.raw is not None
    asked = request("2026-03-27", "2026-03-31")
    assert spec.run(db, asked).rows == spec.raw(db, asked).rows
    first, last = datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)
    assert state_days(first, last, MAX_STATE) == [date(2026, 3, d) for d in (1, 2, 3)]

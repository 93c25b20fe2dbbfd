"""Call history on real PostgreSQL (and the hourly figures once on SQLite): search, paging,
who sees which calls, one call's whole record, figures per agent and per hour."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from callcenter.calls import UnknownCallError, add_comment, history
from callcenter.calls.history import CallSearch, NotYourCallError
from callcenter.db.models import CallLeg, Disposition, QualityScore, QueueWait
from tests.calls.rows import T0, add_call, add_recording, new_uuid, sqlite_engine


def add_leg(engine: Engine, call_uuid: str, *, tenant: str = "acme", **values: Any) -> str:
    row: dict[str, Any] = {
        "leg_uuid": new_uuid(),
        "call_uuid": call_uuid,
        "tenant": tenant,
        "role": "agent",
        "created_at": T0,
        "answered_at": T0 + timedelta(seconds=5),
    }
    row.update(values)
    with engine.begin() as conn:
        conn.execute(insert(CallLeg).values(**row))
    return str(row["leg_uuid"])


def add_score(engine: Engine, call_uuid: str, score: int, *, tenant: str = "acme") -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(QualityScore).values(
                call_uuid=call_uuid,
                tenant=tenant,
                queue="sales",
                agent="1000",
                score=score,
                reasons=[{"rule": "long_wait", "penalty": 100 - score, "detail": "x"}],
                scored_at=T0,
            )
        )


def add_disposition(engine: Engine, call_uuid: str, code: str, *, tenant: str = "acme") -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Disposition).values(
                call_uuid=call_uuid, tenant=tenant, code=code, set_by="sue", set_at=T0
            )
        )


def search(engine: Engine, handled_by: str | None = None, **filters: Any) -> list[str]:
    page = history.search_calls(
        engine, tenant="acme", search=CallSearch.model_validate(filters), handled_by=handled_by
    )
    return [c.call_uuid for c in page.calls]


def test_calls_come_newest_first_a_page_at_a_time(db: Engine) -> None:
    calls = [add_call(db, started_at=T0 + timedelta(minutes=n)) for n in range(5)]
    add_call(db, tenant="globex", started_at=T0 + timedelta(hours=1))
    page = history.search_calls(db, tenant="acme", search=CallSearch(limit=2, offset=1))
    assert [c.call_uuid for c in page.calls] == [calls[3], calls[2]]
    assert (page.total, page.limit, page.offset) == (5, 2, 1)
    assert search(db) == calls[::-1]


def test_filters_each_narrow_the_search(db: Engine) -> None:
    ivan = add_call(
        db, caller_number="74951112233", caller_name="Ivan Petrov", did="4951234567", started_at=T0
    )
    maria = add_call(
        db,
        caller_number="79990001122",
        caller_name="MARIA 100%",
        queue="support",
        agent="1001",
        outcome="abandoned",
        started_at=T0 + timedelta(hours=1),
    )
    dialled = add_call(
        db, destination="88005553535", direction="outbound", started_at=T0 + timedelta(hours=2)
    )
    add_disposition(db, ivan, "sale")
    add_score(db, ivan, 90)
    add_score(db, maria, 40)
    assert search(db, caller="1112") == [ivan]
    assert search(db, caller="petrov") == [ivan]  # case ignored
    assert search(db, caller="100%") == [maria]  # % is a character, not a wildcard
    assert search(db, caller="%") == [maria]
    assert search(db, caller="5553") == [dialled]
    assert search(db, agent="1001") == [maria]
    assert search(db, queue="support") == [maria]
    assert search(db, did="4951234567") == [ivan]
    assert search(db, outcome="abandoned") == [maria]
    assert search(db, disposition="sale") == [ivan]
    assert search(db, min_quality=50) == [ivan]
    assert search(db, min_quality=0) == [maria, ivan]  # unscored calls are left out
    since, until = (T0 + timedelta(minutes=30)).isoformat(), (T0 + timedelta(hours=2)).isoformat()
    assert search(db, since=since, until=until) == [maria]
    assert search(db, since=since, queue="sales") == [dialled]


def test_summaries_carry_disposition_score_and_recording(db: Engine) -> None:
    call = add_call(db)
    add_disposition(db, call, "sale")
    add_score(db, call, 75)
    add_recording(db, call)
    bare = add_call(db, started_at=T0 - timedelta(hours=1))
    by_id = {
        c.call_uuid: c for c in history.search_calls(db, tenant="acme", search=CallSearch()).calls
    }
    assert (by_id[call].disposition, by_id[call].quality_score, by_id[call].has_recording) == (
        "sale",
        75,
        True,
    )
    assert (by_id[bare].disposition, by_id[bare].quality_score, by_id[bare].has_recording) == (
        None,
        None,
        False,
    )


def test_an_agent_sees_the_calls_they_handled_only(db: Engine) -> None:
    own = add_call(db, agent="1001", started_at=T0)
    transferred = add_call(db, agent="1002", started_at=T0 + timedelta(minutes=1))
    add_leg(db, transferred, agent="1001")  # answered by 1001 after a transfer
    rung = add_call(db, agent="1002", started_at=T0 + timedelta(minutes=2))
    add_leg(db, rung, agent="1001", answered_at=None)  # rang 1001, who did not answer
    other = add_call(db, agent="1002", started_at=T0 + timedelta(minutes=3))
    assert search(db, handled_by="1001") == [transferred, own]
    assert search(db) == [other, rung, transferred, own]  # a supervisor: all
    history.check_access(db, tenant="acme", call_uuid=own, handled_by="1001")
    history.check_access(db, tenant="acme", call_uuid=other, handled_by=None)
    with pytest.raises(NotYourCallError) as refused:
        history.check_access(db, tenant="acme", call_uuid=rung, handled_by="1001")
    assert refused.value.error_id == "not-your-call"
    with pytest.raises(NotYourCallError):
        history.call_detail(db, tenant="acme", call_uuid=other, handled_by="1001")
    with pytest.raises(UnknownCallError):  # another tenant's call is no call
        history.call_detail(db, tenant="globex", call_uuid=own)
    with pytest.raises(ValueError, match="empty"):
        search(db, handled_by="")


def test_one_calls_whole_record(db: Engine) -> None:
    call = add_call(db, caller_number="74951112233", agent="1001")
    add_leg(db, call, role="caller", agent=None, created_at=T0, leg_uuid=call)
    add_leg(db, call, agent="1001", channel="sofia/internal/1001",
            created_at=T0 + timedelta(seconds=2))  # fmt: skip
    with db.begin() as conn:
        conn.execute(
            insert(QueueWait).values(
                call_uuid=call,
                queue="sales",
                tenant="acme",
                enqueued_at=T0,
                answered_at=T0 + timedelta(seconds=10),
                outcome="answered",
                wait_ms=10_000,
                position=1,
                agent="1001",
            )
        )
    recording_id = add_recording(db, call, format="flac", size_bytes=1234)
    add_comment(db, tenant="acme", call_uuid=call, author="sue", text="nice", offset_s=3.0)
    add_disposition(db, call, "sale")
    add_score(db, call, 88)
    detail = history.call_detail(db, tenant="acme", call_uuid=call)
    assert (detail.caller_number, detail.agent, detail.outcome) == (
        "74951112233",
        "1001",
        "answered",
    )
    assert [leg.role for leg in detail.legs] == ["caller", "agent"]
    assert detail.legs[1].channel == "sofia/internal/1001"
    assert [(w.queue, w.wait_ms, w.position) for w in detail.waits] == [("sales", 10_000, 1)]
    assert detail.recording is not None
    assert (detail.recording.id, detail.recording.format) == (recording_id, "flac")
    assert [(c.author, c.text, c.offset_s) for c in detail.comments] == [("sue", "nice", 3.0)]
    assert detail.disposition is not None and detail.disposition.code == "sale"
    assert detail.quality is not None and detail.quality.score == 88
    where = history.recording_location(db, tenant="acme", call_uuid=call)
    assert where is not None and where.status == "done"
    assert history.recording(db, tenant="acme", call_uuid=add_call(db)) is None


def test_agent_figures_group_the_calls_by_agent(db: Engine) -> None:
    for agent, talk, hold in (("1001", 60_000, 0), ("1001", 120_000, 30_000), ("1002", 30_000, 0)):
        add_call(db, agent=agent, talk_ms=talk, hold_ms=hold)
    add_call(db, agent="1001", outcome="abandoned", talk_ms=None, hold_ms=None)
    add_call(db, agent="1001", started_at=T0 - timedelta(days=1))  # before the range
    add_call(db, agent=None, outcome="abandoned")
    rows = history.agent_figures(db, tenant="acme", since=T0, until=T0 + timedelta(days=1))
    by_agent = {r.agent: r for r in rows}
    assert set(by_agent) == {"1001", "1002"}
    first = by_agent["1001"]
    assert (first.calls, first.answered, first.talk_seconds, first.hold_seconds) == (3, 2, 180, 30)
    assert first.average_handle_seconds == pytest.approx(105.0)
    only = history.agent_figures(
        db, tenant="acme", since=T0, until=T0 + timedelta(days=1), agent="1002"
    )
    assert [r.agent for r in only] == ["1002"]


def _hourly_checks(engine: Engine) -> None:
    add_call(engine, started_at=T0)  # 10:00
    add_call(engine, started_at=T0 + timedelta(minutes=59), outcome="abandoned")
    add_call(engine, started_at=T0 + timedelta(hours=3, minutes=1))  # 13:01
    add_call(engine, started_at=T0 + timedelta(days=1))  # the next day
    add_call(engine, tenant="globex", started_at=T0)
    hours = history.hourly_calls(engine, tenant="acme", day=date(2026, 3, 2))
    assert [h.hour for h in hours] == list(range(24))
    assert (hours[10].calls, hours[10].answered, hours[10].abandoned) == (2, 1, 1)
    assert (hours[13].calls, hours[13].answered) == (1, 1)
    assert sum(h.calls for h in hours) == 3


def test_calls_per_hour_of_a_day(db: Engine) -> None:
    _hourly_checks(db)


def test_calls_per_hour_on_sqlite(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    try:
        _hourly_checks(engine)
    finally:
        engine.dispose()

"""Automatic quality scores: every rule with its worked-out score, then the task on real
PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from callcenter.acd.config import QualityPenalties, QualityRules
from callcenter.center import Center
from callcenter.db.models import Disposition, QualityScore
from tests.calls.rows import (
    T0,
    add_call,
    add_recording,
    center,
    center_file,
    sqlite_engine,
    worker_context,
)
from workers.context import WorkerContext
from workers.quality import (
    CallFacts,
    rules_for,
    score_and_store,
    score_call,
    score_call_task,
    worst_calls,
)


@pytest.fixture
def acme(tmp_path: Path) -> Center:
    return center(tmp_path)


@pytest.fixture
def sales(acme: Center) -> QualityRules:
    # answer within 15 s, wait at most 60 s, hold 30 s, silence 25 %, overtalk 5 s, abrupt
    # under 10 s, a disposition required; the default penalties (10, 15, 10, 10, 10, 30, 20).
    queue = acme.tenant("acme").queue("sales")
    assert queue is not None
    return queue.quality_rules()


# A sales call that broke no rule: answered after 10 s, 2 minutes of talk, recorded, disposed.
CLEAN = CallFacts(
    outcome="answered",
    wait_ms=10_000,
    bridged_at=T0,
    ended_at=T0 + timedelta(minutes=2),
    talk_ms=120_000,
    hold_ms=0,
    hangup_side="caller",
    silence_share=0.1,
    overtalk_s=1.0,
    long_holds=0,
    disposition="sale",
)


def rules_of(facts: CallFacts, rules: QualityRules) -> list[tuple[str, int, str]]:
    return [(r["rule"], r["penalty"], r["detail"]) for r in score_call(facts, rules).reasons]


def test_a_clean_call_scores_100(sales: QualityRules) -> None:
    result = score_call(CLEAN, sales)
    assert (result.score, result.reasons) == (100, [])


def test_slow_answer_past_the_answer_limit(sales: QualityRules) -> None:
    assert score_call(replace(CLEAN, wait_ms=15_000), sales).score == 100  # the limit itself
    late = replace(CLEAN, wait_ms=16_000)
    assert score_call(late, sales).score == 90
    assert rules_of(late, sales) == [("slow_answer", 10, "answered after 16 s, service level 15 s")]


def test_the_answer_limit_defaults_to_the_service_level(acme: Center) -> None:
    support = acme.tenant("acme").queue("support")
    assert support is not None
    rules = support.quality_rules()  # no quality block: service_level_seconds (20) applies
    assert score_call(replace(CLEAN, wait_ms=20_000), rules).score == 100
    late = replace(CLEAN, wait_ms=20_400)
    assert rules_of(late, rules) == [
        ("slow_answer", 10, "answered after 20.4 s, service level 20 s")
    ]


def test_a_long_wait_also_misses_the_answer_limit(sales: QualityRules) -> None:
    waited = replace(CLEAN, wait_ms=95_000)
    assert score_call(waited, sales).score == 100 - 10 - 15
    assert rules_of(waited, sales) == [
        ("slow_answer", 10, "answered after 95 s, service level 15 s"),
        ("long_wait", 15, "waited 95 s, limit 60 s"),
    ]


def test_hold_too_long(sales: QualityRules) -> None:
    assert score_call(replace(CLEAN, hold_ms=30_000), sales).score == 100
    held = replace(CLEAN, hold_ms=45_000)
    assert score_call(held, sales).score == 90
    assert rules_of(held, sales) == [("long_hold", 10, "on hold 45 s, limit 30 s")]


def test_silence_share_of_the_recording(sales: QualityRules) -> None:
    assert score_call(replace(CLEAN, silence_share=0.25), sales).score == 100
    quiet = replace(CLEAN, silence_share=0.4, long_holds=3)
    assert score_call(quiet, sales).score == 90
    assert rules_of(quiet, sales) == [
        ("silence", 10, "silent 40% of the recording, limit 25% (3 long silences)")
    ]


def test_overtalk(sales: QualityRules) -> None:
    assert score_call(replace(CLEAN, overtalk_s=5.0), sales).score == 100
    loud = replace(CLEAN, overtalk_s=7.5)
    assert score_call(loud, sales).score == 90
    assert rules_of(loud, sales) == [
        ("overtalk", 10, "both sides talking at once for 7.5 s, limit 5 s")
    ]


def test_abrupt_agent_hangup(sales: QualityRules) -> None:
    abrupt = replace(CLEAN, hangup_side="agent", talk_ms=4_000)
    assert score_call(abrupt, sales).score == 70
    assert rules_of(abrupt, sales) == [
        ("abrupt_hangup", 30, "the agent hung up 4 s after the bridge (under 10 s)")
    ]
    # The talk time from the bridge and the end when the record has no talk_ms.
    timed = replace(abrupt, talk_ms=None, ended_at=T0 + timedelta(seconds=6))
    assert rules_of(timed, sales)[0][2] == "the agent hung up 6 s after the bridge (under 10 s)"
    # Not abrupt: the agent after a real conversation, or the caller hanging up at once.
    assert score_call(replace(CLEAN, hangup_side="agent", talk_ms=10_000), sales).score == 100
    assert score_call(replace(CLEAN, hangup_side="caller", talk_ms=4_000), sales).score == 100


def test_missing_disposition(sales: QualityRules, acme: Center) -> None:
    undisposed = replace(CLEAN, disposition=None)
    assert score_call(undisposed, sales).score == 80
    assert rules_of(undisposed, sales) == [("missing_disposition", 20, "no disposition was set")]
    # A queue without codes requires none.
    support = acme.tenant("acme").queue("support")
    assert support is not None
    assert score_call(undisposed, support.quality_rules()).score == 100


def test_without_a_recording_its_rules_are_skipped_silently(sales: QualityRules) -> None:
    unrecorded = replace(CLEAN, silence_share=None, overtalk_s=None, long_holds=None)
    assert score_call(unrecorded, sales).score == 100
    # Everything else still counts, and no reason speaks of the recording.
    held = replace(unrecorded, hold_ms=45_000)
    assert [r["rule"] for r in score_call(held, sales).reasons] == ["long_hold"]


def test_every_rule_broken_bottoms_out_at_zero(sales: QualityRules) -> None:
    worst = CallFacts(
        outcome="answered",
        wait_ms=120_000,
        talk_ms=2_000,
        hold_ms=60_000,
        hangup_side="agent",
        silence_share=0.9,
        overtalk_s=20.0,
        long_holds=5,
    )
    result = score_call(worst, sales)
    assert sum(r["penalty"] for r in result.reasons) == 105
    assert result.score == 0
    assert [r["rule"] for r in result.reasons] == [
        "slow_answer",
        "long_wait",
        "long_hold",
        "silence",
        "overtalk",
        "abrupt_hangup",
        "missing_disposition",
    ]


def test_a_penalty_of_zero_turns_a_rule_off(sales: QualityRules) -> None:
    lenient = sales.model_copy(update={"penalties": QualityPenalties(long_hold=0, overtalk=25)})
    facts = replace(CLEAN, hold_ms=600_000, overtalk_s=30.0)
    assert score_call(facts, lenient).score == 75
    assert [r["rule"] for r in score_call(facts, lenient).reasons] == ["overtalk"]


def test_only_answered_calls_are_scored(sales: QualityRules) -> None:
    with pytest.raises(ValueError, match="only answered calls"):
        score_call(replace(CLEAN, outcome="abandoned"), sales)


def test_rules_for_a_queue_the_file_does_not_have(acme: Center) -> None:
    sales = rules_for(acme, "acme", "sales")
    assert (sales.answer_within_seconds, sales.require_disposition) == (15, True)
    for rules in (rules_for(acme, "acme", "gone"), rules_for(None, "acme", "sales")):
        assert rules.answer_within_seconds == 20  # the ACD's default service level
        assert rules.require_disposition is False
        assert rules.max_wait_seconds == QualityRules().max_wait_seconds
    assert rules_for(acme, "globex", "support").require_disposition is True


# Stored scores ----------------------------------------------------------------------------


@pytest.fixture
def ctx(db: Engine, database_url: str, redis_url: str, tmp_path: Path) -> Iterator[WorkerContext]:
    context = worker_context(database_url, redis_url, center_file(tmp_path), tmp_path)
    yield context
    context.engine.dispose()


def _scores(engine: Engine) -> list[tuple[str, int, list[dict[str, object]]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(QualityScore.call_uuid, QualityScore.score, QualityScore.reasons)
        ).all()
    return [(row.call_uuid, row.score, row.reasons) for row in rows]


def test_a_score_is_stored_once_and_replaced_by_the_newest(ctx: WorkerContext) -> None:
    engine = ctx.engine
    call = add_call(engine, hold_ms=45_000, agent="1001")
    add_recording(engine, call, silence_share=0.4, long_holds=0)
    result = score_and_store(ctx, "acme", call)
    assert result is not None and result.score == 100 - 10 - 10 - 20
    assert _scores(engine) == [
        (
            call,
            60,
            [
                {"rule": "long_hold", "penalty": 10, "detail": "on hold 45 s, limit 30 s"},
                {
                    "rule": "silence",
                    "penalty": 10,
                    "detail": "silent 40% of the recording, limit 25%",
                },
                {"rule": "missing_disposition", "penalty": 20, "detail": "no disposition was set"},
            ],
        )
    ]
    # The agent sets a disposition in wrap-up; scoring again keeps one row, the newest.
    with engine.begin() as conn:
        conn.execute(
            insert(Disposition).values(
                call_uuid=call, tenant="acme", code="sale", set_by="1001", set_at=T0
            )
        )
    assert score_call_task("acme", call) == 80
    assert [(uuid, score) for uuid, score, _ in _scores(engine)] == [(call, 80)]
    with engine.connect() as conn:
        row = conn.execute(select(QualityScore.queue, QualityScore.agent)).one()
    assert tuple(row) == ("sales", "1001")


def test_calls_that_are_not_scored_leave_no_row(ctx: WorkerContext) -> None:
    engine = ctx.engine
    abandoned = add_call(engine, outcome="abandoned", bridged_at=None, agent=None)
    going = add_call(engine, ended_at=None)
    other_tenant = add_call(engine, tenant="globex", queue="support")
    assert score_and_store(ctx, "acme", abandoned) is None
    assert score_and_store(ctx, "acme", going) is None
    assert score_and_store(ctx, "acme", "no-such-call") is None
    assert score_and_store(ctx, "acme", other_tenant) is None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(QualityScore)).scalar_one() == 0


def test_without_a_center_file_the_defaults_apply(
    db: Engine, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    ctx = worker_context(database_url, redis_url, None, tmp_path)
    try:
        call = add_call(ctx.engine, wait_ms=21_000)  # no disposition: none can be required
        result = score_and_store(ctx, "acme", call)
        assert result is not None
        assert [(r["rule"], result.score) for r in result.reasons] == [("slow_answer", 90)]
    finally:
        ctx.engine.dispose()


def _scored(engine: Engine, tenant: str, score: int, ended_minutes: int) -> str:
    call = add_call(engine, tenant=tenant, ended_at=T0 + timedelta(minutes=ended_minutes))
    with engine.begin() as conn:
        conn.execute(
            insert(QualityScore).values(
                call_uuid=call, tenant=tenant, queue="sales", agent="1000", score=score,
                reasons=[], scored_at=T0 + timedelta(minutes=ended_minutes + 1),
            )
        )  # fmt: skip
    return call


def test_worst_calls_lowest_first(db: Engine) -> None:
    a = _scored(db, "acme", 90, 1)
    b = _scored(db, "acme", 40, 2)
    c = _scored(db, "acme", 40, 3)
    d = _scored(db, "acme", 70, 4)
    _scored(db, "globex", 0, 5)
    assert [s.call_uuid for s in worst_calls(db, tenant="acme")] == [c, b, d, a]
    assert [s.call_uuid for s in worst_calls(db, tenant="acme", limit=2)] == [c, b]
    since = worst_calls(db, tenant="acme", since=T0 + timedelta(minutes=3))
    assert [(s.call_uuid, s.score) for s in since] == [(c, 40), (d, 70)]
    assert since[0].ended_at == T0 + timedelta(minutes=3)


def test_scores_on_sqlite(tmp_path: Path, redis_url: str) -> None:
    migrated = sqlite_engine(tmp_path)
    migrated.dispose()
    ctx = worker_context(
        f"sqlite:///{tmp_path / 'callcenter.db'}", redis_url, center_file(tmp_path), tmp_path
    )
    try:
        engine = ctx.engine
        low = _scored(engine, "acme", 10, 1)
        call = add_call(engine, hold_ms=45_000, ended_at=T0 + timedelta(minutes=2))
        add_recording(engine, call, overtalk_s=9.0)
        assert score_call_task("acme", call) == 100 - 10 - 10 - 20
        assert score_call_task("acme", call) == 60  # again: still one row
        found = worst_calls(engine, tenant="acme", since=T0)
        assert [(s.call_uuid, s.score) for s in found] == [(low, 10), (call, 60)]
        assert found[0].ended_at == T0 + timedelta(minutes=1)
        assert [r["rule"] for r in found[1].reasons] == [
            "long_hold",
            "overtalk",
            "missing_disposition",
        ]
    finally:
        ctx.engine.dispose()

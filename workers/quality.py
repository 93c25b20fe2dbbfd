"""Automatic quality control: every answered queue call gets a score out of 100 and the reasons
it lost points, by its queue's rules (``quality:`` in the center file, ``QualityRules``).

``score_call`` is the rules themselves, a pure function of what the call's record, its recording
and its disposition say. ``score_and_store`` reads those rows and keeps the result in
``quality_scores`` (one row per call: scoring again replaces it); the ingest sends
``cc.score_call`` a while after a queue call ends, so the agent had time to set a disposition.
``worst_calls`` is the supervisors' list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from celery import shared_task
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from callcenter.acd.config import QualityRules, QueueEntry
from callcenter.calls.upsert import upsert
from callcenter.center.tenant import Center
from callcenter.db.models import Call, Disposition, QualityScore, Recording
from workers.context import WorkerContext, context

__all__ = [
    "CallFacts",
    "QualityResult",
    "Reason",
    "ScoredCall",
    "rules_for",
    "score_and_store",
    "score_call",
    "score_call_task",
    "score_calls_task",
    "worst_calls",
]

log = logging.getLogger("callcenter.workers.quality")

PERFECT = 100


class Reason(TypedDict):
    """One rule a call broke, as kept in ``quality_scores.reasons``."""

    rule: str
    penalty: int
    detail: str


@dataclass(frozen=True)
class CallFacts:
    """What the scorer knows of a call. The recording's figures are None when the call has no
    processed recording; the rules that need them are then skipped."""

    outcome: str | None
    wait_ms: int | None = None
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    talk_ms: int | None = None
    hold_ms: int | None = None
    hangup_side: str | None = None
    silence_share: float | None = None
    overtalk_s: float | None = None
    long_holds: int | None = None
    disposition: str | None = None

    @classmethod
    def from_rows(
        cls, call: Call, recording: Recording | None, disposition: Disposition | None
    ) -> CallFacts:
        return cls(
            outcome=call.outcome,
            wait_ms=call.wait_ms,
            bridged_at=call.bridged_at,
            ended_at=call.ended_at,
            talk_ms=call.talk_ms,
            hold_ms=call.hold_ms,
            hangup_side=call.hangup_side,
            silence_share=recording.silence_share if recording is not None else None,
            overtalk_s=recording.overtalk_s if recording is not None else None,
            long_holds=recording.long_holds if recording is not None else None,
            disposition=disposition.code if disposition is not None else None,
        )

    @property
    def talk_seconds(self) -> float | None:
        """From the bridge to the end: the ingest's figure, else the two timestamps."""
        if self.talk_ms is not None:
            return self.talk_ms / 1000
        if self.bridged_at is not None and self.ended_at is not None:
            return max(0.0, (self.ended_at - self.bridged_at).total_seconds())
        return None

    @property
    def scorable(self) -> bool:
        """Only calls an agent took are scored: the rest has no conversation to judge."""
        return self.outcome == "answered"


@dataclass(frozen=True)
class QualityResult:
    score: int
    reasons: list[Reason] = field(default_factory=list)


def score_call(facts: CallFacts, rules: QualityRules) -> QualityResult:
    """The score of an answered call (``ValueError`` for any other): 100, less the penalty of
    every rule broken, never below 0. ``rules`` are used as given: take a queue's from
    ``QueueEntry.quality_rules()`` (or ``rules_for``), which fills in its defaults."""
    if not facts.scorable:
        raise ValueError(f"only answered calls are scored (outcome {facts.outcome!r})")
    penalties = rules.penalties
    reasons: list[Reason] = []

    def broke(rule: str, penalty: int, detail: str) -> None:
        if penalty > 0:  # a penalty of 0 turns the rule off
            reasons.append({"rule": rule, "penalty": penalty, "detail": detail})

    if facts.wait_ms is not None:
        waited = facts.wait_ms / 1000
        answer_within = rules.answer_within_seconds
        if answer_within is not None and waited > answer_within:
            broke(
                "slow_answer",
                penalties.slow_answer,
                f"answered after {_s(waited)} s, service level {_s(answer_within)} s",
            )
        if waited > rules.max_wait_seconds:
            broke(
                "long_wait",
                penalties.long_wait,
                f"waited {_s(waited)} s, limit {_s(rules.max_wait_seconds)} s",
            )
    if facts.hold_ms is not None and facts.hold_ms / 1000 > rules.max_hold_seconds:
        broke(
            "long_hold",
            penalties.long_hold,
            f"on hold {_s(facts.hold_ms / 1000)} s, limit {_s(rules.max_hold_seconds)} s",
        )
    if facts.silence_share is not None and facts.silence_share > rules.max_silence_share:
        detail = (
            f"silent {_pct(facts.silence_share)} of the recording, "
            f"limit {_pct(rules.max_silence_share)}"
        )
        if facts.long_holds:
            detail += f" ({facts.long_holds} long silences)"
        broke("silence", penalties.silence, detail)
    if facts.overtalk_s is not None and facts.overtalk_s > rules.max_overtalk_seconds:
        broke(
            "overtalk",
            penalties.overtalk,
            f"both sides talking at once for {_s(facts.overtalk_s)} s, "
            f"limit {_s(rules.max_overtalk_seconds)} s",
        )
    talk = facts.talk_seconds
    abrupt = rules.abrupt_agent_hangup_seconds
    if facts.hangup_side == "agent" and talk is not None and talk < abrupt:
        broke(
            "abrupt_hangup",
            penalties.abrupt_hangup,
            f"the agent hung up {_s(talk)} s after the bridge (under {_s(abrupt)} s)",
        )
    if rules.require_disposition and facts.disposition is None:
        broke("missing_disposition", penalties.missing_disposition, "no disposition was set")
    lost = sum(reason["penalty"] for reason in reasons)
    return QualityResult(score=max(0, PERFECT - lost), reasons=reasons)


def rules_for(center: Center | None, tenant: str, queue: str | None) -> QualityRules:
    """The queue's rules with its defaults filled in; the defaults for a queue the center file
    does not have (or no center file at all), with no disposition required."""
    if center is not None and queue is not None:
        for entry in center.tenants:
            if entry.name == tenant:
                found = entry.queue(queue)
                if found is not None:
                    return found.quality_rules()
    # A queue the file does not have: the ACD's defaults, and no codes to require.
    return QueueEntry(name="default").quality_rules()


def score_and_store(ctx: WorkerContext, tenant: str, call_uuid: str) -> QualityResult | None:
    """Score the call and keep the score (replacing an earlier one); None, with nothing
    written, for a call that is unknown, still going, or was not answered."""
    with Session(ctx.engine) as session:
        call = session.scalars(
            select(Call).where(Call.call_uuid == call_uuid, Call.tenant == tenant)
        ).first()
        if call is None or call.ended_at is None:
            log.info("quality_skipped tenant=%s call=%s reason=no_ended_call", tenant, call_uuid)
            return None
        if call.outcome != "answered":
            log.debug(
                "quality_skipped tenant=%s call=%s reason=outcome_%s",
                tenant,
                call_uuid,
                call.outcome,
            )
            return None
        recording = session.scalars(
            select(Recording).where(Recording.call_uuid == call_uuid, Recording.tenant == tenant)
        ).first()
        disposition = session.scalars(
            select(Disposition).where(
                Disposition.call_uuid == call_uuid, Disposition.tenant == tenant
            )
        ).first()
        result = score_call(
            CallFacts.from_rows(call, recording, disposition),
            rules_for(ctx.center(), tenant, call.queue),
        )
        upsert(
            session.connection(),
            QualityScore,
            {
                "call_uuid": call_uuid,
                "tenant": tenant,
                "queue": call.queue,
                "agent": call.agent,
                "score": result.score,
                "reasons": list(result.reasons),
                "scored_at": datetime.now(UTC),
            },
            key=["call_uuid"],
        )
        session.commit()
        log.info(
            "quality_scored tenant=%s call=%s queue=%s agent=%s score=%d rules=%s",
            tenant,
            call_uuid,
            call.queue or "-",
            call.agent or "-",
            result.score,
            ",".join(reason["rule"] for reason in result.reasons) or "-",
        )
    return result


@shared_task(name="cc.score_call")
def score_call_task(tenant: str, call_uuid: str) -> int | None:
    result = score_and_store(context(), tenant, call_uuid)
    return None if result is None else result.score


@shared_task(name="cc.score_calls")
def score_calls_task(tenant: str, call_uuids: list[str]) -> int:
    """The calls one ingest batch saw end, scored in one task (a busy center ends hundreds
    of calls a second: one message each would crowd the broker). Returns how many scored."""
    ctx = context()
    return sum(1 for call in call_uuids if score_and_store(ctx, tenant, call) is not None)


@dataclass(frozen=True)
class ScoredCall:
    call_uuid: str
    queue: str | None
    agent: str | None
    score: int
    reasons: list[dict[str, Any]]
    scored_at: datetime
    ended_at: datetime | None


def worst_calls(
    engine: Engine, *, tenant: str, limit: int = 20, since: datetime | None = None
) -> list[ScoredCall]:
    """The tenant's lowest scores first (the newest first among equal scores); ``since``
    keeps calls that ended then or later."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")
    ended = func.coalesce(Call.ended_at, QualityScore.scored_at)
    query = (
        select(
            QualityScore.call_uuid,
            QualityScore.queue,
            QualityScore.agent,
            QualityScore.score,
            QualityScore.reasons,
            QualityScore.scored_at,
            Call.ended_at,
        )
        .outerjoin(Call, Call.call_uuid == QualityScore.call_uuid)
        .where(QualityScore.tenant == tenant)
        .order_by(QualityScore.score, ended.desc(), QualityScore.call_uuid)
        .limit(limit)
    )
    if since is not None:
        query = query.where(ended >= since)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        ScoredCall(
            call_uuid=row.call_uuid,
            queue=row.queue,
            agent=row.agent,
            score=row.score,
            reasons=list(row.reasons),
            scored_at=row.scored_at,
            ended_at=row.ended_at,
        )
        for row in rows
    ]


def _s(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def _pct(share: float) -> str:
    return f"{round(share * 100):d}%"

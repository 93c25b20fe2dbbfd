"""A call's whole record as text for the terminal (``callcenter calls show``): the CDR, its
legs, queue stays, recording, disposition, comments and quality score."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from callcenter.calls.errors import UnknownCallError
from callcenter.calls.notes import comments, disposition
from callcenter.db.models import Call, CallLeg, QualityScore, QueueWait, Recording

__all__ = ["call_record_text"]

_CALL_FIELDS = (
    "direction", "caller_number", "caller_name", "destination", "did", "campaign", "gateway",
    "queue", "agent", "outcome", "started_at", "answered_at", "bridged_at", "ended_at",
    "wait_ms", "talk_ms", "hold_ms", "billsec", "hangup_cause", "hangup_side",
    "rate_per_minute", "cost",
)  # fmt: skip


def _line(name: str, value: Any) -> str:
    return f"  {name}: {'-' if value is None else value}"


def call_record_text(engine: Engine, *, tenant: str, call_uuid: str) -> str:
    with engine.connect() as conn:
        call = conn.execute(
            select(Call).where(Call.call_uuid == call_uuid, Call.tenant == tenant)
        ).one_or_none()
        if call is None:
            raise UnknownCallError(f"no call {call_uuid} in tenant {tenant}", call_uuid=call_uuid)
        legs = conn.execute(
            select(CallLeg).where(CallLeg.call_uuid == call_uuid).order_by(CallLeg.created_at)
        ).all()
        waits = conn.execute(
            select(QueueWait)
            .where(QueueWait.call_uuid == call_uuid)
            .order_by(QueueWait.enqueued_at)
        ).all()
        recording = conn.execute(
            select(Recording).where(Recording.call_uuid == call_uuid)
        ).one_or_none()
        score = conn.execute(
            select(QualityScore).where(QualityScore.call_uuid == call_uuid)
        ).one_or_none()
    out = [f"call {call_uuid} (tenant {tenant})"]
    out += [_line(name, getattr(call, name)) for name in _CALL_FIELDS]
    for leg in legs:
        out.append(
            f"leg {leg.leg_uuid} {leg.role} agent={leg.agent or '-'} channel={leg.channel or '-'} "
            f"billsec={leg.billsec} cause={leg.hangup_cause} side={leg.hangup_side}"
        )
    for wait in waits:
        out.append(
            f"queue {wait.queue}: position={wait.position} outcome={wait.outcome or 'waiting'} "
            f"wait_ms={wait.wait_ms} agent={wait.agent or '-'}"
            + (f" came_from={wait.came_from}" if wait.came_from else "")
            + (f" overflow_to={wait.overflow_to}" if wait.overflow_to else "")
        )
    if recording is not None:
        detail = (
            f"{recording.storage_uri} {recording.format} {recording.duration_s}s "
            f"sha256={recording.sha256} silence={recording.silence_share} "
            f"overtalk={recording.overtalk_s}s"
            if recording.status == "done"
            else recording.failure_reason or recording.source_path
        )
        out.append(f"recording {recording.status}: {detail}")
    chosen = disposition(engine, tenant=tenant, call_uuid=call_uuid)
    if chosen is not None:
        out.append(f"disposition {chosen.code} by {chosen.set_by} at {chosen.set_at}")
    for note in comments(engine, tenant=tenant, call_uuid=call_uuid):
        at = f" at {note.offset_s:g}s" if note.offset_s is not None else ""
        out.append(f"comment by {note.author}{at} ({note.created_at}): {note.text}")
    if score is not None:
        reasons = "; ".join(f"{r['rule']} -{r['penalty']}: {r['detail']}" for r in score.reasons)
        out.append(f"quality {score.score}" + (f" ({reasons})" if reasons else ""))
    return "\n".join(out)

"""A tenant's call history from the CDR tables: search with paging (newest first), one call's
whole record, its recording's metadata, and the simple figures the pages chart (per agent, per
hour of a day).

A service with no web in it: the HTTP API calls these functions. Who may see what is decided
here as well, so that every caller applies the same rule: an agent sees the calls they handled
(the call's agent, or an agent leg of theirs that was answered: a transfer to them), nobody
else's; ``handled_by=None`` sees every call of the tenant (supervisors, admins).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    or_,
    select,
)

from callcenter.calls.errors import NotesError, UnknownCallError
from callcenter.calls.notes import comments, disposition
from callcenter.db.models import Call, CallLeg, Disposition, QualityScore, QueueWait, Recording
from callcenter.db.types import utc

__all__ = [
    "MAX_PAGE",
    "AgentFigures",
    "CallDetail",
    "CallPage",
    "CallSearch",
    "CallSummary",
    "CommentOut",
    "DispositionOut",
    "HourFigures",
    "LegView",
    "NotYourCallError",
    "QualityView",
    "RecordingLocation",
    "RecordingView",
    "WaitView",
    "agent_figures",
    "call_detail",
    "check_access",
    "hourly_calls",
    "recording",
    "recording_location",
    "search_calls",
]

MAX_PAGE = 200
_SHORT = r"^[^\x00-\x1f\x7f]+$"  # one line of text: no control characters


class NotYourCallError(NotesError):
    """An agent asked for a call they did not handle."""

    error_id = "not-your-call"


class CallSearch(BaseModel):
    """What to look for in a tenant's calls; every filter is optional, all of them must hold."""

    model_config = ConfigDict(extra="forbid")

    # Calls that started in [since, until) (a time without zone is UTC).
    since: datetime | None = None
    until: datetime | None = None
    # A piece of the caller's number or name, or of the number dialled (case ignored).
    caller: str | None = Field(None, min_length=1, max_length=64, pattern=_SHORT)
    agent: str | None = Field(None, min_length=1, max_length=64, pattern=_SHORT)
    queue: str | None = Field(None, min_length=1, max_length=64, pattern=_SHORT)
    did: str | None = Field(None, min_length=1, max_length=64, pattern=_SHORT)
    # answered, abandoned, overflowed, moved, callback_requested, ended
    outcome: str | None = Field(None, min_length=1, max_length=24, pattern=_SHORT)
    disposition: str | None = Field(None, min_length=1, max_length=64, pattern=_SHORT)
    # Calls whose automatic quality score is at least this (unscored calls are left out).
    min_quality: int | None = Field(None, ge=0, le=100)
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=1_000_000)


class CallSummary(BaseModel):
    call_uuid: str
    direction: str | None
    caller_number: str | None
    caller_name: str | None
    destination: str | None
    did: str | None
    queue: str | None
    agent: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    wait_ms: int | None
    talk_ms: int | None
    outcome: str | None
    hangup_cause: str | None
    disposition: str | None
    quality_score: int | None
    has_recording: bool


class CallPage(BaseModel):
    calls: list[CallSummary]
    # How many calls match in all (the page is ``limit`` of them from ``offset``).
    total: int
    limit: int
    offset: int


class LegView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    leg_uuid: str
    role: str
    agent: str | None
    channel: str | None
    caller_number: str | None
    destination: str | None
    gateway: str | None
    created_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    billsec: int | None
    hold_ms: int | None
    hangup_cause: str | None
    hangup_side: str | None


class WaitView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    queue: str
    enqueued_at: datetime | None
    offered_at: datetime | None
    answered_at: datetime | None
    left_at: datetime | None
    outcome: str | None
    wait_ms: int | None
    position: int | None
    agent: str | None
    came_from: str | None
    overflow_to: str | None


class RecordingView(BaseModel):
    """A recording's metadata (where it is stored stays on the server)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str  # pending, done, failed
    failure_reason: str | None
    format: str | None
    size_bytes: int | None
    duration_s: float | None
    talk_caller_s: float | None
    talk_agent_s: float | None
    silence_share: float | None
    overtalk_s: float | None
    long_holds: int | None
    longest_silence_s: float | None
    created_at: datetime | None
    processed_at: datetime | None


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    text: str
    created_at: datetime
    offset_s: float | None
    recording_id: int | None


class DispositionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    set_by: str
    set_at: datetime


class QualityView(BaseModel):
    score: int
    reasons: list[dict[str, Any]]
    scored_at: datetime


class CallDetail(BaseModel):
    call_uuid: str
    tenant: str
    node: str | None
    direction: str | None
    caller_number: str | None
    caller_name: str | None
    destination: str | None
    did: str | None
    campaign: str | None
    gateway: str | None
    queue: str | None
    agent: str | None
    started_at: datetime | None
    answered_at: datetime | None
    bridged_at: datetime | None
    ended_at: datetime | None
    wait_ms: int | None
    talk_ms: int | None
    hold_ms: int | None
    billsec: int | None
    duration: int | None
    hangup_cause: str | None
    hangup_side: str | None
    outcome: str | None
    cost: float | None
    legs: list[LegView]
    waits: list[WaitView]
    recording: RecordingView | None
    comments: list[CommentOut]
    disposition: DispositionOut | None
    quality: QualityView | None


@dataclass(frozen=True)
class RecordingLocation:
    """Where a call's recording is kept, for the server to read it (never shown to users)."""

    call_uuid: str
    status: str
    storage_uri: str | None
    format: str | None
    size_bytes: int | None
    failure_reason: str | None


class AgentFigures(BaseModel):
    agent: str
    calls: int  # calls the agent was the agent of
    answered: int
    talk_seconds: float
    hold_seconds: float
    # (talk + hold) per answered call; after-call work is not in the call records.
    average_handle_seconds: float


class HourFigures(BaseModel):
    hour: int  # 0..23, UTC
    calls: int
    answered: int
    abandoned: int


# -- who sees what ----------------------------------------------------------------------------


def _handled(agent: str) -> ColumnElement[bool]:
    """The call is one ``agent`` handled: theirs, or one transferred to them and answered."""
    leg = (
        select(CallLeg.leg_uuid)
        .where(
            CallLeg.call_uuid == Call.call_uuid,
            CallLeg.tenant == Call.tenant,
            CallLeg.agent == agent,
            CallLeg.answered_at.is_not(None),
        )
        .exists()
    )
    return or_(Call.agent == agent, leg)


def _viewer(handled_by: str | None) -> str | None:
    if handled_by is not None and not handled_by.strip():
        raise ValueError("handled_by names an agent: it cannot be empty")
    return handled_by


def _access(conn: Connection, tenant: str, call_uuid: str, handled_by: str | None) -> None:
    exists = conn.execute(
        select(Call.call_uuid).where(Call.call_uuid == call_uuid, Call.tenant == tenant)
    ).first()
    if exists is None:
        raise UnknownCallError(
            f"no call {call_uuid!r} in tenant {tenant!r} (a call is known once it has ended "
            "and its record is written)",
            call_uuid=call_uuid,
        )
    if handled_by is None:
        return
    mine = conn.execute(
        select(Call.call_uuid).where(
            Call.call_uuid == call_uuid, Call.tenant == tenant, _handled(handled_by)
        )
    ).first()
    if mine is None:
        raise NotYourCallError(
            f"call {call_uuid!r} was not handled by agent {handled_by!r}: an agent sees "
            "their own calls only",
            call_uuid=call_uuid,
            agent=handled_by,
        )


def check_access(engine: Engine, *, tenant: str, call_uuid: str, handled_by: str | None) -> None:
    """``UnknownCallError`` when the tenant has no such call; ``NotYourCallError`` when
    ``handled_by`` (an agent) did not handle it."""
    viewer = _viewer(handled_by)
    with engine.connect() as conn:
        _access(conn, tenant, call_uuid, viewer)


# -- search -----------------------------------------------------------------------------------


def _search_statement(
    tenant: str, search: CallSearch, viewer: str | None
) -> Select[*tuple[Any, ...]]:
    statement: Select[*tuple[Any, ...]] = (
        select(
            Call.call_uuid,
            Call.direction,
            Call.caller_number,
            Call.caller_name,
            Call.destination,
            Call.did,
            Call.queue,
            Call.agent,
            Call.started_at,
            Call.answered_at,
            Call.ended_at,
            Call.wait_ms,
            Call.talk_ms,
            Call.outcome,
            Call.hangup_cause,
            Disposition.code.label("disposition"),
            QualityScore.score.label("quality_score"),
            Recording.id.is_not(None).label("has_recording"),
        )
        .outerjoin(
            Disposition,
            and_(Disposition.call_uuid == Call.call_uuid, Disposition.tenant == Call.tenant),
        )
        .outerjoin(
            QualityScore,
            and_(QualityScore.call_uuid == Call.call_uuid, QualityScore.tenant == Call.tenant),
        )
        .outerjoin(
            Recording, and_(Recording.call_uuid == Call.call_uuid, Recording.tenant == Call.tenant)
        )
        .where(Call.tenant == tenant)
    )
    if viewer is not None:
        statement = statement.where(_handled(viewer))
    if search.since is not None:
        statement = statement.where(Call.started_at >= utc(search.since))
    if search.until is not None:
        statement = statement.where(Call.started_at < utc(search.until))
    if search.caller is not None:
        piece = search.caller.lower()
        statement = statement.where(
            or_(
                *(
                    func.lower(column).contains(piece, autoescape=True)
                    for column in (Call.caller_number, Call.caller_name, Call.destination)
                )
            )
        )
    for column, value in (
        (Call.agent, search.agent),
        (Call.queue, search.queue),
        (Call.did, search.did),
        (Call.outcome, search.outcome),
        (Disposition.code, search.disposition),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if search.min_quality is not None:
        statement = statement.where(QualityScore.score >= search.min_quality)
    return statement


def search_calls(
    engine: Engine, *, tenant: str, search: CallSearch, handled_by: str | None = None
) -> CallPage:
    """The tenant's calls that match, newest first, one page of them and how many in all."""
    viewer = _viewer(handled_by)
    statement = _search_statement(tenant, search, viewer)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
        rows = conn.execute(
            statement.order_by(Call.started_at.desc().nulls_last(), Call.call_uuid.desc())
            .limit(search.limit)
            .offset(search.offset)
        ).all()
    return CallPage(
        calls=[CallSummary.model_validate(dict(row._mapping)) for row in rows],
        total=total,
        limit=search.limit,
        offset=search.offset,
    )


# -- one call ---------------------------------------------------------------------------------


def call_detail(
    engine: Engine, *, tenant: str, call_uuid: str, handled_by: str | None = None
) -> CallDetail:
    """A call's whole record: the CDR, its legs, queue stays, recording, comments,
    disposition and quality score."""
    viewer = _viewer(handled_by)
    with engine.connect() as conn:
        _access(conn, tenant, call_uuid, viewer)
        call = conn.execute(
            select(Call).where(Call.call_uuid == call_uuid, Call.tenant == tenant)
        ).one()
        legs = conn.execute(
            select(CallLeg)
            .where(CallLeg.call_uuid == call_uuid, CallLeg.tenant == tenant)
            .order_by(CallLeg.created_at.nulls_last(), CallLeg.leg_uuid)
        ).all()
        waits = conn.execute(
            select(QueueWait)
            .where(QueueWait.call_uuid == call_uuid, QueueWait.tenant == tenant)
            .order_by(QueueWait.enqueued_at.nulls_last(), QueueWait.queue)
        ).all()
        stored = conn.execute(
            select(Recording).where(Recording.call_uuid == call_uuid, Recording.tenant == tenant)
        ).one_or_none()
        score = conn.execute(
            select(QualityScore).where(
                QualityScore.call_uuid == call_uuid, QualityScore.tenant == tenant
            )
        ).one_or_none()
        leg_views = [LegView.model_validate(leg) for leg in legs]
        wait_views = [WaitView.model_validate(wait) for wait in waits]
    notes = comments(engine, tenant=tenant, call_uuid=call_uuid)
    chosen = disposition(engine, tenant=tenant, call_uuid=call_uuid)
    return CallDetail(
        call_uuid=call.call_uuid,
        tenant=call.tenant,
        node=call.node,
        direction=call.direction,
        caller_number=call.caller_number,
        caller_name=call.caller_name,
        destination=call.destination,
        did=call.did,
        campaign=call.campaign,
        gateway=call.gateway,
        queue=call.queue,
        agent=call.agent,
        started_at=call.started_at,
        answered_at=call.answered_at,
        bridged_at=call.bridged_at,
        ended_at=call.ended_at,
        wait_ms=call.wait_ms,
        talk_ms=call.talk_ms,
        hold_ms=call.hold_ms,
        billsec=call.billsec,
        duration=call.duration,
        hangup_cause=call.hangup_cause,
        hangup_side=call.hangup_side,
        outcome=call.outcome,
        cost=float(call.cost) if call.cost is not None else None,
        legs=leg_views,
        waits=wait_views,
        recording=RecordingView.model_validate(stored) if stored is not None else None,
        comments=[CommentOut.model_validate(note) for note in notes],
        disposition=DispositionOut.model_validate(chosen) if chosen is not None else None,
        quality=(
            QualityView(score=score.score, reasons=list(score.reasons), scored_at=score.scored_at)
            if score is not None
            else None
        ),
    )


def recording(
    engine: Engine, *, tenant: str, call_uuid: str, handled_by: str | None = None
) -> RecordingView | None:
    """The call's recording's metadata; None when the call has no recording."""
    viewer = _viewer(handled_by)
    with engine.connect() as conn:
        _access(conn, tenant, call_uuid, viewer)
        stored = conn.execute(
            select(Recording).where(Recording.call_uuid == call_uuid, Recording.tenant == tenant)
        ).one_or_none()
        return RecordingView.model_validate(stored) if stored is not None else None


def recording_location(
    engine: Engine, *, tenant: str, call_uuid: str, handled_by: str | None = None
) -> RecordingLocation | None:
    """Where the call's recording is kept (None: the call has no recording)."""
    viewer = _viewer(handled_by)
    with engine.connect() as conn:
        _access(conn, tenant, call_uuid, viewer)
        row = conn.execute(
            select(
                Recording.status,
                Recording.storage_uri,
                Recording.format,
                Recording.size_bytes,
                Recording.failure_reason,
            ).where(Recording.call_uuid == call_uuid, Recording.tenant == tenant)
        ).first()
    if row is None:
        return None
    return RecordingLocation(
        call_uuid, row.status, row.storage_uri, row.format, row.size_bytes, row.failure_reason
    )


# -- figures ----------------------------------------------------------------------------------


def agent_figures(
    engine: Engine,
    *,
    tenant: str,
    since: datetime,
    until: datetime,
    agent: str | None = None,
) -> list[AgentFigures]:
    """Per agent (by the calls' agent column), for calls that started in [since, until):
    calls, answered calls, talk and hold time, average handle time. ``agent``: that one only."""
    answered = Call.outcome == "answered"
    statement = (
        select(
            Call.agent,
            func.count().label("calls"),
            func.count(case((answered, 1))).label("answered"),
            func.coalesce(func.sum(Call.talk_ms), 0).label("talk_ms"),
            func.coalesce(func.sum(Call.hold_ms), 0).label("hold_ms"),
        )
        .where(
            Call.tenant == tenant,
            Call.agent.is_not(None),
            Call.agent != "",
            Call.started_at >= utc(since),
            Call.started_at < utc(until),
        )
        .group_by(Call.agent)
        .order_by(Call.agent)
    )
    if agent is not None:
        statement = statement.where(Call.agent == agent)
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return [
        AgentFigures(
            agent=row.agent,
            calls=row.calls,
            answered=row.answered,
            talk_seconds=int(row.talk_ms) / 1000,
            hold_seconds=int(row.hold_ms) / 1000,
            average_handle_seconds=(
                (int(row.talk_ms) + int(row.hold_ms)) / 1000 / row.answered if row.answered else 0.0
            ),
        )
        for row in rows
    ]


def _hour_of_start(engine: Engine) -> ColumnElement[int]:
    if engine.dialect.name == "postgresql":
        return cast(extract("hour", func.timezone("UTC", Call.started_at)), Integer)
    # SQLite keeps the times as UTC text without a zone.
    return cast(func.strftime("%H", Call.started_at), Integer)


def hourly_calls(engine: Engine, *, tenant: str, day: date) -> list[HourFigures]:
    """Calls that started in each hour (UTC) of ``day``: 24 rows, hours without calls too."""
    start = utc(datetime.combine(day, time()))
    hour = _hour_of_start(engine).label("hour")
    statement = (
        select(
            hour,
            func.count().label("calls"),
            func.count(case((Call.outcome == "answered", 1))).label("answered"),
            func.count(case((Call.outcome == "abandoned", 1))).label("abandoned"),
        )
        .where(
            Call.tenant == tenant,
            Call.started_at >= start,
            Call.started_at < start + timedelta(days=1),
        )
        .group_by(hour)
    )
    with engine.connect() as conn:
        found = {int(row.hour): row for row in conn.execute(statement).all()}
    return [
        HourFigures(hour=h, calls=found[h].calls, answered=found[h].answered,
                    abandoned=found[h].abandoned)
        if h in found
        else HourFigures(hour=h, calls=0, answered=0, abandoned=0)
        for h in range(24)
    ]  # fmt: skip

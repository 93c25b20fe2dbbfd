"""What people add to a call after it: comments (at a moment of its recording, if they like)
and the disposition, the outcome code an agent or supervisor picks from the call's queue.

A service with no web in it: the HTTP API calls these functions and turns ``NotesError`` into
its answers. Input is checked here, once; a call of another tenant is the same as no call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, Row, insert, select

from callcenter.calls.errors import (
    DispositionsNotUsedError,
    InvalidCommentError,
    InvalidDispositionError,
    NotesError,
    UnknownCallError,
    UnknownDispositionError,
)
from callcenter.calls.upsert import upsert
from callcenter.center.tenant import Center
from callcenter.db.models import Call, Comment, Disposition, Recording
from callcenter.db.types import utc

__all__ = [
    "MAX_COMMENT_CHARS",
    "CommentView",
    "DispositionView",
    "add_comment",
    "allowed_dispositions",
    "comments",
    "disposition",
    "set_disposition",
]

MAX_COMMENT_CHARS = 4000
# The width of the author and set_by columns.
_MAX_PERSON_CHARS = 128


@dataclass(frozen=True)
class CommentView:
    id: int
    call_uuid: str
    tenant: str
    author: str
    text: str
    created_at: datetime
    # Seconds into the call's recording the comment is about (None: the call as a whole).
    offset_s: float | None
    recording_id: int | None


@dataclass(frozen=True)
class DispositionView:
    call_uuid: str
    tenant: str
    code: str
    set_by: str
    set_at: datetime


def add_comment(
    engine: Engine,
    *,
    tenant: str,
    call_uuid: str,
    author: str,
    text: str,
    offset_s: float | None = None,
    at: datetime | None = None,
) -> CommentView:
    """Keep a comment on a call, linked to the call's recording when it has one."""
    body = text.strip()
    if not body:
        raise InvalidCommentError("the comment is empty: write something", field="text")
    if len(body) > MAX_COMMENT_CHARS:
        raise InvalidCommentError(
            f"the comment is {len(body)} characters long: at most {MAX_COMMENT_CHARS}",
            field="text",
            limit=MAX_COMMENT_CHARS,
        )
    who = _person(author, "author", InvalidCommentError)
    created = utc(at)
    with engine.begin() as conn:
        _call(conn, tenant, call_uuid)
        recording = conn.execute(
            select(Recording.id, Recording.duration_s).where(
                Recording.call_uuid == call_uuid, Recording.tenant == tenant
            )
        ).first()
        duration = recording.duration_s if recording is not None else None
        offset = _offset(offset_s, duration)
        recording_id = recording.id if recording is not None else None
        comment_id = conn.execute(
            insert(Comment)
            .values(
                call_uuid=call_uuid,
                recording_id=recording_id,
                tenant=tenant,
                author=who,
                created_at=created,
                offset_s=offset,
                text=body,
            )
            .returning(Comment.id)
        ).scalar_one()
    return CommentView(comment_id, call_uuid, tenant, who, body, created, offset, recording_id)


def comments(engine: Engine, *, tenant: str, call_uuid: str) -> list[CommentView]:
    """The call's comments, oldest first."""
    with engine.connect() as conn:
        _call(conn, tenant, call_uuid)
        rows = conn.execute(
            select(
                Comment.id,
                Comment.call_uuid,
                Comment.tenant,
                Comment.author,
                Comment.text,
                Comment.created_at,
                Comment.offset_s,
                Comment.recording_id,
            )
            .where(Comment.call_uuid == call_uuid, Comment.tenant == tenant)
            .order_by(Comment.created_at, Comment.id)
        ).all()
    return [
        CommentView(
            id=row.id,
            call_uuid=row.call_uuid,
            tenant=row.tenant,
            author=row.author,
            text=row.text,
            created_at=row.created_at,
            offset_s=row.offset_s,
            recording_id=row.recording_id,
        )
        for row in rows
    ]


def allowed_dispositions(center: Center | None, *, tenant: str, queue: str | None) -> list[str]:
    """The codes a call of ``queue`` may be given; ``DispositionsNotUsedError`` when none."""
    if queue is None:
        raise DispositionsNotUsedError(
            "the call went through no queue: dispositions are set on queue calls only",
            queue=None,
        )
    if center is None:
        raise DispositionsNotUsedError(
            "no center file is loaded: the disposition codes are listed in its queues",
            queue=queue,
        )
    entry = next((t.queue(queue) for t in center.tenants if t.name == tenant), None)
    if entry is None:
        raise DispositionsNotUsedError(
            f"queue {queue!r} of tenant {tenant!r} is not in the center file "
            "(removed since the call?): its disposition codes are unknown",
            queue=queue,
        )
    if not entry.dispositions:
        raise DispositionsNotUsedError(
            f"queue {queue!r} has no disposition codes "
            "(list them in the queue's dispositions in the center file)",
            queue=queue,
        )
    return list(entry.dispositions)


def set_disposition(
    engine: Engine,
    center: Center | None,
    *,
    tenant: str,
    call_uuid: str,
    code: str,
    set_by: str,
    at: datetime | None = None,
) -> DispositionView:
    """Give the call a disposition from its queue's list, replacing the one it had. Setting the
    same code again (by the same person) changes nothing."""
    who = _person(set_by, "set_by", InvalidDispositionError)
    with engine.begin() as conn:
        call = _call(conn, tenant, call_uuid)
        allowed = allowed_dispositions(center, tenant=tenant, queue=call.queue)
        if code not in allowed:
            raise UnknownDispositionError(
                f"{code!r} is not a disposition of queue {call.queue!r}: "
                f"choose one of {', '.join(allowed)}",
                code=code,
                queue=call.queue,
                allowed=allowed,
            )
        values = {
            "call_uuid": call_uuid,
            "tenant": tenant,
            "code": code,
            "set_by": who,
            "set_at": utc(at),
        }
        upsert(conn, Disposition, values, key=["call_uuid"], only_if_changed=["code", "set_by"])
        row = conn.execute(
            select(*_DISPOSITION_COLUMNS).where(Disposition.call_uuid == call_uuid)
        ).one()
    return _disposition_view(row)


def disposition(engine: Engine, *, tenant: str, call_uuid: str) -> DispositionView | None:
    """The call's disposition, None when it has none yet."""
    with engine.connect() as conn:
        _call(conn, tenant, call_uuid)
        row = conn.execute(
            select(*_DISPOSITION_COLUMNS).where(
                Disposition.call_uuid == call_uuid, Disposition.tenant == tenant
            )
        ).first()
    return None if row is None else _disposition_view(row)


_DISPOSITION_COLUMNS = (
    Disposition.call_uuid,
    Disposition.tenant,
    Disposition.code,
    Disposition.set_by,
    Disposition.set_at,
)


def _disposition_view(row: Row[str, str, str, str, datetime]) -> DispositionView:
    call_uuid, tenant, code, set_by, set_at = row
    return DispositionView(call_uuid, tenant, code, set_by, set_at)


class _CallKey(NamedTuple):
    call_uuid: str
    queue: str | None


def _call(conn: Connection, tenant: str, call_uuid: str) -> _CallKey:
    row = conn.execute(
        select(Call.call_uuid, Call.queue).where(Call.call_uuid == call_uuid, Call.tenant == tenant)
    ).first()
    if row is None:
        raise UnknownCallError(
            f"no call {call_uuid!r} in tenant {tenant!r} (a call is known once it has ended "
            "and its record is written)",
            call_uuid=call_uuid,
        )
    return _CallKey(row.call_uuid, row.queue)


def _person(name: str, field: str, error: type[NotesError]) -> str:
    who = name.strip()
    if not who:
        raise error(f"{field} is empty: say who is writing", field=field)
    if len(who) > _MAX_PERSON_CHARS:
        raise error(f"{field} is longer than {_MAX_PERSON_CHARS} characters", field=field)
    return who


def _offset(offset_s: float | None, duration_s: float | None) -> float | None:
    if offset_s is None:
        return None
    if not math.isfinite(offset_s) or offset_s < 0:
        raise InvalidCommentError(
            f"offset {offset_s:g} s is not a moment of the recording: 0 or more seconds",
            field="offset_s",
        )
    if duration_s is not None and offset_s > duration_s:
        raise InvalidCommentError(
            f"offset {offset_s:g} s is past the end of the recording ({duration_s:g} s long)",
            field="offset_s",
            duration_s=duration_s,
        )
    return float(offset_s)

"""The center's records in SQL: calls and their legs, queue waits, agent state history,
recordings, comments, dispositions, quality scores, the phone book and retention runs; the
users of the web and API, their roles per tenant, API tokens and the audit log of writes.

Rows written by the CDR ingest are keyed by what the switch or the controller named them (call
and leg UUIDs, Stream entry IDs), so ingesting the same event twice never makes a second row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from callcenter.db.types import UtcDateTime

__all__ = [
    "ONLY_DIALECT",
    "AgentStateChange",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Call",
    "CallLeg",
    "Comment",
    "Contact",
    "Disposition",
    "IngestCursor",
    "QualityScore",
    "QueueWait",
    "Recording",
    "RetentionRun",
    "User",
    "UserRole",
]

# ``info`` key of a schema item built on one dialect only (with a ``ddl_if`` of the same).
ONLY_DIALECT = "only_dialect"
UUID_LEN = 64  # FreeSWITCH UUIDs are 36 characters; a caller-chosen origination_uuid may differ


class Base(DeclarativeBase):
    pass


class Call(Base):
    """One row per call, named by the caller's channel UUID (the ACD's call id)."""

    __tablename__ = "calls"

    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    node: Mapped[str | None] = mapped_column(String(64))
    # inbound (from a gateway/DID), outbound (a user through a gateway), internal, callback
    direction: Mapped[str | None] = mapped_column(String(16))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    destination: Mapped[str | None] = mapped_column(String(64))
    did: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(128))  # the DID's advert label
    gateway: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    bridged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_ms: Mapped[int | None] = mapped_column(Integer)
    talk_ms: Mapped[int | None] = mapped_column(Integer)
    hold_ms: Mapped[int | None] = mapped_column(Integer)
    billsec: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[int | None] = mapped_column(Integer)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    # who hung up first: caller, agent (or callee), system
    hangup_side: Mapped[str | None] = mapped_column(String(16))
    # answered (bridged to an agent), abandoned, overflowed, moved, callback_requested, ended
    outcome: Mapped[str | None] = mapped_column(String(24))
    rate_prefix: Mapped[str | None] = mapped_column(String(24))
    rate_per_minute: Mapped[Decimal | None] = mapped_column(Numeric(12, 5))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 5))


class CallLeg(Base):
    """One channel of a call: the caller, each agent leg rung, a callback's customer leg."""

    __tablename__ = "call_legs"

    leg_uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    tenant: Mapped[str] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # caller, agent, customer, other
    agent: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(255))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    destination: Mapped[str | None] = mapped_column(String(64))
    gateway: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    billsec: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[int | None] = mapped_column(Integer)
    hold_ms: Mapped[int | None] = mapped_column(Integer)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    hangup_side: Mapped[str | None] = mapped_column(String(16))  # remote, local


class QueueWait(Base):
    """A call's stay in one queue (an overflow to another queue starts a second stay)."""

    __tablename__ = "queue_waits"

    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    offered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # answered, abandoned, overflowed, moved (by a supervisor), callback_requested,
    # callback_failed (None: still waiting)
    outcome: Mapped[str | None] = mapped_column(String(24))
    wait_ms: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)  # place in line on arrival, 1 = next
    agent: Mapped[str | None] = mapped_column(String(64))
    came_from: Mapped[str | None] = mapped_column(String(64))
    # where the caller went on leaving the queue (overflowed, moved): queue or destination
    overflow_to: Mapped[str | None] = mapped_column(String(128))


class AgentStateChange(Base):
    """An agent's state history, one row per change on the event Stream (named by its entry)."""

    __tablename__ = "agent_states"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(128))
    call_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_agent_states_agent_at", "tenant", "agent", "at"),)


class IngestCursor(Base):
    """The last Stream entry of a tenant whose rows are committed, written in the same
    transaction as the rows: an entry at or before it is never written twice."""

    __tablename__ = "ingest_cursors"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_id: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Recording(Base):
    """A call's recording: where the switch wrote it, what post-processing found, where it is
    kept now. A file that cannot be processed is a row with ``status='failed'`` and a reason."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), unique=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    source_path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))  # pending, done, failed
    failure_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    storage_uri: Mapped[str | None] = mapped_column(String(1024))
    format: Mapped[str | None] = mapped_column(String(16))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    talk_caller_s: Mapped[float | None] = mapped_column(Float)
    talk_agent_s: Mapped[float | None] = mapped_column(Float)
    silence_share: Mapped[float | None] = mapped_column(Float)  # 0..1 of the duration
    overtalk_s: Mapped[float | None] = mapped_column(Float)
    long_holds: Mapped[int | None] = mapped_column(Integer)  # silences longer than the limit
    longest_silence_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), index=True)
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )
    tenant: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    offset_s: Mapped[float | None] = mapped_column(Float)  # into the recording
    text: Mapped[str] = mapped_column(Text)


class Disposition(Base):
    """The outcome code an agent (or supervisor) gave a call, from its queue's list."""

    __tablename__ = "dispositions"

    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    code: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QualityScore(Base):
    """The automatic quality score of a call (100 = nothing wrong) and why points were lost."""

    __tablename__ = "quality_scores"

    call_uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    # [{"rule": "...", "penalty": n, "detail": "..."}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_quality_scores_worst", "tenant", "score"),)


class Contact(Base):
    """The phone book: one card per number per tenant.

    ``phone`` is the number as it is shown (digits, optionally a leading +); the other phone
    columns are derived from it by ``callcenter.phonebook`` so that the screen-pop lookup is an
    index probe: ``phone_digits`` (no +, so +74951234567 and 74951234567 are one number, unique
    per tenant) and ``phone_tail`` (its last 10 digits, the fallback match). ``search_text`` is
    name, company and email case-folded in Python, so search ignores case the same way on
    PostgreSQL and SQLite (whose lower() knows ASCII only).
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))  # digits, optionally a leading +
    phone_digits: Mapped[str] = mapped_column(String(32))
    phone_tail: Mapped[str | None] = mapped_column(String(10))  # None: fewer than 10 digits
    name: Mapped[str] = mapped_column(String(255))
    company: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("tenant", "phone_digits", name="uq_contacts_tenant_phone_digits"),
        Index("ix_contacts_tenant_phone_tail", "tenant", "phone_tail"),
        Index("ix_contacts_tenant_name", "tenant", "name"),
        # A search is a substring (LIKE '%text%'): on PostgreSQL trigram indexes serve it
        # (pg_trgm), a few ms instead of a scan of the whole book. SQLite scans.
        *(
            Index(
                f"ix_contacts_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                info={ONLY_DIALECT: "postgresql"},
            ).ddl_if(dialect="postgresql")
            for column in ("search_text", "phone_digits")
        ),
    )


class RetentionRun(Base):
    """What one retention pass removed for a tenant."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recordings_removed: Mapped[int] = mapped_column(Integer)
    bytes_freed: Mapped[int] = mapped_column(BigInteger)
    calls_removed: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class User(Base):
    """A person (or an integration) who uses the center through the browser or the API."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # None: the user signs in with API tokens only (an integration).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserRole(Base):
    """What a user may do in one tenant ("*": every tenant of the center)."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # agent, supervisor, admin
    # The ACD agent this user is in the tenant (an agent sees their own calls only).
    agent_id: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token of a user, for integrations. Only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token's first characters, to tell tokens apart in a list without showing them.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One write through the API: who did what to which thing, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    tenant: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))  # the user's login
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(String(512))
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status of the answer
    remote: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_log_tenant_at", "tenant", "at"),)


from callcenter.db import rollups_calls as _rollups_calls  # noqa: E402, F401
from callcenter.db import rollups_lines as _rollups_lines  # noqa: E402, F401

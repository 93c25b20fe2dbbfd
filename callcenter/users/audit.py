"""The audit log: every write through the API, with who made it (``audit_log``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from callcenter.db.models import AuditEntry
from callcenter.db.types import utc

__all__ = ["AuditView", "recent", "record"]

# Values under these keys never reach the log.
_SECRET_KEYS = frozenset({"password", "secret", "token", "new_password"})


@dataclass(frozen=True)
class AuditView:
    at: datetime
    tenant: str | None
    actor: str
    action: str
    target: str
    status: int
    remote: str | None
    details: dict[str, Any]


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "***" if key in _SECRET_KEYS else _redacted(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def record(
    engine: Engine,
    *,
    actor: str,
    action: str,
    target: str,
    status: int,
    tenant: str | None = None,
    remote: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEntry).values(
                at=utc(),
                tenant=tenant,
                actor=actor[:128],
                action=action[:128],
                target=target[:512],
                status=status,
                remote=(remote or None) and remote[:64],
                details=_redacted(details or {}),
            )
        )


def recent(engine: Engine, tenant: str | None, limit: int = 100) -> list[AuditView]:
    """The latest entries, newest first (of one tenant, or center-wide ones when None)."""
    with engine.connect() as conn:
        query = select(AuditEntry.__table__).order_by(AuditEntry.id.desc()).limit(limit)
        query = query.where(
            AuditEntry.tenant == tenant if tenant is not None else AuditEntry.tenant.is_(None)
        )
        rows = conn.execute(query)
        return [
            AuditView(
                at=utc(row.at),
                tenant=row.tenant,
                actor=row.actor,
                action=row.action,
                target=row.target,
                status=row.status,
                remote=row.remote,
                details=dict(row.details),
            )
            for row in rows
        ]

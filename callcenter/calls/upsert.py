"""Insert a row or, when its key is taken, update it: one statement on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, or_

from callcenter.db.models import Base
from callcenter.db.types import dialect_insert

__all__ = ["upsert"]


def upsert(
    conn: Connection,
    model: type[Base],
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    only_if_changed: Sequence[str] = (),
) -> None:
    """Write ``values``; on a conflict on ``key`` update the other columns. With
    ``only_if_changed``, an existing row is left as it is unless one of those columns differs
    (a retried request then changes nothing, not even a timestamp)."""
    insert: Any = dialect_insert(conn.dialect, model).values(**values)
    changes = {c: insert.excluded[c] for c in values if c not in key}
    where = None
    if only_if_changed:
        columns = model.__table__.c
        where = or_(*(columns[c].is_distinct_from(insert.excluded[c]) for c in only_if_changed))
    conn.execute(insert.on_conflict_do_update(index_elements=key, set_=changes, where=where))

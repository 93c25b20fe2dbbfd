"""Column types and statements shared by everything that writes the center's tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["UtcDateTime", "dialect_insert", "is_time", "utc"]


def utc(at: datetime | None = None) -> datetime:
    """Aware, in UTC (now when None). A naive time is taken as UTC: that is how the center
    writes every time, and how SQLite gives them back (it keeps no zone)."""
    if at is None:
        return datetime.now(UTC)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A time with zone that always comes back aware and in UTC, on PostgreSQL and SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


def dialect_insert(dialect: Dialect, table: Any) -> postgresql.Insert | sqlite.Insert:
    """INSERT with ON CONFLICT for the database in use: the center runs on these two only."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no INSERT … ON CONFLICT for {dialect.name}: PostgreSQL or SQLite")


def is_time(table: Table, column: str) -> bool:
    return isinstance(table.c[column].type, UtcDateTime)

"""Alembic, driven from code: ``callcenter db upgrade`` and the tests use the same path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from callcenter.db.models import ONLY_DIALECT

__all__ = ["alembic_config", "current", "of_dialect", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def of_dialect(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for a database of ``dialect``: a schema item the models
    build on another dialect only (``ddl_if``, marked ``info[ONLY_DIALECT]``) is left out of
    the comparison (Alembic itself reads no ``ddl_if``)."""

    def include(item: Any, _name: str | None, _kind: str, _reflected: bool, _other: Any) -> bool:
        only = getattr(item, "info", {}).get(ONLY_DIALECT)
        return only is None or only == dialect

    return include


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Alembic's config is ConfigParser-based: a % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> None:
    command.current(alembic_config(url), verbose=False)

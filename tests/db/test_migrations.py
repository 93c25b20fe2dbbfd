"""The Alembic migrations build exactly the models' schema, on PostgreSQL and on SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from callcenter.db.engine import make_engine
from callcenter.db.migrate import upgrade
from callcenter.db.models import Base


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_postgres_schema_matches_the_models(db: Engine) -> None:
    assert _diff(db) == []
    assert "alembic_version" in inspect(db).get_table_names()


def test_sqlite_upgrade_from_empty_and_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'cc.db'}"
    upgrade(url)
    upgrade(url)  # at head already: nothing to do, no error
    engine = make_engine(url)
    try:
        assert _diff(engine) == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()

"""The Alembic migrations build exactly the models' schema, on PostgreSQL and on SQLite."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from callcenter.db.engine import make_engine, normalize_url
from callcenter.db.migrate import alembic_config, of_dialect, upgrade
from callcenter.db.models import Base
from tests.conftest import POSTGRES_ADMIN_URL


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        opts = {"include_object": of_dialect(conn.dialect.name)}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


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


def test_without_pg_trgm_the_upgrade_goes_on_without_the_search_indexes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A role that may not create extensions (no CREATE on the database): the upgrade still
    reaches head; the phone book's trigram indexes are missing, and the log says what to run."""
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:10]
    role, name = f"cc_noext_{suffix}", f"cc_noext_{suffix}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC'))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{name}" TO "{role}"'))
        with create_engine(
            normalize_url(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name),
            isolation_level="AUTOCOMMIT",
        ).connect() as conn:
            conn.execute(text(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"'))
        url = POSTGRES_ADMIN_URL.replace("postgres@", f"{role}@", 1).rsplit("/", 1)[0]
        with caplog.at_level(logging.WARNING):
            upgrade(f"{url}/{name}")
        engine = make_engine(f"{url}/{name}")
        try:
            indexes = {str(i["name"]) for i in inspect(engine).get_indexes("contacts")}
            with engine.connect() as conn:
                head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        finally:
            engine.dispose()
        assert head == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert "ix_contacts_tenant_name" in indexes
        assert not {i for i in indexes if i.endswith("_trgm")}
        warned = [r.getMessage() for r in caplog.records if "pg_trgm" in r.getMessage()]
        assert len(warned) == 1 and "CREATE EXTENSION pg_trgm;" in warned[0]
        assert "USING gin (search_text gin_trgm_ops)" in warned[0]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()

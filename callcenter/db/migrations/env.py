"""Alembic environment: the URL comes from the config built in ``callcenter.db.migrate``."""

from __future__ import annotations

from alembic import context

from callcenter.db.engine import make_engine
from callcenter.db.migrate import of_dialect
from callcenter.db.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=of_dialect(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()

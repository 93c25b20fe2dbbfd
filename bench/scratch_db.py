"""A PostgreSQL database of a benchmark's own: created, migrated to head, dropped at the end.

PostgreSQL at ``CC_BENCH_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

from callcenter.db.engine import make_engine, normalize_url
from callcenter.db.migrate import upgrade

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database() -> Iterator[Engine]:
    admin_url = normalize_url(os.environ.get("CC_BENCH_POSTGRES_URL", ADMIN_URL))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    engine: Engine | None = None
    try:
        upgrade(url)
        engine = make_engine(url)
        yield engine
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

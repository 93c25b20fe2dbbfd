"""Rows and a center for the tests of comments, dispositions, quality and retention: the
tests write the CDR rows themselves, as the ingest would have."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from callcenter.center import Center, load_center
from callcenter.db.engine import make_engine
from callcenter.db.migrate import upgrade
from callcenter.db.models import Call, Recording
from callcenter.settings import Settings
from tests.center.helpers import write
from workers.context import WorkerContext, reset_context

# acme's sales queue takes dispositions and has its own quality rules; support has neither;
# globex keeps recordings 30 days and call records 90.
CENTER = """\
tenants:
  - name: acme
    domain: acme.example.com
    queues:
      - name: sales
        service_level_seconds: 20
        dispositions: [sale, no_sale, callback]
        quality:
          answer_within_seconds: 15
          max_wait_seconds: 60
          max_hold_seconds: 30
          max_silence_share: 0.25
          max_overtalk_seconds: 5
          abrupt_agent_hangup_seconds: 10
      - name: support
    retention: {recordings_days: 10, cdr_days: 30}
  - name: globex
    domain: globex.example.com
    queues: [{name: support, dispositions: [done]}]
"""

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def center_file(folder: Path, text: str = CENTER) -> Path:
    return write(folder, text)


def center(folder: Path, text: str = CENTER) -> Center:
    return load_center(center_file(folder, text))


def new_uuid() -> str:
    return str(uuid.uuid4())


def add_call(engine: Engine, *, tenant: str = "acme", **values: Any) -> str:
    """An answered sales call that broke no rule, with ``values`` over it; its uuid."""
    ended = values.pop("ended_at", T0 + timedelta(minutes=5))
    row: dict[str, Any] = {
        "call_uuid": new_uuid(),
        "tenant": tenant,
        "queue": "sales",
        "agent": "1000",
        "direction": "inbound",
        "started_at": T0,
        "answered_at": T0,
        "bridged_at": T0 + timedelta(seconds=10),
        "ended_at": ended,
        "wait_ms": 10_000,
        "talk_ms": 120_000,
        "hold_ms": 0,
        "hangup_side": "caller",
        "outcome": "answered",
    }
    row.update(values)
    with engine.begin() as conn:
        conn.execute(insert(Call).values(**row))
    return str(row["call_uuid"])


def add_recording(engine: Engine, call_uuid: str, *, tenant: str = "acme", **values: Any) -> int:
    row: dict[str, Any] = {
        "call_uuid": call_uuid,
        "tenant": tenant,
        "source_path": f"/nonexistent/{call_uuid}.wav",
        "status": "done",
        "attempts": 1,
        "duration_s": 125.0,
        "silence_share": 0.1,
        "overtalk_s": 1.0,
        "long_holds": 0,
        "created_at": T0 + timedelta(minutes=5),
    }
    row.update(values)
    with engine.begin() as conn:
        statement = insert(Recording).values(**row).returning(Recording.id)
        return int(conn.execute(statement).scalar_one())


def sqlite_engine(folder: Path) -> Engine:
    """The demo's database: SQLite, migrated like PostgreSQL."""
    url = f"sqlite:///{folder / 'callcenter.db'}"
    upgrade(url)
    return make_engine(url)


def worker_context(
    database_url: str, redis_url: str, center_path: Path | None, folder: Path
) -> WorkerContext:
    """The workers' shared context, pointed at the test's servers, center file and folders."""
    settings = Settings.model_validate(
        {
            "database_url": database_url,
            "redis_url": redis_url,
            "worker": {
                "center": None if center_path is None else str(center_path),
                "storage": str(folder / "storage"),
                "recordings_dir": str(folder / "recordings"),
            },
        }
    )
    return reset_context(settings)

"""An agent's wrap-up ends in a later batch than its call: the ingest's follow-up still marks the
call, whose queue roll-up (AHT with wrap-up) has to be redone."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.reports.cdr_set import TENANT, Cdrs, z
from workers.ingest.batch import Batch
from workers.ingest.tasks import wrapped_calls


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _next_state(batch: Batch, n: int, agent: str, at: datetime, previous: str) -> None:
    entry = {"type": "agent", "agent": agent, "status": "available", "previous": previous}
    batch.add(f"{_ms(at)}-{n}", entry | {"ts": _ms(at)})


def test_the_call_of_each_wrap_up_that_ended_in_the_batch(db: Engine) -> None:
    t = z("2026-03-10T09:00:00")
    s = Cdrs()
    s.state("a1", t - timedelta(hours=1), "wrap_up", call_uuid="c0")  # an earlier wrap-up
    s.state("a1", t, "wrap_up", call_uuid="c1")
    s.state("a2", t - timedelta(days=2), "wrap_up", call_uuid="c2")  # too long ago
    s.state("a3", t, "wrap_up", call_uuid="c3")
    s.state("a4", t, "wrap_up")  # names no call
    s.write(db)
    batch = Batch(TENANT)
    _next_state(batch, 0, "a1", t + timedelta(seconds=20), "wrap_up")
    _next_state(batch, 1, "a2", t + timedelta(seconds=20), "wrap_up")
    _next_state(batch, 2, "a3", t + timedelta(seconds=20), "on_break")  # not after a wrap-up
    _next_state(batch, 3, "a4", t + timedelta(seconds=20), "wrap_up")
    with db.connect() as conn:
        assert wrapped_calls(conn, batch) == {"c1"}
        assert wrapped_calls(conn, Batch(TENANT)) == set()

"""``callcenter db rollups``: the roll-ups rebuilt from the CDRs after an upgrade (here: emptied),
equal to the raw figures; month by month; one tenant; bad days; nothing to do; and a rebuild
beside a refresh of the same tenant waits for it instead of colliding."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, delete, func, select, text

from callcenter.cli import main
from callcenter.db.rollups_callers import DidCallers
from callcenter.db.rollups_calls import QueueRollup
from callcenter.reports import dids, queues
from callcenter.reports.rollup import _one_writer
from tests.reports.cdr_set import TENANT, random_set, request


@pytest.fixture(autouse=True)
def settings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", database_url)
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)


def _count(db: Engine, model: type) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_nothing_to_roll_up(db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "rollups"]) == 0
    assert "nothing to roll up" in capsys.readouterr().out


def test_a_rebuild_after_an_upgrade_gives_the_raw_figures(
    db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    random_set(5, 200).write(db)  # 2026-03-27 .. 2026-03-31: two UTC months with states
    assert _count(db, DidCallers) == 0  # what an upgrade leaves: CDRs, empty roll-ups
    assert main(["db", "rollups"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "roll-ups rebuilt for every tenant: 2026-03-27 to 2026-03-31"
    for run, raw in ((queues.queues_report, queues.queues_raw), (dids.dids_report, dids.dids_raw)):
        asked = request("2026-03-27", "2026-03-31")
        assert run(db, asked).rows == raw(db, asked).rows and run(db, asked).rows
    once = _count(db, QueueRollup)
    assert main(["db", "rollups", "--tenant", TENANT, "--from", "2026-03-01", "--to",
                 "2026-04-30"]) == 0  # fmt: skip
    assert "tenant acme: 2026-03-01 to 2026-03-31" in capsys.readouterr().out
    assert _count(db, QueueRollup) == once


def test_bad_days_say_what_to_fix(db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    random_set(5, 20).write(db)
    assert main(["db", "rollups", "--from", "yesterday"]) == 2
    assert "--from 'yesterday' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    assert main(["db", "rollups", "--from", "2026-03-10", "--to", "2026-03-01"]) == 2
    assert "is before --from" in capsys.readouterr().err


def test_a_rebuild_waits_for_a_refresh_of_the_same_tenant(db: Engine) -> None:
    random_set(6, 100).write(db)
    assert main(["db", "rollups"]) == 0
    # A refresh under way: it holds the tenant's lock until it commits, and has just emptied
    # the queue roll-up in its transaction.
    refreshing = db.connect()
    transaction = refreshing.begin()
    _one_writer(refreshing, TENANT)
    refreshing.execute(delete(QueueRollup))
    done: list[int] = []
    rebuild = threading.Thread(target=lambda: done.append(main(["db", "rollups"])))
    rebuild.start()
    try:
        with db.connect() as conn:
            for _ in range(1200):  # until the rebuild waits for the lock (a minute at most)
                if conn.execute(text(_WAITING)).scalar_one():
                    break
                assert rebuild.is_alive() and not done, "the rebuild did not wait"
                conn.rollback()
                time.sleep(0.05)
            else:
                pytest.fail("the rebuild never waited for the tenant's lock")
    finally:
        transaction.commit()
        refreshing.close()
    rebuild.join(timeout=300)
    assert done == [0]
    assert _count(db, QueueRollup) > 0  # rewritten after the refresh committed


# A backend waiting for an advisory lock.
_WAITING = """
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
"""

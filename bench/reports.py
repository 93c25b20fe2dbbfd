"""The queue, agent and DID reports over a year of calls: from the roll-ups against the same
figures by a plain GROUP BY over the raw CDR rows.

    .venv/bin/python bench/reports.py [--calls 5000000] [--runs 5] [--raw-runs 3] [--keep]

1. A database of its own, ``cc_bench_reports`` (dropped and made again, migrated with
   ``callcenter.db.migrate.upgrade``) on ``CC_BENCH_POSTGRES_URL`` (default
   postgresql://postgres@127.0.0.1:5432/postgres).
2. One year (2025, UTC) of synthetic CDRs for a 200-agent center, tenant ``bench``: 10 queues
   (20 agents each), 40 DIDs with campaign labels, a million caller numbers (a few call often).
   Each call is one line COPYed (numpy draws the figures) into an unlogged stage table; the
   calls, queue waits (3 % overflow to a second queue), agent legs (with missed, rejected and
   cancelled offers), dispositions, QA scores and a shift of agent states per agent per day are
   made from it by INSERT … SELECT.
3. ``rollup.rebuild`` over the year (every roll-up, one INSERT … SELECT per table), then
   VACUUM ANALYZE (the state autovacuum keeps the roll-up tables in).
4. Each report (queues, agents, dids) for a day, a month and the year in Europe/Berlin, total
   granularity: ``--runs`` timed runs from the roll-ups and ``--raw-runs`` by the raw GROUP BY;
   rows and totals of both must be equal (a difference is a mismatch).

Last line: ``calls=<n> report_p95_ms=<x> raw_groupby_p95_ms=<y> speedup=<y/x> mismatches=<m>``.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from callcenter.db.engine import make_engine, normalize_url  # noqa: E402
from callcenter.db.migrate import upgrade  # noqa: E402
from callcenter.reports import agents, dids, queues  # noqa: E402
from callcenter.reports.model import ReportRequest  # noqa: E402
from callcenter.reports.periods import resolve  # noqa: E402
from callcenter.reports.rollup import REFRESHERS  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = "cc_bench_reports"
TENANT, TZ = "bench", "Europe/Berlin"
YEAR0 = datetime(2025, 1, 1, tzinfo=UTC)
YEAR1 = datetime(2026, 1, 1, tzinfo=UTC)
AGENTS, QUEUES, DIDS = 200, 10, 40

STAGE = """
CREATE UNLOGGED TABLE stage (
    n bigint, kind smallint, did_i int, caller bigint, q int, q2 int, agent_i int, agent2 int,
    cause smallint, started_ms bigint, wait_ms int, wait2_ms int, talk_ms int, hold_ms int,
    outcome char(1), code_i smallint, qa smallint
)
"""

# From the stage to the center's tables.
FILL = [
    """
    INSERT INTO calls (call_uuid, tenant, direction, caller_number, did, campaign, gateway,
        queue, agent, started_at, answered_at, ended_at, wait_ms, talk_ms, hold_ms, outcome)
    SELECT 'c' || n, 'bench', CASE kind WHEN 1 THEN 'outbound' ELSE 'inbound' END,
        '+7' || caller,
        CASE kind WHEN 1 THEN NULL ELSE '+4930' || lpad(did_i::text, 4, '0') END,
        CASE WHEN kind = 1 OR did_i % 4 = 0 THEN NULL ELSE 'campaign ' || (did_i % 7) END,
        CASE kind WHEN 1 THEN 'gw1' END,
        CASE kind WHEN 1 THEN NULL ELSE 'q' || CASE outcome WHEN 'o' THEN q2 ELSE q END END,
        CASE WHEN outcome IN ('a', 'o') THEN 'agent' || lpad(agent_i::text, 3, '0') END,
        to_timestamp(started_ms / 1000.0),
        CASE WHEN outcome IN ('a', 'o') THEN to_timestamp((started_ms + wait_ms) / 1000.0) END,
        to_timestamp((started_ms + wait_ms + talk_ms) / 1000.0),
        CASE WHEN kind = 0 THEN CASE outcome WHEN 'o' THEN wait2_ms ELSE wait_ms END END,
        CASE WHEN outcome IN ('a', 'o') THEN talk_ms END,
        CASE WHEN outcome IN ('a', 'o') THEN hold_ms END,
        CASE outcome WHEN 'a' THEN 'answered' WHEN 'o' THEN 'answered' WHEN 'b' THEN 'abandoned'
                     WHEN 'c' THEN 'callback_requested' ELSE 'answered' END
    FROM stage
    """,
    """
    INSERT INTO queue_waits (call_uuid, queue, tenant, enqueued_at, answered_at, left_at,
        outcome, wait_ms, agent, overflow_to)
    SELECT 'c' || n, 'q' || q, 'bench', to_timestamp(started_ms / 1000.0),
        CASE outcome WHEN 'a' THEN to_timestamp((started_ms + wait_ms) / 1000.0) END,
        to_timestamp((started_ms + wait_ms) / 1000.0),
        CASE outcome WHEN 'a' THEN 'answered' WHEN 'o' THEN 'overflowed' WHEN 'b' THEN 'abandoned'
                     ELSE 'callback_requested' END,
        wait_ms,
        CASE outcome WHEN 'a' THEN 'agent' || lpad(agent_i::text, 3, '0') END,
        CASE outcome WHEN 'o' THEN 'q' || q2 END
    FROM stage WHERE kind = 0
    """,
    """
    INSERT INTO queue_waits (call_uuid, queue, tenant, enqueued_at, answered_at, left_at,
        outcome, wait_ms, agent, came_from)
    SELECT 'c' || n, 'q' || q2, 'bench', to_timestamp((started_ms + wait_ms) / 1000.0),
        to_timestamp((started_ms + wait_ms + wait2_ms) / 1000.0),
        to_timestamp((started_ms + wait_ms + wait2_ms) / 1000.0),
        'answered', wait2_ms, 'agent' || lpad(agent_i::text, 3, '0'), 'q' || q
    FROM stage WHERE kind = 0 AND outcome = 'o'
    """,
    """
    INSERT INTO call_legs (leg_uuid, call_uuid, tenant, role, agent, created_at, answered_at,
        ended_at, billsec, hold_ms, hangup_cause)
    SELECT 'l' || n, 'c' || n, 'bench', 'agent', 'agent' || lpad(agent_i::text, 3, '0'),
        to_timestamp(started_ms / 1000.0), to_timestamp((started_ms + wait_ms) / 1000.0),
        to_timestamp((started_ms + wait_ms + talk_ms) / 1000.0), talk_ms / 1000, hold_ms,
        'NORMAL_CLEARING'
    FROM stage WHERE outcome IN ('a', 'o')
    """,
    """
    INSERT INTO call_legs (leg_uuid, call_uuid, tenant, role, agent, created_at, ended_at,
        hangup_cause)
    SELECT 'm' || n, 'c' || n, 'bench', 'agent', 'agent' || lpad(agent2::text, 3, '0'),
        to_timestamp(started_ms / 1000.0), to_timestamp((started_ms + 15000) / 1000.0),
        CASE cause WHEN 0 THEN 'NO_ANSWER' WHEN 1 THEN 'CALL_REJECTED'
                   ELSE 'ORIGINATOR_CANCEL' END
    FROM stage WHERE agent2 >= 0
    """,
    """
    INSERT INTO dispositions (call_uuid, tenant, code, set_by, set_at)
    SELECT 'c' || n, 'bench', (ARRAY['sale', 'info', 'spam', 'callback'])[code_i + 1],
        'agent' || lpad(agent_i::text, 3, '0'), to_timestamp(started_ms / 1000.0)
    FROM stage WHERE code_i >= 0 AND outcome IN ('a', 'o')
    """,
    """
    INSERT INTO quality_scores (call_uuid, tenant, queue, agent, score, reasons, scored_at)
    SELECT 'c' || n, 'bench', 'q' || q, 'agent' || lpad(agent_i::text, 3, '0'), qa, '[]',
        to_timestamp(started_ms / 1000.0)
    FROM stage WHERE qa >= 0 AND outcome IN ('a', 'o')
    """,
    # A shift a day per agent: login break, ready, lunch, ready, wrap-ups, logged out.
    """
    INSERT INTO agent_states (tenant, stream_id, agent, status, previous, reason, at)
    SELECT 'bench', (extract(epoch FROM t) * 1000)::bigint || '-' || a, 'agent' ||
        lpad(a::text, 3, '0'), s.status, NULL, s.reason, t
    FROM generate_series(0, 199) AS a,
         generate_series(timestamptz '2025-01-01', timestamptz '2025-12-31', '1 day') AS d,
         (VALUES (0, 'on_break', 'login'), (15, 'available', NULL), (180, 'wrap_up', NULL),
                 (182, 'available', NULL), (240, 'on_break', 'lunch'),
                 (270, 'available', NULL), (400, 'on_break', 'training'),
                 (430, 'available', NULL), (600, 'logged_out', NULL)) AS s(m, status, reason),
         LATERAL (SELECT d + make_interval(mins => 420 + s.m + (a % 60))) AS x(t)
    """,
]


def generate(engine: Engine, calls: int, seed: int = 1) -> float:
    """COPY ``calls`` stage lines and fill the tables from them; seconds taken."""
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        conn.execute(text(STAGE))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        chunk = 500_000
        year_s = int((YEAR1 - YEAR0).total_seconds())
        for first in range(0, calls, chunk):
            n = min(chunk, calls - first)
            day = rng.integers(0, year_s // 86400, n)
            # Busy hours: 07:00-19:00 UTC, more in the middle of the day.
            second = np.clip(rng.normal(13 * 3600, 3 * 3600, n), 6 * 3600, 20 * 3600 - 1)
            started = (int(YEAR0.timestamp()) + day * 86400 + second.astype(np.int64)) * 1000
            started += rng.integers(0, 1000, n)
            kind = (rng.random(n) < 0.02).astype(np.int8)
            roll = rng.random(n)
            outcome = np.where(
                roll < 0.80, "a", np.where(roll < 0.92, "b", np.where(roll < 0.95, "o", "c"))
            )
            outcome = np.where(kind == 1, "a", outcome)
            q = rng.integers(0, QUEUES, n)
            q2 = (q + 1 + rng.integers(0, QUEUES - 1, n)) % QUEUES
            agent = np.where(outcome == "o", q2, q) * 20 + rng.integers(0, 20, n)
            other = np.where(rng.random(n) < 0.12, q * 20 + rng.integers(0, 20, n), -1)
            cause = np.where(outcome == "b", 2, rng.integers(0, 2, n))
            caller = (rng.pareto(1.2, n) * 20_000).astype(np.int64) % 1_000_000 + 9_000_000_000
            wait = rng.gamma(1.5, 12_000, n).astype(np.int64)
            wait2 = rng.gamma(1.5, 8_000, n).astype(np.int64)
            talk = (rng.gamma(2.0, 90_000, n).astype(np.int64) // 1000 + 1) * 1000
            hold = np.where(rng.random(n) < 0.2, rng.integers(1000, 60_000, n), 0)
            code = np.where(rng.random(n) < 0.4, rng.integers(0, 4, n), -1)
            qa = np.where(rng.random(n) < 0.25, rng.integers(40, 101, n), -1)
            columns: list[Any] = [
                np.arange(first, first + n), kind, rng.integers(0, DIDS, n), caller, q, q2,
                agent, other, cause, started, wait, wait2, talk, hold, outcome, code, qa,
            ]  # fmt: skip
            lines = "\n".join(
                "\t".join(row)
                for row in zip(*(c.astype(str).tolist() for c in columns), strict=True)
            )
            cur.copy_expert("COPY stage FROM STDIN", io.StringIO(lines + "\n"))
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for statement in FILL:
            conn.execute(text(statement))
        conn.execute(text("DROP TABLE stage"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - began


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _timed(run: Any, engine: Engine, request: ReportRequest, times: int) -> tuple[Any, list[float]]:
    out, took = None, []
    for _ in range(times):
        began = time.perf_counter()
        out = run(engine, request)
        took.append((time.perf_counter() - began) * 1000)
    return out, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="use the data already there")
    args = parser.parse_args()
    import os

    admin_url = os.environ.get("CC_BENCH_POSTGRES_URL", ADMIN_URL)
    url = admin_url.rsplit("/", 1)[0] + "/" + DB
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DB}"'))
        upgrade(url)
    engine = make_engine(url, statement_timeout_ms=3_600_000)
    try:
        if not args.reuse:
            took = generate(engine, args.calls)
            print(f"generated {args.calls} calls in {took:.1f} s", flush=True)
            began = time.perf_counter()
            for refresher in REFRESHERS.values():  # what rollup.rebuild does, each one timed
                step = time.perf_counter()
                with engine.begin() as conn:
                    refresher.rebuild(conn, None, YEAR0, YEAR1)
                print(f"  {refresher.name}: {time.perf_counter() - step:.1f} s", flush=True)
            print(f"rebuilt the roll-ups in {time.perf_counter() - began:.1f} s", flush=True)
            # As autovacuum leaves tables the workers rewrite all day: freshly written pages
            # would otherwise pay for setting their visibility bits on the first reads.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        with engine.connect() as conn:
            calls = int(conn.execute(text("SELECT count(*) FROM calls")).scalar_one())
        periods = {
            "day": ("2025-06-11", "2025-06-11"),
            "month": ("2025-06-01", "2025-06-30"),
            "year": ("2025-01-01", "2025-12-31"),
        }
        reports = (
            ("queues", queues.queues_report, queues.queues_raw),
            ("agents", agents.agents_report, agents.agents_raw),
            ("dids", dids.dids_report, dids.dids_raw),
        )
        fast_all: list[float] = []
        slow_all: list[float] = []
        mismatches = 0
        for period, (a, b) in periods.items():
            lo, hi = resolve(a, b, TZ)
            request = ReportRequest(tenant=TENANT, start=lo, end=hi, tz=TZ)
            for name, run, raw in reports:
                run(engine, request)  # warm the cache
                fast, fast_ms = _timed(run, engine, request, args.runs)
                slow, slow_ms = _timed(raw, engine, request, args.raw_runs)
                same = fast.rows == slow.rows and fast.totals == slow.totals
                mismatches += 0 if same else 1
                fast_all += fast_ms
                slow_all += slow_ms
                print(
                    f"{name:7} {period:5} rows={len(fast.rows):4} "
                    f"rollups_p95_ms={_p95(fast_ms):9.1f} raw_p95_ms={_p95(slow_ms):9.1f} "
                    f"{'same' if same else 'MISMATCH'}",
                    flush=True,
                )
        x, y = _p95(fast_all), _p95(slow_all)
        print(
            f"calls={calls} report_p95_ms={x:.1f} raw_groupby_p95_ms={y:.1f} "
            f"speedup={y / x:.1f} mismatches={mismatches}"
        )
    finally:
        engine.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""CDR ingest speed: our ingest (Redis Stream -> rows in PostgreSQL) against a raw COPY of the
same rows into the same tables.

    .venv/bin/python bench/cdr_ingest.py [--calls 20000] [--batch 20000] [--rounds 3]

Each round: a fresh tenant's Stream gets ``--calls`` answered queue calls (12 entries each, as
the controller writes them: call states, agent states, two legs, the recording), then the clock
runs while ``workers.ingest.consumer.ingest`` reads, folds, writes and commits them all (and
marks them read on the consumer group).
The rows it produced (calls, legs, queue waits, agent states, recordings) are then copied out,
the tables
emptied, and the same rows COPYed back in from memory, one COPY per table in one transaction:
the fastest way PostgreSQL takes rows, our ceiling. Best round of each. Last line:
``ingest_rows_per_s=<x> copy_rows_per_s=<y> ratio=<x/y>``.

PostgreSQL at ``CC_BENCH_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres;
a database of its own is created and dropped), Redis at ``--redis``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import uuid
from pathlib import Path

from redis import Redis
from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.scratch_db import scratch_database  # noqa: E402
from callcenter.acd.keys import Keys  # noqa: E402
from tests.workers.streams import many_calls  # noqa: E402
from workers.ingest.consumer import ingest  # noqa: E402

# Every table the ingest writes (the recordings table gets a row per recording to process).
TABLES = ("calls", "call_legs", "queue_waits", "agent_states", "recordings")


def _fill(redis: Redis, tenant: str, calls: int) -> int:
    stream = Keys(tenant).events
    pipe = redis.pipeline(transaction=False)
    n = 0
    for entry in many_calls(calls):
        pipe.xadd(stream, dict(entry))
        n += 1
        if n % 5000 == 0:
            pipe.execute()
    pipe.execute()
    return n


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))


def _copy_out(engine: Engine) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in TABLES:
            buf = io.StringIO()
            cur.copy_expert(f"COPY {table} TO STDOUT", buf)
            data = buf.getvalue()
            out[table] = (data, data.count("\n"))
        raw.commit()
    finally:
        raw.close()
    return out


def _copy_in(engine: Engine, dump: dict[str, tuple[str, int]]) -> float:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        start = time.perf_counter()
        for table, (data, _) in dump.items():
            cur.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(data))
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    redis = Redis.from_url(args.redis)
    try:
        _run(args, redis)
    finally:
        redis.close()


def _run(args: argparse.Namespace, redis: Redis) -> None:
    with scratch_database() as engine:
        best_ingest = best_copy = 0.0
        rows = 0
        for round_no in range(1, args.rounds + 1):
            _truncate(engine)
            tenant = f"bench{uuid.uuid4().hex[:8]}"
            entries = _fill(redis, tenant, args.calls)
            start = time.perf_counter()
            result = ingest(redis, engine, tenant, batch_size=args.batch, time_budget=3600)
            took = time.perf_counter() - start
            redis.delete(Keys(tenant).events)
            assert result.entries == entries, (result.entries, entries)
            dump = _copy_out(engine)
            rows = sum(n for _, n in dump.values())
            _truncate(engine)
            copy_took = _copy_in(engine, dump)
            print(
                f"round {round_no}: {args.calls} calls, {entries} Stream entries, {rows} rows: "
                f"ingest {took:.2f} s ({rows / took:,.0f} rows/s, {entries / took:,.0f} "
                f"entries/s), COPY {copy_took:.2f} s ({rows / copy_took:,.0f} rows/s)"
            )
            best_ingest = max(best_ingest, rows / took)
            best_copy = max(best_copy, rows / copy_took)
        print(
            f"ingest_rows_per_s={best_ingest:.0f} copy_rows_per_s={best_copy:.0f} "
            f"ratio={best_ingest / best_copy:.2f}"
        )


if __name__ == "__main__":
    main()

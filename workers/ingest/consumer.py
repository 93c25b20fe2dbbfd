"""Read a tenant's event Stream with a consumer group, write each batch, then acknowledge it.

One ingest runs per tenant at a time (a short Redis lock), as the one consumer ``ingest`` of
the group ``cdr``: batches go in Stream order, and whatever a killed worker read but never
acknowledged is still pending under that name, so the next run reads the pending entries first
and writes them again (the merge makes that harmless) before it reads new ones.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from redis import ConnectionPool, Redis
from redis.exceptions import ResponseError
from sqlalchemy import Engine

from callcenter.acd.keys import Keys
from workers.ingest.batch import Batch, Pricer, stream_id_key
from workers.ingest.writer import IngestCursorMove, read_cursor, write_batch

__all__ = ["CONSUMER", "GROUP", "IngestResult", "ingest"]

GROUP = "cdr"
CONSUMER = "ingest"
LOCK_MS = 15_000

log = logging.getLogger("callcenter.workers.ingest")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass
class IngestResult:
    tenant: str
    busy: bool = False  # another ingest of this tenant was running
    batches: int = 0
    entries: int = 0
    rows: int = 0
    skipped: int = 0
    ended_calls: list[str] = field(default_factory=list)


def _ensure_group(redis: Redis, stream: str) -> None:
    try:
        # From the Stream's start: what a controller wrote before any worker ran counts too.
        redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _reader(redis: Redis) -> Redis:
    """A client of the same server whose XREADGROUP replies stay as hiredis parsed them
    (strings, flat field lists): redis-py's own reply conversion costs more than the fold."""
    kwargs = dict(redis.connection_pool.connection_kwargs)
    kwargs["decode_responses"] = True
    reader = Redis(
        connection_pool=ConnectionPool(
            connection_class=redis.connection_pool.connection_class, **kwargs
        )
    )
    reader.response_callbacks["XREADGROUP"] = lambda response, **_: response
    return reader


def ingest(
    redis: Redis,
    engine: Engine,
    tenant: str,
    *,
    batch_size: int = 5000,
    time_budget: float = 5.0,
    pricer: Pricer | None = None,
    on_committed: Callable[[Batch], None] | None = None,
    lock_ms: int = LOCK_MS,
) -> IngestResult:
    """Ingest what the tenant's Stream holds, batch by batch, for up to ``time_budget`` s."""
    keys = Keys(tenant)
    stream, lock = keys.events, f"{keys.base}:ingest:lock"
    result = IngestResult(tenant)
    token = uuid.uuid4().hex
    if not redis.set(lock, token, nx=True, px=lock_ms):
        result.busy = True
        return result
    reader = _reader(redis)
    # Batch N is written and acknowledged by this thread while batch N+1 is read and folded:
    # PostgreSQL works on the other core meanwhile.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr-writer")
    inflight: Future[None] | None = None

    def commit(batch: Batch, ids: list[str], move: IngestCursorMove | None) -> None:
        if move is not None:
            write_batch(engine, batch, cursor=move)
        redis.xack(stream, GROUP, *ids)
        if on_committed is not None:
            on_committed(batch)
        redis.eval(_RENEW, 1, lock, token, lock_ms)

    # A batch is hundreds of thousands of small objects and no reference cycle: the cyclic
    # collector would walk them again and again (it tripled the read time); it runs again
    # when the ingest ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _ensure_group(redis, stream)
        cursor = read_cursor(engine, tenant)
        deadline = time.monotonic() + time_budget
        pending = True  # entries a killed run read and never acknowledged come first
        while time.monotonic() < deadline:
            if pending and inflight is not None:
                # Re-reading "0" must not see entries still being acknowledged.
                inflight.result()
                inflight = None
            reply = reader.execute_command(
                "XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", batch_size,
                "STREAMS", stream, "0" if pending else ">",
            )  # fmt: skip
            entries: list[tuple[str, list[str] | None]] = reply[0][1] if reply else []
            if not entries:
                if pending:
                    pending = False
                    continue
                break
            done = stream_id_key(cursor) if cursor else (-1, -1)
            batch = Batch(tenant, pricer)
            # Entries come in Stream order: only a batch that starts at or before the cursor
            # (re-read after a run died between its commit and its XACK) needs the check.
            check = stream_id_key(entries[0][0]) <= done
            for entry_id, flat in entries:
                # A pending entry the Stream's cap trimmed away comes back without fields.
                if flat and (not check or stream_id_key(entry_id) > done):
                    it = iter(flat)
                    batch.add(entry_id, dict(zip(it, it, strict=True)))
            last = entries[-1][0]
            move = None
            if stream_id_key(last) > done:
                move = IngestCursorMove(tenant, cursor, last)
                cursor = last
            if inflight is not None:
                inflight.result()
            inflight = writer.submit(commit, batch, [entry_id for entry_id, _ in entries], move)
            result.batches += 1
            result.entries += len(entries)
            result.rows += batch.rows
            result.skipped += batch.skipped
            result.ended_calls += sorted(batch.ended_calls)
        if inflight is not None:
            inflight.result()
            inflight = None
    finally:
        if inflight is not None:
            # Leaving on an error: let the write in flight end (commit or not) before the lock
            # is released, so that no other run starts beside it.
            with contextlib.suppress(Exception):
                inflight.result()
        writer.shutdown(wait=True)
        reader.close()
        redis.eval(_RELEASE, 1, lock, token)
        if collecting:
            gc.enable()
    if result.entries:
        log.info(
            "cdr_ingested tenant=%s batches=%d entries=%d rows=%d skipped=%d",
            tenant, result.batches, result.entries, result.rows, result.skipped,
        )  # fmt: skip
    return result

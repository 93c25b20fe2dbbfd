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
from typing import Any

from redis import Redis
from redis.connection import Connection as RedisConnection
from redis.exceptions import ResponseError
from sqlalchemy import Connection, Engine

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


def _link(redis: Redis) -> RedisConnection:
    """A connection of its own to the same server: the ingest sends several commands at once
    (acknowledgements, the lock's renewal, the next read) and reads their replies as hiredis
    parsed them (strings, flat field lists), without redis-py's reply conversion, which costs
    more than the fold."""
    kwargs = dict(redis.connection_pool.connection_kwargs)
    kwargs["decode_responses"] = True
    link: RedisConnection = redis.connection_pool.connection_class(**kwargs)
    return link


def _replies(link: RedisConnection, count: int) -> list[Any]:
    """The replies of ``count`` commands sent at once, all read (the connection stays in step)
    before the first error, if any, is raised."""
    replies: list[Any] = []
    error: ResponseError | None = None
    for _ in range(count):
        try:
            replies.append(link.read_response())
        except ResponseError as exc:
            error = error or exc
            replies.append(None)
    if error is not None:
        raise error
    return replies


def ingest(
    redis: Redis,
    engine: Engine,
    tenant: str,
    *,
    batch_size: int = 20_000,
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
    link = _link(redis)
    # Batch N is written by this thread while batch N+1 is read and folded: PostgreSQL works
    # on the other core meanwhile. The thread keeps one database connection for the run.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr-writer")
    inflight: list[tuple[Future[None], list[str]]] = []  # the write under way, its Stream IDs
    db: list[Connection] = []
    # Stream IDs of committed batches not acknowledged yet: the acknowledgements go with the
    # next read (one round trip), the last ones when the run ends.
    unacked: list[list[str]] = []
    sent = 0  # commands sent whose replies are still to be read

    def commit(batch: Batch, move: IngestCursorMove | None) -> None:
        if move is not None:
            if not db:
                db.append(engine.connect())
            write_batch(db[0], batch, cursor=move)
        if on_committed is not None:
            on_committed(batch)

    def settle() -> None:
        """Wait for the write under way: once committed, its entries can be acknowledged."""
        if inflight:
            future, ids = inflight[0]
            future.result()
            inflight.clear()
            unacked.append(ids)

    def send(read_from: str | None) -> None:
        """Acknowledge what is committed, renew the lock, and ask for the next entries."""
        nonlocal sent
        commands: list[tuple[Any, ...]] = [("XACK", stream, GROUP, *ids) for ids in unacked]
        unacked.clear()
        commands.append(("EVAL", _RENEW, 1, lock, token, lock_ms))
        if read_from is not None:
            commands.append((
                "XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", batch_size,
                "STREAMS", stream, read_from,
            ))  # fmt: skip
        link.send_packed_command(link.pack_commands(commands))
        sent += len(commands)

    def receive() -> Any:
        """The reply of the last command sent (None when nothing was sent)."""
        nonlocal sent
        count, sent = sent, 0
        return _replies(link, count)[-1] if count else None

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
        send("0")
        while True:
            reply = receive()
            entries: list[tuple[str, list[str] | None]] = reply[0][1] if reply else []
            if not entries:
                if pending and time.monotonic() < deadline:
                    pending = False
                    send(">")
                    continue
                break
            done = stream_id_key(cursor) if cursor else (-1, -1)
            batch = Batch(tenant, pricer)
            # Entries come in Stream order: only a batch that starts at or before the cursor
            # (re-read after a run died between its commit and its XACK) needs the check.
            if stream_id_key(entries[0][0]) <= done:
                batch.add_flat(e for e in entries if stream_id_key(e[0]) > done)
            else:
                batch.add_flat(entries)
            last = entries[-1][0]
            move = None
            if stream_id_key(last) > done:
                move = IngestCursorMove(tenant, cursor, last)
                cursor = last
            settle()
            inflight.append((writer.submit(commit, batch, move), [e for e, _ in entries]))
            result.batches += 1
            result.entries += len(entries)
            result.rows += batch.rows
            result.skipped += batch.skipped
            result.ended_calls += sorted(batch.ended_calls)
            if time.monotonic() < deadline:
                if pending:
                    # Re-reading "0" must not see entries still pending: they are
                    # acknowledged first, in the same round trip.
                    settle()
                # Not ahead of the fold: Redis working beside it slows the rest (measured).
                send("0" if pending else ">")
        settle()
        if unacked:
            send(None)
            receive()
    finally:
        if inflight:
            # Leaving on an error: let the write in flight end (commit or not) before the lock
            # is released, so that no other run starts beside it.
            with contextlib.suppress(Exception):
                inflight[0][0].result()
        if db:
            with contextlib.suppress(Exception):  # a broken connection is dropped all the same
                writer.submit(db[0].close).result()
        writer.shutdown(wait=True)
        link.disconnect()
        redis.eval(_RELEASE, 1, lock, token)
        if collecting:
            gc.enable()
    if result.entries:
        log.info(
            "cdr_ingested tenant=%s batches=%d entries=%d rows=%d skipped=%d",
            tenant, result.batches, result.entries, result.rows, result.skipped,
        )  # fmt: skip
    return result

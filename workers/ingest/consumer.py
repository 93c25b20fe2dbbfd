"""Read a tenant's event Stream after its ingest cursor, write each batch, then mark it read.

One ingest runs per tenant at a time (a short Redis lock). What was read is named by the
tenant's ingest cursor in the database (``ingest_cursors``: the last Stream ID written), moved
in the same transaction as the batch's rows: a run reads the Stream with XRANGE from just after
the cursor, so whatever a killed worker read and never committed is simply read again by the
next run, and nothing it committed is read twice. The consumer group ``cdr`` is kept as the
Stream's visible progress mark (``XINFO GROUPS`` shows its lag: what is still to be written):
once a batch is committed the group's last-delivered ID is set to it. Nothing is delivered
through the group, so no entry waits in its pending list (XREADGROUP kept one record per entry
there, and XACK took it out: twice the Redis work of reading with XRANGE, measured); entries an
earlier version left pending are acknowledged once they are behind the cursor.
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
from workers.ingest.batch import Batch, Pricer
from workers.ingest.writer import CopyTexts, IngestCursorMove, prepare, read_cursor, write_batch

__all__ = ["CONSUMER", "GROUP", "IngestResult", "ingest"]

GROUP = "cdr"
CONSUMER = "ingest"
LOCK_MS = 15_000
_PENDING_PAGE = 10_000  # entries an earlier version left pending, acknowledged by pages

log = logging.getLogger("callcenter.workers.ingest")

# The group's last-delivered ID moves to what is committed, with its count of entries read
# (XINFO GROUPS shows entries-read and lag): the Stream's whole count once the cursor is at its
# end, else the count kept by the run (ARGV[3], "" when it does not know it). Only a mark:
# nothing here fails the run (pcall), whatever the Stream or the server's version.
_MARK = """
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
local last, added
if type(info) == 'table' and not info.err then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1]
    elseif info[i] == 'entries-added' then added = info[i + 1] end
  end
end
local read
if added and last == ARGV[2] then read = added
elseif added and ARGV[3] ~= '' and tonumber(ARGV[3]) <= added then read = ARGV[3] end
if read then
  local done = redis.pcall('XGROUP', 'SETID', KEYS[1], ARGV[1], ARGV[2], 'ENTRIESREAD', read)
  if type(done) ~= 'table' or not done.err then return 1 end
end
local done = redis.pcall('XGROUP', 'SETID', KEYS[1], ARGV[1], ARGV[2])
if type(done) == 'table' and done.err then return 0 end
return 1
"""
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


def _group(redis: Redis, stream: str, cursor: str | None) -> tuple[int, int | None]:
    """The group (made when missing): how many entries it has pending, and how many it has
    read when its last-delivered ID is the cursor (None when it is not, or the count is not
    known)."""
    try:
        redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    for group in redis.xinfo_groups(stream):
        if group["name"] in (GROUP, GROUP.encode()):
            at = group["last-delivered-id"]
            at = at.decode() if isinstance(at, bytes) else str(at)
            read = group.get("entries-read")  # Redis 7
            if read is None and at == "0-0":
                read = 0
            known = int(read) if read is not None and at == (cursor or "0-0") else None
            return int(group["pending"]), known
    return 0, None


def _link(redis: Redis) -> RedisConnection:
    """A connection of its own to the same server: the ingest sends several commands at once
    (the group's progress, the lock's renewal, the next read) and reads their replies as hiredis
    parsed them (flat field lists), without redis-py's reply conversion, which costs more than
    the fold. Bytes, not str: the rows go to the database as bytes, and decoding every field
    costs a third of the parsing."""
    kwargs = dict(redis.connection_pool.connection_kwargs)
    kwargs["decode_responses"] = False
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


def _ack_left_pending(redis: Redis, stream: str, cursor: str) -> None:
    """Entries an earlier version of the ingest read through the group and never acknowledged:
    the ones the cursor has passed are written, and acknowledged here."""
    while True:
        stuck = redis.xpending_range(stream, GROUP, min="-", max=cursor, count=_PENDING_PAGE)
        if not stuck:
            return
        redis.xack(stream, GROUP, *(entry["message_id"] for entry in stuck))
        if len(stuck) < _PENDING_PAGE:
            return


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
    copies = engine.dialect.name == "postgresql"  # SQLite takes the rows, not COPY text
    # Batch N is written by this thread while batch N+1 is read and folded: PostgreSQL works
    # on the other core meanwhile. The thread keeps one database connection for the run.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr-writer")
    # The write under way, its last Stream ID and how many entries it has.
    inflight: list[tuple[Future[None], str, int]] = []
    db: list[Connection] = []
    committed: list[str] = []  # the last Stream ID committed, not yet shown on the group
    # Entries the group has read once the last batch is committed (None: not known).
    counted: list[int | None] = [None]
    sent = 0  # commands sent whose replies are still to be read

    def commit(batch: Batch, move: IngestCursorMove, texts: CopyTexts | None) -> None:
        if not db:
            db.append(engine.connect())
        write_batch(db[0], batch, cursor=move, texts=texts)
        if on_committed is not None:
            on_committed(batch)

    def settle() -> None:
        """Wait for the write under way: once committed, the group can show it as read."""
        if inflight:
            future, last, entries = inflight[0]
            future.result()
            inflight.clear()
            committed[:] = [last]
            if counted[0] is not None:
                counted[0] += entries

    def send(read_after: str | None) -> None:
        """Show what is committed on the group, renew the lock, and ask for the entries after
        ``read_after`` (from the Stream's start when it is "", none when None): one round
        trip."""
        nonlocal sent
        read = "" if counted[0] is None else counted[0]
        commands: list[tuple[Any, ...]] = [
            ("EVAL", _MARK, 1, stream, GROUP, last, read) for last in committed
        ]
        committed.clear()
        commands.append(("EVAL", _RENEW, 1, lock, token, lock_ms))
        if read_after is not None:
            start = f"({read_after}" if read_after else "-"
            commands.append(("XRANGE", stream, start, "+", "COUNT", batch_size))
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
        cursor = read_cursor(engine, tenant)
        left_pending, counted[0] = _group(redis, stream, cursor)
        deadline = time.monotonic() + time_budget
        send(cursor or "")
        while True:
            entries: list[tuple[bytes, list[bytes]]] = receive() or []
            if not entries:
                break
            last = entries[-1][0].decode()
            batch = Batch(tenant, pricer)
            batch.add_flat(entries)
            move = IngestCursorMove(tenant, cursor, last)
            cursor = last
            texts = prepare(batch) if copies else None
            settle()
            inflight.append((writer.submit(commit, batch, move, texts), last, len(entries)))
            result.batches += 1
            result.entries += len(entries)
            result.rows += batch.rows
            result.skipped += batch.skipped
            result.ended_calls += sorted(batch.ended_calls)
            if time.monotonic() < deadline:
                # Not ahead of the fold: Redis working beside it slows the rest (measured).
                send(last)
        settle()
        if cursor:
            # The group shows the cursor even when this run had nothing to write (the run
            # before may have died between its commit and this).
            committed[:] = [cursor]
            send(None)
            receive()
        if left_pending and cursor:
            _ack_left_pending(redis, stream, cursor)
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

"""The live feed of a tenant over a WebSocket: ``GET /api/v1/tenants/{tenant}/live``.

Signed in like any route (session cookie or bearer token, a role in the tenant); a refused
upgrade gets the JSON error before any upgrade. Frames are JSON text:

- on connect: ``hello`` (who is connected), then ``snapshot`` (agents and queues now);
- ``agent`` and ``call`` for each agent or call entry on the tenant's event Stream;
- ``queues`` every 2 s (the wallboard's counts).

An agent's connection gets the ``agent`` frames about themselves and the ``call`` frames of
calls offered to or taken by them (plus ``queues``); supervisors and admins get everything.

One reader per tenant (``TenantFeed``) follows the Stream with XREAD BLOCK from the newest
entry (no consumer group: every browser gets every new entry) and fans frames out to the
tenant's sockets through bounded queues. A socket whose queue is full (a browser that does not
keep up) is closed with 1013 ("try again later"); the others never wait for it. The reader
stops when the tenant's last socket goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from redis.exceptions import RedisError

from callcenter.acd.live import agents_live, queues_live
from callcenter.acd.store import AcdStore
from callcenter.api.context import ApiContext
from callcenter.api.errors import ApiError, Forbidden
from callcenter.api.routing import CONTEXT, ApiCall, RouteTable
from callcenter.cancellation import cancel_and_wait, reraise_cancellation
from callcenter.users.model import Role

__all__ = [
    "LIVE_HUB",
    "LIVE_PATH",
    "LiveHub",
    "Subscriber",
    "TenantFeed",
    "agent_frame",
    "call_frame",
    "mount",
    "routes",
]

log = logging.getLogger("callcenter.api.live")

routes = RouteTable("live")
LIVE_PATH = "/api/v1/tenants/{tenant}/live"

QUEUES_EVERY = 2.0  # seconds between two ``queues`` frames
BACKLOG = 512  # frames a socket may be behind before it is closed
READ_COUNT = 500  # Stream entries per XREAD
BLOCK_MS = 1000
CALLERS_KEPT = 10_000  # calls whose caller number and name are cached
SLOW = WSCloseCode.TRY_AGAIN_LATER  # 1013: the browser did not keep up; it may reconnect


def _text(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


def _ts(value: bytes | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def agent_frame(fields: dict[bytes, bytes]) -> dict[str, Any]:
    return {
        "type": "agent",
        "id": _text(fields.get(b"agent")),
        "status": _text(fields.get(b"status")),
        "previous": _text(fields.get(b"previous")),
        "reason": _text(fields.get(b"reason")),
        "call": _text(fields.get(b"call")),
        "ts": _ts(fields.get(b"ts")),
    }


def call_frame(fields: dict[bytes, bytes], caller: tuple[str, str]) -> dict[str, Any]:
    agents = [a for a in _text(fields.get(b"agents")).split(",") if a]
    return {
        "type": "call",
        "call": _text(fields.get(b"call")),
        "state": _text(fields.get(b"state")),
        "queue": _text(fields.get(b"queue")),
        "agent": _text(fields.get(b"agent")),
        "agents": agents,
        "caller_number": caller[0],
        "caller_name": caller[1],
        # A click-to-call that did not connect: the number dialed and why (a hangup cause).
        "number": _text(fields.get(b"number")),
        "cause": _text(fields.get(b"cause")),
        "ts": _ts(fields.get(b"ts")),
    }


@dataclass(eq=False)
class Subscriber:
    """One socket's end of a tenant's feed: the frames it may see, queued for it."""

    # Everything (supervisor, admin), or only this agent's frames (None: no agent frames at all).
    everything: bool
    agent: str | None
    backlog: int = BACKLOG
    # Called once when the subscriber falls too far behind (the socket closes itself).
    on_drop: Callable[[], None] | None = None
    queue: asyncio.Queue[str] = field(init=False)
    dropped: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.backlog)

    def wants(self, frame: dict[str, Any]) -> bool:
        kind = frame["type"]
        if kind == "queues" or self.everything:
            return True
        if self.agent is None:
            return False
        if kind == "agent":
            return bool(frame["id"] == self.agent)
        if kind == "call":
            return frame["agent"] == self.agent or self.agent in frame["agents"]
        return False

    def offer(self, text: str) -> None:
        """Queue a frame, never waiting: a full queue drops the subscriber."""
        if self.dropped:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            if self.on_drop is not None:
                self.on_drop()


class TenantFeed:
    """The one Stream reader (and ``queues`` ticker) of a tenant, shared by its sockets."""

    def __init__(self, store: AcdStore, *, queues_every: float = QUEUES_EVERY) -> None:
        self.store = store
        self.queues_every = queues_every
        self.subscribers: set[Subscriber] = set()
        self.entries_seen = 0
        self._callers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def tenant(self) -> str:
        return self.store.keys.tenant

    async def start(self) -> None:
        # From the newest entry now (an empty Stream: from its start), not from "$" when the
        # first XREAD happens to run: what changes after a socket subscribed reaches it.
        newest = await self.store.redis.xrevrange(self.store.keys.events, count=1)
        last = newest[0][0].decode() if newest else "0-0"
        self._tasks = [
            asyncio.create_task(self._read(last), name=f"live-read-{self.tenant}"),
            asyncio.create_task(self._tick(), name=f"live-queues-{self.tenant}"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    def publish(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        for subscriber in list(self.subscribers):
            if subscriber.wants(frame):
                subscriber.offer(text)

    async def _read(self, last: str) -> None:
        key = self.store.keys.events
        failures = 0
        while True:
            try:
                reply = await self.store.redis.xread({key: last}, count=READ_COUNT, block=BLOCK_MS)
                failures = 0
            except (RedisError, OSError) as exc:
                reraise_cancellation()
                failures += 1
                log.warning("live_read_failed tenant=%s error=%s", self.tenant, exc)
                await asyncio.sleep(min(5.0, 0.2 * 2**failures))
                continue
            for _key, entries in reply or []:
                if not entries:
                    continue
                last = entries[-1][0].decode()
                self.entries_seen += len(entries)
                try:
                    await self._fan_out(entries)
                except (RedisError, OSError) as exc:
                    log.warning("live_enrich_failed tenant=%s error=%s", self.tenant, exc)

    async def _fan_out(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        calls = {
            _text(fields.get(b"call"))
            for _id, fields in entries
            if fields.get(b"type") == b"call" and fields.get(b"call")
        }
        await self._learn_callers(calls - self._callers.keys())
        for _id, fields in entries:
            kind = fields.get(b"type")
            if kind == b"agent":
                self.publish(agent_frame(fields))
            elif kind == b"call":
                call = _text(fields.get(b"call"))
                self.publish(call_frame(fields, self._callers.get(call, ("", ""))))
                if fields.get(b"state") in (b"ended", b"abandoned", b"outbound_failed"):
                    self._callers.pop(call, None)

    async def _learn_callers(self, calls: set[str]) -> None:
        """Caller number and name of calls not seen yet, from their live hashes (one trip)."""
        if not calls:
            return
        ordered = sorted(calls)
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for call in ordered:
                pipe.hmget(self.store.keys.call(call), "caller_number", "caller_name")
            replies = await pipe.execute()
        for call, (number, name) in zip(ordered, replies, strict=True):
            if number is None and name is None:
                continue  # no hash (yet, or any more): try again with its next entry
            self._callers[call] = (_text(number), _text(name))
            while len(self._callers) > CALLERS_KEPT:
                self._callers.popitem(last=False)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.queues_every)
            try:
                queues = await queues_live(self.store)
            except (RedisError, OSError) as exc:
                reraise_cancellation()
                log.warning("live_queues_failed tenant=%s error=%s", self.tenant, exc)
                continue
            self.publish({"type": "queues", "queues": [q.model_dump(mode="json") for q in queues]})


class LiveHub:
    """The feeds of an API process, one per tenant with sockets open."""

    def __init__(
        self, ctx: ApiContext, *, queues_every: float = QUEUES_EVERY, backlog: int = BACKLOG
    ) -> None:
        self.ctx = ctx
        self.queues_every = queues_every
        self.backlog = backlog
        self.feeds: dict[str, TenantFeed] = {}
        # The sockets open, to close them when the server stops.
        self.sockets: set[web.WebSocketResponse] = set()
        # Entries read per tenant, kept when a feed stops (the metrics count them).
        self._seen_before: dict[str, int] = {}
        self._lock = asyncio.Lock()

    async def subscribe(self, tenant: str, subscriber: Subscriber) -> None:
        async with self._lock:
            feed = self.feeds.get(tenant)
            if feed is None:
                feed = TenantFeed(self.ctx.store(tenant), queues_every=self.queues_every)
                await feed.start()
                self.feeds[tenant] = feed
            feed.subscribers.add(subscriber)

    async def unsubscribe(self, tenant: str, subscriber: Subscriber) -> None:
        async with self._lock:
            feed = self.feeds.get(tenant)
            if feed is None:
                return
            feed.subscribers.discard(subscriber)
            if not feed.subscribers:
                del self.feeds[tenant]
                self._seen_before[tenant] = self._seen_before.get(tenant, 0) + feed.entries_seen
                await feed.stop()

    def subscribers(self, tenant: str) -> int:
        feed = self.feeds.get(tenant)
        return len(feed.subscribers) if feed is not None else 0

    def entries_seen(self, tenant: str) -> int:
        feed = self.feeds.get(tenant)
        return self._seen_before.get(tenant, 0) + (feed.entries_seen if feed is not None else 0)

    async def close(self) -> None:
        async with self._lock:
            feeds, self.feeds = list(self.feeds.values()), {}
        for feed in feeds:
            await feed.stop()


LIVE_HUB = web.AppKey("live_hub", LiveHub)


def mount(app: web.Application) -> None:
    """Give the application its hub; close the sockets and stop the readers at shutdown."""
    app[LIVE_HUB] = LiveHub(app[CONTEXT])

    async def shutdown(app: web.Application) -> None:
        for ws in list(app[LIVE_HUB].sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        await app[LIVE_HUB].close()

    app.on_shutdown.append(shutdown)


def _check_origin(call: ApiCall) -> None:
    """A browser's socket (session cookie) must come from our own pages: a WebSocket is not
    bound by the same-origin rules, so another site could open one with the cookie."""
    assert call.identity is not None
    if call.identity.via != "session":
        return
    origin = call.request.headers.get("Origin")
    if origin and origin != "null" and origin.split("://", 1)[-1] != call.request.host:
        raise Forbidden(f"a live feed opened from another site ({origin}) is refused")


async def _pump(ws: web.WebSocketResponse, subscriber: Subscriber) -> None:
    while True:
        await ws.send_str(await subscriber.queue.get())


@routes.get(LIVE_PATH, summary="Live feed of agents, calls and queues (WebSocket)", role=Role.AGENT)
async def live(call: ApiCall) -> web.StreamResponse:
    assert call.tenant is not None and call.identity is not None and call.grant is not None
    request = call.request
    _check_origin(call)
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=64 * 1024)
    if not ws.can_prepare(request).ok:
        raise ApiError(
            426,
            "websocket-expected",
            "this is a WebSocket: connect with an Upgrade: websocket request",
        )
    everything = call.at_least(Role.SUPERVISOR)
    hub = request.app[LIVE_HUB]
    subscriber = Subscriber(
        everything=everything,
        agent=None if everything else call.agent_id,
        backlog=hub.backlog,
    )
    store = call.ctx.store(call.tenant)
    pump: asyncio.Task[None] | None = None
    closing: list[asyncio.Task[bool]] = []

    def drop() -> None:
        log.warning(
            "live_slow_socket tenant=%s login=%s backlog=%d",
            call.tenant,
            call.who,
            subscriber.backlog,
        )
        if pump is not None:
            pump.cancel()
        closing.append(
            asyncio.create_task(ws.close(code=SLOW, message=b"too slow: frames were piling up"))
        )

    subscriber.on_drop = drop
    await hub.subscribe(call.tenant, subscriber)
    sockets = hub.sockets
    try:
        await ws.prepare(request)
        sockets.add(ws)
        role = call.grant.role.label
        await ws.send_json(
            {
                "type": "hello",
                "tenant": call.tenant,
                "login": call.who,
                "role": role,
                "agent_id": call.agent_id,
            }
        )
        agents = await agents_live(store)
        if not everything:
            agents = [a for a in agents if a.id == call.agent_id]
        queues = await queues_live(store)
        await ws.send_json(
            {
                "type": "snapshot",
                "agents": [a.model_dump(mode="json") for a in agents],
                "queues": [q.model_dump(mode="json") for q in queues],
            }
        )
        if not subscriber.dropped:
            pump = asyncio.create_task(_pump(ws, subscriber), name=f"live-pump-{call.who}")
        async for message in ws:
            # The browser has nothing to say; anything it sends is ignored.
            if message.type is WSMsgType.ERROR:
                break
    finally:
        sockets.discard(ws)
        await hub.unsubscribe(call.tenant, subscriber)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
        for task in closing:
            with contextlib.suppress(Exception):
                await task
    return ws

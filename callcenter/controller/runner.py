"""``callcenter run``: the controller process against one or more switch nodes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from callcenter.acd.config import AcdConfig
from callcenter.acd.removal import prune
from callcenter.acd.store import AcdStore
from callcenter.cancellation import cancel_and_wait
from callcenter.controller.announcer import Announcer
from callcenter.controller.center_reload import CenterReload
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.controller.resync import keep_in_sync, reconcile, sync_once
from callcenter.esl.client import Backoff, InboundClient

__all__ = ["NodeAddress", "parse_node", "redis_client", "run_controller"]

log = logging.getLogger("callcenter.controller")


@dataclass(frozen=True)
class NodeAddress:
    name: str
    host: str
    port: int
    password: str
    # Where generated configuration may be written for this node (its /etc/freeswitch,
    # mounted or local): ``?conf=`` in the address. None: not pushed to.
    conf_dir: Path | None = None


def parse_node(text: str, default_password: str = "ClueCon") -> NodeAddress:
    """``esl://[:password@]host[:port][?conf=/etc/freeswitch][#name]`` or ``host[:port]``."""
    url = urlsplit(text if "://" in text else f"esl://{text}")
    if url.scheme != "esl" or not url.hostname:
        raise ValueError(f"not an ESL address: {text!r} (expected esl://:password@host:port)")
    port = url.port or 8021
    password = unquote(url.password) if url.password else default_password
    name = url.fragment or f"{url.hostname}:{port}"
    query = parse_qs(url.query)
    unknown = set(query) - {"conf"}
    if unknown:
        raise ValueError(f"{text!r}: unknown option(s) {', '.join(sorted(unknown))} (only conf=)")
    conf = query.get("conf", [""])[-1]
    return NodeAddress(name, url.hostname, port, password, Path(conf) if conf else None)


def redis_client(url: str) -> Redis:
    """The controller's Redis client: it fails fast while Redis is away (a blip is retried
    twice within a fraction of a second) instead of stalling the call path for seconds, and
    never waits for ever on a server that stopped answering."""
    return Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), 2),
    )


async def _apply_center(center: AcdConfig, store: AcdStore) -> None:
    """Load the center into Redis, and take out what it no longer has, waiting (with backoff)
    for a Redis that is not up yet."""
    delays = iter(Backoff(0.5, 10).delays())
    while True:
        try:
            await center.apply(store)
            await prune(center, store)
            return
        except RedisError as exc:
            delay = next(delays)
            log.warning("redis_unavailable error=%s retry_in=%.1fs", exc, delay)
            await asyncio.sleep(delay)


async def run_controller(
    center: AcdConfig,
    redis_url: str,
    nodes: list[NodeAddress],
    settings: FlowSettings,
    *,
    ready: asyncio.Event | None = None,
    resync_seconds: float = 5.0,
    on_connected: Callable[[Mapping[str, InboundClient], AcdStore], Awaitable[None]] | None = None,
    reload: CenterReload | None = None,
) -> None:
    """Load the center into Redis, connect to every node and route calls until cancelled.

    The controller reconciles with the switches (``resync.reconcile``: parked callers Redis
    does not know are enqueued, waiting calls whose channel is gone are dropped) once it has
    started, after a switch connection comes back, as soon as Redis answers again after an
    outage, and every ``resync_seconds``. ``on_connected`` is told the node clients and the
    store once the call flow runs (the HTTP API's live call control uses them). ``reload``:
    the center file ``center`` came from, read again when asked (SIGHUP); its tenant's entry
    (outbound routes) dials the callbacks.
    """
    redis = redis_client(redis_url)
    store = AcdStore(redis, center.tenant)
    clients: dict[str, InboundClient] = {}
    flow: QueueCallFlow | None = None
    announcer: Announcer | None = None
    watcher: asyncio.Task[None] | None = None

    async def reconnected(client: InboundClient) -> None:
        if flow is None:
            return
        try:
            await reconcile(flow)
        except RedisError as exc:
            log.warning("resync_failed node=%s error=%s", client.name, exc)

    try:
        await _apply_center(center, store)
        for node in nodes:
            client = InboundClient(
                node.host,
                node.port,
                node.password,
                backoff=Backoff(0.5, 10),
                name=node.name,
                on_reconnect=reconnected,
            )
            await client.connect()
            clients[node.name] = client
        tenant = reload.tenant if reload is not None else None
        flow = QueueCallFlow(clients, store, settings, tenant=tenant)
        await flow.start()
        if on_connected is not None:
            await on_connected(clients, store)
        # Position and estimated wait for waiting callers of queues that ask for them.
        announcer = Announcer(clients, store, settings.moh)
        await announcer.start()
        log.info("controller_running id=%s nodes=%s tenant=%s", store.controller_id,
                 ",".join(clients), center.tenant)  # fmt: skip
        try:
            await sync_once(flow)  # callers who parked while no controller ran
        except RedisError as exc:
            log.warning("resync_failed error=%s", exc)
        if reload is not None:
            watcher = asyncio.create_task(reload.watch(flow))
        if ready is not None:
            ready.set()
        await keep_in_sync(
            flow,
            (lambda: reload.acd) if reload is not None else (lambda: center),
            every=resync_seconds,
            probe=settings.tick_seconds,
        )
    finally:
        if watcher is not None:
            await cancel_and_wait([watcher])
        if announcer is not None:
            await announcer.stop()
        if flow is not None:
            await flow.stop()
        for client in clients.values():
            await client.close()
        await redis.aclose()

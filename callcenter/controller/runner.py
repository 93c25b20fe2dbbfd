"""``callcenter run``: the controller process against one or more switch nodes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis

from callcenter.acd.config import AcdConfig
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import Backoff, InboundClient

__all__ = ["NodeAddress", "parse_node", "run_controller"]

log = logging.getLogger("callcenter.controller")


@dataclass(frozen=True)
class NodeAddress:
    name: str
    host: str
    port: int
    password: str


def parse_node(text: str, default_password: str = "ClueCon") -> NodeAddress:
    """``esl://[:password@]host[:port][#name]`` or ``host[:port]``."""
    url = urlsplit(text if "://" in text else f"esl://{text}")
    if url.scheme != "esl" or not url.hostname:
        raise ValueError(f"not an ESL address: {text!r} (expected esl://:password@host:port)")
    port = url.port or 8021
    password = unquote(url.password) if url.password else default_password
    name = url.fragment or f"{url.hostname}:{port}"
    return NodeAddress(name, url.hostname, port, password)


async def run_controller(
    center: AcdConfig,
    redis_url: str,
    nodes: list[NodeAddress],
    settings: FlowSettings,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Load the center into Redis, connect to every node and route calls until cancelled."""
    redis = Redis.from_url(redis_url)
    store = AcdStore(redis, center.tenant)
    clients: dict[str, InboundClient] = {}
    flow: QueueCallFlow | None = None
    try:
        await center.apply(store)
        for node in nodes:
            client = InboundClient(
                node.host, node.port, node.password, backoff=Backoff(0.5, 10), name=node.name
            )
            await client.connect()
            clients[node.name] = client
        flow = QueueCallFlow(clients, store, settings)
        await flow.start()
        log.info("controller_running nodes=%s tenant=%s", ",".join(clients), center.tenant)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        if flow is not None:
            await flow.stop()
        for client in clients.values():
            await client.close()
        await redis.aclose()

"""Reading the center file again in a running controller (``callcenter run`` on SIGHUP).

What changes: queues, agents (contact, skills, delays) and tiers are added or updated in Redis
as at start (``AcdConfig.apply``: an agent keeps their state, nobody is logged out, no call is
touched), and those the file no longer has are taken out as at start (``acd.removal.prune``:
an agent once logged out, a queue once nobody waits in it); callbacks, click-to-call and
consultations use the file's users, routes and gateways from the next request on; the HTTP API
shows the file's dispositions and CRM settings.

What does not: the switch's dialplans change only with ``callcenter dialplan push``.

A file that cannot be read or is invalid changes nothing: the controller goes on with what it
had and logs every problem (``center_reload_failed``). So does a Redis that cannot be reached
while the new configuration is written (the file is read again at the next SIGHUP).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.exceptions import RedisError

from callcenter.acd.config import AcdConfig, AcdConfigError, load_acd_and_center
from callcenter.acd.removal import prune
from callcenter.cancellation import reraise_cancellation
from callcenter.center import Center, Tenant
from callcenter.controller.queue_flow import QueueCallFlow

__all__ = ["CenterReload"]

log = logging.getLogger("callcenter.controller")

Listener = Callable[[Center | None], Awaitable[None]]


class CenterReload:
    def __init__(self, path: str | Path, acd: AcdConfig, center: Center | None) -> None:
        """``path``: the center file (or folder) the controller started with; ``acd`` and
        ``center``: what was read from it then."""
        self.path = Path(path)
        self.acd = acd
        self.center = center
        self.requested = asyncio.Event()
        self.reloads = 0  # successful ones, for the tests and the log
        self._listeners: list[Listener] = []

    @property
    def tenant(self) -> Tenant | None:
        """The controller's tenant in the center file (None: a single-tenant ACD file)."""
        return self.center.tenant(self.acd.tenant) if self.center is not None else None

    def on_reloaded(self, listener: Listener) -> None:
        """``listener(center)`` after each successful reload (the HTTP API's context)."""
        self._listeners.append(listener)

    def request(self) -> None:
        """Ask for a reload (a signal handler's work: the watcher does it)."""
        self.requested.set()

    async def watch(self, flow: QueueCallFlow) -> None:
        """Until cancelled: reload whenever asked."""
        while True:
            await self.requested.wait()
            self.requested.clear()
            await self.reload(flow)

    async def reload(self, flow: QueueCallFlow) -> bool:
        """Read the file again and use it; False (nothing changed) when it cannot be used."""
        tenant = self.acd.tenant
        try:
            acd, center = await asyncio.to_thread(load_acd_and_center, self.path, tenant)
        except AcdConfigError as exc:
            log.error("center_reload_failed tenant=%s problems=\n%s", tenant, exc)
            return False
        except OSError as exc:
            log.error("center_reload_failed tenant=%s error=%s", tenant, exc)
            return False
        try:
            await acd.apply(flow.store)
            await prune(acd, flow.store)
        except RedisError as exc:
            reraise_cancellation()
            log.error("center_reload_failed tenant=%s error=redis: %s", tenant, exc)
            return False
        self.acd, self.center = acd, center
        flow.tenant = self.tenant
        for listener in self._listeners:
            await listener(center)
        self.reloads += 1
        log.warning("center_reloaded tenant=%s reason=requested queues=%d agents=%d tiers=%d",
                    tenant, len(acd.queues), len(acd.agents), len(acd.tiers))  # fmt: skip
        return True

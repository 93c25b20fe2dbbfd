"""Routing events to handlers: by event name, by CUSTOM subclass, by channel UUID, or all.

Handlers may be plain functions or coroutines; they run in the order the events arrived.
``register`` methods return the handler so they work as decorators.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from callcenter.esl.events import Event

__all__ = ["EventRouter", "Handler"]

log = logging.getLogger("callcenter.esl")

Handler = Callable[[Event], Awaitable[None] | None]
H = TypeVar("H", bound=Handler)


class EventRouter:
    def __init__(self) -> None:
        self._by_name: dict[str, list[Handler]] = defaultdict(list)
        self._by_subclass: dict[str, list[Handler]] = defaultdict(list)
        self._by_uuid: dict[str, list[Handler]] = defaultdict(list)
        self._any: list[Handler] = []
        self._waiters: list[tuple[Callable[[Event], bool], asyncio.Future[Event]]] = []

    # -- registration -------------------------------------------------------------------------

    def on(self, name: str, handler: H) -> H:
        """Handler for an event name (``CHANNEL_ANSWER``); ``ALL`` means every event."""
        if name in ("ALL", "*"):
            self._any.append(handler)
        else:
            self._by_name[name].append(handler)
        return handler

    def on_custom(self, subclass: str, handler: H) -> H:
        """Handler for CUSTOM events of one subclass (``callcenter::info``)."""
        self._by_subclass[subclass].append(handler)
        return handler

    def on_channel(self, uuid: str, handler: H) -> H:
        """Handler for every event of one channel (by ``Unique-ID``)."""
        self._by_uuid[uuid].append(handler)
        return handler

    def remove(self, handler: Handler) -> None:
        for table in (self._by_name, self._by_subclass, self._by_uuid):
            for key in list(table):
                if handler in table[key]:
                    table[key].remove(handler)
                if not table[key]:
                    del table[key]
        if handler in self._any:
            self._any.remove(handler)

    def forget_channel(self, uuid: str) -> None:
        self._by_uuid.pop(uuid, None)

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None = None
    ) -> Awaitable[Event]:
        """An awaitable for the next event matching ``predicate`` (registered at once)."""
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        entry = (predicate, fut)
        self._waiters.append(entry)

        async def wait() -> Event:
            try:
                return await asyncio.wait_for(fut, timeout)
            finally:
                if entry in self._waiters:
                    self._waiters.remove(entry)

        return wait()

    # -- delivery -----------------------------------------------------------------------------

    async def dispatch(self, event: Event) -> None:
        name = event.name
        handlers: list[Handler] = list(self._by_name.get(name, ()))
        if name == "CUSTOM" and self._by_subclass:
            sub = event.subclass
            if sub is not None:
                handlers.extend(self._by_subclass.get(sub, ()))
        if self._by_uuid:
            uuid = event.unique_id
            if uuid is not None:
                handlers.extend(self._by_uuid.get(uuid, ()))
        handlers.extend(self._any)
        for handler in handlers:
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one broken handler must not starve the others
                log.exception("esl_handler_failed event=%s uuid=%s", name, event.unique_id)
        if self._waiters:
            for predicate, fut in list(self._waiters):
                if not fut.done() and predicate(event):
                    fut.set_result(event)

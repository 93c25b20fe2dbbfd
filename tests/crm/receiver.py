"""A CRM for the tests: a real aiohttp server on 127.0.0.1 that records every request and
answers each path from a script (status, delay, body), the last answer repeated."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from callcenter.crm.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)

__all__ = ["Answer", "Received", "Receiver", "running_receiver"]


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay: float = 0.0
    body: str = "{}"
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers[DELIVERY_HEADER]

    @property
    def event(self) -> str:
        return self.headers[EVENT_HEADER]

    def verifies(self, secret: str) -> bool:
        return verify(
            secret,
            timestamp=self.headers[TIMESTAMP_HEADER],
            signature=self.headers[SIGNATURE_HEADER],
            body=self.body,
        )


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> str:
        self.scripts[path] = list(answers)
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(
            Received(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        script = self.scripts.get(request.path) or [Answer()]
        seen = len(self.at(request.path))
        answer = script[min(seen, len(script)) - 1]
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return web.Response(
            status=answer.status,
            text=answer.body,
            content_type=answer.content_type,
            headers=dict(answer.headers),
        )


@asynccontextmanager
async def running_receiver() -> AsyncIterator[Receiver]:
    crm = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", crm.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    crm.port = int(runner.addresses[0][1])
    try:
        yield crm
    finally:
        await runner.cleanup()

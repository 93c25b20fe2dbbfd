"""The HTTP API on a real port, with real Redis and PostgreSQL: two tenants, users of each
role, and a client that speaks to it over HTTP like any integration."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import Engine

from callcenter.acd.config import AcdConfig
from callcenter.api.context import ApiContext
from callcenter.api.server import ApiServer
from callcenter.users import service as users

PASSWORD = "correct horse battery"


def acd(tenant: str) -> AcdConfig:
    return AcdConfig.model_validate(
        {
            "tenant": tenant,
            "queues": [{"name": "sales", "service_level_seconds": 20},
                       {"name": "support"}],
            "agents": [{"id": "1001", "contact": "user/1001"},
                       {"id": "1002", "contact": "user/1002"}],
            "tiers": [{"queue": "sales", "agent": "1001"}, {"queue": "sales", "agent": "1002"},
                      {"queue": "support", "agent": "1002"}],
        }
    )  # fmt: skip


@dataclass
class Api:
    server: ApiServer
    ctx: ApiContext
    acme: str  # the tenants' names (unique per test: Redis keys never collide)
    globex: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> Client:
        return Client(self.url)


class Client:
    """An HTTP client with its own cookie jar (one browser), or a bearer token."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:  # fmt: skip
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.session.request(
            method, self.base + path, json=json, headers=headers, **kwargs
        ) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()

    async def sign_in(self, login: str, password: str = PASSWORD) -> tuple[int, Any]:
        return await self.request("POST", "/api/v1/session", {"login": login, "password": password})


@contextlib.asynccontextmanager
async def http_site(app: web.Application) -> AsyncIterator[str]:
    """``app`` served on a free local port (a CRM, a bucket...): its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def api(redis_url: str, db: Engine) -> AsyncIterator[Api]:
    acme, globex = f"acme{uuid.uuid4().hex[:6]}", f"globex{uuid.uuid4().hex[:6]}"
    redis = Redis.from_url(redis_url)
    ctx = ApiContext(
        key_namespace=f"t{uuid.uuid4().hex[:8]}", redis=redis, engine=db, tenants=[acme, globex]
    )
    for tenant in (acme, globex):
        await acd(tenant).apply(ctx.store(tenant))
    for login, tenant, role, agent in (
        ("alice", acme, "agent", "1001"),
        ("bob", acme, "agent", "1002"),
        ("sue", acme, "supervisor", None),
        ("ada", acme, "admin", None),
        ("gary", globex, "agent", "1001"),
        ("gina", globex, "admin", None),
        ("root", "*", "admin", None),
    ):
        users.create_user(db, login, login.title(), PASSWORD)
        users.grant(db, login, tenant, role, agent)
    server = ApiServer(ctx, "127.0.0.1", 0)
    await server.start()
    try:
        yield Api(server, ctx, acme, globex)
    finally:
        await server.stop()
        await redis.aclose()


@pytest.fixture
async def client(api: Api) -> AsyncIterator[Client]:
    c = api.client()
    try:
        yield c
    finally:
        await c.close()

"""Wrong passwords are limited: per login and address, per address, per login, over a window;
the client's address comes from X-Forwarded-For only behind a trusted proxy. Real Redis,
PostgreSQL and HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine

from callcenter.api.context import ApiContext
from callcenter.api.server import ApiServer
from callcenter.settings import HttpSettings, SettingsError, load_settings
from callcenter.users import service as users
from callcenter.users.audit import recent
from tests.api.conftest import PASSWORD, Client

Serve = Callable[..., Awaitable[Client]]


@pytest.fixture
async def serve(redis_url: str, db: Engine) -> AsyncIterator[Serve]:
    """An API with the given HTTP settings (its own key namespace in Redis), users kim and
    lee; returns a client of it."""
    redis = Redis.from_url(redis_url)
    servers: list[ApiServer] = []
    clients: list[Client] = []
    for login in ("kim", "lee"):
        users.create_user(db, login, login.title(), PASSWORD)
        users.grant(db, login, "acme", "agent", "1001")

    async def start(**http: Any) -> Client:
        ctx = ApiContext(redis=redis, engine=db, tenants=["acme"], http=HttpSettings(**http),
                         key_namespace=f"t{uuid.uuid4().hex[:8]}")  # fmt: skip
        server = ApiServer(ctx, "127.0.0.1", 0)
        await server.start()
        servers.append(server)
        clients.append(Client(server.url))
        return clients[-1]

    try:
        yield start
    finally:
        for client in clients:
            await client.close()
        for server in servers:
            await server.stop()
        await redis.aclose()


async def sign_in(client: Client, login: str, password: str, via: str | None = None) -> Any:
    """(status, body, Retry-After) of a sign-in, ``via`` a proxy that forwards for it."""
    headers = {"X-Forwarded-For": via} if via else {}
    async with client.session.post(
        client.base + "/api/v1/session",
        json={"login": login, "password": password},
        headers=headers,
    ) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


async def test_wrong_passwords_hold_the_login_at_that_address_for_the_window(
    serve: Serve, db: Engine
) -> None:
    client = await serve(sign_in_max_failures=3)
    for _ in range(3):
        status, body, _ = await sign_in(client, "kim", "wrong")
        assert (status, body["error_id"]) == (401, "bad-credentials")
    # Now even the right password waits: nothing tells a guesser it was right.
    status, body, retry = await sign_in(client, "kim", PASSWORD)
    assert (status, body["error_id"]) == (429, "too-many-attempts")
    assert retry is not None and 0 < int(retry) <= 15 * 60
    assert body["details"]["retry_after_seconds"] == int(retry)
    assert "try again in 15 min" in body["message"]
    # Another login from the same address is not held by kim's count.
    assert (await sign_in(client, "lee", PASSWORD))[0] == 200
    entries = [e for e in recent(db, None) if e.action == "sign-in" and e.actor == "kim"]
    assert [e.status for e in entries][:2] == [429, 401]  # newest first
    assert entries[0].remote == "127.0.0.1"


async def test_a_successful_sign_in_forgets_the_mistypes(serve: Serve) -> None:
    client = await serve(sign_in_max_failures=3)
    for _ in range(2):
        assert (await sign_in(client, "kim", "wrong"))[0] == 401
    assert (await sign_in(client, "kim", PASSWORD))[0] == 200
    for _ in range(2):
        assert (await sign_in(client, "kim", "wrong"))[0] == 401
    assert (await sign_in(client, "kim", PASSWORD))[0] == 200


async def test_one_address_trying_many_logins_is_held(serve: Serve) -> None:
    client = await serve(sign_in_max_failures=1)  # 6 per address, whatever the login
    for n in range(6):
        assert (await sign_in(client, f"nobody{n}", "guess"))[0] == 401
    status, body, _ = await sign_in(client, "lee", PASSWORD)
    assert (status, body["error_id"]) == (429, "too-many-attempts")


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(serve: Serve) -> None:
    client = await serve(sign_in_max_failures=2, trusted_proxies=["127.0.0.0/8"])
    attacker, kim_at_home = "203.0.113.5", "198.51.100.7"
    for _ in range(2):
        assert (await sign_in(client, "kim", "wrong", via=attacker))[0] == 401
    assert (await sign_in(client, "kim", PASSWORD, via=attacker))[0] == 429
    # kim, from another address through the same proxy, is not held by the attacker's count.
    assert (await sign_in(client, "kim", PASSWORD, via=kim_at_home))[0] == 200
    # The client is the last address the trusted proxies did not add: a forged first one in
    # the chain changes nothing.
    forged = f"10.9.9.9, {attacker}, 127.0.0.1"
    assert (await sign_in(client, "kim", PASSWORD, via=forged))[0] == 429


async def test_without_trusted_proxies_forwarded_addresses_are_ignored(serve: Serve) -> None:
    client = await serve(sign_in_max_failures=2)
    for n in range(2):
        assert (await sign_in(client, "kim", "wrong", via=f"203.0.113.{n}"))[0] == 401
    # A new X-Forwarded-For each time does not make a new client.
    assert (await sign_in(client, "kim", PASSWORD, via="203.0.113.99"))[0] == 429


async def test_the_hold_ends_with_the_window(serve: Serve) -> None:
    client = await serve(sign_in_max_failures=1, sign_in_window_minutes=0.02)  # 1.2 s
    assert (await sign_in(client, "kim", "wrong"))[0] == 401
    status, _, retry = await sign_in(client, "kim", PASSWORD)
    assert status == 429 and retry is not None
    await asyncio.sleep(int(retry) + 0.1)
    assert (await sign_in(client, "kim", PASSWORD))[0] == 200


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CALLCENTER_HTTP__TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"}, None),
        ({"CALLCENTER_HTTP__TRUSTED_PROXIES": "10.0.0.5,proxy.local"}, "'proxy.local' is not"),
        ({"CALLCENTER_HTTP__SIGN_IN_MAX_FAILURES": "0"}, "http.sign_in_max_failures"),
        ({"CALLCENTER_HTTP__SIGN_IN_WINDOW_MINUTES": "-1"}, "http.sign_in_window_minutes"),
    ],
)
def test_limit_settings_are_checked(env: dict[str, str], expected: str | None) -> None:
    if expected is None:
        assert load_settings(env=env).http.trusted_proxies == ["10.0.0.5", "10.1.0.0/16"]
        return
    with pytest.raises(SettingsError) as info:
        load_settings(env=env)
    assert expected in str(info.value)

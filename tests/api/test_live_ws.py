"""The live feed over a real WebSocket: hello and snapshot, agent and call frames for changes
made through the ACD, the wallboard's queue frames, what an agent may see, who may connect, and
one Redis reader per tenant that stops with the tenant's last socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from callcenter.acd.model import WaitingCall
from callcenter.api.resources.live_ws import LIVE_HUB, LiveHub, Subscriber
from callcenter.users import service as users
from tests.api.conftest import Api, Client

Socket = aiohttp.ClientWebSocketResponse


def hub(api: Api) -> LiveHub:
    return api.server.app[LIVE_HUB]


def live_path(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/live"


@pytest.fixture
async def connect(api: Api) -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    """Open a live socket as ``login`` (signed in with a password, or with ``token``)."""
    clients: list[Client] = []
    sockets: list[Socket] = []

    async def open_socket(
        login: str | None = None,
        tenant: str | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Socket:
        client = api.client()
        clients.append(client)
        if login is not None:
            assert (await client.sign_in(login))[0] == 200
        extra = dict(headers or {})
        if token is not None:
            extra["Authorization"] = f"Bearer {token}"
        ws = await client.session.ws_connect(
            api.url.replace("http", "ws", 1) + live_path(tenant or api.acme), headers=extra
        )
        sockets.append(ws)
        return ws

    try:
        yield open_socket
    finally:
        for ws in sockets:
            await ws.close()
        for client in clients:
            await client.close()


async def frame(ws: Socket, timeout: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


async def change(ws: Socket, timeout: float = 5.0) -> dict[str, Any]:
    """The next agent or call frame (the periodic queue frames skipped)."""
    while True:
        data = await frame(ws, timeout)
        if data["type"] != "queues":
            return data


async def greeted(ws: Socket) -> tuple[dict[str, Any], dict[str, Any]]:
    hello, snapshot = await frame(ws), await frame(ws)
    assert (hello["type"], snapshot["type"]) == ("hello", "snapshot")
    return hello, snapshot


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_hello_then_snapshot_then_agent_frames(api: Api, connect: Any) -> None:
    ws = await connect("sue")
    hello, snapshot = await greeted(ws)
    assert hello == {
        "type": "hello",
        "tenant": api.acme,
        "login": "sue",
        "role": "supervisor",
        "agent_id": None,
    }
    assert [a["id"] for a in snapshot["agents"]] == ["1001", "1002"]
    assert snapshot["agents"][0]["status"] == "logged_out"
    assert [q["name"] for q in snapshot["queues"]] == ["sales", "support"]
    assert set(snapshot["queues"][0]) >= {"waiting", "longest_wait_seconds", "agents", "today"}

    store = api.ctx.store(api.acme)
    await store.login("1001")
    got = await change(ws)
    assert got == {
        "type": "agent",
        "id": "1001",
        "status": "on_break",
        "previous": "logged_out",
        "reason": "login",
        "call": "",
        "ts": got["ts"],
    }
    assert got["ts"] > 0
    await store.ready("1001")
    got = await change(ws)
    assert (got["status"], got["previous"], got["reason"]) == ("available", "on_break", "")


async def test_a_token_opens_the_feed_with_its_users_role(
    api: Api, connect: Any, db: Engine
) -> None:
    secret, _ = users.create_token(db, "ada", "wallboard")  # token 1; ada is user 4
    ws = await connect(token=secret)
    hello, _ = await greeted(ws)
    assert (hello["login"], hello["role"]) == ("ada", "admin")


async def test_enqueue_and_reserve_become_call_frames_with_the_caller(
    api: Api, connect: Any
) -> None:
    ws = await connect("ada")
    hello, _ = await greeted(ws)
    assert (hello["login"], hello["role"]) == ("ada", "admin")
    store = api.ctx.store(api.acme)
    await store.login("1001")
    await store.ready("1001")
    for _ in range(2):
        await change(ws)
    call = str(uuid.uuid4())
    await store.enqueue(
        WaitingCall(call, "sales", caller_number="74951112233", caller_name="Ivan Petrov")
    )
    waiting = await change(ws)
    assert waiting == {
        "type": "call",
        "call": call,
        "state": "waiting",
        "queue": "sales",
        "agent": "",
        "agents": [],
        "caller_number": "74951112233",
        "caller_name": "Ivan Petrov",
        "number": "",
        "cause": "",
        "ts": waiting["ts"],
    }
    [offer] = await store.reserve("sales")
    reserved = await change(ws)
    assert (reserved["type"], reserved["id"], reserved["status"], reserved["call"]) == (
        "agent",
        "1001",
        "reserved",
        call,
    )
    offering = await change(ws)
    assert (offering["state"], offering["agents"], offering["caller_name"]) == (
        "offering",
        ["1001"],
        "Ivan Petrov",
    )
    await store.answered(offer)
    on_call, answered = await change(ws), await change(ws)
    assert (on_call["id"], on_call["status"]) == ("1001", "on_call")
    assert (answered["state"], answered["agent"], answered["caller_number"]) == (
        "answered",
        "1001",
        "74951112233",
    )


async def test_an_agent_gets_their_own_frames_only(api: Api, connect: Any) -> None:
    alice = await connect("alice")
    hello, snapshot = await greeted(alice)
    assert (hello["role"], hello["agent_id"]) == ("agent", "1001")
    assert [a["id"] for a in snapshot["agents"]] == ["1001"]
    sue = await connect("sue")
    await greeted(sue)
    store = api.ctx.store(api.acme)
    # Bob (1002) takes a support call: nothing of it is alice's business.
    await store.login("1002")
    await store.ready("1002")
    bobs = str(uuid.uuid4())
    await store.enqueue(WaitingCall(bobs, "support", caller_number="111"))
    [offer] = await store.reserve("support")
    assert offer.agent == "1002"
    # Then a sales call is offered to alice.
    await store.login("1001")
    await store.ready("1001")
    hers = str(uuid.uuid4())
    await store.enqueue(WaitingCall(hers, "sales", caller_number="222"))
    [offer] = await store.reserve("sales")
    assert offer.agent == "1001"

    seen = [await change(alice) for _ in range(4)]
    assert [(f["type"], f.get("status") or f.get("state")) for f in seen] == [
        ("agent", "on_break"),
        ("agent", "available"),
        ("agent", "reserved"),
        ("call", "offering"),
    ]
    assert all(f.get("id", "1001") == "1001" for f in seen)
    assert seen[3]["call"] == hers and seen[3]["agents"] == ["1001"]
    # The supervisor saw everything: bob's 3 agent frames, 2 call frames, then alice's 5.
    everything = [await change(sue) for _ in range(10)]
    assert {f["call"] for f in everything if f["type"] == "call"} == {bobs, hers}
    with pytest.raises(asyncio.TimeoutError):
        await change(alice, timeout=0.3)


async def test_queue_frames_arrive_on_a_timer_for_everyone(api: Api, connect: Any) -> None:
    hub(api).queues_every = 0.1
    alice = await connect("alice")
    await greeted(alice)
    await api.ctx.store(api.acme).enqueue(WaitingCall(str(uuid.uuid4()), "sales"))
    for _ in range(20):
        got = await frame(alice)
        if got["type"] == "queues" and got["queues"][0]["waiting"] == 1:
            break
    else:
        raise AssertionError("no queues frame counted the waiting caller")
    sales = got["queues"][0]
    assert sales["name"] == "sales" and sales["today"]["offered"] == 1


async def test_refused_before_the_upgrade(api: Api, connect: Any) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await connect()
    assert anonymous.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as other_tenant:
        await connect("gary")  # an agent of globex
    assert other_tenant.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as bad_token:
        await connect(token="cc_not-a-token")
    assert bad_token.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as foreign_page:
        await connect("sue", headers={"Origin": "https://evil.example"})
    assert foreign_page.value.status == 403
    # The refusals are the API's JSON errors (seen here without the upgrade).
    client = api.client()
    try:
        status, body = await client.request("GET", live_path(api.acme))
        assert (status, body["error_id"]) == (401, "unauthorized")
        await client.sign_in("gary")
        status, body = await client.request("GET", live_path(api.acme))
        assert (status, body["error_id"]) == (403, "forbidden")
        status, body = await client.request("GET", live_path(api.globex))
        assert (status, body["error_id"]) == (426, "websocket-expected")
    finally:
        await client.close()
    assert hub(api).feeds == {}


async def test_another_tenants_events_never_leak(api: Api, connect: Any) -> None:
    acme = await connect("root")
    await greeted(acme)
    globex = await connect("gina", tenant=api.globex)
    hello, _ = await greeted(globex)
    assert hello["tenant"] == api.globex
    await api.ctx.store(api.globex).login("1001")  # same agent id, other tenant
    await api.ctx.store(api.globex).enqueue(WaitingCall(str(uuid.uuid4()), "sales"))
    assert (await change(globex))["id"] == "1001"
    await api.ctx.store(api.acme).login("1002")
    assert (await change(acme))["id"] == "1002"  # the globex entries never came
    assert set(hub(api).feeds) == {api.acme, api.globex}


async def test_a_closed_socket_frees_its_subscription(api: Api, connect: Any) -> None:
    first = await connect("sue")
    second = await connect("alice")
    await greeted(first)
    await greeted(second)
    assert hub(api).subscribers(api.acme) == 2
    reader = hub(api).feeds[api.acme]
    await second.close()
    await until(lambda: hub(api).subscribers(api.acme) == 1)
    assert hub(api).feeds[api.acme] is reader  # still one shared reader
    await first.close()
    await until(lambda: api.acme not in hub(api).feeds)
    # The reader stopped; a new socket starts a new one and still gets what happens next.
    third = await connect("sue")
    await greeted(third)
    await api.ctx.store(api.acme).login("1001")
    assert (await change(third))["id"] == "1001"


async def test_a_slow_socket_is_dropped_and_the_others_go_on(api: Api, connect: Any) -> None:
    hub(api).backlog = 1  # a socket may be one frame behind
    slow = await connect("sue")
    await greeted(slow)
    hub(api).backlog = 100
    fast = await connect("ada")
    await greeted(fast)
    store = api.ctx.store(api.acme)
    # Three entries in one step: they come in one read, faster than anyone can send them.
    async with api.ctx.redis.pipeline(transaction=True) as pipe:
        for n in range(3):
            pipe.xadd(
                store.keys.events,
                {"type": "agent", "agent": "1001", "status": f"s{n}", "ts": n + 1},
            )
        await pipe.execute()
    assert [(await change(fast))["status"] for _ in range(3)] == ["s0", "s1", "s2"]
    while (message := await slow.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
        pass
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert slow.close_code == 1013
    await until(lambda: hub(api).subscribers(api.acme) == 1)


async def test_fan_out_never_waits_for_a_full_queue(api: Api) -> None:
    live = LiveHub(api.ctx)
    dropped: list[str] = []
    slow = Subscriber(
        everything=True, agent=None, backlog=2, on_drop=lambda: dropped.append("slow")
    )
    fast = Subscriber(everything=True, agent=None)
    await live.subscribe(api.acme, slow)
    await live.subscribe(api.acme, fast)
    try:
        store = api.ctx.store(api.acme)
        await store.login("1001")
        await store.ready("1001")
        await store.logout("1001")
        await until(lambda: fast.queue.qsize() == 3)
        assert slow.dropped and dropped == ["slow"]  # once, at the third frame
        assert slow.queue.qsize() == 2
    finally:
        await live.close()

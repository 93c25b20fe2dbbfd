"""Live calls over HTTP, end to end: the simulated switch, the queue flow and call control in
this process, driven by agents and supervisors through the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine

from callcenter.acd.model import AgentStatus
from callcenter.api.context import ApiContext
from callcenter.api.server import ApiServer
from callcenter.center.tenant import Center
from callcenter.users import service as users
from tests.api.conftest import PASSWORD, Client
from tests.controller.test_call_control import Desk, agent_is, bridged_call, until

pytest_plugins = ["tests.controller.test_call_control"]


@dataclass
class Floor:
    desk: Desk
    server: ApiServer
    tenant: str

    def client(self) -> Client:
        return Client(self.server.url)


@pytest.fixture
async def floor(desk: Desk, redis_url: str, db: Engine) -> AsyncIterator[Floor]:
    tenant = desk.store.keys.tenant
    redis = Redis.from_url(redis_url)
    ctx = ApiContext(redis=redis, engine=db, tenants=[tenant],
                     center=Center.model_construct(tenants=[desk.tenant]),
                     key_namespace=f"t{uuid.uuid4().hex[:8]}")  # fmt: skip
    ctx.call_control[tenant] = desk.control
    for login, role, agent in (("anna", "agent", "1000"), ("boris", "agent", "1001"),
                               ("sue", "supervisor", None)):  # fmt: skip
        users.create_user(db, login, login, PASSWORD)
        users.grant(db, login, tenant, role, agent)
    server = ApiServer(ctx, "127.0.0.1", 0)
    await server.start()
    try:
        yield Floor(desk, server, tenant)
    finally:
        await server.stop()
        await redis.aclose()


async def test_an_agent_hangs_up_their_call_and_wraps_up(floor: Floor) -> None:
    caller, _ = await bridged_call(floor.desk)
    boris, anna = floor.client(), floor.client()
    try:
        await boris.sign_in("boris")
        path = f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/hangup"
        status, body = await boris.request("POST", path)
        assert (status, body["error_id"]) == (403, "forbidden")
        assert caller.uuid in floor.desk.switch.channels
        await anna.sign_in("anna")
        status, listed = await anna.request("GET", f"/api/v1/tenants/{floor.tenant}/live-calls")
        assert [c["call"] for c in listed["calls"]] == [caller.uuid]
        assert (await anna.request("POST", path))[0] == 204
        await caller.wait_hangup(5)
        await until(lambda: agent_is(floor.desk.store, "1000", AgentStatus.WRAP_UP))
    finally:
        await boris.close()
        await anna.close()


async def test_a_supervisor_listens_and_an_agent_may_not(floor: Floor) -> None:
    floor.desk.switch.phones.register("1005", "default", answer_after=0.1)
    caller, _ = await bridged_call(floor.desk)
    path = f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/monitor"
    anna, sue = floor.client(), floor.client()
    try:
        await anna.sign_in("anna")
        status, body = await anna.request("POST", path, {"mode": "listen", "contact": "user/1005"})
        assert (status, body["error_id"]) == (403, "forbidden")
        await sue.sign_in("sue")
        status, body = await sue.request("POST", path, {"mode": "sing"})
        assert (status, body["error_id"]) == (422, "invalid-input")
        status, body = await sue.request("POST", path, {"mode": "listen"})
        assert (status, body["details"]["field"]) == (422, "contact")
        status, body = await sue.request(
            "POST", path, {"mode": "whisper", "contact": "user/1005@default"}
        )
        assert status == 200, body
        supervisor = body["supervisor_leg"]
        await until(lambda: supervisor in floor.desk.switch.channels)
        await until(
            lambda: (
                floor.desk.switch.channels[supervisor].variables.get("eavesdrop_whisper_bleg")
                == "true"
            )
        )
        status, listed = await sue.request("GET", f"/api/v1/tenants/{floor.tenant}/live-calls")
        assert caller.uuid in [c["call"] for c in listed["calls"]]
    finally:
        await anna.close()
        await sue.close()


async def test_transfer_destinations_are_checked(floor: Floor) -> None:
    caller, _ = await bridged_call(floor.desk)
    anna = floor.client()
    try:
        await anna.sign_in("anna")
        path = f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/transfer"
        status, body = await anna.request("POST", path, {"destination": "1002\r\nuuid_kill x"})
        assert (status, body["error_id"]) == (422, "invalid-input")
        status, body = await anna.request("POST", path, {"destination": "queue:nope"})
        assert status in (404, 422) and body["message"], body
        assert floor.desk.switch.channels[caller.uuid].other_uuid is not None
    finally:
        await anna.close()


async def test_a_supervisor_moves_a_waiting_caller_and_an_agent_may_not(floor: Floor) -> None:
    floor.desk.switch.phones.register("1000", "default", answer_after=0.2)
    await floor.desk.store.login("1000")  # on break: the caller waits in support
    caller = await floor.desk.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: floor.desk.store.waiting("support"))
    path = f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/transfer"
    anna, sue = floor.client(), floor.client()
    try:
        await anna.sign_in("anna")
        status, body = await anna.request("POST", path, {"destination": "queue:sales"})
        assert (status, body["error_id"]) == (403, "forbidden")  # nobody's call yet
        await sue.sign_in("sue")
        status, listed = await sue.request("GET", f"/api/v1/tenants/{floor.tenant}/live-calls")
        assert [(c["call"], c["state"], c["callback"]) for c in listed["calls"]] == [
            (caller.uuid, "waiting", False)
        ]
        status, body = await sue.request("POST", path, {"destination": "queue:support"})
        assert (status, body["error_id"]) == (422, "bad-destination"), body
        assert (await sue.request("POST", path, {"destination": "queue:sales"}))[0] == 204
        assert await floor.desk.store.waiting("sales") == [caller.uuid]
        entries = await floor.desk.store.redis.xrange(floor.desk.store.keys.events)
        moved = [e for _, e in entries if e.get(b"state") == b"moved"]
        assert [(e[b"to"], e[b"by"]) for e in moved] == [(b"sales", b"sue")]
    finally:
        await anna.close()
        await sue.close()


async def test_recording_stops_and_starts_again(floor: Floor) -> None:
    caller, _ = await bridged_call(floor.desk)
    anna = floor.client()
    try:
        await anna.sign_in("anna")
        path = f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/record"
        status, body = await anna.request("POST", path, {"on": False})
        assert (status, body["recording"]) == (200, False), body
        assert body["path"].endswith(f"{caller.uuid}.wav")
        status, body = await anna.request("POST", path, {"on": False})
        assert (status, body["error_id"]) == (409, "wrong-call-state")
        status, body = await anna.request("POST", path, {"on": True})
        assert (status, body["recording"]) == (200, True)
    finally:
        await anna.close()


async def test_click_to_call_rings_the_agent_through_the_cheapest_route(floor: Floor) -> None:
    floor.desk.switch.phones.register("1000", "default", answer_after=0.2)
    await floor.desk.store.login("1000")
    await floor.desk.store.ready("1000")
    anna = floor.client()
    try:
        await anna.sign_in("anna")
        path = f"/api/v1/tenants/{floor.tenant}/click-to-call"
        status, body = await anna.request("POST", path, {"number": "not a number"})
        assert status == 422 and body["error_id"] == "bad-number", body
        status, body = await anna.request("POST", path, {"number": "+74951234567", "agent": "1001"})
        assert (status, body["error_id"]) == (403, "forbidden")
        status, body = await anna.request("POST", path, {"number": "+74951234567"})
        assert status == 201, body
        assert (body["agent"], body["gateways"]) == ("1000", ["gwa", "gwb"])
        await until(lambda: agent_is(floor.desk.store, "1000", AgentStatus.ON_CALL))
    finally:
        await anna.close()


async def test_without_a_controller_live_calls_answer_503(floor: Floor) -> None:
    floor.server.ctx.call_control.clear()
    caller, _ = await bridged_call(floor.desk)
    anna = floor.client()
    try:
        await anna.sign_in("anna")
        status, body = await anna.request(
            "POST", f"/api/v1/tenants/{floor.tenant}/live-calls/{caller.uuid}/hangup"
        )
        assert (status, body["error_id"]) == (503, "no-call-control")
        assert "callcenter run" in body["message"]
    finally:
        await anna.close()

"""Agents' states and queues' live status over HTTP, read from and written to the real ACD."""

from __future__ import annotations

from tests.api.conftest import Api, Client


async def test_an_agent_logs_in_goes_ready_and_takes_a_break(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    path = f"/api/v1/tenants/{api.acme}/agents/1001/state"
    status, body = await client.request("PUT", path, {"action": "login"})
    assert (status, body["status"], body["reason"]) == (200, "on_break", "login")
    status, body = await client.request("PUT", path, {"action": "ready"})
    assert (status, body["status"]) == (200, "available")
    assert body["queues"] == ["sales"]
    assert body["since_ms"] > 0
    status, body = await client.request("PUT", path, {"action": "break", "reason": "lunch"})
    assert (status, body["status"], body["reason"]) == (200, "on_break", "lunch")
    # The ACD itself says so, not just the answer.
    assert (await api.ctx.store(api.acme).agent("1001"))["reason"] == "lunch"


async def test_an_agent_cannot_change_a_colleagues_state(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    status, body = await client.request(
        "PUT", f"/api/v1/tenants/{api.acme}/agents/1002/state", {"action": "login"}
    )
    assert (status, body["error_id"]) == (403, "forbidden")
    assert (await api.ctx.store(api.acme).agent("1002"))["status"] == "logged_out"


async def test_a_supervisor_changes_any_agents_state(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    path = f"/api/v1/tenants/{api.acme}/agents/1002/state"
    assert (await client.request("PUT", path, {"action": "login"}))[0] == 200
    assert (await client.request("PUT", path, {"action": "logout"}))[1]["status"] == "logged_out"


async def test_wrong_state_change_and_unknown_agent(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    status, body = await client.request(
        "PUT", f"/api/v1/tenants/{api.acme}/agents/1001/state", {"action": "ready"}
    )
    assert (status, body["error_id"]) == (409, "wrong-agent-state")
    assert "logged_out" in body["message"]
    status, body = await client.request(
        "PUT", f"/api/v1/tenants/{api.acme}/agents/9999/state", {"action": "login"}
    )
    assert (status, body["error_id"]) == (404, "unknown-agent")


async def test_bad_payloads_get_422_naming_the_field(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    path = f"/api/v1/tenants/{api.acme}/agents/1001/state"
    status, body = await client.request("PUT", path, {"action": "dance"})
    assert (status, body["error_id"]) == (422, "invalid-input")
    assert body["details"]["problems"][0]["field"] == "action"
    status, body = await client.request(
        "PUT", path, {"action": "break", "reason": "lunch\r\nuuid_kill all"}
    )
    assert (status, body["details"]["problems"][0]["field"]) == (422, "reason")
    status, body = await client.request(
        "PUT", path, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (status, body["error_id"]) == (400, "invalid-json")


async def test_agent_list_shows_state_and_time_in_it(api: Api, client: Client) -> None:
    await api.ctx.store(api.acme).login("1002")
    await client.sign_in("alice")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")
    assert status == 200
    by_id = {a["id"]: a for a in body["agents"]}
    assert set(by_id) == {"1001", "1002"}
    assert by_id["1002"]["status"] == "on_break"
    assert by_id["1002"]["seconds_in_state"] >= 0
    assert by_id["1001"]["status"] == "logged_out"


async def test_queue_status_counts_agents_by_state(api: Api, client: Client) -> None:
    store = api.ctx.store(api.acme)
    await store.login("1001")
    await store.ready("1001")
    await store.login("1002")
    await client.sign_in("sue")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/queues")
    assert status == 200
    by_name = {q["name"]: q for q in body["queues"]}
    assert by_name["sales"]["agents"] == {"available": 1, "on_break": 1}
    assert by_name["support"]["agents"] == {"on_break": 1}
    assert by_name["sales"]["service_level_seconds"] == 20
    assert by_name["sales"]["waiting"] == 0
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/queues/nope")
    assert (status, body["error_id"]) == (404, "unknown-queue")


async def test_waiting_callers_appear_with_their_wait(api: Api, client: Client) -> None:
    from callcenter.acd.model import WaitingCall

    store = api.ctx.store(api.acme)
    await store.enqueue(WaitingCall("call-1", "sales", caller_number="+15551234", node="n1"))
    await client.sign_in("alice")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/queues/sales")
    assert status == 200
    assert body["waiting"] == 1
    [waiting] = body["waiting_calls"]
    assert (waiting["call"], waiting["caller_number"], waiting["state"]) == (
        "call-1", "+15551234", "waiting"
    )  # fmt: skip
    assert body["today"]["offered"] == 1


async def test_a_queues_disposition_codes_come_from_the_center_file(
    api: Api, client: Client
) -> None:
    from callcenter.center.tenant import Center

    api.ctx.center = Center.model_validate(
        {"tenants": [{"name": api.acme, "domain": "acme.example.com",
                      "queues": [{"name": "sales", "dispositions": ["sale", "no-sale"]},
                                 {"name": "support"}]}]}
    )  # fmt: skip
    await client.sign_in("alice")
    base = f"/api/v1/tenants/{api.acme}/queues"
    status, body = await client.request("GET", f"{base}/sales/dispositions")
    assert (status, body) == (200, {"queue": "sales", "codes": ["sale", "no-sale"]})
    status, body = await client.request("GET", f"{base}/support/dispositions")
    assert (status, body["error_id"]) == (404, "dispositions-not-used")
    assert "no disposition codes" in body["message"]

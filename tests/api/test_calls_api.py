"""Call history over HTTP: search and one call for each role, comments (the author is who signed
in) and dispositions (on the event Stream afterwards), and the calls of other agents and
tenants kept out of reach."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from callcenter.db.models import AuditEntry, Comment
from tests.api.conftest import Api, Client
from tests.calls.rows import CENTER, T0, add_call, add_recording, center


@pytest.fixture
def calls(api: Api, db: Engine) -> dict[str, str]:
    """Alice's (1001) two calls, bob's (1002) one, and a globex call."""
    return {
        "alice_sales": add_call(
            db,
            tenant=api.acme,
            agent="1001",
            caller_number="74951112233",
            caller_name="Ivan",
            started_at=T0,
        ),
        "alice_support": add_call(
            db, tenant=api.acme, agent="1001", queue="support", started_at=T0 + timedelta(minutes=5)
        ),
        "bob": add_call(
            db,
            tenant=api.acme,
            agent="1002",
            caller_number="79990001122",
            started_at=T0 + timedelta(minutes=10),
        ),
        "globex": add_call(db, tenant=api.globex, agent="1001", started_at=T0),
    }


@pytest.fixture
def with_center(api: Api, tmp_path: Path) -> None:
    """The center file with the fixture's tenant names: acme's sales lists dispositions."""
    text = CENTER.replace("name: acme", f"name: {api.acme}").replace(
        "name: globex", f"name: {api.globex}"
    )
    api.ctx.center = center(tmp_path, text)


def calls_path(api: Api, call: str = "") -> str:
    return f"/api/v1/tenants/{api.acme}/calls" + (f"/{call}" if call else "")


async def test_no_sign_in_no_calls_and_other_tenants_are_refused(
    api: Api, client: Client, calls: dict[str, str]
) -> None:
    for method, path, body in (
        ("GET", calls_path(api), None),
        ("GET", calls_path(api, calls["bob"]), None),
        ("GET", calls_path(api, calls["bob"]) + "/comments", None),
        ("POST", calls_path(api, calls["bob"]) + "/comments", {"text": "x"}),
        ("PUT", calls_path(api, calls["bob"]) + "/disposition", {"code": "sale"}),
    ):
        status, answer = await client.request(method, path, body)
        assert (status, answer["error_id"]) == (401, "unauthorized"), (method, path)
    await client.sign_in("gary")  # an agent of globex
    status, answer = await client.request("GET", calls_path(api))
    assert (status, answer["error_id"]) == (403, "forbidden")
    status, answer = await client.request("GET", f"/api/v1/tenants/{api.globex}/calls")
    assert [c["call_uuid"] for c in answer["calls"]] == [calls["globex"]]


async def test_an_agent_lists_their_own_calls_a_supervisor_all(
    api: Api, client: Client, calls: dict[str, str]
) -> None:
    await client.sign_in("alice")
    status, page = await client.request("GET", calls_path(api))
    assert status == 200
    assert [c["call_uuid"] for c in page["calls"]] == [calls["alice_support"], calls["alice_sales"]]
    assert page["total"] == 2
    # Asking for bob's calls by filter does not get around it.
    status, page = await client.request("GET", calls_path(api), params={"agent": "1002"})
    assert (status, page["calls"], page["total"]) == (200, [], 0)
    sue = Client(api.url)
    try:
        await sue.sign_in("sue")
        status, page = await sue.request("GET", calls_path(api), params={"limit": "2"})
        assert [c["call_uuid"] for c in page["calls"]] == [calls["bob"], calls["alice_support"]]
        assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
        status, page = await sue.request("GET", calls_path(api), params={"caller": "1112"})
        assert [c["call_uuid"] for c in page["calls"]] == [calls["alice_sales"]]
        status, page = await sue.request(
            "GET",
            calls_path(api),
            params={"since": (T0 + timedelta(minutes=1)).isoformat(), "queue": "support"},
        )
        assert [c["call_uuid"] for c in page["calls"]] == [calls["alice_support"]]
        status, body = await sue.request("GET", calls_path(api), params={"limit": "1000"})
        assert (status, body["error_id"]) == (422, "invalid-input")
        assert body["details"]["problems"][0]["field"] == "limit"
        status, body = await sue.request("GET", calls_path(api), params={"nope": "1"})
        assert (status, body["error_id"]) == (422, "invalid-input")
    finally:
        await sue.close()


async def test_one_call_for_its_agent_and_supervisors_only(
    api: Api, client: Client, calls: dict[str, str], db: Engine
) -> None:
    add_recording(db, calls["alice_sales"], tenant=api.acme, format="flac")
    await client.sign_in("alice")
    status, detail = await client.request("GET", calls_path(api, calls["alice_sales"]))
    assert status == 200
    assert (detail["call_uuid"], detail["caller_name"], detail["agent"]) == (
        calls["alice_sales"],
        "Ivan",
        "1001",
    )
    assert detail["recording"]["format"] == "flac"
    assert "source_path" not in detail["recording"] and "storage_uri" not in detail["recording"]
    assert (detail["legs"], detail["comments"], detail["disposition"]) == ([], [], None)
    status, body = await client.request("GET", calls_path(api, calls["bob"]))
    assert (status, body["error_id"]) == (403, "not-your-call")
    status, body = await client.request("GET", calls_path(api, calls["globex"]))
    assert (status, body["error_id"]) == (404, "unknown-call")
    status, body = await client.request("GET", calls_path(api, "no-such-call"))
    assert (status, body["error_id"]) == (404, "unknown-call")
    supervisor = Client(api.url)
    try:
        await supervisor.sign_in("sue")
        status, detail = await supervisor.request("GET", calls_path(api, calls["bob"]))
        assert (status, detail["agent"]) == (200, "1002")
    finally:
        await supervisor.close()


async def test_comments_are_written_by_who_signed_in(
    api: Api, client: Client, calls: dict[str, str], db: Engine
) -> None:
    await client.sign_in("alice")
    path = calls_path(api, calls["alice_sales"]) + "/comments"
    status, made = await client.request(
        "POST", path, {"text": " greeted late ", "author": "mallory"}
    )
    assert status == 201
    assert (made["author"], made["text"], made["offset_s"]) == ("alice", "greeted late", None)
    status, listed = await client.request("GET", path)
    assert (status, [c["id"] for c in listed["comments"]]) == (200, [made["id"]])
    with db.connect() as conn:
        assert conn.execute(select(Comment.author)).scalars().all() == ["alice"]
        audit = conn.execute(select(AuditEntry.actor, AuditEntry.status)).all()
    assert ("alice", 201) in [tuple(row) for row in audit]
    status, body = await client.request("POST", path, {"text": "   "})
    assert (status, body["error_id"]) == (422, "invalid-comment")
    status, body = await client.request("POST", path, {"text": ""})
    assert (status, body["error_id"]) == (422, "invalid-input")
    status, body = await client.request("POST", path, {"text": "x", "offset_s": -1})
    assert (status, body["details"]["problems"][0]["field"]) == (422, "offset_s")
    bobs = calls_path(api, calls["bob"]) + "/comments"
    for method, body_in in (("POST", {"text": "not mine"}), ("GET", None)):
        status, body = await client.request(method, bobs, body_in)
        assert (status, body["error_id"]) == (403, "not-your-call"), method
    status, body = await client.request(
        "POST", calls_path(api, "nope") + "/comments", {"text": "x"}
    )
    assert (status, body["error_id"]) == (404, "unknown-call")


@pytest.mark.usefixtures("with_center")
async def test_a_disposition_is_set_and_told_on_the_stream(
    api: Api, client: Client, calls: dict[str, str]
) -> None:
    await client.sign_in("alice")
    path = calls_path(api, calls["alice_sales"]) + "/disposition"
    status, set_ = await client.request("PUT", path, {"code": "sale", "set_by": "mallory"})
    assert (status, set_["code"], set_["set_by"]) == (200, "sale", "alice")
    store = api.ctx.store(api.acme)
    entries = await api.ctx.redis.xrange(store.keys.events)
    told = [f for _id, f in entries if f[b"type"] == b"disposition"]
    assert told == [
        {
            b"type": b"disposition",
            b"call": calls["alice_sales"].encode(),
            b"code": b"sale",
            b"set_by": b"alice",
            b"tenant": api.acme.encode(),
            b"ts": told[0][b"ts"],
        }
    ]
    status, detail = await client.request("GET", calls_path(api, calls["alice_sales"]))
    assert detail["disposition"]["code"] == "sale"

    status, body = await client.request("PUT", path, {"code": "maybe"})
    assert (status, body["error_id"]) == (422, "unknown-disposition")
    assert body["details"]["allowed"] == ["sale", "no_sale", "callback"]
    support = calls_path(api, calls["alice_support"]) + "/disposition"
    status, body = await client.request("PUT", support, {"code": "sale"})
    assert (status, body["error_id"]) == (422, "dispositions-not-used")
    status, body = await client.request(
        "PUT", calls_path(api, calls["bob"]) + "/disposition", {"code": "sale"}
    )
    assert (status, body["error_id"]) == (403, "not-your-call")
    status, body = await client.request("PUT", path, {"code": "bad\ncode"})
    assert (status, body["error_id"]) == (422, "invalid-input")

    supervisor = Client(api.url)
    try:
        await supervisor.sign_in("sue")
        status, set_ = await supervisor.request(
            "PUT", calls_path(api, calls["bob"]) + "/disposition", {"code": "no_sale"}
        )
        assert (status, set_["set_by"]) == (200, "sue")
    finally:
        await supervisor.close()
    entries = await api.ctx.redis.xrange(store.keys.events)
    assert len([f for _id, f in entries if f[b"type"] == b"disposition"]) == 2


async def test_without_a_center_file_dispositions_say_so(
    api: Api, client: Client, calls: dict[str, str]
) -> None:
    await client.sign_in("sue")
    status, body = await client.request(
        "PUT", calls_path(api, calls["alice_sales"]) + "/disposition", {"code": "sale"}
    )
    assert (status, body["error_id"]) == (422, "dispositions-not-used")
    assert "center file" in body["message"]


async def test_the_routes_are_in_the_openapi_document(client: Client) -> None:
    status, document = await client.request("GET", "/openapi.json")
    assert status == 200
    paths = document["paths"]
    for path, method in (
        ("/api/v1/tenants/{tenant}/calls", "get"),
        ("/api/v1/tenants/{tenant}/calls/{call}", "get"),
        ("/api/v1/tenants/{tenant}/calls/{call}/comments", "post"),
        ("/api/v1/tenants/{tenant}/calls/{call}/disposition", "put"),
        ("/api/v1/tenants/{tenant}/calls/{call}/recording", "get"),
        ("/api/v1/tenants/{tenant}/calls/{call}/recording/audio", "get"),
        ("/api/v1/tenants/{tenant}/stats/agents", "get"),
        ("/api/v1/tenants/{tenant}/live", "get"),
    ):
        assert method in paths[path], path
    assert "CallPage" in document["components"]["schemas"]
    params = {
        p["name"] for p in paths["/api/v1/tenants/{tenant}/stats/agents"]["get"]["parameters"]
    }
    assert {"from", "to"} <= params

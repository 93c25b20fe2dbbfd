"""Managing users and tokens: tenant admins manage their tenant only."""

from __future__ import annotations

from tests.api.conftest import Api, Client


async def test_an_admin_adds_an_agent_user_who_can_sign_in(api: Api, client: Client) -> None:
    await client.sign_in("ada")
    status, body = await client.request(
        "POST",
        f"/api/v1/tenants/{api.acme}/users",
        {"login": "dave", "name": "Dave", "password": "long enough", "role": "agent",
         "agent_id": "1002"},
    )  # fmt: skip
    assert status == 201, body
    assert body["grants"] == [{"tenant": api.acme, "role": "agent", "agent_id": "1002"}]
    other = api.client()
    try:
        assert (await other.sign_in("dave", "long enough"))[0] == 200
    finally:
        await other.close()


async def test_bad_new_users_are_refused_and_nothing_is_left(api: Api, client: Client) -> None:
    await client.sign_in("ada")
    path = f"/api/v1/tenants/{api.acme}/users"
    status, body = await client.request(
        "POST", path, {"login": "erin", "name": "Erin", "password": "x", "role": "admin"}
    )
    assert (status, body["error_id"]) == (422, "invalid-user")
    assert "password" in body["message"]
    # An agent without the ACD agent it is: refused, and no user "erin" half-made.
    status, body = await client.request(
        "POST", path, {"login": "erin", "name": "Erin", "password": "long enough",
                       "role": "agent"})  # fmt: skip
    assert (status, body["details"]["field"]) == (422, "agent_id")
    status, body = await client.request("GET", path)
    assert "erin" not in [u["login"] for u in body["users"]]
    status, body = await client.request(
        "POST", path, {"login": "alice", "name": "A", "role": "supervisor"}
    )
    assert (status, body["error_id"]) == (409, "user-exists")


async def test_a_tenant_admin_cannot_take_over_a_user_of_another_tenant(
    api: Api, client: Client
) -> None:
    await client.sign_in("ada")
    # gary works for globex; ada gives him a role in acme (harmless for globex)...
    status, _ = await client.request(
        "PUT", f"/api/v1/tenants/{api.acme}/users/gary/role", {"role": "agent", "agent_id": "1002"}
    )
    assert status == 200
    # ...but may not reset his password or mint tokens for him.
    for method, suffix, payload in (
        ("PUT", "password", {"password": "taken over!"}),
        ("POST", "tokens", {"name": "backdoor"}),
        ("PUT", "disabled", {"disabled": True}),
    ):
        status, body = await client.request(
            method, f"/api/v1/tenants/{api.acme}/users/gary/{suffix}", payload
        )
        assert (status, body["error_id"]) == (403, "forbidden"), suffix


async def test_an_admin_makes_a_token_for_an_integration_user(api: Api, client: Client) -> None:
    await client.sign_in("ada")
    path = f"/api/v1/tenants/{api.acme}/users"
    status, _ = await client.request(
        "POST", path, {"login": "crm-bot", "name": "CRM", "role": "supervisor"}
    )
    assert status == 201
    status, made = await client.request("POST", f"{path}/crm-bot/tokens", {"name": "zoho"})
    assert status == 201
    bot = Client(api.url, token=made["token"])
    try:
        assert (await bot.request("GET", f"/api/v1/tenants/{api.acme}/queues"))[0] == 200
        assert (await bot.request("GET", f"/api/v1/tenants/{api.globex}/queues"))[0] == 403
        # It has no password: it cannot sign in to the pages.
        assert (await bot.sign_in("crm-bot", ""))[0] in (401, 422)
    finally:
        await bot.close()
    status, body = await client.request("DELETE", f"{path}/crm-bot/tokens/{made['id']}")
    assert status == 204
    status, body = await client.request("DELETE", f"{path}/crm-bot/tokens/{made['id']}")
    assert (status, body["error_id"]) == (404, "unknown-token")


async def test_own_password_change_needs_the_old_one(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    status, body = await client.request(
        "PUT", "/api/v1/session/password", {"old_password": "nope", "new_password": "brand new pw"}
    )
    assert (status, body["error_id"]) == (403, "bad-credentials")
    status, _ = await client.request(
        "PUT", "/api/v1/session/password",
        {"old_password": "correct horse battery", "new_password": "brand new pw"},
    )  # fmt: skip
    assert status == 204
    other = api.client()
    try:
        assert (await other.sign_in("alice", "brand new pw"))[0] == 200
    finally:
        await other.close()


async def test_the_audit_log_is_for_admins_of_the_tenant(api: Api, client: Client) -> None:
    await client.sign_in("ada")
    await client.request("PUT", f"/api/v1/tenants/{api.acme}/agents/1001/state",
                         {"action": "login"})  # fmt: skip
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/audit")
    assert status == 200
    assert body["entries"][0]["actor"] == "ada"
    assert body["entries"][0]["target"].endswith("/agents/1001/state")
    await client.sign_in("gina")
    assert (await client.request("GET", f"/api/v1/tenants/{api.acme}/audit"))[0] == 403

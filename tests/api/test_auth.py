"""Who may do what: sign-in, sessions, API tokens, roles per tenant, no anonymous write, and
every write in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from callcenter.db.models import AuditEntry
from callcenter.users import service as users
from tests.api.conftest import PASSWORD, Api, Client


async def test_sign_in_sets_a_session_that_answers_who_i_am(api: Api, client: Client) -> None:
    status, body = await client.sign_in("alice")
    assert status == 200
    assert body["login"] == "alice"
    assert body["tenants"] == [api.acme]
    assert body["grants"] == [{"tenant": api.acme, "role": "agent", "agent_id": "1001"}]
    status, body = await client.request("GET", "/api/v1/session")
    assert (status, body["login"], body["via"]) == (200, "alice", "session")


@pytest.mark.parametrize(("login", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)])
async def test_wrong_password_or_unknown_login_get_the_same_401(
    client: Client, login: str, password: str
) -> None:
    status, body = await client.sign_in(login, password)
    assert status == 401
    assert body["error_id"] == "bad-credentials"
    assert body["message"] == "wrong login or password"
    status, body = await client.request("GET", "/api/v1/session")
    assert (status, body["error_id"]) == (401, "unauthorized")


async def test_sign_out_ends_the_session(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    assert (await client.request("DELETE", "/api/v1/session"))[0] == 204
    status, _ = await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")
    assert status == 401


async def test_a_disabled_user_loses_their_session_at_once(
    api: Api, client: Client, db: Engine
) -> None:
    await client.sign_in("alice")
    users.set_disabled(db, "alice", True)
    status, _ = await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")
    assert status == 401
    assert (await client.sign_in("alice"))[0] == 401


async def test_no_anonymous_read_or_write(api: Api, client: Client) -> None:
    for method, path, body in (
        ("GET", f"/api/v1/tenants/{api.acme}/agents", None),
        ("GET", f"/api/v1/tenants/{api.acme}/queues", None),
        ("PUT", f"/api/v1/tenants/{api.acme}/agents/1001/state", {"action": "ready"}),
        ("POST", "/api/v1/tokens", {"name": "x"}),
        ("GET", f"/api/v1/tenants/{api.acme}/users", None),
    ):
        status, answer = await client.request(method, path, body)
        assert (status, answer["error_id"]) == (401, "unauthorized"), (method, path)


async def test_another_tenants_user_is_refused(api: Api, client: Client) -> None:
    await client.sign_in("gary")  # an agent of globex
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")
    assert (status, body["error_id"]) == (403, "forbidden")
    assert api.acme in body["message"]
    status, _ = await client.request("GET", f"/api/v1/tenants/{api.globex}/agents")
    assert status == 200


async def test_unknown_tenant_is_404(client: Client) -> None:
    await client.sign_in("root")
    status, body = await client.request("GET", "/api/v1/tenants/nope/agents")
    assert (status, body["error_id"]) == (404, "unknown-tenant")


async def test_every_tenant_grant_opens_each_tenant(api: Api, client: Client) -> None:
    await client.sign_in("root")
    for tenant in (api.acme, api.globex):
        assert (await client.request("GET", f"/api/v1/tenants/{tenant}/users"))[0] == 200


@pytest.mark.parametrize(
    ("login", "status"), [("alice", 403), ("sue", 403), ("ada", 200), ("gina", 403)]
)
async def test_user_admin_needs_the_admin_role_in_that_tenant(
    api: Api, client: Client, login: str, status: int
) -> None:
    await client.sign_in(login)
    got, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/users")
    assert got == status, body
    if status == 403:
        assert "admin" in body["message"] or api.acme in body["message"]


async def test_api_token_works_until_revoked(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    status, made = await client.request("POST", "/api/v1/tokens", {"name": "wallboard TV"})
    assert status == 201
    assert made["token"].startswith("cct_") and made["prefix"] == made["token"][:12]
    integration = Client(api.url, token=made["token"])
    try:
        status, body = await integration.request("GET", f"/api/v1/tenants/{api.acme}/queues")
        assert status == 200, body
        assert (await integration.request("GET", "/api/v1/session"))[1]["via"] == "token"
        status, listed = await client.request("GET", "/api/v1/tokens")
        assert [t["name"] for t in listed["tokens"]] == ["wallboard TV"]
        assert "token" not in listed["tokens"][0]
        assert listed["tokens"][0]["last_used_at"] is not None
        assert (await client.request("DELETE", f"/api/v1/tokens/{made['id']}"))[0] == 204
        status, body = await integration.request("GET", f"/api/v1/tenants/{api.acme}/queues")
        assert (status, body["error_id"]) == (401, "unauthorized")
    finally:
        await integration.close()


@pytest.mark.parametrize("token", ["cct_wrong", "not-even-ours", "cct_" + "x" * 200])
async def test_a_wrong_token_is_401_even_with_a_session(
    api: Api, client: Client, token: str
) -> None:
    await client.sign_in("ada")
    status, body = await client.request(
        "GET", f"/api/v1/tenants/{api.acme}/agents", headers={"Authorization": f"Bearer {token}"}
    )
    assert (status, body["error_id"]) == (401, "unauthorized")


async def test_a_write_from_another_site_with_the_cookie_is_refused(
    api: Api, client: Client
) -> None:
    await client.sign_in("alice")
    status, body = await client.request(
        "PUT",
        f"/api/v1/tenants/{api.acme}/agents/1001/state",
        {"action": "login"},
        headers={"Origin": "https://evil.example"},
    )
    assert (status, body["error_id"]) == (403, "forbidden")


async def test_every_write_is_in_the_audit_log_with_who(
    api: Api, client: Client, db: Engine
) -> None:
    await client.sign_in("sue")
    await client.request("PUT", f"/api/v1/tenants/{api.acme}/agents/1002/state",
                         {"action": "login"})  # fmt: skip
    await client.request(
        "PUT", f"/api/v1/tenants/{api.acme}/agents/1002/state", {"action": "login"}
    )  # fmt: skip  (a second login: refused, 409)
    with db.connect() as conn:
        rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).all()
    writes = [(r.actor, r.action, r.target, r.status, r.tenant) for r in rows]
    path = f"/api/v1/tenants/{api.acme}/agents/1002/state"
    assert writes[0][:2] == ("sue", "sign-in")
    assert writes[1:] == [
        ("sue", "PUT /api/v1/tenants/{tenant}/agents/{agent}/state", path, 200, api.acme),
        ("sue", "PUT /api/v1/tenants/{tenant}/agents/{agent}/state", path, 409, api.acme),
    ]
    assert rows[1].details == {"action": "login", "reason": "break", "contact": None}


async def test_passwords_never_reach_the_audit_log(api: Api, client: Client, db: Engine) -> None:
    await client.sign_in("ada")
    status, _ = await client.request(
        "POST",
        f"/api/v1/tenants/{api.acme}/users",
        {"login": "carol", "name": "Carol", "password": "s3cret-s3cret", "role": "supervisor"},
    )
    assert status == 201
    with db.connect() as conn:
        details = conn.execute(select(AuditEntry.details)).scalars().all()
    assert "s3cret-s3cret" not in repr(details)
    assert any(d.get("password") == "***" for d in details)


async def test_a_token_acts_as_its_own_user_whatever_the_ids(
    api: Api, client: Client, db: Engine
) -> None:
    # Token ids and user ids count apart: token 1 belongs to gina (user 6), not to alice (1).
    secret, token = users.create_token(db, "gina", "globex wallboard")
    assert token.id != token.user_id
    integration = Client(api.url, token=secret)
    try:
        status, me = await integration.request("GET", "/api/v1/session")
        assert (status, me["login"], me["via"]) == (200, "gina", "token")
        assert (await integration.request("GET", f"/api/v1/tenants/{api.globex}/users"))[0] == 200
        status, _ = await integration.request("GET", f"/api/v1/tenants/{api.acme}/agents")
        assert status == 403
    finally:
        await integration.close()

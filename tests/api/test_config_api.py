"""The admin's configuration view and dialplan render/diff/push over HTTP, against the
simulated switch for the push."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine

from callcenter.api.context import ApiContext
from callcenter.api.server import ApiServer
from callcenter.center import load_center
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from callcenter.users import service as users
from tests.api.conftest import PASSWORD, Client

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def admin_api(
    redis_url: str, db: Engine, sim: SimSwitch, tmp_path: Path
) -> AsyncIterator[tuple[ApiServer, Path]]:
    center_path = tmp_path / "center"
    shutil.copytree(REPO / "examples", center_path)
    center_file = center_path / "center.yaml"
    conf = tmp_path / "node1-conf"
    conf.mkdir()
    redis = Redis.from_url(redis_url)
    esl = InboundClient("127.0.0.1", sim.port, "ClueCon", name="node1")
    await esl.connect()
    ctx = ApiContext(
        key_namespace=f"t{uuid.uuid4().hex[:8]}",
        redis=redis,
        engine=db,
        tenants=["acme", "globex"],
        center=load_center(center_file),
        center_path=center_file,
        conf_dirs={"node1": conf},
    )
    ctx.switches = {"node1": esl}
    for login, tenant, role in (("ops", "*", "admin"), ("acme-admin", "acme", "admin"),
                                ("acme-sup", "acme", "supervisor")):  # fmt: skip
        users.create_user(db, login, login, PASSWORD)
        users.grant(db, login, tenant, role)
    server = ApiServer(ctx, "127.0.0.1", 0)
    await server.start()
    try:
        yield server, center_file
    finally:
        await server.stop()
        await esl.close()
        await redis.aclose()


async def test_a_tenant_admin_sees_the_configuration_without_secrets(
    admin_api: tuple[ApiServer, Path],
) -> None:
    server, _ = admin_api
    client = Client(server.url)
    try:
        await client.sign_in("acme-admin")
        status, body = await client.request("GET", "/api/v1/tenants/acme/config")
        assert status == 200, body
        config = body["config"]
        assert config["name"] == "acme"
        assert [q["name"] for q in config["queues"]]
        assert config["dids"] and config["gateways"] and config["ivr_menus"]
        assert "acme-1000-Secret" not in str(body)
        assert config["users"][0]["password"] == "***"
        # Another tenant's configuration: no role there.
        status, body = await client.request("GET", "/api/v1/tenants/globex/config")
        assert (status, body["error_id"]) == (403, "forbidden")
    finally:
        await client.close()


async def test_a_supervisor_does_not_see_the_configuration(
    admin_api: tuple[ApiServer, Path],
) -> None:
    server, _ = admin_api
    client = Client(server.url)
    try:
        await client.sign_in("acme-sup")
        status, body = await client.request("GET", "/api/v1/tenants/acme/config")
        assert (status, body["error_id"]) == (403, "forbidden")
    finally:
        await client.close()


async def test_dialplans_are_for_admins_of_every_tenant(admin_api: tuple[ApiServer, Path]) -> None:
    server, _ = admin_api
    client = Client(server.url)
    try:
        await client.sign_in("acme-admin")
        for method, path in (("GET", "/api/v1/dialplan/files"), ("GET", "/api/v1/dialplan/diff"),
                             ("POST", "/api/v1/dialplan/push")):  # fmt: skip
            status, body = await client.request(method, path, {} if method == "POST" else None)
            assert (status, body["error_id"]) == (403, "forbidden"), path
    finally:
        await client.close()


async def test_render_diff_push_and_nothing_left_to_push(admin_api: tuple[ApiServer, Path]) -> None:
    server, _ = admin_api
    conf = server.ctx.conf_dirs["node1"]
    client = Client(server.url)
    try:
        await client.sign_in("ops")
        status, body = await client.request("GET", "/api/v1/dialplan/files")
        assert status == 200
        files = body["files"]
        assert any(name.startswith("dialplan/") for name in files)
        status, body = await client.request("GET", "/api/v1/dialplan/diff")
        assert status == 200
        [node] = body["nodes"]
        assert node["node"] == "node1" and node["changed"] and "+++ new/" in node["diff"]
        status, body = await client.request("POST", "/api/v1/dialplan/push", {})
        assert status == 200, body
        [pushed] = body["nodes"]
        assert pushed["ok"], pushed
        assert pushed["message"] == "+OK [Success]"
        assert sorted(pushed["written"]) == sorted(files)
        for name, text in files.items():
            assert (conf / name).read_text(encoding="utf-8") == text
        status, body = await client.request("GET", "/api/v1/dialplan/diff")
        assert body["nodes"] == [{"node": "node1", "diff": "", "changed": False}]
        status, body = await client.request("POST", "/api/v1/dialplan/push", {"nodes": ["nope"]})
        assert (status, body["error_id"]) == (422, "unknown-node")
    finally:
        await client.close()


async def test_a_broken_center_file_is_reported_and_nothing_pushed(
    admin_api: tuple[ApiServer, Path],
) -> None:
    server, center_file = admin_api
    center_file.write_text(center_file.read_text() + "\n  - name: BAD TENANT\n")
    client = Client(server.url)
    try:
        await client.sign_in("ops")
        status, body = await client.request("POST", "/api/v1/dialplan/push", {})
        assert (status, body["error_id"]) == (422, "invalid-center")
        assert body["details"]["problems"]
        assert not any(server.ctx.conf_dirs["node1"].iterdir())
    finally:
        await client.close()

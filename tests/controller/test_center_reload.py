"""Reading the center file again in a running controller: queues, agents and tiers added or
updated in Redis with every agent's state kept; callbacks, click-to-call and the API use the new
routes and gateways; a broken file changes nothing."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import pytest

from callcenter.acd.config import load_acd_and_center
from callcenter.acd.model import AgentStatus
from callcenter.acd.store import AcdStore
from callcenter.api.context import ApiContext
from callcenter.center import Center
from callcenter.controller.call_control import CallControl
from callcenter.controller.center_reload import CenterReload
from callcenter.controller.queue_flow import QueueCallFlow
from callcenter.controller.resync import sync_once
from callcenter.db.engine import make_engine

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def center_file(tmp_path: Path, store: AcdStore) -> Path:
    """The example center, its tenant acme renamed to the test's own (unique Redis keys)."""
    path = tmp_path / "center.yaml"
    text = (REPO / "examples" / "center.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("acme", store.keys.tenant), encoding="utf-8")
    shutil.copytree(REPO / "examples" / "rates", tmp_path / "rates")
    return path


async def queues(store: AcdStore) -> set[str]:
    return {name.decode() for name in await store.redis.smembers(store.keys.queues)}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


async def started(center_file: Path, store: AcdStore) -> tuple[CenterReload, QueueCallFlow]:
    """What ``callcenter run`` has after its start: the center in Redis, agent 1000 ready."""
    acd, center = load_acd_and_center(center_file, store.keys.tenant)
    await acd.apply(store)
    reload = CenterReload(center_file, acd, center)
    flow = QueueCallFlow({}, store, tenant=reload.tenant)
    await store.login("1000")
    await store.ready("1000")
    return reload, flow


def gateway_channels(center: Center | None, tenant: str, gateway: str) -> int:
    assert center is not None
    return next(g.channels for g in center.tenant(tenant).gateways if g.name == gateway)


async def test_a_reload_adds_and_updates_and_keeps_every_agents_state(
    center_file: Path, store: AcdStore
) -> None:
    reload, flow = await started(center_file, store)
    edit(center_file, "      - name: sales\n", "      - name: billing\n      - name: sales\n")
    edit(center_file, "    tiers:\n", '    tiers:\n      - {queue: billing, agent: "1000"}\n')
    edit(center_file, "skills: {english: 8}", "skills: {english: 3}")
    edit(center_file, "channels: 10", "channels: 2")  # zadarma
    # Agent 1003 (logged out) leaves the center, with their tier.
    edit(center_file, '      - {queue: sales, agent: "1003"}\n', "")
    edit(center_file, f'      - {{id: "1003", contact: "user/1003@{store.keys.tenant}', "#")
    heard: list[Center | None] = []

    async def listener(center: Center | None) -> None:
        heard.append(center)

    reload.on_reloaded(listener)
    assert await reload.reload(flow)
    assert "billing" in await queues(store)
    assert await store.redis.hget(store.keys.queue_tiers("billing"), "1000") == b"1:1"
    assert await store.redis.hgetall(store.keys.agent_skills("1000")) == {b"english": b"3"}
    assert await store.status("1000") is AgentStatus.AVAILABLE  # not logged out
    assert not await store.redis.sismember(store.keys.agents, "1003")
    assert await store.redis.hkeys(store.keys.queue_tiers("sales")) == [b"1001"]
    # Callbacks dial through the routes of the file as it is now.
    assert flow.tenant is not None
    assert next(g.channels for g in flow.tenant.gateways if g.name == "zadarma") == 2
    assert heard == [reload.center]
    assert gateway_channels(reload.center, store.keys.tenant, "zadarma") == 2
    # A Redis that lost everything gets the center as it is now, not as it was at start.
    await store.redis.delete(store.keys.queues)
    await sync_once(flow, reload.acd)
    assert "billing" in await queues(store)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("strategy: ring-all", "strategy: ring-some", "strategy"),
        ("    queues:\n", "    queues: [\n", "not valid YAML"),
        ('{queue: sales, agent: "1003"}', '{queue: sales, agent: "4242"}', "4242"),
    ],
)
async def test_a_broken_file_changes_nothing(
    center_file: Path,
    store: AcdStore,
    caplog: pytest.LogCaptureFixture,
    old: str,
    new: str,
    problem: str,
) -> None:
    reload, flow = await started(center_file, store)
    before = (reload.acd, reload.center, flow.tenant, await queues(store))
    edit(center_file, "      - name: sales\n", "      - name: billing\n      - name: sales\n")
    edit(center_file, old, new)
    with caplog.at_level(logging.ERROR, logger="callcenter.controller"):
        assert not await reload.reload(flow)
    assert (reload.acd, reload.center, flow.tenant, await queues(store)) == before
    failed = [r.getMessage() for r in caplog.records if "center_reload_failed" in r.getMessage()]
    assert len(failed) == 1 and problem in failed[0]
    assert await store.status("1000") is AgentStatus.AVAILABLE


async def test_a_missing_file_changes_nothing(center_file: Path, store: AcdStore) -> None:
    reload, flow = await started(center_file, store)
    await asyncio.to_thread(center_file.unlink)
    assert not await reload.reload(flow)
    assert reload.reloads == 0


async def test_requests_are_served_by_the_watcher(center_file: Path, store: AcdStore) -> None:
    reload, flow = await started(center_file, store)
    watcher = asyncio.create_task(reload.watch(flow))
    try:
        edit(center_file, "      - name: sales\n", "      - name: billing\n      - name: sales\n")
        reload.request()
        for _ in range(500):
            if reload.reloads:
                break
            await asyncio.sleep(0.01)
        assert reload.reloads == 1
        assert "billing" in await queues(store)
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher


async def test_live_call_control_and_the_api_use_the_new_tenant(
    center_file: Path, store: AcdStore, tmp_path: Path
) -> None:
    reload, flow = await started(center_file, store)
    assert reload.tenant is not None
    control = CallControl({}, store, reload.tenant)
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    ctx = ApiContext(store.redis, engine, [store.keys.tenant], reload.center)
    ctx.call_control[store.keys.tenant] = control
    reload.on_reloaded(ctx.center_reloaded)
    edit(center_file, "channels: 10", "channels: 2")
    try:
        assert await reload.reload(flow)
    finally:
        engine.dispose()
    assert ctx.center is reload.center
    for tenant in (control.tenant, control.outbound.tenant, control.consultations.tenant):
        assert next(g.channels for g in tenant.gateways if g.name == "zadarma") == 2

"""``/metrics`` read as Prometheus reads it: the text parsed back into samples."""

from __future__ import annotations

import re
import uuid

from callcenter.acd.model import WaitingCall
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.api.conftest import Api, Client

_SAMPLE = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """Samples by (name, labels), and each family's type; every line must be well formed."""
    samples: Samples = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("# HELP "):
            continue
        found = _SAMPLE.match(line)
        assert found is not None, line
        name, labels, value = found.groups()
        assert name in types, f"{name} has no TYPE line before it"
        key = frozenset(_LABEL.findall(labels or ""))
        samples[(name, key)] = float(value)
    return samples, types


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def scrape(client: Client, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with client.session.get(client.base + "/metrics", headers=headers or {}) as response:
        assert response.status != 200 or response.content_type == "text/plain"
        return response.status, await response.text()


async def test_queues_agents_switches_events_and_requests(
    api: Api, client: Client, sim: SimSwitch
) -> None:
    up = InboundClient("127.0.0.1", sim.port, "ClueCon", name="node1", reconnect=False)
    await up.connect()
    never = InboundClient("127.0.0.1", 1, "ClueCon", name="node2")
    api.ctx.switches = {"node1": up, "node2": never}
    try:
        status, text = await scrape(client)  # from 127.0.0.1: no sign-in needed
        assert status == 200
        before, types = parse(text)
        store = api.ctx.store(api.acme)
        await store.login("1001")
        await store.ready("1001")
        await store.enqueue(WaitingCall(str(uuid.uuid4()), "support"))
        await store.enqueue(WaitingCall(str(uuid.uuid4()), "support"))
        await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")  # 401
        await client.sign_in("alice")
        await client.request("GET", f"/api/v1/tenants/{api.acme}/agents")  # 200
        status, text = await scrape(client)
        after, types = parse(text)
    finally:
        await up.close()

    acme_support = {"tenant": api.acme, "queue": "support"}
    assert sample(after, "callcenter_calls_waiting", **acme_support) == 2
    assert sample(after, "callcenter_calls_waiting", tenant=api.acme, queue="sales") == 0
    assert sample(after, "callcenter_longest_wait_seconds", **acme_support) >= 0
    assert (
        sample(after, "callcenter_agents", tenant=api.acme, queue="sales", state="available") == 1
    )
    assert (
        sample(after, "callcenter_agents", tenant=api.acme, queue="sales", state="logged_out") == 1
    )
    assert (
        sample(after, "callcenter_agents", tenant=api.globex, queue="sales", state="logged_out")
        == 2
    )
    assert sample(after, "callcenter_esl_connected", node="node1") == 1
    assert sample(after, "callcenter_esl_connected", node="node2") == 0
    # login, ready, two enqueues: four entries on acme's Stream, none on globex's.
    assert (
        sample(after, "callcenter_events_total", tenant=api.acme)
        - sample(before, "callcenter_events_total", tenant=api.acme)
    ) == 4
    assert sample(after, "callcenter_events_total", tenant=api.globex) == 0
    assert sample(after, "callcenter_events_per_second", tenant=api.acme) > 0
    agents_route = "/api/v1/tenants/{tenant}/agents"
    assert (
        sample(
            after, "callcenter_http_requests_total", method="GET", route=agents_route, status="401"
        )
        == 1
    )
    assert (
        sample(
            after, "callcenter_http_requests_total", method="GET", route=agents_route, status="200"
        )
        == 1
    )
    assert (
        sample(
            after, "callcenter_http_requests_total", method="GET", route="/metrics", status="200"
        )
        == 1
    )
    assert sample(after, "callcenter_redis_up") == 1
    assert types["callcenter_events_total"] == "counter"
    assert types["callcenter_http_requests_total"] == "counter"
    assert types["callcenter_calls_waiting"] == "gauge"


async def test_behind_a_proxy_only_an_every_tenant_supervisor_or_admin_reads(
    api: Api, client: Client
) -> None:
    proxied = {"X-Forwarded-For": "203.0.113.7"}
    status, text = await scrape(client, proxied)
    assert status == 401 and "unauthorized" in text
    await client.sign_in("ada")  # admin of acme only: the metrics are of every tenant
    status, text = await scrape(client, proxied)
    assert status == 403 and "every tenant" in text
    root = Client(api.url)
    try:
        await root.sign_in("root")
        status, text = await scrape(root, proxied)
        assert status == 200
        assert "callcenter_calls_waiting" in text
    finally:
        await root.close()


async def test_live_sockets_and_entries_are_counted(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    ws = await client.session.ws_connect(
        api.url.replace("http", "ws", 1) + f"/api/v1/tenants/{api.acme}/live"
    )
    try:
        for _ in range(2):
            await ws.receive(timeout=5)  # hello, snapshot
        await api.ctx.store(api.acme).login("1001")
        await ws.receive(timeout=5)
        samples, _ = parse((await scrape(client))[1])
        assert sample(samples, "callcenter_live_sockets", tenant=api.acme) == 1
        assert sample(samples, "callcenter_live_sockets", tenant=api.globex) == 0
        assert sample(samples, "callcenter_live_entries_total", tenant=api.acme) == 1
    finally:
        await ws.close()


def test_label_values_are_escaped() -> None:
    from callcenter.api.resources.metrics import escape

    assert escape('a"b\\c\nd') == 'a\\"b\\\\c\\nd'

"""``GET /metrics``: the center's figures in the Prometheus text format (version 0.0.4).

Per tenant and queue: callers waiting, longest wait, the queue's agents by state; per switch
node: whether its event socket is up; per tenant: event Stream entries (all ever added, and per
second since the previous scrape) and the live sockets; the HTTP requests served.

Who may read it: anyone connecting from this machine's loopback without a proxy's forwarding
header (Prometheus or its agent beside the API, the usual setup, needs no secret), else a
signed-in user or token with the supervisor or admin role in every tenant (``*``). The figures
are of every tenant, so a role in one tenant is not enough; behind a reverse proxy the remote
address is the proxy's, hence the forwarding headers turn the loopback exception off.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web
from redis.exceptions import RedisError, ResponseError

from callcenter.acd.live import queues_live
from callcenter.acd.model import AgentStatus
from callcenter.api.errors import Forbidden, Unauthorized
from callcenter.api.resources.live_ws import LIVE_HUB
from callcenter.api.routing import CONTEXT, authenticate
from callcenter.users.model import ALL_TENANTS, Role

__all__ = ["METRICS", "METRICS_PATH", "Metrics", "escape", "mount"]

log = logging.getLogger("callcenter.api")

METRICS_PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


@dataclass
class Metrics:
    """What the process counts between scrapes."""

    # (method, route, status) -> requests answered
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # tenant -> (monotonic time, entries added) at the previous scrape
    last_entries: dict[str, tuple[float, int]] = field(default_factory=dict)


METRICS = web.AppKey("metrics", Metrics)


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            inner = ",".join(f'{key}="{escape(val)}"' for key, val in labels.items())
            number = repr(float(value)) if value != int(value) else str(int(value))
            self.lines.append(f"{name}{{{inner}}} {number}" if inner else f"{name} {number}")

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _from_loopback(request: web.Request) -> bool:
    if any(name in request.headers for name in _FORWARDED):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:  # a unix socket: no address
        return False


async def _allow(request: web.Request) -> None:
    if _from_loopback(request):
        return
    identity = await authenticate(request)
    if identity is None:
        raise Unauthorized(
            "the metrics are read from this machine, or with the API token of a user with the "
            "supervisor or admin role in every tenant"
        )
    grant = identity.grant(ALL_TENANTS)
    if grant is None or grant.role < Role.SUPERVISOR:
        raise Forbidden(
            f"the metrics cover every tenant: {identity.login} needs the supervisor or admin "
            "role in every tenant ('*')"
        )


async def _entries_added(request: web.Request, tenant: str) -> int:
    ctx = request.app[CONTEXT]
    try:
        info = await ctx.redis.xinfo_stream(ctx.store(tenant).keys.events)
    except ResponseError:  # no Stream yet
        return 0
    added = info.get("entries-added", info.get(b"entries-added"))
    if added is None:  # Redis before 7: the entries kept (capped) is what there is
        added = info.get("length", info.get(b"length", 0))
    return int(added)


async def metrics(request: web.Request) -> web.Response:
    await _allow(request)
    ctx = request.app[CONTEXT]
    state = request.app[METRICS]
    hub = request.app[LIVE_HUB]
    out = _Text()
    waiting: list[tuple[dict[str, str], float]] = []
    longest: list[tuple[dict[str, str], float]] = []
    agents: list[tuple[dict[str, str], float]] = []
    events: list[tuple[dict[str, str], float]] = []
    rates: list[tuple[dict[str, str], float]] = []
    redis_up = 1
    now = time.monotonic()
    try:
        for tenant in ctx.tenants:
            for queue in await queues_live(ctx.store(tenant)):
                labels = {"tenant": tenant, "queue": queue.name}
                waiting.append((labels, queue.waiting))
                longest.append((labels, queue.longest_wait_seconds))
                for status in AgentStatus:
                    count = queue.agents.get(status.value, 0)
                    agents.append(({**labels, "state": status.value}, count))
            added = await _entries_added(request, tenant)
            events.append(({"tenant": tenant}, added))
            before = state.last_entries.get(tenant)
            rate = 0.0
            if before is not None and now > before[0] and added >= before[1]:
                rate = (added - before[1]) / (now - before[0])
            state.last_entries[tenant] = (now, added)
            rates.append(({"tenant": tenant}, round(rate, 3)))
    except (RedisError, OSError) as exc:
        log.warning("metrics_redis_failed error=%s", exc)
        redis_up = 0
    out.family(
        "callcenter_redis_up", "gauge", "Whether Redis answered this scrape.", [({}, redis_up)]
    )
    out.family("callcenter_calls_waiting", "gauge", "Callers waiting in the queue now.", waiting)
    out.family(
        "callcenter_longest_wait_seconds",
        "gauge",
        "How long the queue's longest-waiting caller has waited.",
        longest,
    )
    out.family("callcenter_agents", "gauge", "The queue's agents by state.", agents)
    out.family(
        "callcenter_esl_connected",
        "gauge",
        "Whether the controller's event socket connection to the switch node is up.",
        [
            ({"node": node}, int(client.state.is_ready))
            for node, client in sorted(ctx.switches.items())
        ],
    )
    out.family(
        "callcenter_events_total",
        "counter",
        "Entries ever added to the tenant's event Stream (agent and call changes...).",
        events,
    )
    out.family(
        "callcenter_events_per_second",
        "gauge",
        "Event Stream entries per second since the previous scrape.",
        rates,
    )
    out.family(
        "callcenter_live_sockets",
        "gauge",
        "Live-feed WebSockets open.",
        [({"tenant": t}, hub.subscribers(t)) for t in ctx.tenants],
    )
    out.family(
        "callcenter_live_entries_total",
        "counter",
        "Event Stream entries the live feed has read and fanned out.",
        [({"tenant": t}, hub.entries_seen(t)) for t in ctx.tenants],
    )
    out.family(
        "callcenter_http_requests_total",
        "counter",
        "HTTP requests answered.",
        [
            ({"method": m, "route": r, "status": s}, n)
            for (m, r, s), n in sorted(state.requests.items())
        ],
    )
    return web.Response(body=out.render().encode(), headers={"Content-Type": CONTENT_TYPE})


async def _count(request: web.Request, response: web.StreamResponse) -> None:
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    request.app[METRICS].requests[(request.method, route, str(response.status))] += 1


def mount(app: web.Application) -> None:
    """Serve ``/metrics`` and count every answer of the application."""
    app[METRICS] = Metrics()
    app.on_response_prepare.append(_count)
    app.router.add_get(METRICS_PATH, metrics)

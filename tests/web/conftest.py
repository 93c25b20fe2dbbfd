"""The pages in a real browser: headless Chromium (the system's, driven by Playwright) against
the API server on a real port, with the simulated switch, the controller's queue flow, real
Redis and PostgreSQL, users of each role and a phone book card for the caller.

Chromium is the Debian package (``./scripts/setup`` installs it); Playwright never downloads a
browser here. Without it the tests fail and say so: they are never skipped.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import Engine

try:
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
except ImportError as exc:  # a collection error that says what to do, never a skip
    raise ImportError(f"{exc}: the browser tests need playwright: run ./scripts/setup") from exc

from callcenter.acd.store import AcdStore
from callcenter.api.context import ApiContext
from callcenter.api.server import ApiServer
from callcenter.center.tenant import Center
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.phonebook import create_contact
from callcenter.phonebook.fields import NewContact
from callcenter.sim import SimSwitch
from callcenter.users import service as users

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("CC_TEST_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "correct horse battery"
LOCAL = "127.0.0.1"
expect.set_options(timeout=10_000)

CALLER_NUMBER = "74951112233"
CALLER_CARD = {
    "name": "Ivan Petrov",
    # Markup in data must show as text.
    "company": "Horns & Hooves <b>Ltd</b>",
    "email": "ivan@example.com",
    "notes": "Prefers mornings",
}
DISPOSITIONS = ["sale", "no-sale", "callback"]
DID, CAMPAIGN = "74951230000", "TV spring"  # the number the caller dials, and its advert
DIALPLAN = """<include><context name="public">
  <extension name="support">
    <condition field="destination_number" expression="^7000$">
      <action application="set" data="cc_tenant={tenant}"/>
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="set" data="cc_did={did}"/>
      <action application="set" data="cc_did_label={campaign}"/>
      <action application="park"/>
    </condition>
  </extension>
</context></include>
"""


def center_for(tenant: str) -> Center:
    """A tenant with a queue (with disposition codes, a long wrap-up the test ends itself), two
    agents and a phone for the supervisor, and a queue without agents."""
    return Center.model_validate(
        {
            "tenants": [
                {
                    "name": tenant,
                    "domain": "default",
                    "users": [
                        {"extension": ext, "password": f"Web-{ext}-Secret"}
                        for ext in ("1001", "1002", "1900")
                    ],
                    "queues": [
                        {"name": "support", "service_level_seconds": 20,
                         "wrap_up_seconds": 300, "dispositions": DISPOSITIONS},
                        {"name": "billing"},  # no agents: where a supervisor moves callers
                    ],
                    "agents": [{"id": a, "contact": f"user/{a}@default"} for a in ("1001", "1002")],
                    "tiers": [{"queue": "support", "agent": a} for a in ("1001", "1002")],
                }
            ]
        }
    )  # fmt: skip


class Waiting:
    """Steps that need a route other engineers are adding: a step runs (and is asserted) when
    the server has its route; otherwise it is noted, and ``settle()`` ends the test as xfail
    naming each step and route, so it turns green by itself once the route lands."""

    def __init__(self, app: web.Application) -> None:
        self.routes = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.resource is not None
        }
        self.missing: list[str] = []

    def has(self, method: str, path: str) -> bool:
        return (method, path) in self.routes

    def step(self, step: str, *routes: tuple[str, str]) -> bool:
        """True: run the step (every route it needs is there); False: noted as waiting."""
        absent = [f"{method} {path}" for method, path in routes if not self.has(method, path)]
        if absent:
            self.missing.append(f"{step} waits for {', '.join(absent)}")
        return not absent

    def settle(self) -> None:
        if self.missing:
            pytest.xfail("not in the tree yet: " + "; ".join(self.missing))


@dataclass
class WebCenter:
    server: ApiServer
    ctx: ApiContext
    store: AcdStore
    switch: SimSwitch
    tenant: str
    redis_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def waiting(self) -> Waiting:
        return Waiting(self.server.app)


@pytest.fixture
async def center(tmp_path: Path, redis_url: str, db: Engine) -> AsyncIterator[WebCenter]:
    tenant = f"web{uuid.uuid4().hex[:8]}"
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "web.xml").write_text(DIALPLAN.format(tenant=tenant, did=DID, campaign=CAMPAIGN))
    redis = Redis.from_url(redis_url)
    store = AcdStore(redis, tenant)
    config = center_for(tenant)
    await config.tenant(tenant).acd_config().apply(store)
    switch = SimSwitch(time_scale=1.0, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start(LOCAL, 0)
    esl = InboundClient(LOCAL, switch.port, "ClueCon")
    await esl.connect()
    flow = QueueCallFlow(
        {"sim": esl},
        store,
        FlowSettings(ring_seconds=15, recordings_dir=tmp_path / "rec", tick_seconds=0.1),
    )
    await flow.start()
    # ada is the tenant's admin; root an admin of every tenant (dialplans are center-wide).
    for login, where, role, agent in (
        ("anna", tenant, "agent", "1001"),
        ("boris", tenant, "agent", "1002"),
        ("sam", tenant, "supervisor", None),
        ("ada", tenant, "admin", None),
        ("root", "*", "admin", None),
    ):
        users.create_user(db, login, login.title(), PASSWORD)
        users.grant(db, login, where, role, agent)
    create_contact(db, tenant=tenant, contact=NewContact(phone=CALLER_NUMBER, **CALLER_CARD))
    ctx = ApiContext(
        key_namespace=f"t{uuid.uuid4().hex[:8]}",
        redis=redis,
        engine=db,
        tenants=[tenant],
        center=config,
    )
    await ctx.controller_up({"sim": esl}, store)
    server = ApiServer(ctx, LOCAL, 0)
    await server.start()
    try:
        yield WebCenter(server, ctx, store, switch, tenant, redis_url)
    finally:
        await server.stop()
        await ctx.close()
        await flow.stop()
        await esl.close()
        await switch.stop()
        await redis.aclose()


def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: run ./scripts/setup (it installs chromium)")
    return CHROMIUM


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(path), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Visitor:
    """One person's browser (a context of its own: its own cookies), its page, and every
    address the page asked for."""

    name: str
    context: BrowserContext
    page: Page
    prefix: str
    requests: list[str] = field(default_factory=list)
    # Uncaught errors of the page's scripts.
    errors: list[str] = field(default_factory=list)
    shots: int = 0

    async def shot(self, step: str) -> Path:
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{self.name}-{self.shots:02d}-{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign(self) -> list[str]:
        """Addresses the page asked for that are not this server's host, and the scripts'
        uncaught errors: both empty on a page that works on its own."""
        return [url for url in self.requests if urlsplit(url).hostname != LOCAL] + self.errors

    async def sign_in(self, login: str, password: str = PASSWORD) -> None:
        await self.page.goto("/login")
        await self.page.fill("#login", login)
        await self.page.fill("#password", password)
        await self.page.click("#login-submit")


Visit = Callable[[str], Awaitable[Visitor]]


@pytest.fixture
async def visit(
    browser: Browser, center: WebCenter, request: pytest.FixtureRequest
) -> AsyncIterator[Visit]:
    """``await visit("agent")``: a new person at the pages (requests and WebSockets recorded)."""
    prefix = re.sub(r"[^a-z0-9_]+", "-", request.node.name.lower()).strip("-")
    opened: list[Visitor] = []

    async def open_one(name: str) -> Visitor:
        context = await browser.new_context(
            base_url=center.url, viewport={"width": 1280, "height": 900}
        )
        page = await context.new_page()
        visitor = Visitor(name, context, page, prefix)
        context.on("request", lambda req: visitor.requests.append(req.url))
        page.on("websocket", lambda ws: visitor.requests.append(ws.url))
        page.on("pageerror", lambda exc: visitor.errors.append(f"script error: {exc}"))
        opened.append(visitor)
        return visitor

    try:
        yield open_one
    finally:
        for visitor in opened:
            await visitor.context.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until ``check()`` is true (a state in Redis, a row in the database)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__name__}")
        await asyncio.sleep(0.1)

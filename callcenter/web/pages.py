"""The page routes: ``/`` (to the user's page), ``/login``, and one shell per page
(``/t/{tenant}/agent``, ``/wallboard``, ``/admin``) that is only served to a signed-in user
with the page's role in the tenant; everyone else is sent to sign in, or told why not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from callcenter.api.errors import ApiError
from callcenter.api.routing import CONTEXT, authenticate
from callcenter.users.model import Grant, Identity, Role

__all__ = ["PAGES", "Page", "add_pages", "landing"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)

# Pages load their own scripts, styles and data only; a value that slipped through escaping
# still could not run or send anything anywhere else.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Page:
    """One page of a tenant: its path, who may open it, and the script that fills it."""

    slug: str  # agent, wallboard, admin
    title: str
    role: Role

    def path(self, tenant: str) -> str:
        return f"/t/{tenant}/{self.slug}"

    def refusal(self, identity: Identity, grant: Grant | None, tenant: str) -> str | None:
        """Why ``identity`` may not open the page in ``tenant`` (None: they may)."""
        if grant is None:
            return f"{identity.login} has no role in tenant {tenant!r}"
        if grant.role < self.role:
            return (
                f"the {self.title.lower()} needs the {self.role.label} role; "
                f"{identity.login} is {grant.role.label} in tenant {tenant!r}"
            )
        if self.slug == "agent" and not grant.agent_id:
            return (
                f"the agent desktop is for agents: {identity.login} has no ACD agent in tenant "
                f"{tenant!r} (an admin sets it with the user's role)"
            )
        return None


AGENT = Page("agent", "Agent desktop", Role.AGENT)
WALLBOARD = Page("wallboard", "Wallboard", Role.SUPERVISOR)
ADMIN = Page("admin", "Admin", Role.ADMIN)
REPORTS = Page("reports", "Reports", Role.SUPERVISOR)
PAGES = (AGENT, WALLBOARD, REPORTS, ADMIN)


def render(template: str, status: int = 200, **values: object) -> web.Response:
    text = _templates.get_template(template).render(**values)
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


async def viewer(request: web.Request) -> Identity | None:
    """Who is signed in (a bad bearer token on a page is nobody)."""
    try:
        return await authenticate(request)
    except ApiError:
        return None


def to_login(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound("/login?" + urlencode({"next": request.path_qs}))


def allowed(identity: Identity, tenant: str) -> list[Page]:
    grant = identity.grant(tenant)
    return [page for page in PAGES if page.refusal(identity, grant, tenant) is None]


def landing(identity: Identity, tenants: list[str]) -> str | None:
    """The page a user starts on: in their first tenant, the admin's view for an admin, the
    wallboard for a supervisor, the desktop for an agent; None when there is none for them."""
    for tenant in identity.tenants(tenants):
        pages = allowed(identity, tenant)
        if pages:
            return max(pages, key=lambda page: page.role).path(tenant)
    return None


def _refused(identity: Identity, tenants: list[str], status: int, reason: str) -> web.Response:
    return render(
        "refused.html",
        status=status,
        title="Not allowed" if status == 403 else "Not found",
        reason=reason,
        login=identity.login,
        home=landing(identity, tenants),
    )


def shell(page: Page) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        identity = await viewer(request)
        if identity is None:
            raise to_login(request)
        tenant = request.match_info["tenant"]
        if tenant not in ctx.tenants:
            return _refused(identity, ctx.tenants, 404, f"there is no tenant {tenant!r} here")
        grant = identity.grant(tenant)
        reason = page.refusal(identity, grant, tenant)
        if reason is not None or grant is None:
            return _refused(identity, ctx.tenants, 403, reason or "not allowed")
        return render(
            f"{page.slug}.html",
            page=page.slug,
            title=page.title,
            tenant=tenant,
            login=identity.login,
            name=identity.name,
            role=grant.role.label,
            agent_id=grant.agent_id or "",
            links=[(p.title, p.path(tenant), p is page) for p in allowed(identity, tenant)],
        )

    return handle


async def index(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    identity = await viewer(request)
    if identity is None:
        raise web.HTTPFound("/login")
    target = landing(identity, ctx.tenants)
    if target is None:
        reason = f"{identity.login} has no page here: no role in a tenant this server serves"
        return _refused(identity, ctx.tenants, 403, reason)
    raise web.HTTPFound(target)


async def login(request: web.Request) -> web.StreamResponse:
    return render("login.html", title="Sign in")


def add_pages(app: web.Application) -> None:
    """The pages and their static files, beside the API's routes."""
    app.router.add_get("/", index)
    app.router.add_get("/login", login)
    for page in PAGES:
        app.router.add_get(f"/t/{{tenant}}/{page.slug}", shell(page))
    app.router.add_static("/static/", STATIC, append_version=False)

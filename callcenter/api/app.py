"""The HTTP application: every resource's routes behind one dispatcher, JSON errors from one
middleware, ``/openapi.json`` and ``/healthz``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from callcenter import __version__
from callcenter.api.client_address import parse_networks
from callcenter.api.context import ApiContext
from callcenter.api.errors import ApiError
from callcenter.api.openapi import openapi_document
from callcenter.api.resources import (
    agents,
    calls,
    config,
    contacts,
    live_calls,
    live_ws,
    metrics,
    queues,
    recordings,
    reports,
    session,
    stats,
    users,
)
from callcenter.api.routing import (
    CONTEXT,
    SESSIONS,
    SIGN_IN_LIMITS,
    TRUSTED_PROXIES,
    Route,
    RouteTable,
    dispatcher,
)
from callcenter.api.sessions import Sessions
from callcenter.api.sign_in_limits import SignInLimits
from callcenter.web import add_pages

__all__ = ["ROUTE_TABLES", "make_app"]

log = logging.getLogger("callcenter.api")

ROUTE_TABLES: list[RouteTable] = [
    session.routes,
    agents.routes,
    queues.routes,
    users.routes,
    config.routes,
    live_ws.routes,
    calls.routes,
    recordings.routes,
    stats.routes,
    contacts.routes,
    live_calls.routes,
    reports.routes,
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_error(status: int, error_id: str, message: str, details: dict[str, object] | None = None,
                headers: dict[str, str] | None = None) -> web.Response:  # fmt: skip
    body = {"error_id": error_id, "message": message, "details": details or {}}
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of the API as JSON a person can act on; pages keep aiohttp's own."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _json_error(exc.status, exc.error_id, exc.message, exc.details, exc.headers)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        reason = {
            404: ("not-found", f"no such resource: {request.path}"),
            405: ("method-not-allowed", f"{request.method} is not allowed on {request.path}"),
            413: ("body-too-large", "the body is too large"),
        }.get(exc.status, ("http-error", exc.reason))
        return _json_error(exc.status, *reason)
    except Exception:
        log.exception("api_error method=%s path=%s", request.method, request.path)
        return _json_error(500, "internal", "the server failed; the error is in its log")


def all_routes(tables: Iterable[RouteTable]) -> list[Route]:
    return [route for table in tables for route in table.routes]


def make_app(ctx: ApiContext, tables: Iterable[RouteTable] | None = None) -> web.Application:
    routes = all_routes(ROUTE_TABLES if tables is None else tables)
    app = web.Application(middlewares=[errors], client_max_size=32 * 1024 * 1024)
    app[CONTEXT] = ctx
    app[SESSIONS] = Sessions(ctx.redis, int(ctx.http.session_hours * 3600))
    app[SIGN_IN_LIMITS] = SignInLimits(
        ctx.redis,
        max_failures=ctx.http.sign_in_max_failures,
        window_seconds=ctx.http.sign_in_window_minutes * 60,
        namespace=ctx.key_namespace,
    )
    app[TRUSTED_PROXIES] = parse_networks(ctx.http.trusted_proxies)
    for route in routes:
        app.router.add_route(route.method, route.path, dispatcher(route))
    document = openapi_document(routes, __version__)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/healthz", health)
    live_ws.mount(app)
    metrics.mount(app)
    add_pages(app)
    return app

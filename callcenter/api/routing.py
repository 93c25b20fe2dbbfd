"""Routes as data: method, path, the role they need, their body and answer models.

Each resource module fills a ``RouteTable``; ``app.py`` adds them all to the application behind
one dispatcher that authenticates the caller, checks the role in the tenant named by the path,
runs the handler and writes every write to the audit log. ``openapi.py`` reads the same tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from callcenter.api.client_address import Network, client_address
from callcenter.api.context import ApiContext
from callcenter.api.errors import ApiError, Forbidden, NotFound, Unauthorized
from callcenter.api.sessions import COOKIE, Sessions
from callcenter.api.sign_in_limits import SignInLimits
from callcenter.users import service as users
from callcenter.users.audit import record
from callcenter.users.errors import BadCredentialsError
from callcenter.users.model import ALL_TENANTS, Grant, Identity, Role

__all__ = [
    "CONTEXT",
    "SESSIONS",
    "SIGN_IN_LIMITS",
    "TRUSTED_PROXIES",
    "ApiCall",
    "Handler",
    "Route",
    "RouteTable",
    "authenticate",
    "dispatcher",
    "to_json",
]

log = logging.getLogger("callcenter.api")

CONTEXT = web.AppKey("context", ApiContext)
SESSIONS = web.AppKey("sessions", Sessions)
SIGN_IN_LIMITS = web.AppKey("sign_in_limits", SignInLimits)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[Network, ...])
M = TypeVar("M", bound=BaseModel)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Largest JSON body read (an import file goes as multipart, with its own limit).
MAX_JSON_BYTES = 1024 * 1024


@dataclass
class ApiCall:
    """One request as a handler sees it: who asks, in which tenant, with what."""

    request: web.Request
    route: Route
    ctx: ApiContext
    identity: Identity | None
    tenant: str | None
    grant: Grant | None
    # What the audit log keeps about this write besides the path (set by the handler).
    audit_details: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def client(self) -> str:
        """The client's address (behind a trusted proxy, the one it forwarded for)."""
        return client_address(self.request, self.request.app[TRUSTED_PROXIES])

    @property
    def who(self) -> str:
        return self.identity.login if self.identity else "anonymous"

    @property
    def role(self) -> Role | None:
        return self.grant.role if self.grant else None

    @property
    def agent_id(self) -> str | None:
        """The ACD agent the caller is in this tenant (None for a supervisor or admin without
        one)."""
        return self.grant.agent_id if self.grant else None

    def at_least(self, role: Role) -> bool:
        return self.grant is not None and self.grant.role >= role

    async def payload(self, model: type[M]) -> M:
        """The JSON body, validated: a 422 that names each bad field otherwise."""
        if model is not self.route.body:
            raise TypeError(f"{self.route.path}: body model {model} is not the route's")
        if self.request.content_length and self.request.content_length > MAX_JSON_BYTES:
            raise ApiError(413, "body-too-large", f"the body is over {MAX_JSON_BYTES} bytes")
        raw = await self.request.read()
        try:
            data = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "invalid-json", f"the body is not JSON: {exc}") from None
        try:
            value = model.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc) from None
        self.audit_details = value.model_dump(mode="json")
        return value

    def query(self, model: type[M]) -> M:
        if model is not self.route.query:
            raise TypeError(f"{self.route.path}: query model {model} is not the route's")
        try:
            return model.model_validate(dict(self.request.query))
        except ValidationError as exc:
            raise validation_error(exc, where="query") from None


def validation_error(exc: ValidationError, where: str = "body") -> ApiError:
    problems = [
        {"field": ".".join(str(p) for p in err["loc"]) or where, "message": err["msg"]}
        for err in exc.errors()
    ]
    text = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return ApiError(422, "invalid-input", f"invalid {where}: {text}", {"problems": problems})


Handler = Callable[[ApiCall], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    # The least role the caller needs in the path's tenant; None: anyone (sign-in, health).
    role: Role | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    tag: str = ""

    @property
    def writes(self) -> bool:
        return self.method in _WRITES


class RouteTable:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        role: Role | None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
    ) -> Callable[[Handler], Handler]:
        if method in _WRITES and role is None and not path.endswith("/session"):
            raise ValueError(f"{method} {path}: no anonymous write")

        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(method, path, handler, summary, role, body, query, response, status, self.tag)
            )
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.add("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.add("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.add("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.add("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.add("DELETE", path, **kwargs)


def to_json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: web.Request) -> Identity | None:
    """The caller: by bearer token (which must be right when sent), else by session cookie."""
    ctx = request.app[CONTEXT]
    token = bearer(request)
    if token is not None:
        try:
            return await ctx.db(users.identity_for_token, ctx.engine, token)
        except BadCredentialsError as exc:
            raise Unauthorized(str(exc)) from None
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    user_id = await request.app[SESSIONS].user_id(secret)
    if user_id is None:
        return None
    return await ctx.db(users.identity, ctx.engine, user_id, "session")


def _check_origin(request: web.Request) -> None:
    """A write with the session cookie must come from our own pages: the cookie is SameSite,
    and an ``Origin`` naming another site is refused as well (older browsers)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        host = origin.split("://", 1)[-1]
        if host != request.host:
            raise Forbidden(f"a write from another site ({origin}) is refused")


def _grant_for(route: Route, ctx: ApiContext, identity: Identity, tenant: str | None) -> Grant:
    assert route.role is not None
    if tenant is not None:
        if tenant not in ctx.tenants:
            raise NotFound("unknown-tenant", f"no tenant {tenant!r} here", {"tenant": tenant})
        grant = identity.grant(tenant)
        if grant is None:
            raise Forbidden(f"{identity.login} has no role in tenant {tenant!r}")
    else:
        # Center-wide routes (users, tokens of others) are for those granted every tenant.
        grant = identity.grant(ALL_TENANTS) or Grant(ALL_TENANTS, Role.AGENT)
        if route.role is Role.AGENT:
            return grant
    if grant.role < route.role:
        raise Forbidden(
            f"{route.method} {route.path} needs the {route.role.label} role; "
            f"{identity.login} is {grant.role.label} in {grant.tenant}",
            {"needs": route.role.label, "has": grant.role.label},
        )
    return grant


def dispatcher(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        ctx = request.app[CONTEXT]
        identity = await authenticate(request)
        tenant = request.match_info.get("tenant")
        grant: Grant | None = None
        if route.role is not None:
            if identity is None:
                raise Unauthorized()
            if route.writes and identity.via == "session":
                _check_origin(request)
            grant = _grant_for(route, ctx, identity, tenant)
        call = ApiCall(request, route, ctx, identity, tenant, grant)
        status = 500
        try:
            result = await route.handler(call)
            if isinstance(result, web.StreamResponse):
                status = result.status
                return result
            status = route.status if result is not None else 204
            if result is None:
                return web.Response(status=204)
            return web.json_response(to_json(result), status=status)
        except ApiError as exc:
            status = exc.status
            raise
        finally:
            if route.writes and identity is not None:
                await _audit(call, status)

    return handle


async def _audit(call: ApiCall, status: int) -> None:
    assert call.identity is not None
    try:
        await call.ctx.db(
            record,
            call.ctx.engine,
            actor=call.identity.login,
            action=f"{call.route.method} {call.route.path}",
            target=call.request.path,
            status=status,
            tenant=call.tenant,
            remote=call.client,
            details=call.audit_details,
        )
    except Exception:
        # The write itself is done; a lost audit line is logged, not turned into an error.
        log.exception("audit_failed actor=%s target=%s", call.identity.login, call.request.path)

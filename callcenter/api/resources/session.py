"""Signing in and out (browser sessions) and who am I."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from callcenter.api.errors import ApiError, Unauthorized
from callcenter.api.routing import SESSIONS, SIGN_IN_LIMITS, ApiCall, RouteTable
from callcenter.api.sessions import COOKIE
from callcenter.users import service as users
from callcenter.users.audit import record
from callcenter.users.errors import BadCredentialsError
from callcenter.users.model import Identity

__all__ = ["GrantOut", "Login", "Me", "routes"]

routes = RouteTable("session")
log = logging.getLogger("callcenter.api")


async def _audit(call: ApiCall, actor: str, status: int, details: dict[str, Any]) -> None:
    """A sign-in attempt in the audit log, with the client's address."""
    ctx = call.ctx
    await ctx.db(record, ctx.engine, actor=actor, action="sign-in", target="session",
                 status=status, remote=call.client, details=details)  # fmt: skip


def _minutes(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    return f"{-(-seconds // 60)} min"


class Login(BaseModel):
    login: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class GrantOut(BaseModel):
    tenant: str
    role: str
    agent_id: str | None


class Me(BaseModel):
    login: str
    name: str
    via: str
    grants: list[GrantOut]
    # The tenants served here that the user may open.
    tenants: list[str]


def me(identity: Identity, served: list[str]) -> Me:
    return Me(
        login=identity.login,
        name=identity.name,
        via=identity.via,
        grants=[
            GrantOut(tenant=g.tenant, role=g.role.label, agent_id=g.agent_id)
            for g in identity.grants
        ],
        tenants=identity.tenants(served),
    )


@routes.post("/api/v1/session", summary="Sign in with login and password", role=None, body=Login,
             response=Me)  # fmt: skip
async def sign_in(call: ApiCall) -> web.Response:
    form = await call.payload(Login)
    ctx = call.ctx
    limits, client = call.request.app[SIGN_IN_LIMITS], call.client
    wait = await limits.retry_after(form.login, client)
    if wait:
        # Refused before the password is looked at: no hashing work, nothing to learn.
        log.warning("sign_in_limited login=%r remote=%s retry_after=%d", form.login, client, wait)
        await _audit(call, form.login, 429, {"ok": False, "retry_after": wait})
        raise ApiError(
            429,
            "too-many-attempts",
            f"too many wrong passwords: try again in {_minutes(wait)}",
            {"retry_after_seconds": wait},
            headers={"Retry-After": str(wait)},
        )
    try:
        identity = await ctx.db(users.authenticate, ctx.engine, form.login, form.password)
    except BadCredentialsError as exc:
        await limits.failed(form.login, client)
        await _audit(call, form.login, 401, {"ok": False})
        raise ApiError(401, exc.error_id, exc.message) from None
    await limits.succeeded(form.login, client)
    secret = await call.request.app[SESSIONS].open(identity.user_id)
    response = web.json_response(me(identity, ctx.tenants).model_dump(mode="json"))
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(ctx.http.session_hours * 3600),
        httponly=True,
        samesite="Strict",
        secure=ctx.http.secure_cookies,
        path="/",
    )
    await _audit(call, identity.login, 200, {"ok": True})
    return response


@routes.delete("/api/v1/session", summary="Sign out", role=None)
async def sign_out(call: ApiCall) -> web.Response:
    secret = call.request.cookies.get(COOKIE)
    if secret:
        await call.request.app[SESSIONS].close(secret)
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


@routes.get("/api/v1/session", summary="Who is signed in", role=None, response=Me)
async def who_am_i(call: ApiCall) -> Me:
    if call.identity is None:
        raise Unauthorized()
    return me(call.identity, call.ctx.tenants)

"""Users of a tenant (admin), API tokens (one's own, and an admin's for integration users of
the tenant), one's own password, and the tenant's audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from callcenter.api.errors import ApiError, Forbidden, NotFound, Unprocessable
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.users import service as users
from callcenter.users.audit import recent
from callcenter.users.errors import (
    BadCredentialsError,
    InvalidUserError,
    UnknownUserError,
    UserExistsError,
    UsersError,
)
from callcenter.users.model import ALL_TENANTS, ROLES, Role, TokenView, UserView

__all__ = ["routes"]

routes = RouteTable("users")
_USERS = "/api/v1/tenants/{tenant}/users"


class GrantIn(BaseModel):
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    agent_id: str | None = Field(None, max_length=64)


class NewUser(GrantIn):
    login: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=255)
    # None: an integration user that signs in with API tokens only.
    password: str | None = Field(None, max_length=1024)


class PasswordIn(BaseModel):
    password: str = Field(max_length=1024)


class OwnPassword(BaseModel):
    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)


class GrantOut(BaseModel):
    tenant: str
    role: str
    agent_id: str | None


class UserOut(BaseModel):
    login: str
    name: str
    created_at: datetime
    disabled: bool
    has_password: bool
    grants: list[GrantOut]


class UserList(BaseModel):
    users: list[UserOut]


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class NewToken(TokenOut):
    # Shown once: only its hash is kept.
    token: str


class TokenList(BaseModel):
    tokens: list[TokenOut]


class DisabledIn(BaseModel):
    disabled: bool


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    target: str
    status: int
    remote: str | None
    details: dict[str, Any]


class AuditList(BaseModel):
    entries: list[AuditOut]


def _user_out(view: UserView) -> UserOut:
    return UserOut(
        login=view.login,
        name=view.name,
        created_at=view.created_at,
        disabled=view.disabled,
        has_password=view.has_password,
        grants=[
            GrantOut(tenant=g.tenant, role=g.role.label, agent_id=g.agent_id) for g in view.grants
        ],
    )


def _token_out(view: TokenView) -> TokenOut:
    return TokenOut(**{name: getattr(view, name) for name in TokenOut.model_fields})


def _error(exc: UsersError) -> ApiError:
    status = {InvalidUserError: 422, UserExistsError: 409, UnknownUserError: 404}.get(
        type(exc), 400
    )
    return ApiError(status, exc.error_id, exc.message, dict(exc.details))


async def _tenant_only_user(call: ApiCall, login: str) -> UserView:
    """A user the tenant's admin may manage: one whose every role is in this tenant (a tenant's
    admin must not take over someone who also works for another tenant)."""
    try:
        view = await call.ctx.db(users.user, call.ctx.engine, login)
    except UnknownUserError as exc:
        raise _error(exc) from None
    if call.identity is not None and call.identity.grant(ALL_TENANTS) is not None:
        return view
    if not view.grants or any(g.tenant != call.tenant for g in view.grants):
        raise Forbidden(
            f"user {login!r} has roles outside tenant {call.tenant!r}: an admin of every "
            "tenant manages them"
        )
    return view


@routes.get(_USERS, summary="Users with a role in the tenant", role=Role.ADMIN,
            response=UserList)  # fmt: skip
async def list_users(call: ApiCall) -> UserList:
    assert call.tenant is not None
    views = await call.ctx.db(users.list_users, call.ctx.engine, call.tenant)
    return UserList(users=[_user_out(v) for v in views])


@routes.post(_USERS, summary="Add a user with a role in the tenant", role=Role.ADMIN,
             body=NewUser, response=UserOut, status=201)  # fmt: skip
async def add_user(call: ApiCall) -> UserOut:
    assert call.tenant is not None
    new = await call.payload(NewUser)
    ctx = call.ctx
    try:
        await ctx.db(users.create_user, ctx.engine, new.login, new.name, new.password)
        await ctx.db(users.grant, ctx.engine, new.login, call.tenant, new.role, new.agent_id)
        return _user_out(await ctx.db(users.user, ctx.engine, new.login))
    except InvalidUserError as exc:
        # Nothing half-made: a user whose grant was refused is removed again.
        await ctx.db(_drop_if_bare, ctx.engine, new.login)
        raise _error(exc) from None
    except UsersError as exc:
        raise _error(exc) from None


def _drop_if_bare(engine: Any, login: str) -> None:
    try:
        view = users.user(engine, login)
    except UnknownUserError:
        return
    if not view.grants:
        users.delete_user(engine, login)


@routes.put(_USERS + "/{login}/role", summary="Give a user a role in the tenant",
            role=Role.ADMIN, body=GrantIn, response=UserOut)  # fmt: skip
async def set_role(call: ApiCall) -> UserOut:
    assert call.tenant is not None
    change = await call.payload(GrantIn)
    login = call.param("login")
    ctx = call.ctx
    try:
        await ctx.db(users.grant, ctx.engine, login, call.tenant, change.role, change.agent_id)
        return _user_out(await ctx.db(users.user, ctx.engine, login))
    except UsersError as exc:
        raise _error(exc) from None


@routes.delete(_USERS + "/{login}/role", summary="Take a user's role in the tenant away",
               role=Role.ADMIN)  # fmt: skip
async def remove_role(call: ApiCall) -> None:
    assert call.tenant is not None
    login = call.param("login")
    try:
        done = await call.ctx.db(users.revoke_grant, call.ctx.engine, login, call.tenant)
    except UsersError as exc:
        raise _error(exc) from None
    if not done:
        raise NotFound("unknown-user", f"{login!r} has no role in tenant {call.tenant!r}")


@routes.put(_USERS + "/{login}/password", summary="Set a user's password", role=Role.ADMIN,
            body=PasswordIn)  # fmt: skip
async def set_password(call: ApiCall) -> None:
    change = await call.payload(PasswordIn)
    login = call.param("login")
    await _tenant_only_user(call, login)
    try:
        await call.ctx.db(users.set_password, call.ctx.engine, login, change.password)
    except UsersError as exc:
        raise _error(exc) from None


@routes.put(_USERS + "/{login}/disabled", summary="Disable or enable a user", role=Role.ADMIN,
            body=DisabledIn, response=UserOut)  # fmt: skip
async def set_disabled(call: ApiCall) -> UserOut:
    change = await call.payload(DisabledIn)
    login = call.param("login")
    await _tenant_only_user(call, login)
    await call.ctx.db(users.set_disabled, call.ctx.engine, login, change.disabled)
    return _user_out(await call.ctx.db(users.user, call.ctx.engine, login))


@routes.get(_USERS + "/{login}/tokens", summary="A user's API tokens", role=Role.ADMIN,
            response=TokenList)  # fmt: skip
async def user_tokens(call: ApiCall) -> TokenList:
    login = call.param("login")
    await _tenant_only_user(call, login)
    views = await call.ctx.db(users.list_tokens, call.ctx.engine, login)
    return TokenList(tokens=[_token_out(v) for v in views])


@routes.post(_USERS + "/{login}/tokens", summary="A new API token for a user (an integration)",
             role=Role.ADMIN, body=TokenIn, response=NewToken, status=201)  # fmt: skip
async def new_user_token(call: ApiCall) -> NewToken:
    form = await call.payload(TokenIn)
    login = call.param("login")
    await _tenant_only_user(call, login)
    return await _new_token(call, login, form.name)


@routes.delete(_USERS + "/{login}/tokens/{token_id}", summary="Revoke a user's API token",
               role=Role.ADMIN)  # fmt: skip
async def revoke_user_token(call: ApiCall) -> None:
    login = call.param("login")
    await _tenant_only_user(call, login)
    await _revoke(call, login)


@routes.get("/api/v1/tokens", summary="My API tokens", role=Role.AGENT, response=TokenList)
async def my_tokens(call: ApiCall) -> TokenList:
    assert call.identity is not None
    views = await call.ctx.db(users.list_tokens, call.ctx.engine, call.identity.login)
    return TokenList(tokens=[_token_out(v) for v in views])


@routes.post("/api/v1/tokens", summary="A new API token of mine", role=Role.AGENT, body=TokenIn,
             response=NewToken, status=201)  # fmt: skip
async def new_token(call: ApiCall) -> NewToken:
    assert call.identity is not None
    form = await call.payload(TokenIn)
    return await _new_token(call, call.identity.login, form.name)


@routes.delete("/api/v1/tokens/{token_id}", summary="Revoke one of my API tokens",
               role=Role.AGENT)  # fmt: skip
async def revoke_token(call: ApiCall) -> None:
    assert call.identity is not None
    await _revoke(call, call.identity.login)


async def _new_token(call: ApiCall, login: str, name: str) -> NewToken:
    try:
        secret, view = await call.ctx.db(users.create_token, call.ctx.engine, login, name)
    except UsersError as exc:
        raise _error(exc) from None
    call.audit_details = {"name": name, "prefix": view.prefix, "for": login}
    return NewToken(token=secret, **_token_out(view).model_dump())


async def _revoke(call: ApiCall, login: str) -> None:
    raw = call.param("token_id")
    if not raw.isdigit():
        raise Unprocessable("invalid-input", f"token id {raw!r} is not a number")
    done = await call.ctx.db(users.revoke_token, call.ctx.engine, login, int(raw))
    if not done:
        raise NotFound("unknown-token", f"no live token {raw} of {login!r}")


@routes.put("/api/v1/session/password", summary="Change my password", role=Role.AGENT,
            body=OwnPassword)  # fmt: skip
async def change_own_password(call: ApiCall) -> None:
    assert call.identity is not None
    change = await call.payload(OwnPassword)
    ctx = call.ctx
    try:
        await ctx.db(users.authenticate, ctx.engine, call.identity.login, change.old_password)
        await ctx.db(users.set_password, ctx.engine, call.identity.login, change.new_password)
    except BadCredentialsError:
        raise ApiError(403, "bad-credentials", "the old password is wrong") from None
    except UsersError as exc:
        raise _error(exc) from None


@routes.get("/api/v1/tenants/{tenant}/audit", summary="The tenant's latest writes, newest first",
            role=Role.ADMIN, response=AuditList)  # fmt: skip
async def audit_log(call: ApiCall) -> AuditList:
    views = await call.ctx.db(recent, call.ctx.engine, call.tenant, 200)
    return AuditList(entries=[AuditOut(**{n: getattr(v, n) for n in AuditOut.model_fields})
                              for v in views])  # fmt: skip

"""Users, their roles per tenant, passwords and API tokens, on the center's database.

Synchronous (SQLAlchemy on an ``Engine``): the CLI calls it directly, the HTTP API through
``asyncio.to_thread`` so the event loop never waits on the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from callcenter.center.model import one_line
from callcenter.db.models import ApiToken, User, UserRole
from callcenter.db.types import utc
from callcenter.users.errors import (
    BadCredentialsError,
    InvalidUserError,
    UnknownUserError,
    UserExistsError,
)
from callcenter.users.model import ALL_TENANTS, Grant, Identity, Role, TokenView, UserView
from callcenter.users.passwords import MIN_PASSWORD_CHARS, hash_password, verify_password

__all__ = [
    "TOKEN_PREFIX",
    "authenticate",
    "create_token",
    "create_user",
    "delete_user",
    "grant",
    "identity",
    "identity_for_token",
    "list_tokens",
    "list_users",
    "revoke_grant",
    "revoke_token",
    "set_disabled",
    "set_password",
    "user",
]

_USERS = User.__table__
assert isinstance(_USERS, Table)
LOGIN = re.compile(r"[A-Za-z0-9._@-]{1,128}")
TENANT = re.compile(r"[a-z0-9_-]{1,63}")
AGENT = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# Every token starts so: a secret scanner (or a person) can tell what leaked.
TOKEN_PREFIX = "cct_"
_MAX_PASSWORD_CHARS = 1024


def _check_login(login: str) -> str:
    if not LOGIN.fullmatch(login):
        raise InvalidUserError(
            f"login {login!r} cannot be used: 1 to 128 of A-Z a-z 0-9 . _ @ -",
            {"field": "login"},
        )
    return login


def _check_name(name: str) -> str:
    try:
        one_line(name)
    except ValueError as exc:
        raise InvalidUserError(f"name: {exc}", {"field": "name"}) from None
    name = name.strip()
    if not 1 <= len(name) <= 255:
        raise InvalidUserError("name: 1 to 255 characters", {"field": "name"})
    return name


def _check_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= _MAX_PASSWORD_CHARS:
        raise InvalidUserError(
            f"password: at least {MIN_PASSWORD_CHARS} characters (at most {_MAX_PASSWORD_CHARS})",
            {"field": "password"},
        )
    return password


def _user_id(conn: Connection, login: str) -> int:
    found = conn.execute(select(User.id).where(User.login == login)).scalar_one_or_none()
    if found is None:
        raise UnknownUserError(f"no user {login!r}", {"login": login})
    return int(found)


def create_user(engine: Engine, login: str, name: str, password: str | None = None) -> UserView:
    """A new user; ``password`` None makes an integration user that signs in with tokens."""
    values = {
        "login": _check_login(login),
        "name": _check_name(name),
        "password_hash": hash_password(_check_password(password)) if password else None,
        "created_at": utc(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(User).values(**values))
    except IntegrityError:
        raise UserExistsError(f"a user {login!r} exists already", {"login": login}) from None
    return user(engine, login)


def set_password(engine: Engine, login: str, password: str) -> None:
    hashed = hash_password(_check_password(password))
    with engine.begin() as conn:
        conn.execute(
            update(User).where(User.id == _user_id(conn, login)).values(password_hash=hashed)
        )


def set_disabled(engine: Engine, login: str, disabled: bool) -> None:
    """A disabled user's sessions and tokens stop working at their next request."""
    with engine.begin() as conn:
        conn.execute(
            update(User)
            .where(User.id == _user_id(conn, login))
            .values(disabled_at=utc() if disabled else None)
        )


def grant(
    engine: Engine, login: str, tenant: str, role: str | Role, agent_id: str | None = None
) -> None:
    """Give ``login`` a role in ``tenant`` ("*": every tenant), replacing the one it had."""
    if tenant != ALL_TENANTS and not TENANT.fullmatch(tenant):
        raise InvalidUserError(f"tenant {tenant!r}: a tenant name or *", {"field": "tenant"})
    try:
        level = role if isinstance(role, Role) else Role.parse(role)
    except ValueError as exc:
        raise InvalidUserError(str(exc), {"field": "role"}) from None
    if agent_id is not None and not AGENT.fullmatch(agent_id):
        raise InvalidUserError(
            f"agent {agent_id!r}: an ACD agent id (A-Z a-z 0-9 _ . @ -)", {"field": "agent_id"}
        )
    if level is Role.AGENT and agent_id is None:
        raise InvalidUserError(
            "an agent user needs the ACD agent it is (agent_id)", {"field": "agent_id"}
        )
    with engine.begin() as conn:
        user_id = _user_id(conn, login)
        conn.execute(delete(UserRole).where(UserRole.user_id == user_id, UserRole.tenant == tenant))
        conn.execute(
            insert(UserRole).values(
                user_id=user_id, tenant=tenant, role=level.label, agent_id=agent_id
            )
        )


def revoke_grant(engine: Engine, login: str, tenant: str) -> bool:
    with engine.begin() as conn:
        done = conn.execute(
            delete(UserRole).where(
                UserRole.user_id == _user_id(conn, login), UserRole.tenant == tenant
            )
        )
    return bool(done.rowcount)


def _grants(conn: Connection, user_ids: Iterable[int]) -> dict[int, tuple[Grant, ...]]:
    ids = list(user_ids)
    out: dict[int, list[Grant]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            select(UserRole.__table__).where(UserRole.user_id.in_(ids)).order_by(UserRole.tenant)
        )
        for row in rows:
            out[row.user_id].append(Grant(row.tenant, Role.parse(row.role), row.agent_id))
    return {i: tuple(grants) for i, grants in out.items()}


def _view(row: Row[Any], grants: tuple[Grant, ...]) -> UserView:
    return UserView(
        id=row.id,
        login=row.login,
        name=row.name,
        created_at=utc(row.created_at),
        disabled=row.disabled_at is not None,
        grants=grants,
        has_password=row.password_hash is not None,
    )


def user(engine: Engine, login: str) -> UserView:
    with engine.connect() as conn:
        row = conn.execute(select(_USERS).where(User.login == login)).one_or_none()
        if row is None:
            raise UnknownUserError(f"no user {login!r}", {"login": login})
        return _view(row, _grants(conn, [row.id])[row.id])


def list_users(engine: Engine, tenant: str | None = None) -> list[UserView]:
    """Every user, or those with a role in ``tenant`` (their own or an every-tenant one)."""
    with engine.connect() as conn:
        query = select(_USERS).order_by(User.login)
        if tenant is not None:
            query = query.where(
                User.id.in_(
                    select(UserRole.user_id).where(UserRole.tenant.in_([tenant, ALL_TENANTS]))
                )
            )
        rows = list(conn.execute(query))
        grants = _grants(conn, [row.id for row in rows])
    return [_view(row, grants[row.id]) for row in rows]


def _identity(conn: Connection, row: Row[Any], via: str) -> Identity:
    return Identity(
        user_id=row.id,
        login=row.login,
        name=row.name,
        grants=_grants(conn, [row.id])[row.id],
        via=via,
    )


def authenticate(engine: Engine, login: str, password: str) -> Identity:
    """The user, if the password is theirs and they are not disabled."""
    with engine.connect() as conn:
        row = conn.execute(select(_USERS).where(User.login == login)).one_or_none()
        # A hash is computed even for an unknown login, so both take the same time.
        ok = verify_password(password, row.password_hash if row else _DUMMY_HASH)
        if row is None or not ok or row.disabled_at is not None:
            raise BadCredentialsError("wrong login or password")
        return _identity(conn, row, "session")


_DUMMY_HASH = hash_password(secrets.token_hex(16))


def identity(engine: Engine, user_id: int, via: str = "session") -> Identity | None:
    """The user behind a session, None if gone or disabled meanwhile."""
    with engine.connect() as conn:
        row = conn.execute(select(_USERS).where(User.id == user_id)).one_or_none()
        if row is None or row.disabled_at is not None:
            return None
        return _identity(conn, row, via)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(engine: Engine, login: str, name: str) -> tuple[str, TokenView]:
    """A new API token of ``login``: the secret is returned once and never stored."""
    name = _check_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user_id = _user_id(conn, login)
        new_id = conn.execute(
            insert(ApiToken)
            .values(
                user_id=user_id,
                name=name,
                token_hash=_token_hash(secret),
                prefix=secret[:12],
                created_at=utc(),
            )
            .returning(ApiToken.id)
        ).scalar_one()
    views = [t for t in list_tokens(engine, login) if t.id == new_id]
    return secret, views[0]


def list_tokens(engine: Engine, login: str) -> list[TokenView]:
    with engine.connect() as conn:
        user_id = _user_id(conn, login)
        rows = conn.execute(
            select(ApiToken.__table__).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        )
        return [
            TokenView(
                id=row.id,
                user_id=row.user_id,
                name=row.name,
                prefix=row.prefix,
                created_at=utc(row.created_at),
                last_used_at=utc(row.last_used_at) if row.last_used_at else None,
                revoked=row.revoked_at is not None,
            )
            for row in rows
        ]


def revoke_token(engine: Engine, login: str, token_id: int) -> bool:
    with engine.begin() as conn:
        done = conn.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.user_id == _user_id(conn, login),
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=utc())
        )
    return bool(done.rowcount)


def identity_for_token(engine: Engine, secret: str) -> Identity:
    """The user a bearer token belongs to, if it is live and the user is not disabled."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        raise BadCredentialsError("unknown or revoked API token")
    with engine.begin() as conn:
        found = conn.execute(
            # Labelled: the user's own ``id`` column must stay the row's ``id``.
            select(ApiToken.id.label("token_id"), _USERS)
            .join(_USERS, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == _token_hash(secret), ApiToken.revoked_at.is_(None))
        ).one_or_none()
        if found is None or found.disabled_at is not None:
            raise BadCredentialsError("unknown or revoked API token")
        token_id = found.token_id
        now = utc()
        # Once a minute is enough to tell a token in use from a forgotten one.
        conn.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < now - timedelta(seconds=60),
                ),
            )
            .values(last_used_at=now)
        )
        return _identity(conn, found, "token")


def delete_user(engine: Engine, login: str) -> None:
    with engine.begin() as conn:
        user_id = _user_id(conn, login)
        # Explicitly: SQLite enforces ON DELETE CASCADE only with a pragma.
        conn.execute(delete(UserRole).where(UserRole.user_id == user_id))
        conn.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
        conn.execute(delete(User).where(User.id == user_id))

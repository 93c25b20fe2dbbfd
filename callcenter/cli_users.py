"""``callcenter user``: users of the web pages and the API, their roles and API tokens.

The first admin is made here (``callcenter user add root --role admin --tenant '*'``); after
that, admins can manage their tenant's users in the browser or through the API.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from callcenter.db.engine import make_engine
from callcenter.settings import Settings
from callcenter.users import service as users
from callcenter.users.errors import UsersError
from callcenter.users.model import ROLES

__all__ = ["add_user_parser", "run_user_command"]

# Where a script gives a password without it showing in the process list.
PASSWORD_ENV = "CALLCENTER_USER_PASSWORD"


def add_user_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = sub.add_parser("user", help="users of the pages and the API: add, grant, token, list")
    user.add_argument(
        "user_command", choices=["add", "grant", "revoke", "password", "disable", "enable",
                                 "token", "list"],
    )  # fmt: skip
    user.add_argument("login", nargs="?", help="the user's login")
    user.add_argument("--name", help="add: the person's name (default: the login)")
    user.add_argument("--tenant", default="default", help="grant/revoke/add: the tenant, or *")
    user.add_argument("--role", choices=ROLES, help="add/grant: agent, supervisor or admin")
    user.add_argument("--agent", help="add/grant with role agent: the ACD agent id")
    user.add_argument(
        "--no-password", action="store_true", help="add: an integration user (API tokens only)"
    )
    user.add_argument("--token-name", default="cli", help="token: what the token is for")


def _password(login: str) -> str:
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    if not sys.stdin.isatty():
        raise UsersError(f"no terminal to ask {login}'s password: set {PASSWORD_ENV}")
    first = getpass.getpass(f"password for {login}: ")
    if getpass.getpass("again: ") != first:
        raise UsersError("the two passwords differ")
    return first


def run_user_command(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        return _run(args, engine)
    except UsersError as exc:
        print(f"callcenter: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, engine: object) -> int:
    from sqlalchemy import Engine

    assert isinstance(engine, Engine)
    command, login = args.user_command, args.login
    if command == "list":
        for view in users.list_users(engine, None if args.tenant == "default" else args.tenant):
            roles = ", ".join(
                f"{g.role.label}@{g.tenant}" + (f" (agent {g.agent_id})" if g.agent_id else "")
                for g in view.grants
            )
            state = " disabled" if view.disabled else ""
            print(f"{view.login}\t{view.name}\t{roles or '-'}{state}")
        return 0
    if not login:
        raise UsersError(f"user {command}: which user? (callcenter user {command} LOGIN)")
    if command == "add":
        if not args.role:
            raise UsersError("user add: --role agent|supervisor|admin (and --tenant)")
        password = None if args.no_password else _password(login)
        users.create_user(engine, login, args.name or login, password)
        try:
            users.grant(engine, login, args.tenant, args.role, args.agent)
        except UsersError:
            users.delete_user(engine, login)
            raise
        print(f"{login}: {args.role} in {args.tenant}")
    elif command == "grant":
        if not args.role:
            raise UsersError("user grant: --role agent|supervisor|admin (and --tenant)")
        users.grant(engine, login, args.tenant, args.role, args.agent)
        print(f"{login}: {args.role} in {args.tenant}")
    elif command == "revoke":
        done = users.revoke_grant(engine, login, args.tenant)
        print(f"{login}: {'no longer' if done else 'had no role'} in {args.tenant}")
    elif command == "password":
        users.set_password(engine, login, _password(login))
        print(f"{login}: password set")
    elif command in ("disable", "enable"):
        users.set_disabled(engine, login, command == "disable")
        print(f"{login}: {command}d")
    elif command == "token":
        secret, token = users.create_token(engine, login, args.token_name)
        print(f"# token {token.id} ({token.name}) of {login}: shown once, keep it safe")
        print(secret)
    return 0

"""The people and integrations who use the center: users, their roles per tenant, passwords,
API tokens, and the audit log of what they changed. No web here: the HTTP API and the CLI call
these services."""

from callcenter.users.errors import (
    BadCredentialsError,
    InvalidUserError,
    UnknownUserError,
    UserExistsError,
    UsersError,
)
from callcenter.users.model import ROLES, Grant, Identity, Role, TokenView, UserView

__all__ = [
    "ROLES",
    "BadCredentialsError",
    "Grant",
    "Identity",
    "InvalidUserError",
    "Role",
    "TokenView",
    "UnknownUserError",
    "UserExistsError",
    "UserView",
    "UsersError",
]

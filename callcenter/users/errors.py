"""What can go wrong with users and tokens, each with a slug the API answers with."""

from __future__ import annotations

__all__ = [
    "BadCredentialsError",
    "InvalidUserError",
    "UnknownUserError",
    "UserExistsError",
    "UsersError",
]


class UsersError(Exception):
    error_id = "users-error"

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidUserError(UsersError):
    """A login, name, role, tenant or password that cannot be used."""

    error_id = "invalid-user"


class UserExistsError(UsersError):
    error_id = "user-exists"


class UnknownUserError(UsersError):
    error_id = "unknown-user"


class BadCredentialsError(UsersError):
    """Wrong login or password, a disabled user, an unknown or revoked token: one answer for
    all, so that a guess learns nothing about which part was wrong."""

    error_id = "bad-credentials"

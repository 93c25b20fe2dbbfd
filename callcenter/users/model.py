"""Who is asking: a user's identity and grants, as the API and the pages see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

__all__ = ["ALL_TENANTS", "ROLES", "Grant", "Identity", "Role", "TokenView", "UserView"]

# A grant for this tenant name applies to every tenant of the center (the operators' admins).
ALL_TENANTS = "*"


class Role(IntEnum):
    """Ordered: each role may do what the ones below it may."""

    AGENT = 1
    SUPERVISOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}: use one of {', '.join(ROLES)}") from None


ROLES = tuple(role.label for role in Role)


@dataclass(frozen=True)
class Grant:
    tenant: str
    role: Role
    agent_id: str | None = None  # the ACD agent the user is in this tenant


@dataclass(frozen=True)
class Identity:
    user_id: int
    login: str
    name: str
    grants: tuple[Grant, ...] = field(default=())
    # How the request was authenticated: "session" (browser) or "token" (integration).
    via: str = "session"

    def grant(self, tenant: str) -> Grant | None:
        """The user's grant in ``tenant``: its own, else a grant for every tenant."""
        own = next((g for g in self.grants if g.tenant == tenant), None)
        if own is not None:
            return own
        return next((g for g in self.grants if g.tenant == ALL_TENANTS), None)

    def tenants(self, known: list[str]) -> list[str]:
        """The tenants among ``known`` the user has a role in."""
        return [tenant for tenant in known if self.grant(tenant) is not None]


@dataclass(frozen=True)
class UserView:
    id: int
    login: str
    name: str
    created_at: datetime
    disabled: bool
    grants: tuple[Grant, ...]
    has_password: bool


@dataclass(frozen=True)
class TokenView:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

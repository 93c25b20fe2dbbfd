"""The screen-pop: the CRM page an agent's browser opens for a call, from the tenant's
``screen_pop_url`` template (``https://crm.example.com/contacts?phone={caller}&call={call}``)."""

from __future__ import annotations

from callcenter.crm.config import CrmConfig
from callcenter.crm.urls import fill

__all__ = ["screen_pop_url"]


def screen_pop_url(
    config: CrmConfig | None,
    *,
    caller: str,
    call: str,
    did: str = "",
    queue: str = "",
    agent: str = "",
) -> str | None:
    """The URL with the call's values filled in, each URL-encoded ("" for one not known);
    None when the tenant has no screen-pop URL."""
    if config is None or config.screen_pop_url is None:
        return None
    values = {"caller": caller, "call": call, "did": did, "queue": queue, "agent": agent}
    return fill(config.screen_pop_url, values)

"""The contact card behind a caller's number, from the tenant's CRM (for the screen-pop).

Called by the HTTP API when an agent's browser asks who is calling, never by the controller:
the call path does not wait on a CRM. A CRM that is slow, down, or answers something this
cannot read gives no card (None, and a warning in the log), never an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from callcenter.crm.config import CardFields, CrmConfig
from callcenter.crm.urls import fill

__all__ = ["CrmCard", "card_from_json", "lookup_card"]

log = logging.getLogger("callcenter.crm")

# A contact card is small; an answer larger than this is not one (or the filter was ignored
# and the CRM sent every contact).
MAX_BODY_BYTES = 1_000_000
# Long enough for a CRM's notes, short enough for a screen.
_MAX_TEXT = 2000


@dataclass(frozen=True)
class CrmCard:
    """What the agent's screen shows about the caller (None: the CRM did not say)."""

    name: str | None = None
    company: str | None = None
    email: str | None = None
    notes: str | None = None
    url: str | None = None


def _at(document: Any, path: str) -> Any:
    """The value at ``data.0.name`` in a JSON document, None when the path leads nowhere."""
    node = document
    for key in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text[:_MAX_TEXT] or None
    return None  # an object or a list where text was expected: the mapping is wrong


def card_from_json(document: Any, fields: CardFields) -> CrmCard | None:
    """The card the mapping finds in a JSON answer; None when it finds nothing at all."""
    values = {
        name: _text(_at(document, path)) if path else None
        for name, path in (
            ("name", fields.name),
            ("company", fields.company),
            ("email", fields.email),
            ("notes", fields.notes),
            ("url", fields.url),
        )
    }
    if not any(values.values()):
        return None
    return CrmCard(**values)


async def lookup_card(
    config: CrmConfig | None, caller: str, *, session: aiohttp.ClientSession | None = None
) -> CrmCard | None:
    """The card of ``caller`` (the caller's number) from the tenant's CRM lookup, or None:
    no lookup configured, no number, nothing found, or the CRM failed within the timeout.

    ``session``: the API's own client session, if it keeps one (connections are reused);
    without one, a session is opened for this lookup.
    """
    lookup = config.lookup if config is not None else None
    if lookup is None or not caller:
        return None
    url = fill(lookup.url, {"caller": caller})
    timeout = aiohttp.ClientTimeout(total=lookup.timeout_seconds)
    headers = {"Accept": "application/json", **lookup.headers}
    try:
        if session is None:
            async with aiohttp.ClientSession(timeout=timeout) as own:
                return await _get(own, url, headers, timeout, lookup.fields)
        return await _get(session, url, headers, timeout, lookup.fields)
    except TimeoutError:  # asyncio's, since Python 3.11
        log.warning("crm_lookup_failed caller=%s error=timeout after %ss", caller,
                    lookup.timeout_seconds)  # fmt: skip
    except (aiohttp.ClientError, ValueError, UnicodeDecodeError) as exc:
        # The URL is left out: its query may hold a token.
        log.warning("crm_lookup_failed caller=%s error=%s", caller, type(exc).__name__)
    return None


async def _get(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    timeout: aiohttp.ClientTimeout,
    fields: CardFields,
) -> CrmCard | None:
    # A redirect could lead anywhere (another host, http): the configured URL is the endpoint.
    async with session.get(url, headers=headers, timeout=timeout, allow_redirects=False) as resp:
        if resp.status in (204, 404):
            return None  # how several CRMs say "no such contact"
        if resp.status != 200:
            log.warning("crm_lookup_failed status=%d", resp.status)
            return None
        raw = await resp.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            log.warning("crm_lookup_failed error=answer larger than %d bytes", MAX_BODY_BYTES)
            return None
    try:
        document = json.loads(raw.decode(resp.charset or "utf-8"))
    except (json.JSONDecodeError, LookupError) as exc:
        raise ValueError("the answer is not JSON") from exc
    return card_from_json(document, fields)

"""The JSON documents webhooks carry: one shape per event (``events.py`` lists the fields).

Every payload has the common fields (``event``, ``event_id``, ``tenant``, ``call_id``,
``caller_number``, ``caller_name``, ``did``, ``queue``, ``agent``, ``at``, ``at_ms``) and its
event's own; a value the event does not know is ``null``, never left out, so a receiver can
rely on the keys. Times are ISO 8601 in UTC with milliseconds (``at``, ``started_at``...) and
``at_ms`` in epoch milliseconds; durations are milliseconds (``wait_ms``, ``talk_ms``) except
``billsec`` (whole seconds, as the switch counts them).

Ids are derived, not random: ``event_id`` from the tenant and what the event is (its Stream
entry, or the call for ``ended``), the delivery id from the event and the receiver. The same
Stream entry read twice (a worker died before acknowledging it) gives the same ids again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from callcenter.crm.events import COMMON_FIELDS, EVENT_FIELDS, CrmEvent

__all__ = ["WebhookEvent", "build_event", "delivery_id", "event_id", "iso_ms"]

# Fixed for ever: changing it changes every id a receiver may have stored.
_NAMESPACE = uuid.UUID("6f1d2c3e-6a4b-5c8d-9e0f-a1b2c3d4e5f6")


def event_id(tenant: str, key: str) -> str:
    """The id of the event ``key`` names (a Stream entry id, "ended:<call>")."""
    return str(uuid.uuid5(_NAMESPACE, f"{tenant}/{key}"))


def delivery_id(event: str, url: str) -> str:
    """The id of an event's delivery to one receiver: the same across retries."""
    return str(uuid.uuid5(_NAMESPACE, f"{event}->{url}"))


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC (``2025-03-01T09:30:00.123Z``); None for none."""
    if not ms:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass(frozen=True)
class WebhookEvent:
    """An event ready to send: its name, id, tenant and the JSON body (the exact text signed)."""

    event: CrmEvent
    event_id: str
    tenant: str
    body: str

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


def build_event(
    event: CrmEvent, *, tenant: str, key: str, at_ms: int, fields: Mapping[str, Any]
) -> WebhookEvent:
    """The event's payload: the common fields, then the event's own, each from ``fields``
    (missing or "" is null). A field the event does not document is an error: the documented
    shape is the contract."""
    own = EVENT_FIELDS[event]
    extra = set(fields) - set(COMMON_FIELDS) - set(own)
    if extra:
        raise ValueError(f"{event.value} has no field(s) {', '.join(sorted(extra))}")
    ident = event_id(tenant, key)
    data: dict[str, Any] = {
        "event": event.value,
        "event_id": ident,
        "tenant": tenant,
        "at": iso_ms(at_ms),
        "at_ms": at_ms or None,
    }
    for name in (*COMMON_FIELDS, *own):
        if name not in data:
            value = fields.get(name)
            data[name] = None if value == "" else value
    ordered = {name: data[name] for name in (*COMMON_FIELDS, *own)}
    # Compact, UTF-8 (names in any script stay readable), keys in the documented order.
    body = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    return WebhookEvent(event, ident, tenant, body)

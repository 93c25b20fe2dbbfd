"""CRM integration of a tenant: the ``crm:`` configuration (``config.py``), signed webhooks of
call events (``payloads.py`` builds them, ``signing.py`` signs and checks them; the workers in
``workers/webhooks/`` send them), the contact lookup (``lookup.py``) and the screen-pop URL
(``screen_pop.py``). ``docs/crm.md`` is the receiver's reference."""

from callcenter.crm.config import CardFields, CrmConfig, Lookup, Webhook
from callcenter.crm.events import COMMON_FIELDS, EVENT_FIELDS, CrmEvent
from callcenter.crm.lookup import CrmCard, lookup_card
from callcenter.crm.payloads import WebhookEvent, build_event, delivery_id, event_id
from callcenter.crm.screen_pop import screen_pop_url
from callcenter.crm.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify,
)

__all__ = [
    "COMMON_FIELDS",
    "DELIVERY_HEADER",
    "EVENT_FIELDS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CardFields",
    "CrmCard",
    "CrmConfig",
    "CrmEvent",
    "Lookup",
    "Webhook",
    "WebhookEvent",
    "build_event",
    "delivery_id",
    "event_id",
    "lookup_card",
    "screen_pop_url",
    "sign",
    "verify",
]

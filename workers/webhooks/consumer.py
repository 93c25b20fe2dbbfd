"""Read a tenant's event Stream for its webhooks, queue the deliveries, then acknowledge.

The same pattern as the CDR ingest (``workers/ingest/consumer.py``): one run per tenant at a
time (a short Redis lock), as the one consumer ``webhooks`` of the group ``webhooks``; the
entries a killed run read but never acknowledged are still pending under that name and come
first in the next run. Such an entry gives the same events again with the same ids
(``callcenter/crm/payloads.py``), so a receiver sees at worst a duplicate it can recognise.

The group starts at the Stream's end (``$``) when it is created: turning webhooks on does not
send a CRM every call the Stream still holds.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import ResponseError

from callcenter.acd.keys import Keys
from callcenter.crm.config import CrmConfig
from callcenter.crm.payloads import WebhookEvent, delivery_id
from workers.webhooks.delivery import Delivery
from workers.webhooks.fold import ENDED_GRACE_MS, Fold

__all__ = ["CONSUMER", "GROUP", "Dispatch", "WebhookRun", "ensure_group", "run_webhooks"]

GROUP = "webhooks"
CONSUMER = "webhooks"
LOCK_MS = 30_000
COUNT = 500

log = logging.getLogger("callcenter.workers.webhooks")

Dispatch = Callable[[Delivery], None]

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass
class WebhookRun:
    tenant: str
    busy: bool = False  # another run of this tenant was under way
    entries: int = 0
    events: int = 0
    deliveries: int = 0


def ensure_group(redis: Redis, tenant: str) -> None:
    """The tenant's ``webhooks`` group, created at the Stream's end if it does not exist."""
    try:
        redis.xgroup_create(Keys(tenant).events, GROUP, id="$", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _decode(flat: dict[bytes, bytes] | None) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (flat or {}).items()}


def _dispatch(events: list[WebhookEvent], crm: CrmConfig, dispatch: Dispatch) -> int:
    sent = 0
    for event in events:
        for hook in crm.webhooks:
            if hook.wants(event.event):
                ident = delivery_id(event.event_id, hook.url)
                dispatch(Delivery(event.tenant, hook.url, event.event.value, ident, event.body))
                sent += 1
    return sent


def run_webhooks(
    redis: Redis,
    tenant: str,
    crm: CrmConfig,
    dispatch: Dispatch,
    *,
    time_budget: float = 5.0,
    count: int = COUNT,
    lock_ms: int = LOCK_MS,
    grace_ms: int = ENDED_GRACE_MS,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> WebhookRun:
    """Turn what the Stream holds into deliveries (``dispatch`` queues each one), batch by
    batch for up to ``time_budget`` seconds; then the calls whose ``ended`` waited long enough."""
    keys = Keys(tenant)
    stream, lock = keys.events, f"{keys.base}:webhooks:lock"
    result = WebhookRun(tenant)
    token = uuid.uuid4().hex
    if not redis.set(lock, token, nx=True, px=lock_ms):
        result.busy = True
        return result
    try:
        ensure_group(redis, tenant)
        fold = Fold(redis, tenant, crm.events, grace_ms)
        deadline = time.monotonic() + time_budget
        read_from = "0"  # what a killed run read and never acknowledged comes first
        caught_up = False
        while True:
            reply = redis.xreadgroup(GROUP, CONSUMER, {stream: read_from}, count=count)
            entries = reply[0][1] if reply else []
            if not entries:
                if read_from == "0":
                    read_from = ">"
                    continue
                caught_up = True
                break
            # An entry without fields is a pending one the Stream's cap trimmed away.
            fold.add((sid.decode(), _decode(f)) for sid, f in entries if f)
            events = fold.take()
            # Queued first, acknowledged after: a crash in between sends them again.
            result.deliveries += _dispatch(events, crm, dispatch)
            fold.sent()
            redis.xack(stream, GROUP, *(sid for sid, _ in entries))
            redis.eval(_RENEW, 1, lock, token, lock_ms)
            result.entries += len(entries)
            result.events += len(events)
            if time.monotonic() >= deadline:
                break
        if caught_up:
            # Only once every entry is read: a call's final state may be among the rest.
            fold.due(now_ms())
            events = fold.take()
            result.deliveries += _dispatch(events, crm, dispatch)
            fold.sent()
            result.events += len(events)
    finally:
        redis.eval(_RELEASE, 1, lock, token)
    if result.events:
        log.info("webhooks_queued tenant=%s entries=%d events=%d deliveries=%d", tenant,
                 result.entries, result.events, result.deliveries)  # fmt: skip
    return result

"""Celery tasks of the CRM webhooks, all on the queue ``webhooks``: the beat runs
``cc.webhooks_all`` every ``ingest_interval``; it starts one ``cc.webhooks_tenant`` per tenant
that has webhooks in the center file, which queues one ``cc.webhook_deliver`` per event and
receiver. A delivery is retried by Celery with backoff (``delivery.backoff``), up to the
webhook's ``max_attempts``."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from celery import Task, current_app, shared_task
from redis.exceptions import RedisError

from callcenter.center.tenant import Center
from callcenter.crm.config import CrmConfig, Webhook
from workers.context import context
from workers.webhooks.consumer import run_webhooks
from workers.webhooks.delivery import Delivery, Outcome, backoff, post

__all__ = [
    "QUEUE",
    "deliver",
    "queue_delivery",
    "webhook_tenants",
    "webhooks_all",
    "webhooks_tenant",
]

QUEUE = "webhooks"

log = logging.getLogger("callcenter.workers.webhooks")


def _crm(center: Center | None, tenant: str) -> CrmConfig | None:
    if center is None:
        return None
    found = next((t for t in center.tenants if t.name == tenant), None)
    return found.crm if found is not None else None


def webhook_tenants(center: Center | None) -> list[str]:
    """The tenants with at least one webhook: the others' Streams are not read at all."""
    if center is None:
        return []
    return sorted(t.name for t in center.tenants if t.crm is not None and t.crm.webhooks)


def queue_delivery(delivery: Delivery) -> None:
    current_app.send_task("cc.webhook_deliver", args=delivery.args(), queue=QUEUE)


@shared_task(name="cc.webhooks_all")
def webhooks_all() -> list[str]:
    names = webhook_tenants(context().center())
    for tenant in names:
        webhooks_tenant.delay(tenant)
    return names


@shared_task(name="cc.webhooks_tenant")
def webhooks_tenant(tenant: str) -> dict[str, int | bool]:
    """Errors are logged and left for the next run: what was not acknowledged is read again."""
    ctx = context()
    crm = _crm(ctx.center(), tenant)
    if crm is None or not crm.webhooks:
        return {"entries": 0}
    try:
        result = run_webhooks(ctx.redis, tenant, crm, queue_delivery)
    except (RedisError, OSError) as exc:
        log.warning("webhooks_failed tenant=%s error=%s", tenant, exc)
        return {"failed": True}
    return {"entries": result.entries, "deliveries": result.deliveries, "busy": result.busy}


def _shown(url: str) -> str:
    """The URL for a log line: without its query (an API key may be in it, as Zoho's are)."""
    return urlsplit(url)._replace(query="", fragment="").geturl()


def _webhook(tenant: str, url: str) -> Webhook | None:
    crm = _crm(context().center(), tenant)
    return crm.webhook(url) if crm is not None else None


@shared_task(name="cc.webhook_deliver", bind=True, max_retries=None)
def deliver(
    self: Task[Any, Any], tenant: str, url: str, event: str, delivery_id: str, body: str
) -> dict[str, Any]:
    """One attempt; another one later (``self.retry``, same arguments, so the same delivery
    id) while the receiver may still take it."""
    delivery = Delivery(tenant, url, event, delivery_id, body)
    webhook = _webhook(tenant, url)
    where = f"tenant={tenant} event={event} delivery={delivery_id} url={_shown(url)}"
    if webhook is None:
        log.warning("webhook_dropped %s reason=no longer in the center file", where)
        return {"outcome": "dropped"}
    number = self.request.retries + 1
    attempt = post(delivery, webhook)
    if attempt.outcome is Outcome.DELIVERED:
        log.info("webhook_delivered %s status=%s attempt=%d", where, attempt.status, number)
        return {"outcome": attempt.outcome.value, "attempts": number}
    if attempt.outcome is Outcome.RETRY and number < webhook.max_attempts:
        delay = backoff(number, webhook, attempt.retry_after)
        log.info("webhook_retry %s attempt=%d error=%s in=%.1fs", where, number,
                 attempt.detail, delay)  # fmt: skip
        raise self.retry(countdown=delay)
    log.warning("webhook_failed %s attempts=%d error=%s", where, number, attempt.detail)
    return {"outcome": Outcome.FAILED.value, "attempts": number, "error": attempt.detail}

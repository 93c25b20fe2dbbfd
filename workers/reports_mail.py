"""The scheduled report e-mails: one beat entry per tenant with a ``reports:`` section in the
center file runs ``cc.reports_mail_tenant`` every hour (at :05 UTC); at the tenant's local
``hour`` it sends the daily summary (yesterday) and on Mondays the weekly one (the last week).

Each summary goes once: a Redis key per tenant, kind and local day is taken before sending (a
beat that fires twice, or two workers, send one e-mail); a failed send gives the key back and
the task is retried a few times.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import Task, shared_task
from celery.schedules import crontab

from callcenter.center.errors import CenterError
from callcenter.reports.mail import MailError, due, period_of, send_summary
from callcenter.settings import Settings
from workers.context import WorkerContext, context

__all__ = ["beat_entries", "mail_tenant", "reports_mail_tenant"]

log = logging.getLogger("callcenter.workers.reports_mail")

TASK = "cc.reports_mail_tenant"
_SENT_KEY = "cc:reports-mail:{tenant}:{kind}:{period}"
_SENT_SECONDS = 8 * 24 * 3600
RETRY_SECONDS = 300
MAX_RETRIES = 6


def beat_entries(settings: Settings) -> dict[str, dict[str, Any]]:
    """A beat entry per tenant of the center file that asks for report e-mails. A center file
    that cannot be read gives none (the worker still starts; the file's problem is logged)."""
    path = settings.worker.center
    if path is None:
        return {}
    from callcenter.center.loader import load_center

    try:
        center = load_center(path)
    except (CenterError, OSError) as exc:
        log.warning("reports_mail_no_schedule center=%s error=%s", path, exc)
        return {}
    return {
        f"reports-mail-{tenant.name}": {
            "task": TASK,
            "schedule": crontab(minute=5),
            "args": (tenant.name,),
        }
        for tenant in center.tenants
        if tenant.reports is not None
    }


def mail_tenant(
    ctx: WorkerContext, tenant: str, now: datetime, kinds: list[str] | None = None
) -> list[str]:
    """Send the tenant's summaries due at ``now`` (or ``kinds``); the kinds sent."""
    center = ctx.center()
    config = None
    if center is not None:
        config = next((t.reports for t in center.tenants if t.name == tenant), None)
    if config is None:
        log.info("reports_mail_skipped tenant=%s reason=no_reports_section", tenant)
        return []
    sent: list[str] = []
    for kind in kinds if kinds is not None else due(config, now):
        start, end = period_of(kind, now, config.tz)
        key = _SENT_KEY.format(tenant=tenant, kind=kind, period=f"{start}..{end}")
        if not ctx.redis.set(key, now.isoformat(), nx=True, ex=_SENT_SECONDS):
            log.info("reports_mail_skipped tenant=%s kind=%s reason=already_sent", tenant, kind)
            continue
        try:
            send_summary(ctx.engine, ctx.settings.mail, tenant, config, kind, now, center)
        except BaseException:
            ctx.redis.delete(key)
            raise
        sent.append(kind)
    return sent


@shared_task(name=TASK, bind=True, max_retries=MAX_RETRIES)
def reports_mail_tenant(
    self: Task[Any, Any], tenant: str, kinds: list[str] | None = None, at: str | None = None
) -> list[str]:
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    ctx = context()
    try:
        return mail_tenant(ctx, tenant, now, kinds)
    except MailError as exc:
        log.warning("reports_mail_failed tenant=%s error=%s", tenant, exc)
        pending = kinds if kinds is not None else _due_kinds(ctx, tenant, now)
        raise self.retry(
            args=(tenant, pending, now.isoformat()), countdown=RETRY_SECONDS, exc=exc
        ) from exc


def _due_kinds(ctx: WorkerContext, tenant: str, now: datetime) -> list[str]:
    center = ctx.center()
    config = next((t.reports for t in center.tenants if t.name == tenant), None) if center else None
    return due(config, now) if config is not None else []

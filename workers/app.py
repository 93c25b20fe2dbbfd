"""The Celery app: Redis as the broker, the tasks of every worker module, the beat schedule.

``callcenter worker`` starts it (a worker with the beat embedded); ``celery -A workers.app``
works too. Tasks acknowledge late and are re-queued when a worker dies under them, so a killed
worker loses nothing: every task is idempotent.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import celeryd_after_setup

from callcenter.settings import Settings, load_settings
from workers.reports_mail import beat_entries as reports_mail_entries

__all__ = ["QUEUES", "TASK_MODULES", "app", "make_app"]

QUEUES = ("cdr", "callcenter", "webhooks")

TASK_MODULES = [
    "workers.ingest.tasks",
    "workers.recordings.tasks",
    "workers.quality",
    "workers.retention",
    "workers.webhooks.tasks",
    "workers.reports_mail",
    "workers.reports_rollups",
]

_WEBHOOK_TASKS = ("cc.webhooks_all", "cc.webhooks_tenant", "cc.webhook_deliver")


def make_app(settings: Settings) -> Celery:
    cfg = settings.worker
    app = Celery("callcenter", broker=cfg.broker_url or settings.redis_url, include=TASK_MODULES)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="callcenter",
        # The ingest has a queue of its own: a center can give it workers that recordings and
        # scores never keep busy (callcenter worker --queues cdr).
        # CRM webhooks too: a slow receiver never holds up the ingest's queue.
        task_routes={
            "cc.ingest_all": {"queue": "cdr"},
            "cc.ingest_tenant": {"queue": "cdr"},
            **{name: {"queue": "webhooks"} for name in _WEBHOOK_TASKS},
        },
        broker_connection_retry_on_startup=True,
        # A task a killed worker had taken comes back to another after this long.
        broker_transport_options={"visibility_timeout": 300},
        timezone="UTC",
        beat_schedule={
            "ingest-events": {"task": "cc.ingest_all", "schedule": cfg.ingest_interval},
            # The webhooks read the same Stream as often (their own consumer group).
            "webhook-events": {"task": "cc.webhooks_all", "schedule": cfg.ingest_interval},
            # The report roll-ups of the calls ingested since (coalesced per tenant).
            "report-rollups": {"task": "cc.refresh_rollups_all", "schedule": 5.0},
            "recordings-retry": {"task": "cc.retry_recordings", "schedule": 300.0},
            "retention": {"task": "cc.purge_expired", "schedule": crontab(hour=3, minute=30)},
            # Each tenant's report e-mails (those with a reports: section in the center file).
            **reports_mail_entries(settings),
        },
    )
    return app


@celeryd_after_setup.connect
def _all_purpose_takes_webhooks(sender: str, instance: Any, **kwargs: Any) -> None:
    """A worker serving both ``cdr`` and ``callcenter`` (``callcenter worker``'s default) also
    serves ``webhooks``, so that webhooks go out without a worker of their own; a worker given
    other queues serves exactly those (``--queues webhooks`` for a dedicated one)."""
    queues = instance.app.amqp.queues
    selected = set(queues.consume_from)
    if {"cdr", "callcenter"} <= selected and "webhooks" not in selected:
        # As any process sending to it names it (exchange "webhooks"), not the default exchange
        # that select_add("webhooks") would bind it to: the Redis transport routes by binding.
        queues.select_add(queues["webhooks"])


app = make_app(load_settings())

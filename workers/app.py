"""The Celery app: Redis as the broker, the tasks of every worker module, the beat schedule.

``callcenter worker`` starts it (a worker with the beat embedded); ``celery -A workers.app``
works too. Tasks acknowledge late and are re-queued when a worker dies under them, so a killed
worker loses nothing: every task is idempotent.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from callcenter.settings import Settings, load_settings

__all__ = ["QUEUES", "TASK_MODULES", "app", "make_app"]

QUEUES = ("cdr", "callcenter")

TASK_MODULES = [
    "workers.ingest.tasks",
    "workers.recordings.tasks",
    "workers.quality",
    "workers.retention",
]


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
        task_routes={"cc.ingest_all": {"queue": "cdr"}, "cc.ingest_tenant": {"queue": "cdr"}},
        broker_connection_retry_on_startup=True,
        # A task a killed worker had taken comes back to another after this long.
        broker_transport_options={"visibility_timeout": 300},
        timezone="UTC",
        beat_schedule={
            "ingest-events": {"task": "cc.ingest_all", "schedule": cfg.ingest_interval},
            "recordings-retry": {"task": "cc.retry_recordings", "schedule": 300.0},
            "retention": {"task": "cc.purge_expired", "schedule": crontab(hour=3, minute=30)},
        },
    )
    return app


app = make_app(load_settings())

"""What a worker process shares between its tasks: settings, the database engine, a Redis
client and the center file. Built on first use in each process (never inherited over a fork)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis import Redis
from sqlalchemy import Engine

from callcenter.db.engine import make_engine
from callcenter.settings import Settings, load_settings

if TYPE_CHECKING:
    from callcenter.center.tenant import Center
    from callcenter.center.watch import CenterWatch

__all__ = ["WorkerContext", "context", "reset_context", "use_settings"]


@dataclass
class WorkerContext:
    settings: Settings
    engine: Engine
    redis: Redis
    _center: CenterWatch | None = field(default=None, repr=False)

    def center(self) -> Center | None:
        """The center file of the settings (``[worker] center``), as it is now (read again
        when one of its files changed: rates, quality rules, retention and webhooks count
        without a restart); None without."""
        path = self.settings.worker.center
        if path is None:
            return None
        if self._center is None:
            from callcenter.center.watch import CenterWatch

            self._center = CenterWatch(path)
        return self._center.current()


_lock = threading.Lock()
_context: WorkerContext | None = None
_pid = 0
_settings: Settings | None = None


def use_settings(settings: Settings) -> None:
    """The settings the tasks of this process use (``callcenter worker --config``), instead of
    reading the environment again."""
    global _settings
    _settings = settings


def context(settings: Settings | None = None) -> WorkerContext:
    global _context, _pid
    with _lock:
        if _context is None or _pid != os.getpid():
            s = settings or _settings or load_settings()
            _context = WorkerContext(
                settings=s,
                engine=make_engine(s.database_url),
                redis=Redis.from_url(s.redis_url, socket_timeout=10, socket_connect_timeout=5),
            )
            _pid = os.getpid()
        return _context


def reset_context(settings: Settings | None = None) -> WorkerContext:
    """Forget the cached context (tests point the workers at their own servers)."""
    global _context
    with _lock:
        if _context is not None and _pid == os.getpid():
            _context.engine.dispose()
            _context.redis.close()
        _context = None
    return context(settings)

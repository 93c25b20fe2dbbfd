"""``CenterWatch``: the center file as it is now, for processes that run for weeks.

A worker prices calls with the rates files, scores them with the queues' quality rules, purges
by the tenants' retention and calls their webhooks: an edit of any of these must count without
a restart. ``current()`` reads the center again when one of its files changed (the YAML files,
a folder's list of them, every rates file a route names: their size and modification time), and
otherwise returns what it read before, at the cost of a few ``stat`` calls.

A file edited into an invalid state changes nothing: the last good center stays in use and the
problems are logged once (``center_reload_failed``), until the files change again. Only the
first read has nothing to fall back on: its ``CenterError`` is raised.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from callcenter.center.errors import CenterError
from callcenter.center.loader import center_files, load_center
from callcenter.center.tenant import Center

__all__ = ["CenterWatch"]

log = logging.getLogger("callcenter.center")

_Stamp = tuple[tuple[str, int, int], ...]


def _stamp(paths: list[Path]) -> _Stamp:
    out = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            out.append((str(path), -1, -1))  # gone, or unreadable: a change too
            continue
        out.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(out)


def _rates_files(center: Center) -> list[Path]:
    return sorted(
        {
            table.source
            for tenant in center.tenants
            for route in tenant.outbound_routes
            for table in route.rates.values()
        }
    )


class CenterWatch:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._center: Center | None = None
        self._rates: list[Path] = []
        self._stamp: _Stamp = ()
        self._lock = threading.Lock()
        self.reads = 0  # successful reads, for the tests and the log

    def _sources(self) -> list[Path]:
        try:
            files = center_files(self.path)
        except CenterError:
            files = [self.path]
        return [*files, *self._rates]

    def current(self) -> Center:
        """The center; read again if one of its files changed since the last read."""
        with self._lock:
            stamp = _stamp(self._sources())
            if self._center is not None and stamp == self._stamp:
                return self._center
            try:
                center = load_center(self.path)
            except CenterError as exc:
                if self._center is None:
                    raise
                self._stamp = stamp  # logged once; read again when the files change again
                log.error("center_reload_failed path=%s problems=\n%s", self.path, exc)
                return self._center
            first = self._center is None
            self._center, self._rates = center, _rates_files(center)
            self._stamp = _stamp(self._sources())
            self.reads += 1
            if not first:
                log.warning("center_reloaded path=%s reason=changed", self.path)
            return center

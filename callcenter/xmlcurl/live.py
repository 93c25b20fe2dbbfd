"""The center as the endpoint serves it: rendered once at start, again on ``reload()``.

A reload that fails (the center file or a template broken while the endpoint runs) changes
nothing: the previous render goes on being served and every problem is logged. No web
framework here: ``server.py`` puts this behind HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from callcenter.center import CenterError, load_center
from callcenter.dialplan.render import RenderError, render_center
from callcenter.xmlcurl.documents import NOT_FOUND, RenderedConfig
from callcenter.xmlcurl.fetch import FetchError, parse_fetch

__all__ = ["MAX_ANSWER_BYTES", "LiveConfig", "render_config", "summary"]

log = logging.getLogger("callcenter.xmlcurl")

# mod_xml_curl drops an answer larger than this (XML_CURL_MAX_BYTES) and uses its files.
MAX_ANSWER_BYTES = 1024 * 1024


def render_config(center: Path, templates: Path | None = None) -> RenderedConfig:
    """Load the center, render it as ``callcenter dialplan push`` would, index the files.
    Raises ``CenterError`` or ``RenderError``, both with ``problems``."""
    files = render_center(load_center(center), templates)
    return RenderedConfig.from_files(files)


class LiveConfig:
    """The current render of one center file, and the answer to a fetch from it."""

    def __init__(self, center: Path, templates: Path | None, config: RenderedConfig) -> None:
        self.center = center
        self.templates = templates
        self._config = config
        self._reloading = asyncio.Lock()

    @classmethod
    def load(cls, center: Path, templates: Path | None = None) -> LiveConfig:
        """The first render; ``CenterError`` / ``RenderError`` if there is nothing to serve."""
        return cls(center, templates, render_config(center, templates))

    @property
    def config(self) -> RenderedConfig:
        return self._config

    async def reload(self) -> bool:
        """Render the center again (in a thread: the loop keeps answering meanwhile). True
        when the new render is served; False when it failed and the previous one stays."""
        async with self._reloading:
            try:
                config = await asyncio.to_thread(render_config, self.center, self.templates)
            except (CenterError, RenderError) as exc:
                log.error(
                    "reload failed, still serving the previous render: center=%s problems=%d",
                    self.center,
                    len(exc.problems),
                )
                for problem in exc.problems:
                    log.error("reload problem: %s", problem)
                return False
            self._config = config
            log.info("reloaded center=%s %s", self.center, summary(config))
            return True

    def answer(self, body: bytes) -> str:
        """The document for one mod_xml_curl POST body: the piece asked for, or FreeSWITCH's
        "not found" (it then reads its own files). Never raises: FreeSWITCH waits on it."""
        try:
            request = parse_fetch(body)
            found = self._config.lookup(request)
        except FetchError as exc:
            log.warning("malformed fetch, answered not found: %s", exc)
            return NOT_FOUND
        except Exception:
            log.exception("fetch failed, answered not found")
            return NOT_FOUND
        if found is None:
            log.debug("not found: %s", request.describe())
            return NOT_FOUND
        if len(found.encode("utf-8")) > MAX_ANSWER_BYTES:
            log.warning(
                "answer over mod_xml_curl's %d bytes, FreeSWITCH will drop it: %s",
                MAX_ANSWER_BYTES,
                request.describe(),
            )
        log.debug("served: %s", request.describe())
        return found


def summary(config: RenderedConfig) -> str:
    """What a render holds, for a log line."""
    return (
        f"contexts={len(config.contexts)} domains={len(config.domains)} "
        f"ivr_menus={len(config.menus)}"
    )

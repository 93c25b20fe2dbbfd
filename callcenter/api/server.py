"""Start and stop the HTTP API beside the controller, on the same event loop."""

from __future__ import annotations

import logging

from aiohttp import web

from callcenter.api.app import make_app
from callcenter.api.context import ApiContext

__all__ = ["ApiServer"]

log = logging.getLogger("callcenter.api")


class ApiServer:
    def __init__(self, ctx: ApiContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.app = make_app(ctx)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        if self.port == 0:  # an ephemeral port (tests): say which one was taken
            server = site._server
            assert server is not None
            self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        log.info("http_listening url=%s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

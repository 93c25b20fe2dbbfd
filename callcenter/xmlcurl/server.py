"""The HTTP side: ``POST /freeswitch/xml`` (the ``gateway-url`` of
``freeswitch_conf/autoload_configs/xml_curl.conf.xml``) and ``GET /healthz``.

- HTTP basic auth (the binding's ``gateway-credentials``, ``auth-scheme`` basic): missing or
  wrong credentials get 401 (FreeSWITCH then logs the HTTP error and reads its own files).
  ``/healthz`` answers without them: it tells nothing but "up".
- Every POST the endpoint can read gets 200: the piece asked for, or the "not found" document,
  also for a malformed request (logged), so that FreeSWITCH always falls back to its files and
  never waits.
- A body over ``MAX_REQUEST_BYTES`` gets 413 (a lookup is a few kilobytes of channel variables).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web

from callcenter.xmlcurl.live import LiveConfig, summary

__all__ = ["FETCH_PATH", "HEALTH_PATH", "MAX_REQUEST_BYTES", "XmlCurlServer", "make_app", "serve"]

log = logging.getLogger("callcenter.xmlcurl")

FETCH_PATH = "/freeswitch/xml"
HEALTH_PATH = "/healthz"
MAX_REQUEST_BYTES = 512 * 1024
_REALM = 'Basic realm="callcenter xml_curl"'

_LIVE = web.AppKey("live", LiveConfig)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(
    live: LiveConfig, username: str, password: str, max_request_bytes: int = MAX_REQUEST_BYTES
) -> web.Application:
    """The endpoint's routes behind basic auth for ``username``/``password``."""
    expected = f"{username}:{password}".encode()

    @web.middleware
    async def basic_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == HEALTH_PATH:
            return await handler(request)
        if not _authorized(request.headers.get("Authorization", ""), expected):
            log.warning(
                "refused: no or wrong credentials from=%s path=%s", request.remote, request.path
            )
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": _REALM})
        return await handler(request)

    app = web.Application(middlewares=[basic_auth], client_max_size=max_request_bytes)
    app[_LIVE] = live
    app.router.add_post(FETCH_PATH, _fetch)
    app.router.add_get(HEALTH_PATH, _health, allow_head=False)
    return app


def _authorized(header: str, expected: bytes) -> bool:
    """Whether ``Authorization: Basic base64(user:password)`` holds ``expected`` (curl sends
    the binding's ``gateway-credentials`` so), compared in constant time."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected)


async def _fetch(request: web.Request) -> web.Response:
    body = await request.read()  # 413 past client_max_size
    text = request.app[_LIVE].answer(body)
    return web.Response(text=text, content_type="text/xml", charset="utf-8")


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


class XmlCurlServer:
    """The endpoint listening on one address (port 0: any free port, see ``port``)."""

    def __init__(
        self,
        live: LiveConfig,
        username: str,
        password: str,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.live = live
        self._runner = web.AppRunner(
            make_app(live, username, password, max_request_bytes), access_log=None
        )
        self._site: web.TCPSite | None = None
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        try:
            await self._site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        address = self._runner.addresses[0]
        self.host, self.port = str(address[0]), int(address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{FETCH_PATH}"

    async def stop(self) -> None:
        await self._runner.cleanup()


async def serve(live: LiveConfig, host: str, port: int, username: str, password: str) -> None:
    """Serve until cancelled; SIGHUP renders the center again (``LiveConfig.reload``)."""
    server = XmlCurlServer(live, username, password)
    await server.start(host, port)
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[bool]] = set()

    def on_sighup() -> None:
        log.info("SIGHUP: reloading center=%s", live.center)
        task = loop.create_task(live.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    hangup = False
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, on_sighup)
        hangup = True
    log.info(
        "serving url=%s center=%s %s (SIGHUP reloads)",
        server.url,
        live.center,
        summary(live.config),
    )
    try:
        await asyncio.Event().wait()
    finally:
        if hangup:
            loop.remove_signal_handler(signal.SIGHUP)
        await server.stop()

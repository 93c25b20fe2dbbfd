"""One Event Socket connection: the reader loop, reply matching and event dispatch.

Shared by the inbound client and the outbound-socket server. All I/O sits in ``_read_loop`` and
``send``; everything else is bookkeeping that tests can drive with a real socket pair.

Replies come in command order on a connection, with events possibly in between (PROTOCOL.md
§9.6): a FIFO of futures receives ``command/reply`` and ``api/response`` frames in order, events
go to a queue drained by a separate dispatcher task, so a slow handler never stops the reading
(FreeSWITCH drops a listener that falls 500 events behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from enum import IntEnum

from callcenter.esl.commands import build_command
from callcenter.esl.errors import EslConnectionError, EslError, EslTimeoutError
from callcenter.esl.events import Event
from callcenter.esl.frames import ContentType, Frame
from callcenter.esl.parser import FrameParser

__all__ = ["ConnectionState", "EslConnection", "EventHandler", "FrameHandler"]

log = logging.getLogger("callcenter.esl")

EventHandler = Callable[[Event], Awaitable[None] | None]
FrameHandler = Callable[[Frame], None]

_READ_SIZE = 256 * 1024


class ConnectionState(IntEnum):
    NEW = 0
    CONNECTING = 1
    AUTHENTICATING = 2
    READY = 3
    RECONNECTING = 4
    CLOSED = 5

    @property
    def is_ready(self) -> bool:
        return self is ConnectionState.READY

    @property
    def is_closed(self) -> bool:
        return self is ConnectionState.CLOSED


class EslConnection:
    """Frames in, replies matched to commands in order, events handed to ``on_event``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        on_event: Callable[[Event], Awaitable[None]],
        on_frame: FrameHandler | None = None,
        parser: FrameParser | None = None,
        name: str = "esl",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._parser = parser or FrameParser()
        self._on_event = on_event
        self._on_frame = on_frame
        self._pending: deque[tuple[str, asyncio.Future[Frame]]] = deque()
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._closed = asyncio.get_running_loop().create_future()
        self._reader_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self.name = name
        self.disconnect_notice: Frame | None = None
        self.close_reason: EslError | None = None
        self.lingering = False

    def start(self) -> None:
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"{self.name}-reader")
        self._dispatch_task = asyncio.create_task(
            self._dispatch_loop(), name=f"{self.name}-dispatch"
        )

    # -- sending ------------------------------------------------------------------------------

    def expect_reply(self, label: str) -> asyncio.Future[Frame]:
        """Register a waiter for the next reply frame (used for the greeting-less connect)."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._pending.append((label, fut))
        return fut

    async def send(
        self,
        line: str,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        *,
        timeout: float | None = None,
    ) -> Frame:
        """Send one command and return its reply frame (command/reply or api/response)."""
        data = build_command(line, headers or (), body)
        return await self.send_raw(data, line, timeout=timeout)

    async def send_raw(self, data: bytes, label: str, *, timeout: float | None = None) -> Frame:
        if self.is_closed:
            raise EslConnectionError(f"{self.name}: connection is closed, cannot send {label!r}")
        # Write and enqueue with no await in between, so the FIFO order is the wire order.
        fut = self.expect_reply(label)
        try:
            self._writer.write(data)
        except (OSError, RuntimeError) as exc:
            raise EslConnectionError(f"{self.name}: write failed: {exc}") from exc
        try:
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            raise EslConnectionError(f"{self.name}: write failed: {exc}") from exc
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError as exc:
            # The reply may still come: the future stays in the FIFO (cancelled) so that frame is
            # consumed in its place and later replies still match their commands.
            fut.cancel()
            raise EslTimeoutError(f"{self.name}: no reply to {label!r} within {timeout} s") from exc

    # -- state --------------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def close(self) -> None:
        if self._reader_task is not None and not self._reader_task.done():
            self._reader_task.cancel()
        self._finish(EslConnectionError(f"{self.name}: closed by us"))
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.close()
        if self._dispatch_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._dispatch_task, 5)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            if self._reader_task is not None:
                await self._reader_task

    # -- reading ------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason: EslError = EslConnectionError(f"{self.name}: connection closed by the switch")
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    break
                for frame in self._parser.feed(data):
                    self._handle(frame)
        except EslError as exc:
            log.error("esl_protocol_error conn=%s error=%s", self.name, exc)
            reason = exc
        except (OSError, asyncio.IncompleteReadError) as exc:
            reason = EslConnectionError(f"{self.name}: connection lost: {exc}")
        except asyncio.CancelledError:
            reason = EslConnectionError(f"{self.name}: closed by us")
        finally:
            self._finish(reason)
            with contextlib.suppress(OSError, RuntimeError):
                self._writer.close()

    def _handle(self, frame: Frame) -> None:
        ctype = frame.content_type
        if ctype in ContentType.EVENTS:
            self._events.put_nowait(Event.from_frame(frame))
            return
        if ctype in (ContentType.COMMAND_REPLY, ContentType.API_RESPONSE):
            self._resolve(frame)
            return
        if ctype == ContentType.DISCONNECT_NOTICE:
            if frame.headers.get("Content-Disposition") == "linger":
                self.lingering = True
            else:
                self.disconnect_notice = frame
        if ctype == ContentType.RUDE_REJECTION:
            self.disconnect_notice = frame
        if self._on_frame is not None:
            self._on_frame(frame)

    def _resolve(self, frame: Frame) -> None:
        while self._pending:
            label, fut = self._pending.popleft()
            if not fut.done():
                fut.set_result(frame)
                return
            log.debug("esl_late_reply conn=%s command=%r dropped", self.name, label)
            return
        log.warning("esl_unexpected_reply conn=%s reply=%r", self.name, frame.reply_text)

    def _finish(self, reason: EslError) -> None:
        if self._closed.done():
            return
        self.close_reason = reason
        self._closed.set_result(None)
        while self._pending:
            _, fut = self._pending.popleft()
            if not fut.done():
                fut.set_exception(reason)
                # Mark retrieved: a caller that gave up on a cancelled wait must not log noise.
                fut.exception()
        self._events.put_nowait(None)

    async def _dispatch_loop(self) -> None:
        while True:
            event = await self._events.get()
            if event is None:
                return
            try:
                await self._on_event(event)
            except Exception:  # a broken handler must not stop event delivery
                log.exception("esl_handler_failed conn=%s event=%s", self.name, event.name)

    @property
    def backlog(self) -> int:
        """Events received but not yet dispatched to handlers."""
        return self._events.qsize()

"""The asyncio outbound-socket server: FreeSWITCH's ``socket`` dialplan app connects to us.

    async def handle(session: OutboundSession) -> None:
        await session.myevents()
        await session.linger()
        await session.execute("answer")
        await session.execute("playback", "ivr/welcome.wav")

    server = OutboundServer(handle, "127.0.0.1", 8084)
    await server.start()

There is no greeting and no auth in outbound mode; the first command must be ``connect``, whose
reply carries the whole channel data (PROTOCOL.md §5). The handler runs once per call; when it
returns, the connection is closed (which lets the channel continue its dialplan or end).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from collections.abc import Awaitable, Callable

from callcenter.esl.commands import check_value, sendmsg_execute, sendmsg_hangup
from callcenter.esl.connection import EslConnection
from callcenter.esl.errors import EslCommandError, EslConnectionError, EslError
from callcenter.esl.events import Event
from callcenter.esl.frames import Frame
from callcenter.esl.handlers import EventRouter, Handler

__all__ = ["OutboundServer", "OutboundSession", "SessionHandler"]

log = logging.getLogger("callcenter.esl")

SessionHandler = Callable[["OutboundSession"], Awaitable[None]]


class OutboundSession:
    """One call that the switch handed to us over an outbound socket."""

    def __init__(self, conn: EslConnection, router: EventRouter) -> None:
        self._conn = conn
        self.router = router
        self.channel_data: Event = Event({})
        self._hangup = asyncio.Event()
        router.on("CHANNEL_HANGUP", self._mark_hangup)

    def _mark_hangup(self, event: Event) -> None:
        if event.unique_id == self.uuid:
            self._hangup.set()

    @property
    def uuid(self) -> str:
        return (
            self.channel_data.get("Unique-ID") or self.channel_data.get("Channel-Unique-ID") or ""
        )

    def variable(self, name: str) -> str | None:
        """A channel variable as it was when the call reached us (``connect`` reply)."""
        return self.channel_data.variable(name)

    @property
    def is_connected(self) -> bool:
        return not self._conn.is_closed

    @property
    def lingering(self) -> bool:
        return self._conn.lingering

    def __repr__(self) -> str:
        state = "connected" if self.is_connected else "closed"
        return f"<OutboundSession {self.uuid} [{state}]>"

    async def _connect(self, timeout: float) -> None:
        reply = await self._conn.send("connect", timeout=timeout)
        if not reply.encoded:
            raise EslError(f"unexpected reply to connect: {reply.reply_text!r}")
        self.channel_data = Event.from_frame(reply)

    async def send(self, line: str, headers: dict[str, str] | None = None) -> Frame:
        return await self._conn.send(line, headers)

    async def _ok(self, line: str) -> Frame:
        reply = await self._conn.send(line)
        if reply.reply_text.startswith("-"):
            raise EslCommandError(line, reply.reply_text)
        return reply

    async def myevents(self, fmt: str = "plain") -> Frame:
        if fmt not in ("plain", "json", "xml"):
            raise ValueError(f"event format must be plain, json or xml, not {fmt!r}")
        return await self._ok(f"myevents {fmt}")

    async def linger(self, seconds: int | None = None) -> Frame:
        """Keep the socket after hangup so the last events (HANGUP_COMPLETE) still arrive."""
        return await self._ok("linger" if seconds is None else f"linger {int(seconds)}")

    async def nolinger(self) -> Frame:
        return await self._ok("nolinger")

    async def getvar(self, name: str) -> str | None:
        """Current value of a channel variable; None when unset (the switch says -ERR)."""
        reply = await self._conn.send(f"getvar {check_value('variable', name)}")
        text = reply.reply_text
        return None if text.startswith("-ERR") else text

    async def api(self, command: str) -> str:
        """``api`` works only if the dialplan used ``socket ... full``."""
        frame = await self._conn.send(f"api {check_value('api command', command)}")
        return frame.text

    async def execute(
        self,
        app: str,
        arg: str | None = None,
        *,
        event_lock: bool = True,
        event_uuid: str | None = None,
    ) -> Frame:
        data = sendmsg_execute(app, arg, event_lock=event_lock, event_uuid=event_uuid)
        reply = await self._conn.send_raw(data, f"sendmsg {app}")
        if reply.reply_text.startswith("-"):
            raise EslCommandError(f"execute {app}", reply.reply_text)
        return reply

    async def execute_and_wait(
        self, app: str, arg: str | None = None, *, timeout: float | None = None
    ) -> Event:
        """Execute and wait for its CHANNEL_EXECUTE_COMPLETE (needs ``myevents``)."""
        app_uuid = str(uuidlib.uuid4())
        done = self.router.wait_for(
            lambda e: (
                e.name == "CHANNEL_EXECUTE_COMPLETE" and e.get("Application-UUID") == app_uuid
            ),
            timeout,
        )
        await self.execute(app, arg, event_uuid=app_uuid)
        return await done

    async def hangup(self, cause: str = "NORMAL_CLEARING") -> Frame:
        data = sendmsg_hangup(None, check_value("hangup cause", cause))
        return await self._conn.send_raw(data, "sendmsg hangup")

    def on(self, name: str, handler: Handler) -> Handler:
        return self.router.on(name, handler)

    def wait_for_event(self, name: str, timeout: float | None = None) -> Awaitable[Event]:
        return self.router.wait_for(lambda e: e.name == name, timeout)

    async def wait_hangup(self, timeout: float | None = None) -> None:
        """Until the channel hangs up (CHANNEL_HANGUP) or the socket is closed."""
        closed = asyncio.ensure_future(self._conn.wait_closed())
        hung = asyncio.ensure_future(self._hangup.wait())
        try:
            await asyncio.wait({closed, hung}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            closed.cancel()
            hung.cancel()

    async def wait_closed(self) -> None:
        await self._conn.wait_closed()

    async def close(self) -> None:
        await self._conn.close()


class OutboundServer:
    """Accepts the switch's outbound connections and runs ``handler`` for each call."""

    def __init__(
        self,
        handler: SessionHandler,
        host: str = "127.0.0.1",
        port: int = 8084,
        *,
        connect_timeout: float = 10.0,
    ) -> None:
        self.handler = handler
        self.host = host
        self._port = port
        self.connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sessions_handled = 0

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port)
        log.info("esl_outbound_listening host=%s port=%d", self.host, self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        router = EventRouter()
        conn = EslConnection(reader, writer, on_event=router.dispatch, name="esl-outbound")
        conn.start()
        session = OutboundSession(conn, router)
        try:
            await session._connect(self.connect_timeout)
            log.info("esl_outbound_session uuid=%s", session.uuid)
            self.sessions_handled += 1
            await self.handler(session)
        except asyncio.CancelledError:
            # Server shutdown: end this connection's task normally (a cancelled client task
            # makes asyncio's stream callback log a spurious error).
            pass
        except EslConnectionError as exc:
            log.info("esl_outbound_gone uuid=%s reason=%s", session.uuid, exc)
        except EslError as exc:
            log.warning("esl_outbound_failed uuid=%s error=%s", session.uuid, exc)
        except Exception:
            log.exception("esl_outbound_handler_crashed uuid=%s", session.uuid)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
            self._tasks.discard(task)

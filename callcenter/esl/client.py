"""The asyncio inbound Event Socket client (we connect to the switch's port 8021).

    client = InboundClient("127.0.0.1", 8021, "ClueCon", on_reconnect=reconcile)
    await client.connect()
    await client.subscribe("CHANNEL_ANSWER", "CHANNEL_HANGUP", custom=["callcenter::info"])
    client.on("CHANNEL_ANSWER", handle_answer)
    print(await client.api("status"))
    result = await client.bgapi("originate user/1000 &park()")   # resolves from BACKGROUND_JOB

A lost connection is re-made with exponential backoff; subscriptions and filters are sent again
and then ``on_reconnect`` is awaited so the owner can reconcile with ``show channels``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from callcenter.esl.commands import check_value, sendmsg_execute, sendmsg_hangup
from callcenter.esl.connection import ConnectionState, EslConnection
from callcenter.esl.errors import (
    EslAuthError,
    EslCommandError,
    EslConnectionError,
    EslError,
    EslTimeoutError,
)
from callcenter.esl.events import Event
from callcenter.esl.frames import ContentType, Frame
from callcenter.esl.handlers import EventRouter, Handler
from callcenter.esl.parser import FrameParser

__all__ = ["Backoff", "ConnectionState", "InboundClient"]

log = logging.getLogger("callcenter.esl")

ReconnectCallback = Callable[["InboundClient"], Awaitable[None]]


@dataclass
class Backoff:
    """Exponential backoff with jitter between reconnect attempts."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.1

    def delays(self) -> Iterable[float]:
        delay = self.initial
        while True:
            yield delay * (1 + random.uniform(-self.jitter, self.jitter))
            delay = min(self.maximum, delay * self.factor)


class InboundClient:
    """One authenticated connection to one switch node, kept alive until ``close()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",
        *,
        user: str | None = None,
        event_format: str = "plain",
        reconnect: bool = True,
        backoff: Backoff | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float | None = 30.0,
        on_reconnect: ReconnectCallback | None = None,
        name: str | None = None,
    ) -> None:
        if event_format not in ("plain", "json", "xml"):
            raise ValueError(f"event_format must be plain, json or xml, not {event_format!r}")
        check_value("password", password)
        if user is not None:
            check_value("user", user)
        self.host = host
        self.port = port
        self._password = password
        self.user = user
        self.event_format = event_format
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.on_reconnect = on_reconnect
        self.name = name or f"esl://{host}:{port}"
        self.router = EventRouter()
        self.state = ConnectionState.NEW
        self.connects = 0
        self._conn: EslConnection | None = None
        self._events: set[str] = set()
        self._custom: set[str] = set()
        self._filters: list[tuple[str, str]] = []
        self._jobs: dict[str, asyncio.Future[str]] = {}
        self._supervisor: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def __repr__(self) -> str:
        return f"<InboundClient {self.name} [{self.state.name}] connects={self.connects}>"

    # -- life cycle ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and authenticate once; later losses are healed in the background."""
        if self.state not in (ConnectionState.NEW, ConnectionState.CLOSED):
            raise EslError(f"{self.name}: connect() called in state {self.state.name}")
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor")

    async def close(self) -> None:
        self.state = ConnectionState.CLOSED
        self._ready.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._conn is not None:
            with contextlib.suppress(EslError):
                if not self._conn.is_closed:
                    with contextlib.suppress(EslError, TimeoutError):
                        await asyncio.wait_for(self._conn.send("exit"), 1.0)
            await self._conn.close()
        self._fail_jobs(EslConnectionError(f"{self.name}: client closed"))

    async def __aenter__(self) -> InboundClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    @property
    def backlog(self) -> int:
        return self._conn.backlog if self._conn is not None else 0

    async def _open(self) -> None:
        self.state = ConnectionState.CONNECTING
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout
            )
        except (OSError, TimeoutError) as exc:
            self.state = ConnectionState.CLOSED
            raise EslConnectionError(f"{self.name}: cannot connect: {exc}") from exc
        greeting: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

        def on_frame(frame: Frame) -> None:
            if frame.content_type == ContentType.AUTH_REQUEST and not greeting.done():
                greeting.set_result(frame)
            elif frame.content_type == ContentType.RUDE_REJECTION and not greeting.done():
                greeting.set_exception(
                    EslAuthError(
                        f"{self.name}: the switch refused this address (ACL): {frame.text.strip()}"
                    )
                )

        conn = EslConnection(
            reader,
            writer,
            on_event=self._on_event,
            on_frame=on_frame,
            parser=FrameParser(),
            name=self.name,
        )
        conn.start()
        try:
            self.state = ConnectionState.AUTHENTICATING
            closed: asyncio.Future[None] = asyncio.ensure_future(conn.wait_closed())
            waiters: set[asyncio.Future[Frame] | asyncio.Future[None]] = {greeting, closed}
            try:
                await asyncio.wait(
                    waiters,
                    timeout=self.connect_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                closed.cancel()
            if not greeting.done():
                # Not an event socket (garbage, or a server that closed on us): say so now.
                reason = conn.close_reason
                if reason is not None:
                    raise EslConnectionError(
                        f"{self.name}: no auth/request greeting: {reason}"
                    ) from reason
                raise EslConnectionError(f"{self.name}: no auth/request greeting")
            greeting.result()
            if self.user is None:
                reply = await conn.send(f"auth {self._password}", timeout=self.connect_timeout)
            else:
                reply = await conn.send(
                    f"userauth {self.user}:{self._password}", timeout=self.connect_timeout
                )
            if not reply.reply_text.startswith("+OK"):
                raise EslAuthError(
                    f"{self.name}: authentication failed: {reply.reply_text} "
                    "(check the event_socket password / esl-password)"
                )
            self._conn = conn
            await self._restore_subscriptions(conn)
        except BaseException:
            greeting.cancel()
            await conn.close()
            self.state = ConnectionState.CLOSED
            raise
        self.connects += 1
        self.state = ConnectionState.READY
        self._ready.set()
        log.info("esl_connected node=%s connects=%d", self.name, self.connects)

    async def _restore_subscriptions(self, conn: EslConnection) -> None:
        # BACKGROUND_JOB is always wanted: bgapi results arrive as that event.
        names = sorted(self._events | {"BACKGROUND_JOB"})
        line = f"event {self.event_format} {' '.join(names)}"
        if self._custom:
            line += " CUSTOM " + " ".join(sorted(self._custom))
        await self._checked(conn.send(line, timeout=self.connect_timeout), line)
        for header, value in self._filters:
            await self._checked(conn.send(f"filter {header} {value}"), "filter")

    async def _supervise(self) -> None:
        while True:
            conn = self._conn
            assert conn is not None
            await conn.wait_closed()
            self._ready.clear()
            self._fail_jobs(
                EslConnectionError(f"{self.name}: connection lost before the job ended")
            )
            if self.state is ConnectionState.CLOSED or not self.reconnect:
                self.state = ConnectionState.CLOSED
                return
            log.warning("esl_connection_lost node=%s reconnecting=true", self.name)
            self.state = ConnectionState.RECONNECTING
            for delay in self.backoff.delays():
                await asyncio.sleep(delay)
                try:
                    await self._open()
                    break
                except EslError as exc:
                    log.warning(
                        "esl_reconnect_failed node=%s error=%s next_in=%.1fs", self.name, exc, delay
                    )
                    self.state = ConnectionState.RECONNECTING
            if self.on_reconnect is not None:
                try:
                    await self.on_reconnect(self)
                except Exception:
                    log.exception("esl_reconcile_failed node=%s", self.name)

    # -- commands -----------------------------------------------------------------------------

    def _connection(self) -> EslConnection:
        if self._conn is None or self._conn.is_closed or not self.state.is_ready:
            raise EslConnectionError(f"{self.name}: not connected ({self.state.name})")
        return self._conn

    @staticmethod
    async def _checked(pending: Awaitable[Frame], what: str) -> Frame:
        reply = await pending
        text = reply.reply_text
        if text.startswith("-"):
            raise EslCommandError(what, text)
        return reply

    async def send(
        self,
        line: str,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        body: str | bytes | None = None,
        *,
        timeout: float | None = None,
    ) -> Frame:
        """Any socket command; returns the reply frame without judging it."""
        return await self._connection().send(
            line, headers, body, timeout=timeout if timeout is not None else self.command_timeout
        )

    async def api(self, command: str, *, check: bool = False, timeout: float | None = None) -> str:
        """``api <command>``: the body of the api/response. ``check`` raises on ``-ERR``."""
        check_value("api command", command)
        frame = await self.send(f"api {command}", timeout=timeout)
        text = frame.text
        if check and (text.startswith("-ERR") or text.startswith("-USAGE")):
            raise EslCommandError(command, text)
        return text

    async def bgapi(
        self,
        command: str,
        *,
        job_uuid: str | None = None,
        timeout: float | None = None,
        check: bool = False,
    ) -> str:
        """``bgapi <command>``; resolves with the BACKGROUND_JOB body of the same Job-UUID."""
        check_value("bgapi command", command)
        job = job_uuid or str(uuidlib.uuid4())
        check_value("Job-UUID", job)
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # Registered before sending: the event can overtake the command/reply.
        self._jobs[job] = fut
        try:
            reply = await self.send(f"bgapi {command}", {"Job-UUID": job})
            if not reply.reply_text.startswith("+OK"):
                raise EslCommandError(command, reply.reply_text)
            try:
                text = await asyncio.wait_for(asyncio.shield(fut), timeout)
            except TimeoutError as exc:
                raise EslTimeoutError(
                    f"{self.name}: no BACKGROUND_JOB for {command!r} (Job-UUID {job}) "
                    f"within {timeout} s"
                ) from exc
        finally:
            self._jobs.pop(job, None)
        if check and text.startswith("-"):
            raise EslCommandError(command, text)
        return text

    async def subscribe(self, *names: str, custom: Iterable[str] = ()) -> None:
        """``event <format> NAMES [CUSTOM subclasses]``; kept and re-sent after a reconnect."""
        subclasses = [check_value("event subclass", c) for c in custom]
        for name in names:
            check_value("event name", name)
        words = [n for n in names if n != "CUSTOM"]
        line = f"event {self.event_format} {' '.join(words)}".rstrip()
        if subclasses or "CUSTOM" in names:
            line += " CUSTOM " + " ".join(subclasses)
        await self._checked(self.send(line.rstrip()), line)
        self._events.update(words)
        self._custom.update(subclasses)

    async def unsubscribe(self, *names: str) -> None:
        for name in names:
            check_value("event name", name)
        line = "nixevent " + " ".join(names)
        await self._checked(self.send(line), line)
        self._events.difference_update(names)

    async def add_filter(self, header: str, value: str) -> None:
        """``filter <header> <value>``; BACKGROUND_JOB is let through so bgapi keeps working."""
        check_value("filter header", header)
        check_value("filter value", value)
        if not self._filters:
            await self._checked(self.send("filter Event-Name BACKGROUND_JOB"), "filter")
            self._filters.append(("Event-Name", "BACKGROUND_JOB"))
        await self._checked(self.send(f"filter {header} {value}"), "filter")
        self._filters.append((header, value))

    async def delete_filter(self, header: str, value: str | None = None) -> None:
        check_value("filter header", header)
        line = f"filter delete {header}" + (
            f" {check_value('filter value', value)}" if value else ""
        )
        await self._checked(self.send(line), line)
        self._filters = [
            (h, v) for h, v in self._filters if not (h == header and (value is None or v == value))
        ]

    async def execute(
        self,
        uuid: str,
        app: str,
        arg: str | None = None,
        *,
        event_lock: bool = True,
        event_uuid: str | None = None,
        loops: int | None = None,
    ) -> Frame:
        """``sendmsg <uuid>`` execute; ``event_lock`` makes apps on the channel run in order."""
        conn = self._connection()
        data = sendmsg_execute(
            app, arg, uuid=uuid, event_lock=event_lock, event_uuid=event_uuid, loops=loops
        )
        return await self._checked(
            conn.send_raw(data, f"sendmsg {uuid} {app}", timeout=self.command_timeout),
            f"execute {app}",
        )

    async def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING") -> Frame:
        conn = self._connection()
        data = sendmsg_hangup(uuid, check_value("hangup cause", cause))
        return await self._checked(
            conn.send_raw(data, f"sendmsg {uuid} hangup", timeout=self.command_timeout), "hangup"
        )

    async def linger(self, seconds: int | None = None) -> Frame:
        line = "linger" if seconds is None else f"linger {int(seconds)}"
        return await self._checked(self.send(line), line)

    async def nolinger(self) -> Frame:
        return await self._checked(self.send("nolinger"), "nolinger")

    # -- events -------------------------------------------------------------------------------

    def on(self, name: str, handler: Handler) -> Handler:
        return self.router.on(name, handler)

    def on_custom(self, subclass: str, handler: Handler) -> Handler:
        return self.router.on_custom(subclass, handler)

    def on_channel(self, uuid: str, handler: Handler) -> Handler:
        return self.router.on_channel(uuid, handler)

    def remove_handler(self, handler: Handler) -> None:
        self.router.remove(handler)

    def wait_for_event(
        self,
        name: str | None = None,
        *,
        uuid: str | None = None,
        predicate: Callable[[Event], bool] | None = None,
        timeout: float | None = None,
    ) -> Awaitable[Event]:
        """Awaitable for the next matching event; registered at once, so call it before acting."""

        def match(event: Event) -> bool:
            if name is not None and event.name != name:
                return False
            if uuid is not None and event.unique_id != uuid:
                return False
            return predicate is None or predicate(event)

        return self.router.wait_for(match, timeout)

    async def _on_event(self, event: Event) -> None:
        if event.name == "BACKGROUND_JOB":
            job = event.job_uuid
            fut = self._jobs.get(job) if job is not None else None
            if fut is not None and not fut.done():
                fut.set_result(event.body or "")
        await self.router.dispatch(event)

    def _fail_jobs(self, reason: EslError) -> None:
        for fut in self._jobs.values():
            if not fut.done():
                fut.set_exception(reason)
                fut.exception()
        self._jobs.clear()

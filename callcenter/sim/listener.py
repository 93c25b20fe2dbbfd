"""One event-socket connection to the simulated switch, as mod_event_socket handles it.

Inbound mode: greeting, auth, every socket command of PROTOCOL.md §3 with the exact reply texts,
event subscriptions (plain/json/xml), filters, and a per-connection outgoing queue. Outbound mode
(the ``socket`` application dialed us out): no greeting, ``connect`` first, the channel is the
session. Replies and events leave through one queue, so an event never splits a reply and a
connection sees events in the order they were fired. A reader more than ``max_backlog`` frames
behind loses events, and after ``max_lost`` lost events it is dropped, as FreeSWITCH does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import uuid as uuidlib
from typing import TYPE_CHECKING

from callcenter.esl.codec import url_encode
from callcenter.esl.errors import EslProtocolError
from callcenter.esl.parser import ClientCommand, CommandParser
from callcenter.esl.serialize import (
    api_response,
    auth_request,
    command_reply,
    disconnect_notice,
    linger_notice,
    log_data,
    rude_rejection,
)
from callcenter.sim.causes import normalize_cause
from callcenter.sim.channel import Channel, PrivateCommand
from callcenter.sim.events import SimEvent

if TYPE_CHECKING:
    from callcenter.sim.server import SimSwitch

__all__ = ["MYEVENTS", "Listener"]

log = logging.getLogger("callcenter.sim")

MYEVENTS = frozenset(
    {
        "CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE",
        "CHANNEL_DATA", "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
        "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_UUID",
        "CHANNEL_OUTGOING", "CHANNEL_PARK", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
        "CHANNEL_STATE", "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK", "DETECTED_SPEECH", "DTMF",
        "NOTALK", "TALK",
    }
)  # fmt: skip
KNOWN_EVENTS = frozenset(
    MYEVENTS
    | {
        "CUSTOM", "CLONE", "ALL", "API", "BACKGROUND_JOB", "CALL_UPDATE", "CHANNEL_CALLSTATE",
        "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CODEC", "DTMF", "HEARTBEAT", "LOG", "MESSAGE",
        "PLAYBACK_START", "PLAYBACK_STOP", "PRESENCE_IN", "PRIVATE_COMMAND", "RECORD_START",
        "RECORD_STOP", "RE_SCHEDULE", "RELOADXML", "SESSION_HEARTBEAT", "SHUTDOWN", "STARTUP",
        "MEDIA_BUG_START", "MEDIA_BUG_STOP", "CHANNEL_GLOBAL", "RECV_INFO", "SEND_INFO",
        "REQUEST_PARAMS", "GENERAL", "COMMAND", "SEND_MESSAGE", "RECV_MESSAGE", "NOTIFY",
        "PHONE_FEATURE", "TRAP", "ADD_SCHEDULE", "DEL_SCHEDULE", "EXE_SCHEDULE",
        "MESSAGE_WAITING", "MESSAGE_QUERY",
    }
)  # fmt: skip

LOST_EVENTS_BODY = "killed listener because of lost events\n"


class Listener:
    def __init__(
        self,
        switch: SimSwitch,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        session: Channel | None = None,
        async_mode: bool = True,
        full: bool = True,
    ) -> None:
        self.switch = switch
        self.core = switch.core
        self.reader = reader
        self.writer = writer
        self.outbound = session is not None
        self.session = session
        self.async_mode = async_mode
        self.full = full if session is not None else True
        self.authed = session is not None
        self.connected = False  # outbound: after "connect"
        self.format = "plain"
        self.events: set[str] = set()
        self.all_events = False
        self.nixed: set[str] = set()
        self.custom: set[str] = set()
        self.all_custom = False
        self.my_uuid: str | None = None
        self.filters: list[tuple[str, str]] = []
        self.linger: int | None = None  # seconds; -1 forever
        self.log_level: int | None = None
        self.resume = False
        self.closing = False
        self.lost = 0
        self._muted = False  # outbound mode: the first command's reply is never sent
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._parser = CommandParser()
        self._writer_task: asyncio.Task[None] | None = None
        self.peer = writer.get_extra_info("peername") or ("?", 0)

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        self._writer_task = asyncio.create_task(self._write_loop())
        self.core.listeners.add(self)
        try:
            if not self.outbound:
                if not self._peer_allowed():
                    self.send(rude_rejection())
                    self.send(disconnect_notice())
                    self.close()
                    return
                self.send(auth_request())
            else:
                self._watch_session()
            await self._read_loop()
        finally:
            self.core.listeners.discard(self)
            self.closing = True
            self._queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer_task, 5)
            with contextlib.suppress(Exception):
                self.writer.close()

    def _peer_allowed(self) -> bool:
        allowed = self.switch.allowed_peers
        if not allowed:
            return True
        try:
            addr = ipaddress.ip_address(self.peer[0])
        except ValueError:
            return False
        return any(addr in ipaddress.ip_network(net, strict=False) for net in allowed)

    async def _read_loop(self) -> None:
        first = True
        while not self.closing:
            try:
                if first and not self.outbound:
                    # Only the first command is read with a timeout (MES listener_run).
                    data = await asyncio.wait_for(self.reader.read(65536), self.switch.auth_timeout)
                else:
                    data = await self.reader.read(65536)
            except TimeoutError:
                self.send(disconnect_notice())
                self.close()
                return
            except (ConnectionError, OSError):
                return
            if not data:
                return
            try:
                commands = self._parser.feed(data)
            except EslProtocolError as exc:
                log.warning("sim_bad_client_input peer=%s error=%s", self.peer, exc)
                self.close()
                return
            for cmd in commands:
                if first and self.outbound and cmd.word != "connect":
                    # Outbound mode: the first command's reply is never sent unless it is connect.
                    await self._dispatch(cmd, silent=True)
                else:
                    await self._dispatch(cmd)
                first = False
                if self.closing:
                    return

    async def _write_loop(self) -> None:
        while True:
            data = await self._queue.get()
            if data is None:
                break
            try:
                self.writer.write(data)
                # drain() returns at once while the socket keeps up; when the reader is slow it
                # waits, so frames pile up in the queue (counted, and dropped past the limit)
                # instead of in the transport's unbounded buffer.
                await self.writer.drain()
            except (ConnectionError, OSError, RuntimeError):
                break
        with contextlib.suppress(Exception):
            await self.writer.drain()
        # Closing our side also ends the read loop (the reader sees EOF).
        with contextlib.suppress(Exception):
            self.writer.close()

    def send(self, data: bytes) -> None:
        if not self._muted:
            self._queue.put_nowait(data)

    def close(self) -> None:
        self.closing = True
        self._queue.put_nowait(None)

    # -- events -------------------------------------------------------------------------------

    def may_want(self, name: str) -> bool:
        """A cheap first check by event name, before an event is even built."""
        if self.closing or not self.authed:
            return False
        if self.my_uuid is not None:
            return name in MYEVENTS or name in self.events or name == "BACKGROUND_JOB"
        if name == "CUSTOM":
            return self.all_custom or bool(self.custom) or self.all_events
        return (self.all_events and name not in self.nixed) or name in self.events

    def wants(self, event: SimEvent) -> bool:
        name = event.name
        if self.my_uuid is not None:
            if name == "BACKGROUND_JOB":
                return event.get("Job-Owner-UUID") == self.my_uuid
            if name not in MYEVENTS and name not in self.events:
                return False
            if event.get("Unique-ID") != self.my_uuid:
                return False
        elif name == "CUSTOM":
            wanted = self.all_custom or (event.subclass or "") in self.custom
            if not wanted and not (self.all_events and "CUSTOM" not in self.nixed):
                return False
        elif not ((self.all_events and name not in self.nixed) or name in self.events):
            return False
        return not (self.filters and not self._filtered_in(event))

    def _filtered_in(self, event: SimEvent) -> bool:
        positive = False
        for header, value in self.filters:
            actual = event.get(header)
            if actual is None:
                continue
            negative = value.startswith("-")
            raw = value[1:] if value[:1] in "+-" else value
            if raw.startswith("/") and raw.rfind("/") > 0:
                pattern = raw[1 : raw.rfind("/")]
                flags = raw[raw.rfind("/") + 1 :]
                opts = (re.I if "i" in flags else 0) | (re.S if "s" in flags else 0)
                try:
                    matched = re.search(pattern, actual, opts) is not None
                except re.error:
                    matched = False
            else:
                matched = actual.lower() == raw.lower()
            if matched and negative:
                return False
            if matched:
                positive = True
        return positive

    def deliver(self, event: SimEvent) -> None:
        if self.closing or not self.authed or (self.outbound and not self.connected):
            return
        if not self.wants(event):
            return
        if self._queue.qsize() >= self.switch.max_backlog:
            self.lost += 1
            if self.lost > self.switch.max_lost:
                log.warning("sim_listener_dropped peer=%s lost=%d", self.peer, self.lost)
                self.closing = True
                self._queue.put_nowait(disconnect_notice(body=LOST_EVENTS_BODY))
                self._queue.put_nowait(None)
            return
        self._queue.put_nowait(event.wire(self.format))

    def deliver_log(
        self, level: int, text: str, file: str, func: str, line: int, uuid: str = ""
    ) -> None:
        if self.log_level is None or level > self.log_level or self.closing:
            return
        self.send(log_data(text, level, 3, file, func, line, uuid))

    # -- outbound session -----------------------------------------------------------------------

    def _watch_session(self) -> None:
        ch = self.session
        assert ch is not None
        ch.on_reported.append(self._session_over)

    def _session_over(self) -> None:
        """The controlled channel's CHANNEL_HANGUP_COMPLETE is out: the notice follows it at
        once, as on the wire (cap 10); with linger the channel's last events (DESTROY) still
        follow the notice, and the close comes after the linger time."""
        ch = self.session
        if ch is None or self.closing:
            return
        if self.linger is None:
            self.send(disconnect_notice(ch.uuid))
            self.close()
            return
        self.send(linger_notice(ch.uuid, ch.name, None if self.linger < 0 else self.linger))
        if self.linger >= 0:
            self.core.spawn(self._close_after_linger(ch.uuid, self.linger))

    async def _close_after_linger(self, uuid: str, seconds: float) -> None:
        await self.core.sleep(seconds)
        if not self.closing:
            self.send(disconnect_notice(uuid))
            self.close()

    # -- commands -----------------------------------------------------------------------------

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.send(command_reply(text, extra or ()))

    async def _dispatch(self, cmd: ClientCommand, silent: bool = False) -> None:
        self._muted = silent
        try:
            await self._command(cmd)
        finally:
            self._muted = False

    async def _command(self, cmd: ClientCommand) -> None:
        line = cmd.line
        low = line.lower()
        if low.startswith("exit") or low.startswith("..."):
            self.reply("+OK bye")
            self.send(disconnect_notice())
            self.close()
            return
        if not self.authed:
            if low.startswith("auth "):
                await self._auth(line[5:])
            elif low.startswith("userauth "):
                await self._userauth(line[9:].strip())
            else:
                self.reply("-ERR command not found")
            return
        if low.startswith("filter"):
            self._filter(line[6:].strip())
        elif low.startswith("resume"):
            if self.session is None:
                self.reply("-ERR command not found")
            else:
                self.resume = True
                self.session.set_var("socket_resume", "true")
                self.reply("+OK")
        elif low.startswith("connect"):
            self._connect()
        elif low.startswith("getvar"):
            self._getvar(line[6:].strip())
        elif low.startswith("myevents"):
            self._myevents(line[8:].split())
        elif low.startswith("divert_events"):
            self._divert(line[13:].strip())
        elif low.startswith("sendmsg"):
            await self._sendmsg(line[7:].strip(), cmd)
        elif not self.full:
            self.reply("-ERR command not found")
        elif low.startswith("sendevent"):
            self._sendevent(line[9:].strip(), cmd)
        elif low.startswith("api "):
            body = await self.switch.api.execute(line[4:], self)
            self.send(api_response(body if body else "-ERR no reply\n"))
        elif low.startswith("bgapi "):
            self._bgapi(line[6:], cmd)
        elif low.startswith("log"):
            self._log(line[3:].strip())
        elif low.startswith("linger"):
            self._linger(line[6:].strip())
        elif low.startswith("nolinger"):
            if self.session is None:
                self.reply("-ERR not controlling a session")
            else:
                self.linger = None
                self.reply("+OK will not linger")
        elif low.startswith("nolog"):
            if self.log_level is None:
                self.reply("-ERR not loging")
            else:
                self.log_level = None
                self.reply("+OK no longer logging")
        elif low.startswith("event"):
            self._event(line[5:].split())
        elif low.startswith("nixevent"):
            self._nixevent(line[8:].split())
        elif low.startswith("noevents"):
            if self.events or self.all_events or self.custom or self.all_custom:
                self.events.clear()
                self.custom.clear()
                self.all_events = self.all_custom = False
                self.nixed.clear()
                self.reply("+OK no longer listening for events")
            else:
                self.reply("-ERR not listening for events")
        else:
            self.reply("-ERR command not found")

    async def _auth(self, password: str) -> None:
        if password == self.switch.password:
            self.authed = True
            self.reply("+OK accepted")
        else:
            self._refuse()

    async def _userauth(self, text: str) -> None:
        # user@domain:password, or user:password@domain
        user = domain = password = ""
        m = re.match(r"^([^@:]+)@([^:]+):(.*)$", text) or re.match(r"^([^@:]+):([^@]*)@(.+)$", text)
        if m and "@" in text.split(":", 1)[0]:
            user, domain, password = m.group(1), m.group(2), m.group(3)
        elif m:
            user, password, domain = m.group(1), m.group(2), m.group(3)
        expected = self.switch.users.get(f"{user}@{domain}")
        if not user or not domain or expected is None or expected != password:
            self._refuse()
            return
        self.authed = True
        self.reply(
            "+OK accepted",
            [("Allowed-Events", "all"), ("Allowed-API", "all"), ("Allowed-LOG", "true")],
        )

    def _refuse(self) -> None:
        self.reply("-ERR invalid")
        self.send(disconnect_notice())
        self.close()

    def _filter(self, args: str) -> None:
        parts = args.split(None, 2)
        if parts and parts[0].lower() == "delete":
            if len(parts) < 2:
                self.reply("-ERR invalid syntax")
                return
            header = parts[1]
            value = parts[2] if len(parts) > 2 else ""
            if header.lower() == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (h, v)
                    for h, v in self.filters
                    if not (h == header and (not value or v == value))
                ]
            self.reply(f"+OK filter deleted. [{header}][{value}]")
            return
        if parts and parts[0].lower() == "add":
            parts = parts[1:] if len(parts) < 3 else [parts[1], *parts[2].split(None, 1)]
        if len(parts) < 2:
            self.reply("-ERR invalid syntax")
            return
        header, value = parts[0], " ".join(parts[1:])
        self.filters.append((header, value))
        self.reply(f"+OK filter added. [{header}]=[{value}]")

    def _connect(self) -> None:
        ch = self.session
        if ch is None or self.connected:
            self.reply("-ERR command not found")
            return
        self.connected = True
        headers = self.core.make_event("CHANNEL_DATA").headers
        headers += ch.profile_headers("Channel")
        headers += ch.basic_headers(None)
        headers += ch.variable_headers()
        head = "".join(f"{k}: {url_encode(v)}\n" for k, v in headers if v != "")
        head += "Content-Type: command/reply\nReply-Text: %2BOK%0A\n"
        head += f"Socket-Mode: {'async' if self.async_mode else 'static'}\n"
        head += f"Control: {'full' if self.full else 'single-channel'}\n\n"
        self.send(head.encode("utf-8"))

    def _getvar(self, name: str) -> None:
        value = self.session.get_var(name) if self.session is not None else None
        self.reply(value if value else "-ERR command not found")

    def _myevents(self, args: list[str]) -> None:
        fmt = None
        if args and args[-1].lower() in ("plain", "json", "xml"):
            fmt = args[-1].lower()
            args = args[:-1]
        if self.my_uuid is not None:
            self.reply("-ERR aready enabled.")
            return
        if self.session is not None:
            self.my_uuid = self.session.uuid
        elif args:
            ch = self.core.find(args[0])
            if ch is None:
                if fmt is not None:
                    self.reply("-ERR invalid uuid")
                    return
                self.reply("+OK Events Enabled")
                return
            self.my_uuid = ch.uuid
            self.session = ch
            self._watch_session()
        else:
            self.reply("-ERR invalid uuid")
            return
        if fmt is not None and self.outbound:
            self.format = fmt
        self.reply("+OK Events Enabled")

    def _divert(self, value: str) -> None:
        if self.session is None:
            self.reply("-ERR not controlling a session.")
        elif value.lower() == "on":
            self.reply("+OK events diverted")
        elif value.lower() == "off":
            self.reply("+OK events not diverted")
        else:
            self.reply("-ERR missing value.")

    async def _sendmsg(self, uuid: str, cmd: ClientCommand) -> None:
        target = uuid or cmd.header("session-id") or ""
        ch = self.core.find(target) if target else self.session
        if ch is None or not ch.is_up:
            self.reply(f"-ERR invalid session id [{target}]")
            return
        command = (cmd.header("call-command") or "").lower()
        headers = dict(cmd.headers)
        if command == "execute":
            app = cmd.header("execute-app-name") or ""
            arg = cmd.header("execute-app-arg")
            if arg is None and (cmd.header("content-type") or "").lower() == "text/plain":
                arg = cmd.body.decode("utf-8", "replace")
            loops_text = cmd.header("loops") or "1"
            loops = int(loops_text) if loops_text.lstrip("-").isdigit() else 1
            msg = PrivateCommand(
                "execute", app, arg, cmd.header("event-uuid"), loops, headers=headers
            )
        elif command == "hangup":
            msg = PrivateCommand(
                "hangup", cause=normalize_cause(cmd.header("hangup-cause")), headers=headers
            )
        else:
            # unicast, nomedia, xferext...: accepted, nothing simulated.
            self.reply("+OK")
            return
        inline = (
            ch is self.session
            and self.outbound
            and not self.async_mode
            and (cmd.header("async") or "").lower() != "true"
        )
        if inline:
            msg.done = asyncio.get_running_loop().create_future()
        self.switch.queue_message(ch, msg, f"sendmsg {ch.uuid}")
        if msg.done is not None:
            await msg.done
        self.reply("+OK")

    def _sendevent(self, name: str, cmd: ClientCommand) -> None:
        event_name = (name.split() or ["CUSTOM"])[0].upper()
        event_uuid = str(uuidlib.uuid4())
        headers = [("Command", f"sendevent {event_name}")]
        headers += [(k, v) for k, v in cmd.headers.items() if k.lower() != "content-length"]
        headers.append(("Event-UUID", event_uuid))
        subclass = cmd.header("Event-Subclass")
        base = self.core.make_event(event_name).headers
        # Client headers come first, then the standard ones (MES parse_command).
        base = [h for h in base if h[0] != "Event-Name"]
        body = cmd.body.decode("utf-8", "replace") if cmd.body else None
        event = SimEvent(
            event_name,
            [("Event-Name", event_name), *headers, *base],
            body,
            subclass,
        )
        self.core.fire(event)
        self.reply(f"+OK {event_uuid}")

    def _bgapi(self, command: str, cmd: ClientCommand) -> None:
        job = cmd.header("Job-UUID") or str(uuidlib.uuid4())
        self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])
        owner = self.session.uuid if self.session is not None else None
        self.core.spawn(self.switch.run_bgapi(command, job, owner, self))

    def _log(self, level_text: str) -> None:
        levels = {"console": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5,
                  "info": 6, "debug": 7}  # fmt: skip
        if not level_text:
            self.log_level = 7
            self.reply("+OK log level  [7]")
            return
        if level_text.isdigit():
            level = int(level_text)
        elif level_text.lower() in levels:
            level = levels[level_text.lower()]
        else:
            self.reply("-ERR invalid log level")
            return
        self.log_level = level
        self.reply(f"+OK log level {level_text} [{level}]")

    def _linger(self, arg: str) -> None:
        if self.session is None:
            self.reply("-ERR not controlling a session")
            return
        if arg.isdigit() and int(arg) > 0:
            self.linger = int(arg)
            self.reply(f"+OK will linger {arg} seconds")
        else:
            self.linger = -1
            self.reply("+OK will linger")

    def _event(self, words: list[str]) -> None:
        if words and words[0].lower() in ("plain", "json", "xml"):
            self.format = words[0].lower()
            words = words[1:]
        valid = False
        custom_mode = False
        for word in words:
            upper = word.upper()
            if custom_mode:
                self.custom.add(word)
                valid = True
            elif upper == "CUSTOM":
                custom_mode = True
                valid = True
            elif upper == "ALL":
                self.all_events = True
                self.all_custom = True
                self.nixed.clear()
                valid = True
            elif upper in KNOWN_EVENTS:
                self.events.add(upper)
                self.nixed.discard(upper)
                valid = True
        if valid:
            self.reply(f"+OK event listener enabled {self.format}")
        else:
            self.reply("-ERR no keywords supplied")

    def _nixevent(self, words: list[str]) -> None:
        valid = False
        custom_mode = False
        for word in words:
            upper = word.upper()
            if custom_mode:
                self.custom.discard(word)
                valid = True
            elif upper == "CUSTOM":
                custom_mode = True
                valid = True
            elif upper == "ALL":
                self.all_events = self.all_custom = False
                self.events.clear()
                self.nixed.clear()
                valid = True
            elif upper in KNOWN_EVENTS:
                self.events.discard(upper)
                if self.all_events:
                    self.nixed.add(upper)
                valid = True
        self.reply("+OK events nixed" if valid else "-ERR no keywords supplied")

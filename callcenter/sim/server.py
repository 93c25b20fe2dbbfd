"""``SimSwitch``: the simulated FreeSWITCH node, its event socket server and its endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid as uuidlib
from pathlib import Path
from typing import Any

from callcenter.sim.api import VERSION, ApiCommands, uptime_text
from callcenter.sim.apps import APPS, INLINE_APPS
from callcenter.sim.channel import Channel, PrivateCommand
from callcenter.sim.conf import NodeConfig, load_node_config
from callcenter.sim.dialplan import Dialplan, DialplanError
from callcenter.sim.endpoints import Callers, FarEnds, Phones
from callcenter.sim.events import SwitchIdentity
from callcenter.sim.ivr import IVR_APPS
from callcenter.sim.ivr_menu import IVR_MENU_APPS
from callcenter.sim.listener import Listener
from callcenter.sim.node_apps import NODE_APPS
from callcenter.sim.spy import SPY_APPS
from callcenter.sim.switch import SwitchCore

__all__ = ["SimSwitch", "serve"]

log = logging.getLogger("callcenter.sim")


class SimSwitch:
    """A FreeSWITCH stand-in speaking the real event socket protocol over TCP.

    ``phones``, ``callers`` and ``far_ends`` script the endpoints; ``core`` holds the channels.
    ``conf_dir``: a node configuration folder (dialplan, directory, ivr_menus, sip_profiles; see
    ``callcenter.sim.conf``), re-read by ``reloadxml``; ``dialplan_dir``: a folder of dialplan
    XML alone (loaded after the conf_dir's dialplan when both are given).
    Every simulated duration (ringing, playback, sleep, hangup_after, heartbeat, linger) is
    multiplied by ``time_scale``; ``max_backlog`` frames queued for a slow reader, then
    ``max_lost`` lost events, and the listener is dropped (FreeSWITCH: 100000 and 500).
    """

    def __init__(
        self,
        password: str = "ClueCon",
        *,
        hostname: str = "sim",
        recordings_dir: str | Path = "var/recordings",
        dialplan_dir: str | Path | None = None,
        conf_dir: str | Path | None = None,
        time_scale: float = 1.0,
        users: dict[str, str] | None = None,
        allowed_peers: list[str] | None = None,
        max_backlog: int = 100_000,
        max_lost: int = 500,
        auth_timeout: float = 25.0,
        default_playback_seconds: float = 2.0,
        heartbeat_seconds: float | None = 20.0,
    ) -> None:
        self.password = password
        self.users = dict(users or {})
        self.allowed_peers = list(allowed_peers or [])
        self.max_backlog = max_backlog
        self.max_lost = max_lost
        self.auth_timeout = auth_timeout
        self.heartbeat_seconds = heartbeat_seconds
        self._heartbeat: asyncio.Task[None] | None = None
        self.dialplan_dir = Path(dialplan_dir) if dialplan_dir else None
        self.conf_dir = Path(conf_dir) if conf_dir else None
        identity = SwitchIdentity(core_uuid=str(uuidlib.uuid4()), hostname=hostname)
        self.core = SwitchCore(
            identity,
            time_scale=time_scale,
            recordings_dir=Path(recordings_dir),
            dialplan=Dialplan(),
            default_playback_seconds=default_playback_seconds,
        )
        # What the XML says now (reloadxml); the gateways in service change only when a sofia
        # profile is (re)scanned, as in FreeSWITCH.
        self.config = self._load_config()
        self._apply_config(self.config)
        if self.config.gateways is not None:
            self.core.gateways = dict(self.config.gateways)
        self.core.apps.update(APPS)
        self.core.apps.update(IVR_APPS)
        self.core.apps.update(IVR_MENU_APPS)
        self.core.apps.update(NODE_APPS)
        self.core.apps.update(SPY_APPS)
        self.core.inline_apps.update(INLINE_APPS)
        self.core.owner = self
        self.phones = Phones(self.core)
        self.far_ends = FarEnds()
        self.callers = Callers(self.core)
        self.core.phones = self.phones
        self.core.far_ends = self.far_ends
        self.api = ApiCommands(self)
        self.core.api_call = self.api.call_now
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._port = 0

    # -- life cycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def channels(self) -> dict[str, Channel]:
        return self.core.channels

    async def start(self, host: str = "127.0.0.1", port: int = 8021) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self._port = int(self._server.sockets[0].getsockname()[1])
        if self.heartbeat_seconds:
            self._heartbeat = asyncio.create_task(self._beat(self.heartbeat_seconds))
        log.info("sim_listening host=%s port=%d", host, self._port)

    async def stop(self) -> None:
        """Close the listening socket, every connection, and every channel."""
        if self._server is not None:
            self._server.close()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        for listener in list(self.core.listeners):
            listener.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await self.core.shutdown()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def __aenter__(self) -> SimSwitch:
        await self.start("127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _beat(self, seconds: float) -> None:
        """HEARTBEAT every ``seconds`` (simulated; 20 s in FreeSWITCH), then the RE_SCHEDULE of
        its task, as the real scheduler fires them (cap 05)."""
        core = self.core
        while True:
            await core.sleep(seconds)
            up = time.time() - core.started
            heartbeat = [
                ("Event-Info", "System Ready"),
                ("Up-Time", uptime_text(up)),
                ("FreeSWITCH-Version", VERSION),
                ("Uptime-msec", str(int(up * 1000))),
                ("Session-Count", str(len(core.channels))),
                ("Max-Sessions", "1000"),
                ("Session-Per-Sec", "30"),
                ("Session-Per-Sec-Last", "0"),
                ("Session-Per-Sec-Max", "0"),
                ("Session-Per-Sec-FiveMin", "0"),
                ("Session-Since-Startup", str(core.sessions_since_startup)),
                ("Session-Peak-Max", str(core.peak_sessions)),
                ("Session-Peak-FiveMin", str(core.peak_sessions)),
                ("Idle-CPU", "99.000000"),
            ]
            core.fire(core.make_event("HEARTBEAT", heartbeat))
            schedule = [
                ("Task-ID", "1"),
                ("Task-Desc", "heartbeat"),
                ("Task-Group", "core"),
                ("Task-Runtime", str(int(time.time() + seconds * core.time_scale))),
            ]
            core.fire(core.make_event("RE_SCHEDULE", schedule))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await Listener(self, reader, writer).run()
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    # -- services for listeners and the api -----------------------------------------------------

    def queue_message(
        self,
        ch: Channel,
        msg: PrivateCommand,
        command: str | None,
        *,
        event_name: str = "PRIVATE_COMMAND",
    ) -> None:
        """Deliver a message to a channel; it shows up as a PRIVATE_COMMAND event (sendmsg,
        with ``Command: sendmsg <uuid>`` first, cap 09) or COMMAND (uuid_broadcast, cap 05)."""
        headers = [("Command", command)] if command else []
        headers += msg.headers.items()
        if event_name == "COMMAND":
            msg.late_event = self.core.channel_event(event_name, ch, before=headers)
        else:
            self.core.fire_channel(event_name, ch, before=headers)
        if ch.task is None or ch.task.done():
            # A channel without an application thread (ringing, or just bridged): give it one.
            ch.extra.setdefault("program", [])
            ch.extra["keep_alive"] = True
            ch.task = asyncio.ensure_future(self._run_idle(ch))
        ch.inbox.put_nowait(msg)

    async def _run_idle(self, ch: Channel) -> None:
        from callcenter.sim.switch import Interrupt

        with contextlib.suppress(Interrupt):
            while ch.is_up and ch.inbox.qsize():
                await self.core.handle_message(ch, ch.inbox.get_nowait())
        if ch.hangup_cause is not None:
            await self.core._finish_hangup(ch)

    async def run_bgapi(
        self, command: str, job: str, owner: str | None, listener: Listener
    ) -> None:
        output = await self.api.execute(command, listener)
        name, _, args = command.strip().partition(" ")
        headers = [("Job-UUID", job)]
        if owner:
            headers.append(("Job-Owner-UUID", owner))
        headers.append(("Job-Command", name))
        if args.strip():
            headers.append(("Job-Command-Arg", args.strip()))
        self.core.fire(self.core.make_event("BACKGROUND_JOB", headers, output or "-ERR no reply\n"))

    def log_to(
        self,
        listener: Listener | None,
        level: int,
        text: str,
        file: str,
        func: str,
        line: int,
        uuid: str = "",
    ) -> None:
        for target in list(self.core.listeners):
            target.deliver_log(level, text, file, func, line, uuid)

    def _load_config(self) -> NodeConfig:
        return load_node_config(self.conf_dir, self.dialplan_dir, self.core.global_vars)

    def _apply_config(self, config: NodeConfig) -> None:
        self.config = config
        self.core.global_vars.update(config.variables)
        self.core.dialplan = config.dialplan
        self.core.directory = config.directory
        self.core.ivr_menus = config.menus

    def reload_xml(self) -> str | None:
        """``reloadxml``: re-read the configuration folder (dialplan, directory, ivr menus, the
        gateways' XML); on error keep the previous configuration and say why."""
        if self.dialplan_dir is not None or self.conf_dir is not None:
            try:
                config = self._load_config()
            except (DialplanError, OSError, UnicodeDecodeError) as exc:
                log.error("sim_reloadxml_failed error=%s", exc)
                return str(exc)
            self._apply_config(config)
        # switch_xml_open_root announces a successful reload.
        if any(listener.may_want("RELOADXML") for listener in self.core.listeners):
            self.core.fire(self.core.make_event("RELOADXML"))
        return None

    @property
    def profiles(self) -> set[str]:
        return {"internal", "external", *self.config.profiles}

    def rescan_profile(self, profile: str) -> None:
        """``sofia profile <name> rescan``: gateways of the profile that the XML now holds and
        are not in service yet start (ones already running are left as they are)."""
        known = self.config.gateways
        if known is None:
            return  # no sip_profiles folder: gateways stay unchecked
        live = self.core.gateways if self.core.gateways is not None else {}
        for name, gateway in known.items():
            if gateway.profile == profile and name not in live:
                live[name] = gateway
        self.core.gateways = live

    def kill_gateway(self, name: str) -> bool:
        """``sofia profile <name> killgw <gateway>``: take a gateway out of service."""
        if self.core.gateways is None or name not in self.core.gateways:
            return False
        del self.core.gateways[name]
        return True


async def serve(
    host: str = "127.0.0.1",
    port: int = 8021,
    password: str = "ClueCon",
    **options: Any,
) -> None:
    """Run a simulated switch until cancelled (``callcenter sim``).

    ``options`` are the keyword arguments of ``SimSwitch`` (``recordings_dir``, ``dialplan_dir``,
    ``conf_dir``, ``time_scale``, ``hostname``, ``users``, ``allowed_peers``, ...); ``None``
    values are ignored so a CLI can pass its unset flags through.
    """
    switch = SimSwitch(password, **{k: v for k, v in options.items() if v is not None})
    await switch.start(host, port)
    print(f"callcenter sim: event socket on {host}:{switch.port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await switch.stop()

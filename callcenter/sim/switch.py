"""The simulated switch's core: channels, their life cycle, and the events they fire.

Each channel runs as one asyncio task that executes its applications in order (from the
dialplan or an originate's ``&app()``), like a FreeSWITCH session thread. Messages for a channel
(``sendmsg``, ``uuid_*``) are queued to it and handled between or during applications, as the
real switch handles private events. Every simulated delay goes through ``sleep``, scaled by
``time_scale`` so tests run fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from callcenter.sim.causes import normalize_cause
from callcenter.sim.channel import EXTENDED_EVENTS, PCMU, Channel, PrivateCommand
from callcenter.sim.conf import Directory, Gateway, IvrMenu
from callcenter.sim.dialplan import Action, Dialplan
from callcenter.sim.events import SimEvent, SwitchIdentity, standard_headers
from callcenter.sim.expand import expand_variables, switch_true
from callcenter.sim.recording import write_stereo_wav

if TYPE_CHECKING:
    from callcenter.sim.endpoints import FarEnds, Phones
    from callcenter.sim.listener import Listener
    from callcenter.sim.server import SimSwitch

__all__ = ["Interrupt", "OriginateResult", "SwitchCore"]

log = logging.getLogger("callcenter.sim")

_CALLING = {
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 626),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3982),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3595),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2408),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 347),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2926),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2967),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 1004),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", 1207),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1774),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3620),
    "CHANNEL_HANGUP_COMPLETE": (
        "switch_core_state_machine.c", "switch_core_session_reporting_state", 1021
    ),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1615),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", 1511),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", 2015),
    "RECORD_START": ("switch_ivr_async.c", "record_callback", 1255),
    "RECORD_STOP": ("switch_ivr_async.c", "record_callback", 1402),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 666),
    "CHANNEL_HOLD": ("switch_ivr.c", "switch_ivr_hold", 1584),
    "CHANNEL_UNHOLD": ("switch_ivr.c", "switch_ivr_unhold", 1651),
    "CHANNEL_ORIGINATE": ("switch_ivr_originate.c", "switch_ivr_originate", 3807),
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", 768),
    "CHANNEL_PROGRESS_MEDIA": (
        "switch_channel.c", "switch_channel_perform_mark_pre_answered", 3757
    ),
    "CALL_UPDATE": ("switch_channel.c", "switch_channel_flip_cid", 3430),
    "API": ("switch_loadable_module.c", "switch_api_execute", 2954),
    "COMMAND": ("switch_ivr_async.c", "switch_ivr_broadcast", 5731),
    "PRIVATE_COMMAND": ("switch_core_session.c", "switch_core_session_queue_private_event", 1175),
    "MEDIA_BUG_START": ("switch_core_media_bug.c", "switch_core_media_bug_add", 1014),
    "MEDIA_BUG_STOP": ("switch_core_media_bug.c", "switch_core_media_bug_close", 1306),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1562),
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2021),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", 95),
    "RE_SCHEDULE": ("switch_scheduler.c", "switch_scheduler_execute", 73),
}  # fmt: skip
_CODEC_CALLING = {
    "read": ("switch_core_codec.c", "switch_core_session_set_read_codec", 279),
    "write": ("switch_core_codec.c", "switch_core_session_set_write_codec", 450),
}
_DEFAULT_CALLING = ("switch_core.c", "switch_core_event", 1)


class Interrupt(Exception):
    """Raised inside a waiting application when the channel must stop what it is doing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ActiveRecording:
    """A recording in progress; the WAV is written when it stops."""

    path: Path
    started: float
    bridged_at: float | None = None
    # RECORD_APPEND was true when it started: the audio goes after what the file holds.
    append: bool = False


@dataclass
class OriginateResult:
    ok: bool
    uuid: str = ""
    cause: str = ""

    @property
    def reply(self) -> str:
        return f"+OK {self.uuid}\n" if self.ok else f"-ERR {self.cause}\n"


AppFunc = Callable[["SwitchCore", Channel, str], Awaitable[str | None]]
InlineFunc = Callable[["SwitchCore", Channel, str], str | None]
"""An application that can also run while the dialplan is hunted (``inline="true"``)."""
ApiFunc = Callable[[str, str, Channel | None], str | None]
"""Runs an api for a variable expansion (``${name(args)}``): its output, None if unknown."""


class SwitchCore:
    """Channels, events and call control; the api and the listeners sit on top of this."""

    def __init__(
        self,
        identity: SwitchIdentity,
        *,
        time_scale: float = 1.0,
        recordings_dir: Path = Path("var/recordings"),
        dialplan: Dialplan | None = None,
        default_playback_seconds: float = 2.0,
    ) -> None:
        self.identity = identity
        self.time_scale = time_scale
        self.recordings_dir = Path(recordings_dir)
        self.dialplan = dialplan or Dialplan.default()
        self.default_playback_seconds = default_playback_seconds
        self.channels: dict[str, Channel] = {}
        self.listeners: set[Listener] = set()
        self.global_vars: dict[str, str] = {
            "domain": identity.ipv4,
            "local_ip_v4": identity.ipv4,
            "hostname": identity.hostname,
            "switchname": identity.hostname,
        }
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self.started = time.time()
        self.apps: dict[str, AppFunc] = {}
        self.inline_apps: dict[str, InlineFunc] = {}
        # What ``${api(args)}`` in an expansion runs (SimSwitch sets its api commands).
        self.api_call: ApiFunc | None = None
        # mod_db's data (the ``db`` application and api): realm -> key -> value.
        self.db: dict[str, dict[str, str]] = {}
        # Set by SimSwitch: the endpoints that dialed legs reach, and the switch itself (for
        # the outbound ``socket`` application, which opens a listener).
        self.owner: SimSwitch | None = None
        self.phones: Phones | None = None
        self.far_ends: FarEnds | None = None
        # What time conditions in the dialplan see; tests may set a fixed clock.
        self.clock: Callable[[], datetime] = datetime.now
        # mod_callcenter stand-in: the member channels waiting in each queue.
        self.queue_members: dict[str, set[str]] = {}
        self.endpoints: dict[str, Callable[[str, dict[str, str]], Awaitable[object]]] = {}
        # The node's configuration folder (SimSwitch(conf_dir=...)): the directory that
        # ``user/...`` checks (None: any registered phone answers), the ivr.conf menus, and the
        # sofia gateways in service (None: any gateway name is accepted).
        self.directory: Directory | None = None
        self.ivr_menus: dict[str, IvrMenu] = {}
        self.gateways: dict[str, Gateway] | None = None
        # The ``limit`` application's counters: "<backend>/<realm>/<resource>" -> channels.
        self.limits: dict[str, int] = {}
        self._tasks: set[asyncio.Task[object]] = set()

    # -- time -----------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) * self.time_scale)

    def spawn(self, coro: Awaitable[object], name: str = "sim") -> asyncio.Task[object]:
        task: asyncio.Task[object] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self) -> None:
        for ch in list(self.channels.values()):
            self.hangup(ch, "SYSTEM_SHUTDOWN")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- events ---------------------------------------------------------------------------------

    def fire(self, event: SimEvent) -> None:
        for listener in list(self.listeners):
            listener.deliver(event)

    def make_event(
        self,
        name: str,
        headers: list[tuple[str, str]] | None = None,
        body: str | None = None,
        subclass: str | None = None,
    ) -> SimEvent:
        base = standard_headers(self.identity, name, _CALLING.get(name, _DEFAULT_CALLING))
        if subclass:
            # A CUSTOM event starts with its subclass, before Event-Name (cap 11).
            base.insert(0, ("Event-Subclass", subclass))
        return SimEvent(name, base + (headers or []), body, subclass)

    def fire_channel(
        self,
        name: str,
        ch: Channel,
        before: list[tuple[str, str]] | None = None,
        after: list[tuple[str, str]] | None = None,
        *,
        body: str | None = None,
        profile: bool = True,
        subclass: str | None = None,
    ) -> None:
        event = self.channel_event(
            name, ch, before, after, body=body, profile=profile, subclass=subclass
        )
        if event is not None:
            self.fire(event)

    def channel_event(
        self,
        name: str,
        ch: Channel,
        before: list[tuple[str, str]] | None = None,
        after: list[tuple[str, str]] | None = None,
        *,
        body: str | None = None,
        profile: bool = True,
        subclass: str | None = None,
    ) -> SimEvent | None:
        """A channel event built now (its time and Event-Sequence), to fire now or later;
        None when no listener wants it."""
        # Building an event costs more than everything else a channel does: skip it when no
        # listener subscribed to this name.
        if not any(listener.may_want(name) for listener in self.listeners):
            return None
        other = self.channels.get(ch.other_uuid) if ch.other_uuid else None
        other_profile = (
            other.profile_headers("Other-Leg")
            if other is not None
            else ch.extra.get("other_profile")
        )
        headers = list(before or [])
        if profile:
            headers += ch.basic_headers(other_profile)
        else:
            headers += ch.state_headers()
        if after:
            headers += after
        if name in EXTENDED_EVENTS:
            headers += ch.variable_headers()
        return self.make_event(name, headers, body, subclass)

    def set_state(self, ch: Channel, state: str) -> None:
        ch.state = state
        self.fire_channel("CHANNEL_STATE", ch)

    def set_call_state(self, ch: Channel, call_state: str) -> None:
        if ch.call_state == "HANGUP" or ch.call_state == call_state:
            return
        original = ch.call_state
        ch.call_state = call_state
        from callcenter.sim.channel import CALL_STATES

        self.fire_channel(
            "CHANNEL_CALLSTATE",
            ch,
            before=[
                ("Original-Channel-Call-State", original),
                ("Channel-Call-State-Number", str(CALL_STATES.index(call_state))),
            ],
        )

    # -- channel life cycle ---------------------------------------------------------------------

    def new_channel(
        self,
        name: str,
        direction: str,
        destination: str,
        *,
        uuid: str | None = None,
        context: str = "default",
        caller_name: str = "",
        caller_number: str = "0000000000",
        variables: dict[str, str] | None = None,
        source: str = "mod_loopback",
        endpoint: str = "null",
        callee_name: str = "",
        callee_number: str = "",
        profile_dialplan: str = "",
        outgoing: bool = False,
        sip_inbound: bool = False,
        codec: bool | None = None,
        hit_dialplan: bool = False,
    ) -> Channel:
        """Create a channel and fire what a real one fires when it is born.

        ``outgoing`` (a leg made by originate/bridge): CODEC, CODEC, CHANNEL_OUTGOING before
        CS_INIT (cap 05); ``codec``: the CODEC events alone (a loopback -b leg);
        ``sip_inbound`` (a call from a SIP peer): CS_NEW first, and no codec until answer
        (cap 12).
        """
        uid = uuid or str(uuidlib.uuid4())
        ch = Channel(
            uuid=uid,
            name=name,
            direction=direction,
            destination=destination,
            context=context,
            caller_name=caller_name,
            caller_number=caller_number,
            source=source,
            endpoint=endpoint,
            callee_name=callee_name,
            callee_number=callee_number,
            profile_dialplan=profile_dialplan,
            hit_dialplan=hit_dialplan,
        )
        if sip_inbound:
            ch.has_codec = False
            ch.codec = PCMU
            ch.username = caller_number
            ch.network_addr = (variables or {}).get("sip_network_ip", "127.0.0.1")
        ch.variables.update(
            {
                "direction": direction,
                "uuid": uid,
                "session_id": str(self.sessions_since_startup + 1),
                "channel_name": name,
                "read_codec": ch.codec[0],
                "read_rate": ch.codec[1],
                "write_codec": ch.codec[0],
                "write_rate": ch.codec[1],
            }
        )
        if direction == "outbound":
            ch.variables["is_outbound"] = "true"
        ch.variables["call_uuid"] = uid
        for key, value in (variables or {}).items():
            ch.set_var(key, value)
        self.channels[uid] = ch
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        if codec if codec is not None else outgoing:
            ch.state = "CS_NONE"
            self.fire_codec(ch)
        if outgoing:
            ch.state = "CS_NONE"
            self.fire_channel("CHANNEL_OUTGOING", ch)
        if sip_inbound:
            # CS_NEW is announced before the caller profile exists (cap 12).
            ch.state = "CS_NEW"
            self.fire_channel("CHANNEL_STATE", ch, profile=False)
        ch.state = "CS_INIT"
        self.fire_channel("CHANNEL_STATE", ch)
        self.fire_channel("CHANNEL_CREATE", ch)
        return ch

    def fire_codec(self, ch: Channel) -> None:
        """The two CODEC events of a channel setting its read and write codec (cap 05, 12).

        Before the channel has a caller profile (a new outgoing leg) they carry the first block
        of channel data and the codecs set so far; later the whole channel data. The read one
        ends with lower-case copies, the write one with the odd ``Channel-Write-codec-bit-rate``
        the real switch sends.
        """
        ch.has_codec = True
        if not any(listener.may_want("CODEC") for listener in self.listeners):
            return
        read, write = ch.codec_headers("Read"), ch.codec_headers("Write")
        early = ch.state == "CS_NONE"
        for side in ("read", "write"):
            headers = standard_headers(self.identity, "CODEC", _CODEC_CALLING[side])
            headers += ch.state_headers()
            if early:
                headers += read if side == "read" else read + write
            else:
                headers += read + write + ch.profile_headers("Caller")
            if side == "read":
                headers += [(k.lower(), v) for k, v in read]
            else:
                headers.append(("Channel-Write-codec-bit-rate", ch.codec[2]))
            self.fire(SimEvent("CODEC", headers))

    def flip_caller_id(self, ch: Channel) -> None:
        """What an api originate does to the answered leg (switch_channel_flip_cid)."""
        ch.variables["pre_transfer_caller_id_number"] = ch.caller_number
        ch.variables["channel_cid_flipped"] = "yes"
        ch.variables.setdefault("orig_caller_id_name", ch.caller_name)
        old_name, old_number = ch.caller_name, ch.caller_number
        ch.ani = ch.ani or old_number
        ch.caller_name = ch.callee_name or "Outbound Call"
        ch.caller_number = ch.callee_number or ch.destination
        ch.callee_name, ch.callee_number = old_name, old_number
        ch.extra["orig_caller_number"] = old_number
        self.fire_channel("CALL_UPDATE", ch, before=[("Direction", "RECV")])

    def start_program(self, ch: Channel, actions: list[Action]) -> None:
        """Run applications on the channel in its own task (the session thread)."""
        ch.extra["program"] = list(actions)
        ch.task = asyncio.ensure_future(self._run_channel(ch))

    def expand(self, ch: Channel | None, text: str) -> str:
        """``switch_channel_expand_variables``: ``${var}`` from the channel (its variables, its
        caller profile, then the globals), ``$${var}`` from the globals, ``${api(args)}`` runs
        the api (see ``callcenter.sim.expand``)."""

        def variable(name: str) -> str | None:
            return ch.get_var(name) if ch is not None else None

        def api(name: str, args: str) -> str | None:
            return self.api_call(name, args, ch) if self.api_call is not None else None

        return expand_variables(text, variable, global_lookup=self.global_vars, api=api)

    def run_inline(self, ch: Channel, action: Action) -> None:
        """An ``inline="true"`` action, run while the dialplan is hunted (mod_dialplan_xml's
        exec_app): its data expanded, CHANNEL_EXECUTE / _COMPLETE around it. Only applications
        FreeSWITCH flags for routing (set, export, unset...) can; others are skipped."""
        func = self.inline_apps.get(action.application.lower())
        if func is None:
            log.warning("sim_app_not_inline uuid=%s app=%s", ch.uuid, action.application)
            return
        data = self.expand(ch, action.data)
        extra, outer = self._app_started(ch, action.application, data, str(uuidlib.uuid4()))
        response = func(self, ch, data)
        self._app_finished(ch, extra, response, outer)

    def route_dialplan(self, ch: Channel, destination: str, context: str) -> list[Action] | None:
        ch.destination = destination
        ch.context = context

        def field(name: str) -> str | None:
            if name.startswith("${") and name.endswith("}"):
                return ch.get_var(name[2:-1]) or self.global_vars.get(name[2:-1])
            fields = {
                "destination_number": ch.destination,
                "caller_id_number": ch.caller_number,
                "caller_id_name": ch.caller_name,
                "context": ch.context,
                "network_addr": ch.variables.get("sip_network_ip", ""),
                "ani": ch.caller_number,
                "uuid": ch.uuid,
                "chan_name": ch.name,
            }
            if name in fields:
                return fields[name]
            return ch.get_var(name) or self.global_vars.get(name)

        return self.dialplan.route(
            context,
            field,
            now=self.clock(),
            expand=lambda text: self.expand(ch, text),
            run_inline=lambda action: self.run_inline(ch, action),
        )

    async def _run_channel(self, ch: Channel) -> None:
        try:
            while ch.is_up:
                nxt = ch.extra.pop("next", None)
                if nxt is not None:
                    await self._follow(ch, nxt)
                    continue
                program: list[Action] = ch.extra.get("program", [])
                if not program:
                    break
                action = program.pop(0)
                await self.execute(ch, action.application, action.data)
            if ch.is_up and not ch.extra.get("keep_alive"):
                self.hangup(ch, "NORMAL_CLEARING")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sim_channel_crashed uuid=%s", ch.uuid)
            self.hangup(ch, "CRASH")
        finally:
            if ch.hangup_cause is not None:
                await self._finish_hangup(ch)

    async def _follow(self, ch: Channel, nxt: tuple[object, ...]) -> None:
        kind = nxt[0]
        if kind == "transfer":
            _, dest, context = nxt
            for hook in list(ch.on_routing):
                hook()
            self.new_profile(ch, f"bl_xfer:{dest}/{context}/XML")
            ch.rdnis = ch.destination
            ch.profile_dialplan = "XML"
            actions = self.route_dialplan(ch, str(dest), str(context))
            ch.transfer_us = int(time.time() * 1_000_000)
            ch.hit_dialplan = True
            if actions is None:
                self.hangup(ch, "NO_ROUTE_DESTINATION")
            else:
                ch.extra["program"] = list(actions)
        elif kind == "program":
            steps = nxt[1]
            ch.extra["program"] = list(steps) if isinstance(steps, list) else []
        elif kind == "bridged":
            ready = ch.extra.get("bridge_ready")
            if isinstance(ready, asyncio.Event):
                ready.set()
            await self.stay_bridged(ch)

    async def execute(self, ch: Channel, app: str, arg: str, event_uuid: str | None = None) -> None:
        func = self.apps.get(app.lower())
        if func is None:
            # An unknown application ends the call (switch_core_session_execute_application).
            log.warning("sim_unknown_app uuid=%s app=%s", ch.uuid, app)
            self.hangup(ch, "DESTINATION_OUT_OF_ORDER")
            return
        data = self.expand(ch, arg or "")
        extra, outer = self._app_started(ch, app, data, event_uuid or str(uuidlib.uuid4()))
        response: str | None = None
        try:
            response = await func(self, ch, data)
        except Interrupt:
            response = None
        self._app_finished(ch, extra, response, outer)

    def _app_started(
        self, ch: Channel, app: str, data: str, app_uuid: str
    ) -> tuple[list[tuple[str, str]], tuple[str | None, object]]:
        """CHANNEL_EXECUTE, and the channel's current application; returns the event headers
        and the application that was running (a sendmsg can run one inside another: playback
        during park), to restore afterwards."""
        outer = (ch.current_app, ch.extra.get("app_data"))
        ch.variables["current_application"] = app
        if data:
            ch.variables["current_application_data"] = data
        else:
            ch.variables.pop("current_application_data", None)
        ch.current_app = app
        ch.extra["app_data"] = data
        extra = [("Application", app)]
        if data:
            extra.append(("Application-Data", data))
        extra.append(("Application-UUID", app_uuid))
        self.fire_channel("CHANNEL_EXECUTE", ch, after=extra)
        return extra, outer

    def _app_finished(
        self,
        ch: Channel,
        extra: list[tuple[str, str]],
        response: str | None,
        outer: tuple[str | None, object],
    ) -> None:
        if response is not None:
            ch.variables["current_application_response"] = response
        final = ch.variables.get("current_application_response", "_none_")
        # Application-Response comes before Application-UUID here (cap 05, 08).
        complete = [*extra[:-1], ("Application-Response", final), extra[-1]]
        self.fire_channel("CHANNEL_EXECUTE_COMPLETE", ch, after=complete)
        ch.current_app, ch.extra["app_data"] = outer
        if outer[0] is not None:
            ch.variables["current_application"] = outer[0]

    # -- waiting inside applications ------------------------------------------------------------

    async def wait(
        self,
        ch: Channel,
        seconds: float | None,
        *,
        breakable: bool = True,
        media: bool = False,
    ) -> None:
        """Let time pass on a channel while handling its messages.

        Returns when ``seconds`` (simulated) have passed; raises ``Interrupt`` on hangup, or when
        something (uuid_bridge, uuid_transfer, uuid_break) takes the channel away.
        """
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds * self.time_scale
        while True:
            if not ch.is_up:
                raise Interrupt("hangup")
            if breakable and ch.extra.get("next") is not None:
                raise Interrupt("taken")
            # uuid_break stops what a channel plays, not what it waits for (park, sleep).
            if breakable and media and ch.extra.pop("break", False):
                raise Interrupt("break")
            timeout = None if deadline is None else deadline - loop.time()
            if timeout is not None and timeout <= 0:
                return
            get = asyncio.ensure_future(ch.inbox.get())
            hang = asyncio.ensure_future(ch.hangup_event.wait())
            taken = asyncio.ensure_future(ch.unbridged.wait())
            done, _ = await asyncio.wait(
                {get, hang, taken}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for fut in (hang, taken):
                fut.cancel()
            if get in done:
                await self.handle_message(ch, get.result())
            else:
                get.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await get
            if taken in done:
                ch.unbridged.clear()
                if not breakable:
                    return

    def poke(self, ch: Channel) -> None:
        """Wake a waiting application so it re-checks ``next``/``break``."""
        ch.unbridged.set()

    async def handle_message(self, ch: Channel, msg: PrivateCommand) -> None:
        try:
            if msg.command == "hangup":
                self.hangup(ch, msg.cause)
            elif msg.command == "execute":
                loops = msg.loops if msg.loops != 0 else 1
                count = 0
                while ch.is_up and (loops < 0 or count < loops):
                    await self.execute(ch, msg.app, msg.arg or "", msg.event_uuid)
                    count += 1
        finally:
            if msg.late_event is not None:
                self.fire(msg.late_event)
            if msg.done is not None and not msg.done.done():
                msg.done.set_result(None)

    # -- call control ---------------------------------------------------------------------------

    async def answer(self, ch: Channel) -> None:
        if ch.answered or not ch.is_up:
            return
        if not ch.has_codec:
            # A SIP call answered by the dialplan: codec, early media, then the answer (cap 12).
            self.fire_codec(ch)
            await self.pre_answer(ch)
        ch.answered = True
        ch.answered_us = int(time.time() * 1_000_000)
        ch.variables["endpoint_disposition"] = "ANSWER"
        # A loopback -b leg answering answers its -a twin first (cap 05: ANSWER a, ANSWER b).
        peer = ch.extra.get("loopback_peer")
        if isinstance(peer, Channel) and not peer.answered:
            await self.answer(peer)
        self.fire_channel("CHANNEL_ANSWER", ch)
        if ch.extra.pop("flip_on_answer", False):
            # An api originate's leg shows the callee as its caller once answered: CALL_UPDATE
            # between CHANNEL_ANSWER and the ACTIVE call state (cap 05).
            self.flip_caller_id(ch)
        self.set_call_state(ch, "ACTIVE")
        ch.answered_event.set()

    async def pre_answer(self, ch: Channel) -> None:
        if ch.answered or ch.early or not ch.is_up:
            return
        if not ch.has_codec:
            self.fire_codec(ch)
        ch.early = True
        ch.progress_us = int(time.time() * 1_000_000)
        self.fire_channel("CHANNEL_PROGRESS_MEDIA", ch)
        self.set_call_state(ch, "EARLY")

    def account_hold(self, ch: Channel, hold: bool) -> None:
        """Time on hold adds up over the call; FreeSWITCH reports it at hangup as
        ``hold_accum_seconds`` / ``hold_accum_ms`` / ``hold_accum_usec``."""
        now = int(time.time() * 1_000_000)
        if hold:
            ch.extra["hold_since_us"] = now
            ch.variables["last_hold_uepoch"] = str(now)
            ch.variables["last_hold_epoch"] = str(now // 1_000_000)
            return
        since = ch.extra.pop("hold_since_us", None)
        if isinstance(since, int):
            ch.extra["hold_accum_us"] = int(ch.extra.get("hold_accum_us", 0)) + now - since

    def hangup(self, ch: Channel, cause: str = "NORMAL_CLEARING") -> bool:
        """Start hanging up; the channel task finishes the sequence. False if already down."""
        if not ch.is_up:
            return False
        ch.hangup_cause = normalize_cause(cause)
        ch.hangup_us = int(time.time() * 1_000_000)
        ch.variables["hangup_cause"] = ch.hangup_cause
        from callcenter.sim.causes import cause_code

        ch.variables["hangup_cause_q850"] = str(cause_code(ch.hangup_cause))
        self.fire_channel("CHANNEL_HANGUP", ch)
        ch.hangup_event.set()
        self._stop_recordings(ch)
        if ch.task is None or ch.task.done():
            # No application thread (e.g. a ringing leg): finish here.
            self.spawn(self._finish_hangup(ch))
        # The other leg of a bridge, and the twin of a loopback, go down with it.
        if ch.other_uuid:
            other = self.channels.get(ch.other_uuid)
            if other is not None and other.is_up:
                self.unbridge(ch, other)
        peer = ch.extra.get("loopback_peer")
        if isinstance(peer, Channel) and peer.is_up:
            self.hangup(peer, ch.hangup_cause)
        return True

    async def _finish_hangup(self, ch: Channel) -> None:
        if ch.gone.is_set() or ch.extra.get("finishing"):
            return
        ch.extra["finishing"] = True
        ch.state = "CS_HANGUP"
        self.fire_channel("CHANNEL_STATE", ch)
        self.set_call_state(ch, "HANGUP")
        ch.state = "CS_REPORTING"
        self.fire_channel("CHANNEL_STATE", ch)
        answered = ch.answered_us
        billsec = max(0, (ch.hangup_us - answered) // 1_000_000) if answered else 0
        ch.variables["billsec"] = str(billsec)
        ch.variables["duration"] = str(max(0, (ch.hangup_us - ch.created_us) // 1_000_000))
        ch.variables.setdefault("sip_hangup_disposition", "send_bye")
        if ch.held:
            self.account_hold(ch, False)
        held_us = int(ch.extra.get("hold_accum_us", 0))
        ch.variables["hold_accum_seconds"] = str(held_us // 1_000_000)
        ch.variables["hold_accum_ms"] = str(held_us // 1000)
        ch.variables["hold_accum_usec"] = str(held_us)
        cause = ch.hangup_cause or "NORMAL_CLEARING"
        self.fire_channel("CHANNEL_HANGUP_COMPLETE", ch, before=[("Hangup-Cause", cause)])
        for notify in ch.on_reported:
            notify()
        self.fire_channel("CHANNEL_DESTROY", ch)
        ch.state = "CS_DESTROY"
        self.fire_channel("CHANNEL_STATE", ch)
        self.channels.pop(ch.uuid, None)
        ch.gone.set()

    def new_profile(self, ch: Channel, how: str) -> None:
        """A transfer or uuid_bridge gives the channel a new caller profile (cap 08:
        ``Caller-Profile-Index: 2``, ``Caller-Transfer-Source: <epoch>:<uuid>:uuid_br:<other>``)."""
        now = time.time()
        source = f"{int(now)}:{uuidlib.uuid4()}:{how}"
        ch.profile_index += 1
        ch.profile_created_us = int(now * 1_000_000)
        ch.transfer_source = source
        ch.variables.setdefault("original_destination_number", ch.destination)
        ch.variables.setdefault("original_caller_id_name", ch.caller_name)
        ch.variables.setdefault("original_caller_id_number", ch.caller_number)
        ch.variables["transfer_source"] = source
        history = ch.variables.get("transfer_history")
        ch.variables["transfer_history"] = f"{history}|:{source}" if history else source

    def bridge(self, a: Channel, b: Channel, *, by_api: bool) -> None:
        """Join two legs; CHANNEL_BRIDGE is fired on the A leg (switch_ivr_bridge.c)."""
        now = int(time.time() * 1_000_000)
        a.other_uuid, b.other_uuid = b.uuid, a.uuid
        a.other_type, b.other_type = "originatee", "originator"
        a.bridged_us = b.bridged_us = now
        a.bridged_by_api = b.bridged_by_api = by_api
        a.extra["bridge_over"] = b.extra["bridge_over"] = False
        for one, two in ((a, b), (b, a)):
            # The other leg's profile stays on the channel after the bridge (as in FreeSWITCH).
            one.extra["other_profile"] = two.profile_headers("Other-Leg")
            one.variables["bridge_uuid"] = two.uuid
            one.variables["bridge_channel"] = two.name
            one.variables["signal_bond"] = two.uuid
            one.variables["last_bridge_to"] = two.uuid
        self.fire_channel(
            "CHANNEL_BRIDGE",
            a,
            before=[("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)],
        )
        for leg in (a, b):
            for rec in leg.extra.get("recordings", {}).values():
                if rec.bridged_at is None:
                    rec.bridged_at = time.monotonic()

    def unbridge(self, leaving: Channel, staying: Channel) -> None:
        a, b = (leaving, staying) if leaving.other_type == "originatee" else (staying, leaving)
        self.fire_channel(
            "CHANNEL_UNBRIDGE",
            a,
            before=[("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)],
        )
        staying.extra["unbridged_from"] = leaving.uuid
        for ch in (leaving, staying):
            ch.other_uuid = None
            ch.extra["bridge_over"] = True
            self.poke(ch)

    async def stay_bridged(self, ch: Channel) -> None:
        """A bridged leg's thread: idle (handling messages) until the bridge ends."""
        while ch.is_up and not ch.extra.get("bridge_over"):
            try:
                await self.wait(ch, None, breakable=False)
            except Interrupt:
                break
            if ch.extra.get("next") is not None:
                break
        ch.extra.pop("bridge_over", None)
        if (
            ch.is_up
            and ch.other_uuid is None
            and ch.extra.get("next") is None
            and (
                ch.variables.get("hangup_after_bridge") == "true"
                or ch.bridged_by_api
                or ch.extra.get("hangup_when_unbridged")
            )
        ):
            if switch_true(ch.get_var("park_after_bridge")):
                # switch_ivr_multi_threaded_bridge: park_after_bridge wins over hanging up, so
                # a leg left alone by its partner (a consultation, a transfer) stays up, parked.
                self.take(ch, ("program", [Action("park", "")]))
            else:
                self.hangup(ch, "NORMAL_CLEARING")

    def take(self, ch: Channel, nxt: tuple[object, ...]) -> None:
        """Make the channel stop its application and do ``nxt`` (bridge, transfer)."""
        ch.extra["next"] = nxt
        self.poke(ch)
        if ch.task is None or ch.task.done():
            ch.extra["program"] = []
            ch.task = asyncio.ensure_future(self._run_channel(ch))

    async def bridge_by_api(self, a: Channel, b: Channel) -> None:
        """``uuid_bridge``: both legs leave what they run (park...), then CHANNEL_BRIDGE."""
        for ch in (a, b):
            other = self.channels.get(ch.other_uuid) if ch.other_uuid else None
            if other is not None and other not in (a, b):
                self.unbridge(ch, other)
        # The legs know each other before their applications end (cap 08: Other-Leg-* on the
        # CHANNEL_EXECUTE_COMPLETE of park).
        self.new_profile(a, f"uuid_br:{b.uuid}")
        self.new_profile(b, f"uuid_br:{a.uuid}")
        a.variables["uuid_bridge"] = b.uuid
        a.extra["other_profile"] = b.profile_headers("Other-Leg")
        b.extra["other_profile"] = a.profile_headers("Other-Leg")
        a.other_type, b.other_type = "originatee", "originator"
        ready = []
        for ch in (a, b):
            event = asyncio.Event()
            ch.extra["bridge_ready"] = event
            ch.extra["bridge_over"] = False
            ch.extra["program"] = []
            self.take(ch, ("bridged",))
            ready.append(event)

        # Both legs leave their applications, or one of them hangs up meanwhile (an agent who
        # hangs up at once must not hold the api caller for the whole timeout).
        async def both() -> None:
            for event in ready:
                await event.wait()

        both_ready = asyncio.ensure_future(both())
        gone = [asyncio.ensure_future(ch.hangup_event.wait()) for ch in (a, b)]
        try:
            await asyncio.wait([both_ready, *gone], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in (both_ready, *gone):
                fut.cancel()
        for ch in (a, b):
            ch.extra.pop("bridge_ready", None)
        if a.is_up and b.is_up:
            self.bridge(a, b, by_api=True)
            return
        # One leg hung up before the bridge: the other was taken out of its application for a
        # bridge that will not come, and hangs up as a leg whose api bridge ended does.
        for ch in (a, b):
            if ch.is_up:
                ch.extra["bridge_over"] = True
                ch.variables["hangup_after_bridge"] = "true"
                self.poke(ch)

    def transfer_to_app(self, ch: Channel, app: str, arg: str) -> None:
        other = self.channels.get(ch.other_uuid) if ch.other_uuid else None
        if other is not None:
            self.unbridge(ch, other)
        ch.extra["program"] = []
        self.take(ch, ("program", [Action(app, arg)]))

    def transfer(self, ch: Channel, dest: str, context: str) -> None:
        other = self.channels.get(ch.other_uuid) if ch.other_uuid else None
        if other is not None:
            self.unbridge(ch, other)
            if other.bridged_by_api and not switch_true(other.get_var("park_after_bridge")):
                self.hangup(other, "NORMAL_CLEARING")
        ch.extra["program"] = []
        ch.extra.pop("other_profile", None)
        self.take(ch, ("transfer", dest, context))

    # -- recording ------------------------------------------------------------------------------

    def start_recording(self, ch: Channel, path: str, limit: float | None = None) -> Path:
        file = Path(path)
        if not file.is_absolute():
            file = self.recordings_dir / file
        recs: dict[str, ActiveRecording] = ch.extra.setdefault("recordings", {})
        if str(file) in recs:
            # switch_ivr_record_session: "Already recording" is a success that changes nothing
            # (no second media bug, no RECORD_START, the file goes on).
            return file
        now = time.monotonic()
        append = switch_true(ch.get_var("RECORD_APPEND"))
        recs[str(file)] = ActiveRecording(file, now, now if ch.other_uuid else None, append)
        self.fire_channel("RECORD_START", ch, after=[("Record-File-Path", str(file))])
        self.fire_channel("MEDIA_BUG_START", ch, before=_media_bug(file))
        if limit:
            self.spawn(self._record_limit(ch, str(file), limit))
        return file

    async def _record_limit(self, ch: Channel, key: str, limit: float) -> None:
        await self.sleep(limit)
        self.stop_recording(ch, key, "success-maxtime")

    def stop_recording(self, ch: Channel, path: str | None, cause: str = "success") -> bool:
        recs: dict[str, ActiveRecording] = ch.extra.get("recordings", {})
        keys = list(recs) if path in (None, "all") else [k for k in recs if k.endswith(path or "")]
        if not keys:
            return False
        for key in keys:
            rec = recs.pop(key)
            elapsed = (time.monotonic() - rec.started) / self.time_scale
            bridged_from = (
                None if rec.bridged_at is None else (rec.bridged_at - rec.started) / self.time_scale
            )
            write_stereo_wav(rec.path, elapsed, bridged_from, append=rec.append)
            self.fire_channel(
                "RECORD_STOP",
                ch,
                after=[("Record-File-Path", str(rec.path)), ("Record-Completion-Cause", cause)],
            )
            self.fire_channel("MEDIA_BUG_STOP", ch, before=_media_bug(rec.path))
        return True

    def _stop_recordings(self, ch: Channel) -> None:
        if ch.extra.get("recordings"):
            self.stop_recording(ch, None, "success")

    # -- helpers --------------------------------------------------------------------------------

    def find(self, uuid: str) -> Channel | None:
        ch = self.channels.get(uuid.strip())
        return ch if ch is not None and ch.is_up else None


def _media_bug(path: Path) -> list[tuple[str, str]]:
    return [("Media-Bug-Function", "session_record"), ("Media-Bug-Target", str(path))]


def parse_originate_vars(spec: str) -> tuple[dict[str, str], str]:
    """Split ``{a=1,b='x,y'}[c=2]endpoint`` into variables and the endpoint string."""
    variables: dict[str, str] = {}
    rest = spec
    while rest[:1] in ("{", "[", "<"):
        close = {"{": "}", "[": "]", "<": ">"}[rest[0]]
        end = rest.find(close)
        if end < 0:
            break
        for key, value in _split_vars(rest[1:end]):
            variables[key] = value
        rest = rest[end + 1 :]
    return variables, rest


def _split_vars(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in re.findall(r"(?:[^,']|'[^']*')+", text):
        key, sep, value = part.partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            out.append((key.strip(), value))
    return out

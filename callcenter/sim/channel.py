"""A simulated channel: its state, caller profile, variables, and the headers it puts on events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from callcenter.sim.events import SimEvent

__all__ = ["CALL_STATES", "CHANNEL_STATES", "L16", "PCMU", "Channel", "PrivateCommand"]

CHANNEL_STATES = [
    "CS_NEW", "CS_INIT", "CS_ROUTING", "CS_SOFT_EXECUTE", "CS_EXECUTE", "CS_EXCHANGE_MEDIA",
    "CS_PARK", "CS_CONSUME_MEDIA", "CS_HIBERNATE", "CS_RESET", "CS_HANGUP", "CS_REPORTING",
    "CS_DESTROY", "CS_NONE",
]  # fmt: skip
CALL_STATES = [
    "DOWN", "DIALING", "RINGING", "EARLY", "ACTIVE", "HELD", "RING_WAIT", "HANGUP", "UNHELD",
]  # fmt: skip

# Events that carry every channel variable (switch_channel_event_set_extended_data).
EXTENDED_EVENTS = frozenset(
    {
        "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_ANSWER", "CHANNEL_PARK",
        "CHANNEL_UNPARK", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS",
        "CHANNEL_PROGRESS_MEDIA", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DATA",
        "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_DESTROY", "SESSION_HEARTBEAT",
        "API", "RECORD_START", "RECORD_STOP", "PLAYBACK_START", "PLAYBACK_STOP", "CALL_UPDATE",
        "MEDIA_BUG_START", "MEDIA_BUG_STOP", "CHANNEL_HOLD", "CHANNEL_UNHOLD", "CUSTOM",
    }
)  # fmt: skip


# Codec name, rate, bit rate: loopback and null legs run L16 (cap 05, 08), SIP calls PCMU (cap 12).
L16 = ("L16", "8000", "128000")
PCMU = ("PCMU", "8000", "64000")


def _usec() -> int:
    return int(time.time() * 1_000_000)


@dataclass
class PrivateCommand:
    """A sendmsg delivered to a channel (execute or hangup)."""

    command: str
    app: str = ""
    arg: str | None = None
    event_uuid: str | None = None
    loops: int = 1
    cause: str = "NORMAL_CLEARING"
    headers: dict[str, str] = field(default_factory=dict)
    done: asyncio.Future[None] | None = None
    # uuid_broadcast's COMMAND event: created when queued, delivered after the application
    # ran, as the real switch's event threads deliver it (cap 05: an older Event-Sequence
    # arriving after the PLAYBACK events).
    late_event: SimEvent | None = None


@dataclass
class Channel:
    uuid: str
    name: str
    direction: str  # "inbound" | "outbound"
    destination: str
    context: str = "default"
    caller_name: str = ""
    caller_number: str = "0000000000"
    callee_name: str = ""
    callee_number: str = ""
    source: str = "mod_loopback"
    dialplan: str = "XML"
    endpoint: str = "null"
    variables: dict[str, str] = field(default_factory=dict)
    state: str = "CS_NEW"
    call_state: str = "DOWN"
    answered: bool = False
    early: bool = False
    hit_dialplan: bool = False
    hangup_cause: str | None = None
    other_uuid: str | None = None
    other_type: str = "originatee"
    bridged_by_api: bool = False
    held: bool = False
    # Caller-profile fields that only some channels have (empty ones are left off the events).
    profile_dialplan: str = ""  # "xml" on loopback legs, "XML" on sofia inbound / transferred
    username: str = ""
    network_addr: str = ""
    transfer_source: str = ""
    rdnis: str = ""
    ani: str = ""  # kept when originate flips the caller id (cap 05: ANI stays the caller's)
    # A SIP channel negotiates its codec at answer: until then its events carry no codec headers.
    has_codec: bool = True
    codec: tuple[str, str, str] = L16
    created_us: int = field(default_factory=_usec)
    answered_us: int = 0
    progress_us: int = 0
    hangup_us: int = 0
    bridged_us: int = 0
    transfer_us: int = 0
    profile_index: int = 1
    profile_created_us: int = field(default_factory=_usec)
    created_epoch: float = field(default_factory=time.time)
    inbox: asyncio.Queue[PrivateCommand] = field(default_factory=asyncio.Queue)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    # Called right after CHANNEL_HANGUP_COMPLETE: a controlling socket is told then (cap 10).
    on_reported: list[Callable[[], None]] = field(default_factory=list)
    # Called when a transfer sends the channel back to routing (CS_ROUTING state hooks).
    on_routing: list[Callable[[], None]] = field(default_factory=list)
    answered_event: asyncio.Event = field(default_factory=asyncio.Event)
    hangup_event: asyncio.Event = field(default_factory=asyncio.Event)
    unbridged: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    current_app: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_up(self) -> bool:
        return self.hangup_cause is None

    @property
    def state_number(self) -> int:
        return CHANNEL_STATES.index(self.state)

    @property
    def answer_state(self) -> str:
        if self.hangup_cause is not None:
            return "hangup"
        if self.answered:
            return "answered"
        if self.early:
            return "early"
        return "ringing"

    def set_var(self, name: str, value: str | None) -> None:
        if value is None or value == "":
            self.variables.pop(name, None)
        else:
            self.variables[name] = value

    # -- headers --------------------------------------------------------------------------------

    def profile_headers(self, prefix: str) -> list[tuple[str, str]]:
        """The caller profile (switch_caller_profile_event_set_data), empty fields omitted.

        The order is the one of switch_caller.c (cap 05, 08, 12); the other leg's profile has no
        ``Profile-Index`` (cap 08).
        """
        logical = "inbound" if self.direction == "inbound" or self.hit_dialplan else "outbound"
        items = [
            ("Direction", self.direction),
            ("Logical-Direction", logical),
            ("Username", self.username),
            ("Dialplan", self.profile_dialplan),
            ("Caller-ID-Name", self.caller_name),
            ("Caller-ID-Number", self.caller_number),
            ("Orig-Caller-ID-Name", self.variables.get("orig_caller_id_name", self.caller_name)),
            (
                "Orig-Caller-ID-Number",
                str(self.extra.get("orig_caller_number", self.caller_number)),
            ),
            ("Callee-ID-Name", self.callee_name),
            ("Callee-ID-Number", self.callee_number),
            ("Network-Addr", self.network_addr),
            ("ANI", self.ani or self.caller_number),
            ("Destination-Number", self.destination),
            ("Unique-ID", self.uuid),
            ("Source", self.source),
            ("Transfer-Source", "" if prefix == "Other-Leg" else self.transfer_source),
            ("Context", self.context),
            ("RDNIS", self.rdnis),
            ("Channel-Name", self.name),
            ("Profile-Index", "" if prefix == "Other-Leg" else str(self.profile_index)),
            ("Profile-Created-Time", str(self.profile_created_us)),
            ("Channel-Created-Time", str(self.created_us)),
            ("Channel-Answered-Time", str(self.answered_us)),
            ("Channel-Progress-Time", str(self.progress_us)),
            ("Channel-Progress-Media-Time", str(self.progress_us)),
            ("Channel-Hangup-Time", str(self.hangup_us)),
            ("Channel-Transfer-Time", str(self.transfer_us)),
            ("Channel-Resurrect-Time", "0"),
            ("Channel-Bridged-Time", str(self.bridged_us)),
            ("Channel-Last-Hold", "0"),
            ("Channel-Hold-Accum", "0"),
            ("Screen-Bit", "true"),
            ("Privacy-Hide-Name", "false"),
            ("Privacy-Hide-Number", "false"),
        ]
        return [(f"{prefix}-{k}", v) for k, v in items if v != ""]

    def get_var(self, name: str) -> str | None:
        """A channel variable, else a caller-profile field of that name (switch_channel.c
        ``switch_channel_get_variable`` falls back to the profile: ``caller_id_number`` is
        readable in outbound mode though nobody set it, cap 10)."""
        value = self.variables.get(name)
        if value:
            return value
        fields = {
            "caller_id_name": self.caller_name,
            "caller_id_number": self.caller_number,
            "callee_id_name": self.callee_name,
            "callee_id_number": self.callee_number,
            "destination_number": self.destination,
            "ani": self.caller_number,
            "context": self.context,
            "dialplan": self.profile_dialplan,
            "username": self.username,
            "network_addr": self.network_addr,
            "rdnis": self.rdnis,
            "source": self.source,
            "chan_name": self.name,
            "uuid": self.uuid,
            "transfer_source": self.transfer_source,
        }
        return fields.get(name) or None

    def basic_headers(self, other_profile: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
        headers = self.state_headers()
        if self.has_codec:
            headers += self.codec_headers("Read") + self.codec_headers("Write")
        headers += self.profile_headers("Caller")
        if other_profile:
            headers.append(("Other-Type", self.other_type))
            headers += other_profile
        return headers

    def codec_headers(self, side: str) -> list[tuple[str, str]]:
        name, rate, bits = self.codec
        return [
            (f"Channel-{side}-Codec-Name", name),
            (f"Channel-{side}-Codec-Rate", rate),
            (f"Channel-{side}-Codec-Bit-Rate", bits),
        ]

    def state_headers(self) -> list[tuple[str, str]]:
        """The first block of channel data: states, name, ids, answer state, hangup cause."""
        headers = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.call_state),
            ("Channel-State-Number", str(self.state_number)),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.variables.get("call_uuid", self.uuid)),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause is not None:
            headers.append(("Hangup-Cause", self.hangup_cause))
        return headers

    def variable_headers(self) -> list[tuple[str, str]]:
        return [(f"variable_{k}", v) for k, v in self.variables.items()]

    def show_row(self, hostname: str) -> dict[str, str]:
        """A row of ``show channels`` (the columns of the core db channels table)."""
        return {
            "uuid": self.uuid,
            "direction": self.direction,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.created_epoch)),
            "created_epoch": str(int(self.created_epoch)),
            "name": self.name,
            "state": self.state,
            "cid_name": self.caller_name,
            "cid_num": self.caller_number,
            "ip_addr": self.variables.get("sip_network_ip", ""),
            "dest": self.destination,
            "application": self.current_app or "",
            "application_data": self.extra.get("app_data") or "",
            "dialplan": self.dialplan,
            "context": self.context,
            "read_codec": self.codec[0],
            "read_rate": self.codec[1],
            "read_bit_rate": self.codec[2],
            "write_codec": self.codec[0],
            "write_rate": self.codec[1],
            "write_bit_rate": self.codec[2],
            "secure": "",
            "hostname": hostname,
            "presence_id": "",
            "presence_data": "",
            "accountcode": self.variables.get("accountcode", ""),
            "callstate": self.call_state,
            "callee_name": self.callee_name,
            "callee_num": self.callee_number,
            "callee_direction": "",
            "call_uuid": self.variables.get("call_uuid", self.uuid),
            "sent_callee_name": "",
            "sent_callee_num": "",
            "initial_cid_name": self.caller_name,
            "initial_cid_num": self.caller_number,
            "initial_ip_addr": self.variables.get("sip_network_ip", ""),
            "initial_dest": self.destination,
            "initial_dialplan": self.dialplan,
            "initial_context": self.context,
        }

"""Events the simulated switch fires: ordered headers, a body, serialized once per format."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from callcenter.esl.serialize import serialize_event

__all__ = ["SimEvent", "SwitchIdentity", "standard_headers"]

_SEQUENCE = itertools.count(1)


@dataclass(frozen=True)
class SwitchIdentity:
    core_uuid: str
    hostname: str = "sim"
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"


def standard_headers(
    identity: SwitchIdentity, name: str, calling: tuple[str, str, int]
) -> list[tuple[str, str]]:
    """The headers every event starts with (switch_event_prep_for_delivery_detailed)."""
    now = time.time()
    return [
        ("Event-Name", name),
        ("Core-UUID", identity.core_uuid),
        ("FreeSWITCH-Hostname", identity.hostname),
        ("FreeSWITCH-Switchname", identity.hostname),
        ("FreeSWITCH-IPv4", identity.ipv4),
        ("FreeSWITCH-IPv6", identity.ipv6),
        ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))),
        ("Event-Date-GMT", formatdate(now, usegmt=True)),
        ("Event-Date-Timestamp", str(int(now * 1_000_000))),
        ("Event-Calling-File", calling[0]),
        ("Event-Calling-Function", calling[1]),
        ("Event-Calling-Line-Number", str(calling[2])),
        ("Event-Sequence", str(next(_SEQUENCE))),
    ]


@dataclass
class SimEvent:
    name: str
    headers: list[tuple[str, str]]
    body: str | None = None
    subclass: str | None = None
    _wire: dict[str, bytes] = field(default_factory=dict, repr=False)

    def get(self, header: str) -> str | None:
        lowered = header.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def wire(self, fmt: str) -> bytes:
        """The complete text/event-<fmt> frame, built once and shared by every listener."""
        data = self._wire.get(fmt)
        if data is None:
            data = serialize_event(fmt, self.headers, self.body)
            self._wire[fmt] = data
        return data

"""Scripted endpoints: agent phones and far ends that answer, reject or ring; PSTN callers.

    phone = switch.phones.register("1000", "default", answer_after=0.5)   # user/1000@default
    phone.update(reject="USER_BUSY")                                      # next offer is refused
    call = await switch.callers.dial("74951112233", caller_number="4951234567")
    await call.press("1"); await call.hangup()

Times are simulated seconds (multiplied by the switch's ``time_scale``).
"""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.sim.channel import Channel
from callcenter.sim.originate import emit_dtmf

if TYPE_CHECKING:
    from callcenter.sim.switch import SwitchCore

__all__ = ["Answering", "Caller", "Callers", "FarEnds", "Phone", "Phones"]


class _Keep:
    """Marks an argument of ``Answering.update`` that was not given."""


KEEP = _Keep()


@dataclass
class Answering:
    """How a dialed endpoint behaves: answer after a delay, reject, or never answer."""

    answer_after: float | None = 0.5
    reject: str | None = None
    reject_after: float = 0.2
    hangup_after: float | None = None
    calls: list[str] = field(default_factory=list)
    # Every call offered to this endpoint, in order, for ``wait_call``.
    offers: asyncio.Queue[str] = field(default_factory=asyncio.Queue, repr=False)

    async def wait_call(self, timeout: float | None = 30.0) -> str:
        """The uuid of the next call that rings here (calls offered earlier come first)."""
        return await asyncio.wait_for(self.offers.get(), timeout)

    def update(
        self,
        *,
        answer_after: float | _Keep | None = KEEP,
        reject: str | _Keep | None = KEEP,
        hangup_after: float | _Keep | None = KEEP,
    ) -> None:
        """Change the behavior for the next calls; omitted arguments stay as they are."""
        if not isinstance(answer_after, _Keep):
            self.answer_after = answer_after
        if not isinstance(reject, _Keep):
            self.reject = reject
        if not isinstance(hangup_after, _Keep):
            self.hangup_after = hangup_after

    @property
    def mode(self) -> str:
        if self.reject is not None:
            return f"reject {self.reject}"
        if self.answer_after is None:
            return "noanswer"
        return f"answer {self.answer_after:g}"


@dataclass
class Phone(Answering):
    """A registered SIP phone (an agent's desk phone or softphone)."""

    extension: str = ""
    domain: str = ""
    core: SwitchCore | None = field(default=None, repr=False, compare=False)

    @property
    def address(self) -> str:
        return f"{self.extension}@{self.domain}"

    @property
    def port(self) -> int:
        """The SIP port the phone registered from (a stable, distinct number per phone)."""
        digits = "".join(c for c in self.extension if c.isdigit())
        return 20000 + int(digits[-4:] or "0")

    @property
    def live_calls(self) -> list[str]:
        """The uuids of this phone's calls that are still up (ringing or talking)."""
        if self.core is None:
            return []
        return [u for u in self.calls if self.core.find(u) is not None]

    def hangup(self, cause: str = "NORMAL_CLEARING") -> int:
        """The agent hangs up (a BYE from the phone): every live call of this phone ends.
        Returns how many calls were hung up."""
        if self.core is None:
            return 0
        count = 0
        for uuid in self.live_calls:
            ch = self.core.find(uuid)
            if ch is not None:
                ch.variables["sip_hangup_disposition"] = "recv_bye"
                self.core.hangup(ch, cause)
                count += 1
        return count


class Phones:
    def __init__(self, core: SwitchCore) -> None:
        self._core = core
        self._phones: dict[str, Phone] = {}

    def register(
        self,
        extension: str,
        domain: str = "default",
        *,
        answer_after: float | None = 0.5,
        reject: str | None = None,
        hangup_after: float | None = None,
    ) -> Phone:
        phone = Phone(
            answer_after=answer_after,
            reject=reject,
            hangup_after=hangup_after,
            extension=extension,
            domain=domain,
            core=self._core,
        )
        self._phones[phone.address] = phone
        return phone

    def unregister(self, extension: str, domain: str = "default") -> bool:
        return self._phones.pop(f"{extension}@{domain}", None) is not None

    def get(self, extension: str, domain: str = "default") -> Phone | None:
        return self._phones.get(f"{extension}@{domain}")

    def all(self) -> list[Phone]:
        return list(self._phones.values())


class FarEnds:
    """What answers behind a trunk: a default behavior and overrides per dialed number."""

    def __init__(self) -> None:
        self.default = Answering(answer_after=1.0)
        self.by_number: dict[str, Answering] = {}
        self.down_gateways: set[str] = set()

    def set(self, number: str, behavior: Answering) -> None:
        self.by_number[number] = behavior


def lookup_phone(core: SwitchCore, ext: str, domain: str) -> Phone | None:
    phones = core.phones
    if phones is None:
        return None
    return phones.get(ext, domain) or (
        phones.get(ext, "default") if domain == core.global_vars["domain"] else None
    )


def lookup_far_end(core: SwitchCore, uri: str) -> Answering | str:
    far = core.far_ends
    if far is None:
        return "NO_ROUTE_DESTINATION"
    parts = uri.split("/")
    if parts[0] == "gateway":
        # sofia_outgoing_channel: no number is an INVALID_URL, a gateway the profiles do not
        # run an INVALID_GATEWAY, one that is not up GATEWAY_DOWN.
        if len(parts) < 3 or not parts[2]:
            return "INVALID_URL"
        if core.gateways is not None and parts[1] not in core.gateways:
            return "INVALID_GATEWAY"
        if parts[1] in far.down_gateways:
            return "GATEWAY_DOWN"
        number = parts[2]
    else:
        target = parts[-1]
        ext, _, domain = target.partition("@")
        phone = lookup_phone(core, ext, domain)
        if phone is not None:
            return phone
        number = ext
    return far.by_number.get(number, far.default)


class Caller:
    """A person calling in from the PSTN (or from a phone), driving one inbound channel."""

    def __init__(self, core: SwitchCore, channel: Channel) -> None:
        self._core = core
        self.channel = channel

    @property
    def uuid(self) -> str:
        return self.channel.uuid

    @property
    def answered(self) -> bool:
        return self.channel.answered

    @property
    def hangup_cause(self) -> str | None:
        return self.channel.hangup_cause

    async def press(self, digits: str) -> None:
        """Press keys on the phone (DTMF events, digits for IVR applications)."""
        await emit_dtmf(self._core, self.channel, digits, "RTP")

    async def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The caller hangs up (a BYE from the far end)."""
        if self.channel.is_up:
            self.channel.variables["sip_hangup_disposition"] = "recv_bye"
            self._core.hangup(self.channel, cause)
        await self.wait_hangup()

    async def wait_answered(self, timeout: float | None = 30.0) -> None:
        await asyncio.wait_for(self.channel.answered_event.wait(), timeout)

    async def wait_hangup(self, timeout: float | None = 30.0) -> None:
        await asyncio.wait_for(self.channel.gone.wait(), timeout)

    def __repr__(self) -> str:
        return f"<Caller {self.channel.caller_number} -> {self.channel.destination} {self.uuid}>"


class Callers:
    def __init__(self, core: SwitchCore) -> None:
        self._core = core
        self.placed: list[Caller] = []

    async def dial(
        self,
        destination: str,
        *,
        caller_number: str = "0000000000",
        caller_name: str = "",
        gateway: str = "pstn",
        context: str = "public",
        hangup_after: float | None = None,
        variables: dict[str, str] | None = None,
        uuid: str | None = None,
    ) -> Caller:
        """An inbound call from a trunk into ``context`` (``hangup_after``: seconds from now)."""
        core = self._core
        host = f"{gateway}.example"
        # The variables mod_sofia sets on an INVITE from a gateway (names as in cap 12).
        port = "5060"
        sip_vars = {
            "sip_from_user": caller_number,
            "sip_from_port": port,
            "sip_from_uri": f"{caller_number}@{host}:{port}",
            "sip_from_host": host,
            "sip_call_id": f"{uuidlib.uuid4().hex[:16]}@{host}",
            "sip_local_network_addr": "127.0.0.1",
            "sip_network_ip": "127.0.0.1",
            "sip_network_port": port,
            "sip_received_ip": "127.0.0.1",
            "sip_received_port": port,
            "sip_via_protocol": "udp",
            "sip_from_user_stripped": caller_number,
            "sofia_profile_name": "external",
            "sofia_profile_url": "sip:mod_sofia@127.0.0.1:5080",
            "recovery_profile_name": "external",
            "sip_gateway_name": gateway,
            "sip_from_display": caller_name or caller_number,
            "sip_full_from": f'"{caller_name}" <sip:{caller_number}@{host}:{port}>',
            "sip_to_display": destination,
            "sip_full_to": f"<sip:{destination}@127.0.0.1:5080>",
            "sip_req_user": destination,
            "sip_req_port": "5080",
            "sip_req_uri": f"{destination}@127.0.0.1:5080",
            "sip_req_host": "127.0.0.1",
            "sip_to_user": destination,
            "sip_to_port": "5080",
            "sip_to_uri": f"{destination}@127.0.0.1:5080",
            "sip_to_host": "127.0.0.1",
            "max_forwards": "70",
            "caller_id_name": caller_name,
            "caller_id_number": caller_number,
            "destination_number": destination,
            "endpoint_disposition": "DELAYED NEGOTIATION",
        }
        sip_vars.update(variables or {})
        ch = core.new_channel(
            f"sofia/external/{caller_number}@{host}",
            "inbound",
            destination,
            uuid=uuid,
            context=context,
            caller_name=caller_name,
            caller_number=caller_number,
            variables=sip_vars,
            source="mod_sofia",
            endpoint="sofia",
            profile_dialplan="XML",
            sip_inbound=True,
            hit_dialplan=True,  # a call from a SIP peer is routed from the start (cap 12)
        )
        caller = Caller(core, ch)
        self.placed.append(caller)
        core.set_call_state(ch, "RINGING")
        ch.state = "CS_ROUTING"
        core.fire_channel("CHANNEL_STATE", ch)
        actions = core.route_dialplan(ch, destination, context)
        if actions is None:
            core.hangup(ch, "NO_ROUTE_DESTINATION")
            return caller
        ch.hit_dialplan = True
        ch.state = "CS_EXECUTE"
        core.fire_channel("CHANNEL_STATE", ch)
        core.start_program(ch, actions)
        if hangup_after is not None:

            async def later() -> None:
                await core.sleep(hangup_after)
                if ch.is_up:
                    ch.variables["sip_hangup_disposition"] = "recv_bye"
                    core.hangup(ch, "NORMAL_CLEARING")

            core.spawn(later())
        return caller

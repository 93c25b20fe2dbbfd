"""What live call control dials, checked before anything reaches the switch.

- ``parse_destination``: a transfer or consultation target, ``kind:target`` as the center file
  writes destinations (``queue:sales``, ``extension:1001``, ``external:+74951112233``,
  ``ivr:main``, ``voicemail:1001``, ``time:hours``, ``hangup``) or a bare extension / number;
- ``outbound_legs``: how to reach an outside number: the tenant's outbound route for it and its
  gateways cheapest first (``callcenter.center.rates.cheapest``, what the rendered dialplan
  does), each number rewritten as the route and the gateway want it;
- ``caller_id_for``: what an agent's outside calls show (the user's ``caller_id_number``, else
  their extension, as the tenant's dialplan sets ``effective_caller_id_number``);
- ``originate_spec``: the ``{name=value,...}`` block of an originate, values checked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import ValidationError

from callcenter.center import Destination, DestinationKind, Tenant, User, cheapest
from callcenter.controller.call_control_errors import (
    BadDestinationError,
    BadNumberError,
    NoRouteError,
)
from callcenter.dialplan.render import GATEWAY_REALM
from callcenter.esl.commands import check_value
from callcenter.esl.errors import UnsafeValueError

__all__ = [
    "TRUNK_FULL",
    "CallerId",
    "OutboundLeg",
    "caller_id_for",
    "check_contact",
    "check_phone_number",
    "originate_spec",
    "outbound_legs",
    "parse_destination",
    "user_for_contact",
]

PHONE_NUMBER = re.compile(r"\+?[0-9]{3,15}")
_EXTENSION = re.compile(r"[0-9]{2,10}")
# A dial string of one leg, as an agent's contact is stored (no spaces, braces, quotes, commas,
# control characters): nothing that could end the originate or start another leg.
_CONTACT = re.compile(r"[^\s{}\[\]<>',|\x00-\x1f]+")
_USER_CONTACT = re.compile(r"user/([0-9]{2,10})@([A-Za-z0-9.-]+)")
_GATEWAY_DIAL = re.compile(r"sofia/gateway/[A-Za-z0-9_.-]+/[0-9+*#]+")


def _one_line(what: str, value: str) -> str:
    try:
        return check_value(what, value)
    except UnsafeValueError as exc:
        raise BadDestinationError(
            f"{what} {value!r} holds a CR, LF or NUL character: refused, nothing was sent"
        ) from exc


def check_phone_number(number: str) -> str:
    """A phone number as dialed: digits with an optional leading +; spaces are not dropped."""
    _one_line("number", number)
    if not PHONE_NUMBER.fullmatch(number):
        raise BadNumberError(
            f"{number!r} is not a phone number: 3 to 15 digits with an optional leading +"
        )
    return number


def check_contact(contact: str, tenant: Tenant) -> str:
    """A phone to ring: a dial string (``user/1005@domain``, ``sofia/...``) or an extension of
    the tenant (``1005`` -> ``user/1005@<tenant domain>``)."""
    _one_line("contact", contact)
    if _EXTENSION.fullmatch(contact):
        return f"user/{contact}@{tenant.domain}"
    if not _CONTACT.fullmatch(contact) or "/" not in contact:
        raise BadDestinationError(
            f"contact {contact!r} is not one dial string (e.g. user/1005@{tenant.domain}) "
            "nor an extension"
        )
    return contact


def parse_destination(text: str, tenant: Tenant) -> Destination:
    """``kind:target`` (the center file's destinations), or a bare extension of the tenant, or
    a phone number (an outside destination). That the target exists is checked here for
    users, IVR menus, voicemail boxes and time conditions; queues by the ACD."""
    _one_line("destination", text)
    if ":" in text or text == DestinationKind.HANGUP.value:
        try:
            destination = Destination.model_validate(text)
        except ValidationError as exc:
            problem = "; ".join(str(err["msg"]) for err in exc.errors())
            raise BadDestinationError(f"{text!r} is not a destination: {problem}") from exc
    elif _EXTENSION.fullmatch(text) and any(u.extension == text for u in tenant.users):
        destination = Destination(kind=DestinationKind.EXTENSION, target=text)
    elif PHONE_NUMBER.fullmatch(text):
        destination = Destination(kind=DestinationKind.EXTERNAL, target=text)
    else:
        raise BadDestinationError(
            f"{text!r} is not a destination: write kind:target (queue:sales, "
            "extension:1001, external:+74951112233, ivr:main, voicemail:1001, hangup) "
            "or an extension or a phone number"
        )
    _check_exists(destination, tenant)
    return destination


def _check_exists(destination: Destination, tenant: Tenant) -> None:
    kind, target = destination.kind, destination.target
    known: set[str] | None = None
    if kind is DestinationKind.EXTENSION:
        known = {user.extension for user in tenant.users}
    elif kind is DestinationKind.IVR:
        known = {menu.name for menu in tenant.ivr_menus}
    elif kind is DestinationKind.VOICEMAIL:
        known = tenant.voicemail_box_ids()
    elif kind is DestinationKind.TIME:
        known = {condition.name for condition in tenant.time_conditions}
    elif kind is DestinationKind.EXTERNAL:
        outbound_legs(target, tenant)  # no route: NoRouteError
    if known is not None and target not in known:
        raise BadDestinationError(
            f"{destination}: tenant {tenant.name!r} has no {kind.value} {target!r}"
        )


# The cause of an originate refused because its gateway carries all the calls it can: a
# failover cause, so the next gateway is tried (as the dialplan's limit_execute skips it).
TRUNK_FULL = "NORMAL_CIRCUIT_CONGESTION"


@dataclass(frozen=True)
class OutboundLeg:
    """One gateway to try for a number: ``sofia/gateway/<gateway>/<number as it wants it>``."""

    gateway: str
    dial: str
    rate: Decimal | None  # per minute for this number (None: the route has no rates)
    channels: int  # how many calls the gateway carries at once

    def line_variables(self) -> dict[str, str]:
        """The originate variables that make the leg hold one of the gateway's lines, counted
        with the rendered dialplan's ``limit_execute hash cc_gateway <gateway> <channels>``
        on the same node: a full gateway refuses the leg with ``TRUNK_FULL`` before it dials,
        and the dialplan's calls see the leg's line taken while it is up."""
        hold = f"limit hash {GATEWAY_REALM} {self.gateway} {self.channels} !{TRUNK_FULL}"
        return {"cc_gateway": self.gateway, "execute_on_originate": hold}


def outbound_legs(number: str, tenant: Tenant) -> list[OutboundLeg]:
    """The gateways to try for ``number``, cheapest first (the route's order when it has no
    rates); ``NoRouteError`` when no route takes it or no gateway of its route prices it."""
    check_phone_number(number)
    route = tenant.route_for(number)
    if route is None:
        raise NoRouteError(
            f"no outbound route of tenant {tenant.name!r} matches {number} "
            "(add one to the center file, or check the number)"
        )
    gateways = {gateway.name: gateway for gateway in tenant.gateways}
    legs = []
    for name, rate in cheapest(number, route):
        gateway = gateways.get(name)
        if gateway is None:  # the tenant's checks refuse this; kept for a hand-made Tenant
            continue
        dial = f"sofia/gateway/{name}/{gateway.dial_number(route.dial_number(number))}"
        if _GATEWAY_DIAL.fullmatch(dial):
            legs.append(OutboundLeg(name, dial, rate, gateway.channels))
    if not legs:
        raise NoRouteError(f"outbound route {route.name!r} has no gateway with a rate for {number}")
    return legs


def user_for_contact(contact: str, agent: str, tenant: Tenant) -> User | None:
    """The tenant's user an agent's phone is: ``user/<ext>@<tenant domain>``, else the user
    whose extension is the agent's id."""
    match = _USER_CONTACT.fullmatch(contact)
    extension = match.group(1) if match and match.group(2) == tenant.domain else agent
    return next((user for user in tenant.users if user.extension == extension), None)


@dataclass(frozen=True)
class CallerId:
    number: str
    name: str


def caller_id_for(user: User | None, *, outside: bool) -> CallerId | None:
    """What a call from this user shows: their extension and name inside; outside, their
    ``caller_id_number`` if they have one (the tenant's outbound routes do the same with
    ``outbound_caller_id_number``), else the extension, which the provider may replace."""
    if user is None:
        return None
    number = (user.caller_id_number or user.extension) if outside else user.extension
    return CallerId(number, user.display_name or user.extension)


def originate_spec(variables: Mapping[str, str]) -> str:
    """``{a=1,b='x y'}``: every value checked (one line, no quote, no closing brace)."""
    items = []
    for name, value in variables.items():
        check_value(name, value)
        if "'" in value or "}" in value or "{" in value:
            raise BadDestinationError(f"{name} cannot hold a quote or a brace: {value!r}")
        items.append(f"{name}='{value}'" if ("," in value or " " in value) else f"{name}={value}")
    return "{" + ",".join(items) + "}"

"""How a callback reaches the customer: which dial strings to try, and the number they see.

- An explicit dial string (``FlowSettings.callback_dial``, ``--callback-dial``) is used as is,
  one attempt, for every number.
- Otherwise, with the tenant of a center file, the tenant's outbound route for the number
  picks the gateways, cheapest first, as click-to-call does (``outbound_legs``); each attempt
  holds a line of its gateway, so a full gateway is skipped for the next one. A number no
  route takes cannot be called back: the caller who asks stays in line.
- Otherwise (a single-tenant ACD file, which has no routes): ``DEFAULT_CALLBACK_DIAL``.

The customer sees ``FlowSettings.callback_caller_id`` when it is set, else the number they
called (the DID: the one they know, and one the tenant owns), else ``NO_CALLER_ID``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callcenter.center import Tenant
from callcenter.controller.call_control_dial import outbound_legs
from callcenter.controller.call_control_errors import BadDestinationError
from callcenter.esl.commands import check_value

__all__ = [
    "DEFAULT_CALLBACK_DIAL",
    "NO_CALLER_ID",
    "CallbackAttempt",
    "callback_attempts",
    "callback_caller_id",
    "check_callback_dial",
    "check_caller_id",
]

DEFAULT_CALLBACK_DIAL = "sofia/gateway/pstn/{number}"
NO_CALLER_ID = "0000000000"
_CALLER_ID = re.compile(r"\+?[0-9]{1,20}")


@dataclass(frozen=True)
class CallbackAttempt:
    """One way to ring the customer: a dial string and the originate variables it needs."""

    dial: str
    gateway: str = ""  # the tenant's gateway this attempt goes through ("" for a dial string)
    variables: dict[str, str] = field(default_factory=dict)


def check_callback_dial(dial: str) -> str:
    """A dial string template for callbacks: one line, with ``{number}`` in it."""
    if "{number}" not in dial:
        raise ValueError(
            f"callback dial string {dial!r} must contain {{number}}, e.g. {DEFAULT_CALLBACK_DIAL}"
        )
    return check_value("callback dial string", dial)


def check_caller_id(number: str) -> str:
    if not _CALLER_ID.fullmatch(number):
        raise ValueError(f"callback caller ID {number!r} is not a number")
    return number


def callback_attempts(
    number: str, dial: str | None, tenant: Tenant | None
) -> list[CallbackAttempt]:
    """The attempts for ``number``, in order; empty when no route of the tenant takes it.
    ``number`` is digits with an optional + (``request_callback`` keeps no other)."""
    if dial is not None:
        return [CallbackAttempt(check_value("callback dial string", dial.format(number=number)))]
    if tenant is None:
        return [CallbackAttempt(DEFAULT_CALLBACK_DIAL.format(number=number))]
    try:
        legs = outbound_legs(number, tenant)
    except BadDestinationError:  # no route, or not a number a route can dial
        return []
    return [CallbackAttempt(leg.dial, leg.gateway, leg.line_variables()) for leg in legs]


def callback_caller_id(setting: str | None, did: str) -> str:
    """What the customer's phone shows: the setting, else the number they called."""
    if setting is not None:
        return setting
    return did if _CALLER_ID.fullmatch(did) else NO_CALLER_ID

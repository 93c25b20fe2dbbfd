"""The center's configuration: tenants, users, DIDs, IVR menus, time conditions, gateways,
outbound routes with least-cost rates, and the ACD's queues, agents and tiers.

``load_center(path)`` reads one YAML file or a folder of them into a ``Center``; a
``CenterError`` lists every problem found, each with its file, line and field.
"""

from callcenter.center.errors import CenterError, Problem
from callcenter.center.loader import load_center
from callcenter.center.model import (
    Destination,
    DestinationKind,
    Did,
    Forwarding,
    IvrMenu,
    NoAnswerForwarding,
    User,
    VoicemailBox,
    one_line,
)
from callcenter.center.rates import Rate, RateTable, cheapest, load_rates
from callcenter.center.schedule import Holiday, Hours, TimeCondition, Weekday
from callcenter.center.tenant import PUBLIC_CONTEXT, Center, Tenant
from callcenter.center.trunks import Gateway, OutboundRoute

__all__ = [
    "PUBLIC_CONTEXT",
    "Center",
    "CenterError",
    "Destination",
    "DestinationKind",
    "Did",
    "Forwarding",
    "Gateway",
    "Holiday",
    "Hours",
    "IvrMenu",
    "NoAnswerForwarding",
    "OutboundRoute",
    "Problem",
    "Rate",
    "RateTable",
    "Tenant",
    "TimeCondition",
    "User",
    "VoicemailBox",
    "Weekday",
    "cheapest",
    "load_center",
    "load_rates",
    "one_line",
]

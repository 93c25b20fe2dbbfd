"""The center's configuration rendered into FreeSWITCH XML: ``render_center(center)``.

Returns every generated file by its path under a node's conf folder (``/etc/freeswitch``), the
places the vanilla configuration already includes (``freeswitch_conf/README.md``)::

    dialplan/public/00_callcenter.xml              every tenant's DIDs, in the public context
    dialplan/<tenant>.xml                          the tenant's internal context
    directory/<tenant>.xml                         the tenant's SIP domain, users, voicemail boxes
    ivr_menus/<tenant>.xml                         its IVR menus (only when it has some)
    sip_profiles/external/callcenter_<gateway>.xml one file per gateway

The templates (``dialplan_templates/``, or an integrator's folder first) get the plans built here
(``DidPlan``, ``UserPlan``, ``RoutePlan``...): every decision (where a destination goes, the
least-cost order of the gateways per number prefix, how a number is rewritten per gateway) is
made in Python, so that a template only lays it out. ``dialplan_templates/README.md`` is the
contract: each template's output path and the variables it receives.

Reserved extension names: a destination other than a user is reached by transferring to a name
in the tenant's context that no phone number can be, ``cc_<kind>_<target>`` (``queue:support``
-> ``cc_queue_support``, ``ivr:main`` -> ``cc_ivr_main``, ``voicemail:general`` ->
``cc_voicemail_general``, ``time:business_hours`` -> ``cc_time_business_hours``,
``external:+74951112233`` -> ``cc_external_+74951112233``); ``extension:1000`` is the user's own
number and ``hangup`` hangs up. User extensions are digits and feature codes start with ``*``, so
the two never meet.

``RenderError`` lists every problem found: a value with CR, LF or NUL (by its place in the
center), a tenant whose file would replace one of the vanilla configuration's, a template that
fails, and whatever ``validate_files`` finds in the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from callcenter.center import (
    Center,
    Destination,
    DestinationKind,
    Did,
    Holiday,
    Hours,
    IvrMenu,
    OutboundRoute,
    Tenant,
    TimeCondition,
    User,
    cheapest,
)
from callcenter.center.errors import field_text
from callcenter.center.trunks import Gateway
from callcenter.dialplan.environment import TemplateValueError, make_environment
from callcenter.dialplan.validate import validate_files

__all__ = [
    "DEFAULT_RING_SECONDS",
    "FAILOVER_CAUSES",
    "GATEWAY_REALM",
    "PUBLIC_FILE",
    "BoxPlan",
    "DidPlan",
    "DirectoryUser",
    "ExternalPlan",
    "FailureRule",
    "HolidayPlan",
    "HoursPlan",
    "Leg",
    "MenuEntryPlan",
    "MenuPlan",
    "PrefixPlan",
    "QueuePlan",
    "RenderError",
    "RoutePlan",
    "Target",
    "TimePlan",
    "UserPlan",
    "ivr_menu_name",
    "render_center",
    "reserved_extension",
]

PUBLIC_FILE = "dialplan/public/00_callcenter.xml"

# A user's phone rings this long when no no_answer rule says otherwise (vanilla's call_timeout).
DEFAULT_RING_SECONDS = 30

# ``limit_execute hash cc_gateway <gateway> <channels> bridge ...``: the per-node channel count
# of each gateway.
GATEWAY_REALM = "cc_gateway"

# The bridge causes after which the next gateway is tried: the trunk or the network failed. A
# callee who is busy, does not answer or does not exist is not called again through another
# provider; the caller gets that cause.
FAILOVER_CAUSES = ",".join(
    [
        "NORMAL_TEMPORARY_FAILURE",
        "NETWORK_OUT_OF_ORDER",
        "DESTINATION_OUT_OF_ORDER",
        "RECOVERY_ON_TIMER_EXPIRE",
        "SERVICE_UNAVAILABLE",
        "SERVICE_NOT_IMPLEMENTED",
        "NORMAL_CIRCUIT_CONGESTION",
        "SWITCH_CONGESTION",
        "EXCHANGE_ROUTING_ERROR",
        "GATEWAY_DOWN",
        "INVALID_GATEWAY",  # a gateway the node has not loaded (pushed without a rescan)
        "NO_ROUTE_DESTINATION",
        "CALL_REJECTED",
        "INCOMPATIBLE_DESTINATION",
        "INTERWORKING",
    ]
)

# Hangup causes of a failed bridge to a user, by forwarding rule (``originate_disposition``).
_RULE_CAUSES: dict[str, tuple[str, ...]] = {
    "busy": ("USER_BUSY",),
    "no_answer": ("NO_ANSWER", "ALLOTTED_TIMEOUT", "NO_USER_RESPONSE"),
    "unreachable": ("USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT"),
}

# Files of FreeSWITCH's vanilla configuration that a tenant of that name would replace.
_VANILLA_FILES = {
    "dialplan": {"default", "features", "skinny-patterns", "public"},
    "directory": {"default"},
    "ivr_menus": {"demo_ivr"},
}

# FreeSWITCH substitutes $1..$9 from a condition's captures.
_MAX_CAPTURES = 9
# What a rendered dial string may hold (the number part: digits, + * #, and $N captures).
_DIAL = re.compile(r"sofia/gateway/[A-Za-z0-9_.-]+/[0-9+*#]*(?:\$[1-9])*")
# What a route's pattern may not hold: FreeSWITCH expands an expression before compiling it,
# and these would come out changed (``\\`` -> ``\``, ``\$`` -> ``$``, ``\'`` dropped, ``${``
# a variable).
_UNSAFE_PATTERN = re.compile(r"\\\\|\\\$|\\'|\$\{")


class RenderError(Exception):
    """The center cannot be rendered, or what it renders to is not valid; ``problems`` lists
    every reason found, one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Problem(Exception):
    """A problem found while planning: collected, then raised together in a RenderError."""


# -- destinations ---------------------------------------------------------------------------------


def reserved_extension(destination: Destination) -> str | None:
    """The name a destination is reached by in its tenant's context (None: hang up)."""
    if destination.kind is DestinationKind.HANGUP:
        return None
    if destination.kind is DestinationKind.EXTENSION:
        return destination.target
    return f"cc_{destination.kind.value}_{destination.target}"


def ivr_menu_name(tenant: Tenant, menu: str) -> str:
    """An IVR menu's name in ivr.conf, where the menus of every tenant share one namespace."""
    return f"{tenant.name}_{menu}"


@dataclass(frozen=True)
class Target:
    """Where a destination goes, as one dialplan application: ``transfer <name> XML <context>``
    or ``hangup <cause>``."""

    application: str
    data: str

    @property
    def command(self) -> str:
        """``application data`` as an IVR entry or ``exec-on-max-*`` writes it."""
        return f"{self.application} {self.data}"


def target(tenant: Tenant, destination: Destination) -> Target:
    name = reserved_extension(destination)
    if name is None:
        return Target("hangup", "NORMAL_CLEARING")
    return Target("transfer", f"{name} XML {tenant.internal_context}")


# -- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DidPlan:
    tenant: Tenant
    did: Did
    digits: str  # the number without its leading +
    target: Target


@dataclass(frozen=True)
class FailureRule:
    """After a failed bridge to a user: ``originate_disposition`` one of ``causes`` -> target."""

    name: str  # busy, no_answer, unreachable
    causes: tuple[str, ...]
    target: Target


@dataclass(frozen=True)
class UserPlan:
    user: User
    extension: str
    dial: str  # user/<extension>@<domain>
    always: Target | None  # forward every call, the phone does not ring
    call_timeout: int  # seconds the phone rings
    failed: str  # where the user's extension goes after a failed bridge: cc_user_<ext>_failed
    rules: tuple[FailureRule, ...]
    voicemail: Target | None  # any other failure (None: hang up with the bridge's cause)


@dataclass(frozen=True)
class QueuePlan:
    name: str
    extension: str


@dataclass(frozen=True)
class BoxPlan:
    id: str
    extension: str
    greeting: str | None


@dataclass(frozen=True)
class MenuEntryPlan:
    digits: str
    action: str  # menu-exec-app or menu-sub
    param: str


@dataclass(frozen=True)
class MenuPlan:
    menu: IvrMenu
    name: str  # <tenant>_<menu>, in ivr.conf
    extension: str  # cc_ivr_<menu>
    timeout_ms: int
    inter_digit_timeout_ms: int
    entries: tuple[MenuEntryPlan, ...]
    on_max_failures: Target | None  # invalid_destination
    on_max_timeouts: Target | None  # timeout_destination


@dataclass(frozen=True)
class HolidayPlan:
    holiday: Holiday
    year: int
    mon: int
    mday: int
    label: str  # the holiday's name, else its date (set as cc_holiday)


@dataclass(frozen=True)
class HoursPlan:
    hours: Hours
    wday: str  # FreeSWITCH's numbering, 1 = Sunday: "2,3,4,5,6"
    time_of_day: str  # "09:00-18:00" (FreeSWITCH: from inclusive, to exclusive)


@dataclass(frozen=True)
class TimePlan:
    condition: TimeCondition
    extension: str  # cc_time_<name>
    timezone: str
    holidays: tuple[HolidayPlan, ...]
    hours: tuple[HoursPlan, ...]
    open: Target
    closed: Target


@dataclass(frozen=True)
class Leg:
    """One gateway to try: ``limit_execute hash cc_gateway <gateway> <channels> bridge <dial>``."""

    gateway: str
    channels: int
    dial: str  # sofia/gateway/<gateway>/<number as the provider wants it> (may hold $N)


@dataclass(frozen=True)
class ExternalPlan:
    """A fixed outside number some destination names (``external:+7...``)."""

    number: str
    extension: str  # cc_external_<number>
    route: OutboundRoute
    legs: tuple[Leg, ...]


@dataclass(frozen=True)
class PrefixPlan:
    """The numbers of a route starting with ``prefix`` (after an optional +): the gateways in
    least-cost order for them. ``expression`` matches such a number and captures it so that
    each leg's ``dial`` rebuilds it the way that gateway wants it."""

    name: str
    prefix: str
    expression: str
    legs: tuple[Leg, ...]


@dataclass(frozen=True)
class RoutePlan:
    route: OutboundRoute
    name: str  # cc_route_<route>
    prefixes: tuple[PrefixPlan, ...]  # longest prefix first
    priced: bool  # the route has rates: a number no gateway has a rate for is refused


@dataclass(frozen=True)
class DirectoryUser:
    """A ``<user>`` of the tenant's domain: a phone, or a voicemail box that is nobody's phone
    (it cannot register: ``sip-forbid-register``)."""

    id: str
    params: Mapping[str, str]
    variables: Mapping[str, str]


# -- building the plans ---------------------------------------------------------------------------


def _did_plans(center: Center) -> list[DidPlan]:
    return [
        DidPlan(tenant, did, did.number.removeprefix("+"), target(tenant, did.destination))
        for tenant in center.tenants
        for did in tenant.dids
    ]


def _user_plans(tenant: Tenant) -> list[UserPlan]:
    boxes = tenant.voicemail_box_ids()
    plans = []
    for user in tenant.users:
        rules = user.forwarding
        found: list[FailureRule] = []
        destinations = {
            "busy": rules.busy,
            "no_answer": rules.no_answer.destination if rules.no_answer else None,
            "unreachable": rules.unreachable,
        }
        for name, destination in destinations.items():
            if destination is not None:
                found.append(FailureRule(name, _RULE_CAUSES[name], target(tenant, destination)))
        # The user's own box: voicemail: true, or a box declared under their extension.
        box = user.extension if user.extension in boxes else None
        voicemail = (
            target(tenant, Destination(kind=DestinationKind.VOICEMAIL, target=box))
            if box is not None
            else None
        )
        plans.append(
            UserPlan(
                user=user,
                extension=user.extension,
                dial=f"user/{user.extension}@{tenant.domain}",
                always=target(tenant, rules.always) if rules.always is not None else None,
                call_timeout=(
                    rules.no_answer.after_seconds
                    if rules.no_answer is not None
                    else DEFAULT_RING_SECONDS
                ),
                failed=f"cc_user_{user.extension}_failed",
                rules=tuple(found),
                voicemail=voicemail,
            )
        )
    return plans


def _box_plans(tenant: Tenant) -> list[BoxPlan]:
    declared = {box.id: box for box in tenant.voicemail_boxes}
    ids = [box.id for box in tenant.voicemail_boxes]
    ids += [u.extension for u in tenant.users if u.voicemail and u.extension not in declared]
    plans = []
    for box_id in ids:
        box = declared.get(box_id)
        extension = reserved_extension(Destination(kind=DestinationKind.VOICEMAIL, target=box_id))
        assert extension is not None
        plans.append(BoxPlan(box_id, extension, box.greeting if box else None))
    return plans


def _menu_plans(tenant: Tenant) -> list[MenuPlan]:
    plans = []
    for menu in tenant.ivr_menus:
        entries = []
        for digits, destination in menu.entries.items():
            if destination.kind is DestinationKind.IVR:
                entries.append(
                    MenuEntryPlan(digits, "menu-sub", ivr_menu_name(tenant, destination.target))
                )
            else:
                command = target(tenant, destination).command
                entries.append(MenuEntryPlan(digits, "menu-exec-app", command))
        extension = reserved_extension(Destination(kind=DestinationKind.IVR, target=menu.name))
        assert extension is not None
        plans.append(
            MenuPlan(
                menu=menu,
                name=ivr_menu_name(tenant, menu.name),
                extension=extension,
                timeout_ms=round(menu.timeout_seconds * 1000),
                inter_digit_timeout_ms=round(menu.inter_digit_timeout_seconds * 1000),
                entries=tuple(entries),
                on_max_failures=(
                    target(tenant, menu.invalid_destination) if menu.invalid_destination else None
                ),
                on_max_timeouts=(
                    target(tenant, menu.timeout_destination) if menu.timeout_destination else None
                ),
            )
        )
    return plans


def _time_plans(tenant: Tenant) -> list[TimePlan]:
    plans = []
    for condition in tenant.time_conditions:
        extension = reserved_extension(
            Destination(kind=DestinationKind.TIME, target=condition.name)
        )
        assert extension is not None
        holidays = tuple(
            HolidayPlan(h, h.date.year, h.date.month, h.date.day, h.name or h.date.isoformat())
            for h in condition.holidays
        )
        hours = tuple(HoursPlan(h, h.freeswitch_wday, f"{h.from_}-{h.to}") for h in condition.hours)
        plans.append(
            TimePlan(
                condition=condition,
                extension=extension,
                timezone=condition.timezone,
                holidays=holidays,
                hours=hours,
                open=target(tenant, condition.open),
                closed=target(tenant, condition.closed),
            )
        )
    return plans


def _rewrite(route: OutboundRoute, gateway: Gateway) -> tuple[str, int]:
    """How the route and then the gateway rewrite a number, as one step: the number becomes
    ``literal + number[skip:]`` (``gateway.dial_number(route.dial_number(number))``)."""
    prepend, skipped = route.prepend, route.strip_digits
    literal = gateway.add_prefix + prepend[gateway.strip_digits :]
    skip = skipped + max(0, gateway.strip_digits - len(prepend))
    return literal, skip


def _leg(gateway: Gateway, number: str) -> Leg:
    dial = f"sofia/gateway/{gateway.name}/{number}"
    if not _DIAL.fullmatch(dial):
        raise _Problem(f"gateway {gateway.name!r}: cannot dial {number!r}")
    return Leg(gateway.name, gateway.channels, dial)


def _prefix_plan(
    name: str, prefix: str, route: OutboundRoute, gateways: Sequence[Gateway]
) -> PrefixPlan:
    """An expression that matches the route's numbers starting with ``prefix`` and captures them
    in pieces, so that ``number[skip:]`` is a run of captures for every gateway's skip."""
    rewrites = {gw.name: _rewrite(route, gw) for gw in gateways}
    bounds = sorted({skip for _, skip in rewrites.values() if skip > 0})
    if len(bounds) + 1 > _MAX_CAPTURES:
        raise _Problem(
            f"outbound route {route.name!r}: its gateways strip too many different numbers "
            f"of digits ({len(bounds)}; FreeSWITCH captures at most {_MAX_CAPTURES} groups)"
        )
    expression = "^"
    if prefix:
        expression += rf"(?=\+?{prefix})"
    start = 0
    for bound in bounds:
        expression += f"(.{{{bound - start}}})"
        start = bound
    expression += "(.*)$"
    groups = len(bounds) + 1

    def tail(skip: int) -> str:
        first = 1 if skip == 0 else bounds.index(skip) + 2
        return "".join(f"${n}" for n in range(first, groups + 1))

    legs = []
    for gw in gateways:
        literal, skip = rewrites[gw.name]
        legs.append(_leg(gw, literal + tail(skip)))
    label = f"{name}:{prefix}" if prefix else name
    return PrefixPlan(label, prefix, expression, tuple(legs))


def _route_plans(tenant: Tenant) -> list[RoutePlan]:
    gateways = {gw.name: gw for gw in tenant.gateways}
    plans = []
    for route in tenant.outbound_routes:
        if _UNSAFE_PATTERN.search(route.pattern):
            raise _Problem(
                f"outbound route {route.name!r}: pattern {route.pattern!r} holds \\\\, \\$, \\' "
                "or ${, which FreeSWITCH rewrites before it compiles the expression"
            )
        name = f"cc_route_{route.name}"
        prefixes: list[PrefixPlan] = []
        if not route.rates:
            order = [gateways[gw] for gw, _ in cheapest("", route)]
            prefixes.append(_prefix_plan(name, "", route, order))
        else:
            known = {prefix for table in route.rates.values() for prefix in table.rates}
            # Every gateway's longest prefix of a number whose longest prefix in any deck is
            # ``prefix`` is the longest prefix of ``prefix`` itself in that deck: the order
            # found for the prefix holds for all of its numbers.
            orders = {prefix: [gw for gw, _ in cheapest(prefix, route)] for prefix in known}
            for prefix in sorted(known, key=lambda p: (-len(p), p)):
                shorter = next(
                    (prefix[:n] for n in range(len(prefix) - 1, 0, -1) if prefix[:n] in known),
                    None,
                )
                if shorter is not None and orders[shorter] == orders[prefix]:
                    continue  # the shorter prefix's extension does the same
                if orders[prefix]:
                    order = [gateways[gw] for gw in orders[prefix]]
                    prefixes.append(_prefix_plan(name, prefix, route, order))
        plans.append(RoutePlan(route, name, tuple(prefixes), bool(route.rates)))
    return plans


def _external_plans(tenant: Tenant) -> list[ExternalPlan]:
    gateways = {gw.name: gw for gw in tenant.gateways}
    numbers = dict.fromkeys(
        destination.target
        for _, destination in tenant.destinations()
        if destination.kind is DestinationKind.EXTERNAL
    )
    plans = []
    for number in numbers:
        route = tenant.route_for(number)
        if route is None:  # the center's own checks refuse this; kept for a hand-made Center
            raise _Problem(f"external:{number}: no outbound route matches it")
        order = [gateways[gw] for gw, _ in cheapest(number, route)]
        if not order:
            raise _Problem(
                f"external:{number}: no gateway of outbound route {route.name!r} "
                "has a rate for this number"
            )
        legs = tuple(_leg(gw, gw.dial_number(route.dial_number(number))) for gw in order)
        extension = reserved_extension(Destination(kind=DestinationKind.EXTERNAL, target=number))
        assert extension is not None
        plans.append(ExternalPlan(number, extension, route, legs))
    return plans


def _directory_users(tenant: Tenant) -> list[DirectoryUser]:
    boxes = {box.id: box for box in tenant.voicemail_boxes}
    users = []
    for user in tenant.users:
        box = boxes.get(user.extension)
        params = {"password": user.password}
        if user.voicemail or box is not None:
            params.update(_voicemail_params(box.pin if box else None, box.email if box else None))
        else:
            params["vm-enabled"] = "false"
        variables = {
            "user_context": tenant.internal_context,
            "effective_caller_id_name": user.display_name or user.extension,
            "effective_caller_id_number": user.extension,
            "cc_tenant": tenant.name,
            "cc_user": user.extension,
        }
        if user.caller_id_number:
            variables["outbound_caller_id_number"] = user.caller_id_number
        users.append(DirectoryUser(user.extension, params, variables))
    extensions = {user.extension for user in tenant.users}
    for box in tenant.voicemail_boxes:
        if box.id not in extensions:
            params = {"sip-forbid-register": "true", **_voicemail_params(box.pin, box.email)}
            users.append(DirectoryUser(box.id, params, {"cc_tenant": tenant.name}))
    return users


def _voicemail_params(pin: str | None, email: str | None) -> dict[str, str]:
    # Without a PIN of its own a box asks for the user's SIP password (mod_voicemail).
    params = {"vm-enabled": "true"}
    if pin is not None:
        params["vm-password"] = pin
    if email is not None:
        params.update(
            {"vm-mailto": email, "vm-email-all-messages": "true", "vm-attach-file": "true"}
        )
    return params


# -- rendering ------------------------------------------------------------------------------------


def _strings(
    value: Any, place: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield place, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*place, key), str(key)
            yield from _strings(item, (*place, key))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            yield from _strings(item, (*place, n))


def _value_problems(center: Center) -> list[str]:
    """Every value holding CR, LF or NUL, by its place (the loader refuses them; a Center made
    or changed in Python may still hold one). The value itself is not repeated: it may be a
    password."""
    found = []
    for place, text in _strings(center.model_dump(mode="json", by_alias=True), ()):
        if re.search(r"[\r\n\x00]", text):
            found.append(
                f"{field_text(place)}: CR, LF or NUL in the value (a value on a switch is one line)"
            )
    return found


def _clashes(center: Center) -> list[str]:
    found = []
    for n, tenant in enumerate(center.tenants):
        for folder, names in _VANILLA_FILES.items():
            if tenant.name in names:
                found.append(
                    f"tenants.{n}.name: a tenant named {tenant.name!r} would replace "
                    f"{folder}/{tenant.name}.xml of FreeSWITCH's vanilla configuration"
                )
    owners: dict[str, str] = {}
    for tenant in center.tenants:
        for menu in tenant.ivr_menus:
            name = ivr_menu_name(tenant, menu.name)
            owner = owners.setdefault(name, f"{tenant.name}/{menu.name}")
            if owner != f"{tenant.name}/{menu.name}":
                found.append(
                    f"IVR menu {tenant.name}/{menu.name} and {owner} would both be "
                    f"{name!r} in ivr.conf (menus of every tenant share one namespace)"
                )
    return found


def _render(
    env: jinja2.Environment,
    template: str,
    path: str,
    context: Mapping[str, Any],
    problems: list[str],
) -> str | None:
    try:
        return env.get_template(template).render(**context)
    except TemplateValueError as exc:
        problems.append(f"{path}: {exc}")
    except jinja2.TemplateSyntaxError as exc:
        problems.append(f"{exc.filename or template}:{exc.lineno}: template error: {exc.message}")
    except jinja2.TemplateError as exc:
        problems.append(f"{path}: template {template}: {exc}")
    return None


def render_center(center: Center, templates: Path | None = None) -> dict[str, str]:
    """Every generated file (path under a node's conf folder -> XML text), validated.

    ``templates``: an integrator's folder whose files replace the project's templates of the
    same name. Raises ``RenderError`` with every problem found.
    """
    problems = _value_problems(center)
    if problems:
        raise RenderError(problems)
    problems = _clashes(center)
    env = make_environment(templates)
    files: dict[str, str] = {}
    common = {
        "center": center,
        "gateway_realm": GATEWAY_REALM,
        "failover_causes": FAILOVER_CAUSES,
    }

    def add(template: str, path: str, context: Mapping[str, Any]) -> None:
        text = _render(env, template, path, {**common, **context}, problems)
        if text is not None:
            files[path] = text

    add("public.xml", PUBLIC_FILE, {"dids": _did_plans(center)})
    for tenant in center.tenants:
        try:
            plans = {
                "users": _user_plans(tenant),
                "queues": [QueuePlan(q.name, f"cc_queue_{q.name}") for q in tenant.queues],
                "voicemail_boxes": _box_plans(tenant),
                "ivr_menus": _menu_plans(tenant),
                "time_conditions": _time_plans(tenant),
                "externals": _external_plans(tenant),
                "routes": _route_plans(tenant),
            }
        except _Problem as exc:
            problems.append(f"tenant {tenant.name!r}: {exc}")
            continue
        base = {
            "tenant": tenant,
            "context": tenant.internal_context,
            "domain": tenant.domain,
            "forward_realm": f"cc_forward_{tenant.name}",
        }
        add("tenant.xml", f"dialplan/{tenant.name}.xml", {**base, **plans})
        add(
            "directory.xml",
            f"directory/{tenant.name}.xml",
            {**base, "users": _directory_users(tenant)},
        )
        if tenant.ivr_menus:
            add("ivr.xml", f"ivr_menus/{tenant.name}.xml", {**base, "menus": plans["ivr_menus"]})
        for gateway in tenant.gateways:
            add(
                "gateway.xml",
                f"sip_profiles/external/callcenter_{gateway.name}.xml",
                {**base, "gateway": gateway, "params": gateway.sofia_params()},
            )
    problems.extend(str(problem) for problem in validate_files(files))
    if problems:
        raise RenderError(problems)
    return files

"""Checks that look at more than one entry: names resolve within the tenant, names are unique,
nothing loops; and the few that look across tenants.

Each check returns (place, message) pairs, the place relative to the tenant (or the center),
so the loader can give each problem the line of its own field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from callcenter.center.errors import FieldPath
from callcenter.center.model import Destination, DestinationKind, one_line

if TYPE_CHECKING:
    from callcenter.center.tenant import Center, Tenant

__all__ = ["check_center", "check_tenant"]

Found = list[tuple[FieldPath, str]]

# (list, field that must be unique in it, what the entry is called)
_UNIQUE = (
    ("users", "extension", "extension"),
    ("voicemail_boxes", "id", "voicemail box"),
    ("ivr_menus", "name", "IVR menu"),
    ("time_conditions", "name", "time condition"),
    ("dids", "number", "DID"),
    ("gateways", "name", "gateway"),
    ("outbound_routes", "name", "outbound route"),
)
_ACD_PLACE = re.compile(r"(queues|agents|tiers)(\.[A-Za-z0-9_]+)*")
_USER_CONTACT = re.compile(r"user/([^@]+)@(.+)")


def check_tenant(tenant: Tenant) -> Found:
    return [
        *_duplicates(tenant),
        *_acd(tenant),
        *_destinations(tenant),
        *_routes(tenant),
        *_agent_contacts(tenant),
        *_forwarding_loops(tenant),
        *_time_loops(tenant),
        *_ivr_dead_ends(tenant),
    ]


def check_center(center: Center) -> Found:
    """Tenant names and domains, DID numbers and gateway names are unique in the center: DIDs
    share the public context, and sofia gateway names are global to a switch."""
    found: Found = []
    owners: dict[tuple[str, str], int] = {}  # (what, value) -> the first tenant's index

    def claim(what: str, value: str, t: int, place: FieldPath, why: str = "") -> None:
        owner = owners.setdefault((what, value), t)
        if owner != t:  # twice within one tenant is the tenant's own check
            name = center.tenants[owner].name
            message = f"{what} {value!r} already belongs to tenant {name!r}{why}"
            found.append((("tenants", t, *place), message))

    for t, tenant in enumerate(center.tenants):
        claim("tenant name", tenant.name, t, ("name",))
        claim("domain", tenant.domain, t, ("domain",))
        for n, did in enumerate(tenant.dids):
            number = did.number.removeprefix("+")
            claim("DID", number, t, ("dids", n, "number"), ": a number routes to one tenant")
        for n, gateway in enumerate(tenant.gateways):
            why = ": sofia gateway names are global to a switch"
            claim("gateway", gateway.name, t, ("gateways", n, "name"), why)
    return found


def _duplicates(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    for list_name, field, what in _UNIQUE:
        first: dict[str, int] = {}
        for n, entry in enumerate(getattr(tenant, list_name)):
            value = str(getattr(entry, field))
            key = value.removeprefix("+") if list_name == "dids" else value
            if key in first:
                yield (
                    (list_name, n, field),
                    f"{what} {value!r} appears twice (also {list_name}.{first[key]})",
                )
            first.setdefault(key, n)


def _acd(tenant: Tenant) -> Found:
    """The ACD's own checks (callcenter/acd/config.py), reused: overflow targets, tiers'
    queues and agents, duplicate ids; plus no control characters in the ACD's text."""
    found: Found = []
    try:
        tenant.acd_config()
    except ValidationError as exc:
        for error in exc.errors():
            cause = error.get("ctx", {}).get("error")
            text = str(cause) if cause is not None else error["msg"]
            # AcdConfig joins its problems as "queues.0.overflow: no queue 'x'; tiers.1...".
            for part in text.split("; "):
                where, _, message = part.partition(": ")
                if message and _ACD_PLACE.fullmatch(where):
                    place = tuple(int(p) if p.isdigit() else p for p in where.split("."))
                    found.append((place, message))
                else:
                    found.append(((), part))
    for list_name in ("queues", "agents", "tiers"):
        for n, entry in enumerate(getattr(tenant, list_name)):
            for place, text in _strings(entry.model_dump(mode="json"), (list_name, n)):
                try:
                    one_line(text)
                except ValueError as exc:
                    found.append((place, str(exc)))
    return found


def _strings(value: Any, place: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Every string in a dumped entry, keys included, with its place."""
    if isinstance(value, str):
        yield place, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield (*place, key), key
            yield from _strings(item, (*place, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _strings(item, (*place, n))


def _destinations(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    for place, destination in tenant.destinations():
        problem = _unresolved(tenant, destination)
        if problem:
            yield place, problem


def _unresolved(tenant: Tenant, destination: Destination) -> str | None:
    kind, target, name = destination.kind, destination.target, tenant.name
    if kind is DestinationKind.EXTENSION:
        if all(user.extension != target for user in tenant.users):
            return f"no user with extension {target!r} in tenant {name!r}"
    elif kind is DestinationKind.QUEUE:
        if all(queue.name != target for queue in tenant.queues):
            return f"no queue {target!r} in tenant {name!r}"
    elif kind is DestinationKind.VOICEMAIL:
        if target not in tenant.voicemail_box_ids():
            return (
                f"no voicemail box {target!r} in tenant {name!r} "
                "(declare it in voicemail_boxes, or give the user voicemail: true)"
            )
    elif kind is DestinationKind.IVR:
        if all(menu.name != target for menu in tenant.ivr_menus):
            return f"no IVR menu {target!r} in tenant {name!r}"
    elif kind is DestinationKind.TIME:
        if all(condition.name != target for condition in tenant.time_conditions):
            return f"no time condition {target!r} in tenant {name!r}"
    elif kind is DestinationKind.EXTERNAL and tenant.route_for(target) is None:
        return f"no outbound route of tenant {name!r} matches {target!r}"
    return None


def _routes(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    gateways = {gateway.name for gateway in tenant.gateways}
    for n, route in enumerate(tenant.outbound_routes):
        listed: set[str] = set()
        for k, gateway in enumerate(route.gateways):
            if gateway not in gateways:
                yield (
                    ("outbound_routes", n, "gateways", k),
                    f"no gateway {gateway!r} in tenant {tenant.name!r}",
                )
            elif gateway in listed:
                yield ("outbound_routes", n, "gateways", k), f"gateway {gateway!r} listed twice"
            listed.add(gateway)
        for gateway in route.rates:
            if gateway not in listed:
                yield (
                    ("outbound_routes", n, "rates", gateway),
                    f"{gateway!r} is not one of this route's gateways",
                )
        if route.rates:
            for gateway in dict.fromkeys(route.gateways):
                if gateway not in route.rates and gateway in gateways:
                    # cheapest() leaves out a gateway without a matching rate: it would be
                    # listed in the route and yet never used.
                    yield (
                        ("outbound_routes", n, "rates"),
                        f"no rates file for gateway {gateway!r} (this route prices its gateways)",
                    )


def _agent_contacts(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    # Only user/<extension>@<domain> contacts are the tenant's to check; a gateway or loopback
    # contact is taken as written.
    extensions = {user.extension for user in tenant.users}
    for n, agent in enumerate(tenant.agents):
        match = _USER_CONTACT.fullmatch(agent.contact)
        if match is None:
            continue
        extension, domain = match.groups()
        if domain != tenant.domain:
            yield (
                ("agents", n, "contact"),
                f"{agent.contact!r}: the domain of tenant {tenant.name!r} is {tenant.domain!r}",
            )
        elif extension not in extensions:
            yield (
                ("agents", n, "contact"),
                f"no user with extension {extension!r} in tenant {tenant.name!r}",
            )


def _forwarding_loops(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    """Users forwarding all their calls to each other: a call would go round for ever."""
    graph: dict[str, list[str]] = {}
    for user in tenant.users:
        always = user.forwarding.always
        if always is not None and always.kind is DestinationKind.EXTENSION:
            graph[user.extension] = [always.target]
    index = {user.extension: n for n, user in enumerate(tenant.users)}
    for loop in _loops(graph):
        first = min(loop, key=lambda extension: index[extension])
        yield (
            ("users", index[first], "forwarding", "always"),
            f"forwarding loop: {' -> '.join(_walk(graph, first))}",
        )


def _time_loops(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    """Time conditions leading to each other: no caller input breaks such a loop."""
    graph: dict[str, list[str]] = {}
    for condition in tenant.time_conditions:
        graph[condition.name] = [
            d.target for d in (condition.open, condition.closed) if d.kind is DestinationKind.TIME
        ]
    index = {condition.name: n for n, condition in enumerate(tenant.time_conditions)}
    for loop in _loops(graph):
        first = min(loop, key=lambda name: index[name])
        yield (
            ("time_conditions", index[first]),
            f"time conditions lead to each other in a loop: {', '.join(sorted(loop))}",
        )


def _ivr_dead_ends(tenant: Tenant) -> Iterator[tuple[FieldPath, str]]:
    """A menu from which no choice ever leaves the IVR (only menus, all the way down).

    A way back to the main menu is normal; this only catches a tree with nothing else in it.
    Unknown menus count as a way out here: they are reported on their own.
    """
    menus = {menu.name: menu for menu in tenant.ivr_menus}

    def targets(name: str) -> list[Destination]:
        menu = menus[name]
        extra = (menu.timeout_destination, menu.invalid_destination)
        return [*menu.entries.values(), *(d for d in extra if d is not None)]

    way_out = {
        name
        for name in menus
        if any(d.kind is not DestinationKind.IVR or d.target not in menus for d in targets(name))
    }
    grew = True
    while grew:
        more = {n for n in menus.keys() - way_out if any(d.target in way_out for d in targets(n))}
        way_out |= more
        grew = bool(more)
    for n, menu in enumerate(tenant.ivr_menus):
        if menu.name not in way_out:
            yield (
                ("ivr_menus", n, "entries"),
                f"menu {menu.name!r} only ever leads to IVR menus: "
                "no choice reaches a person, a queue or voicemail",
            )


def _loops(graph: dict[str, list[str]]) -> list[set[str]]:
    """The cycles of a small graph (strongly connected components that loop; Tarjan)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[set[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, []):
                loops.append(component)

    for node in graph:
        if node not in order:
            visit(node)
    return loops


def _walk(graph: dict[str, list[str]], start: str) -> Iterable[str]:
    """start -> next -> ... -> start, along a loop where each node has one way on."""
    path = [start]
    node = graph[start][0]
    while node != start:
        path.append(node)
        node = graph[node][0]
    return [*path, start]

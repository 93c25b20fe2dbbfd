"""Checks on the event Stream after the fact (benchmarks, tests, an operator's audit)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["double_assignments"]


def double_assignments(events: Iterable[Mapping[bytes, bytes]]) -> int:
    """How often an agent was reserved for, or put on, a call while already reserved for or on
    another: in a correct ACD, always 0. ``events``: the Stream's entries' fields, in order."""
    busy: dict[bytes, bytes] = {}
    doubles = 0
    for data in events:
        if data.get(b"type") != b"agent":
            continue
        agent, status = data[b"agent"], data[b"status"]
        before = busy.get(agent)
        if (status == b"reserved" and before in (b"reserved", b"on_call")) or (
            status == b"on_call" and before == b"on_call"
        ):
            doubles += 1
        busy[agent] = status
    return doubles

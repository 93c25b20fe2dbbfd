"""Erlang C: how many agents a stream of calls needs, as pure functions.

``traffic`` is the offered load in Erlangs (calls per second x average handle time in seconds,
or calls in an interval x AHT / the interval's length). Everything is computed from the Erlang B
recursion ``B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))``, which never forms a power or a
factorial, so it stays exact to float precision for thousands of Erlangs; Erlang C follows from
B as ``C = N B / (N - A (1 - B))``.
"""

from __future__ import annotations

import math

__all__ = [
    "agents_needed",
    "average_speed_of_answer",
    "erlang_b",
    "erlang_c",
    "service_level",
    "traffic",
]


def traffic(calls: float, aht_seconds: float, interval_seconds: float) -> float:
    """The offered load in Erlangs of ``calls`` arriving over ``interval_seconds``."""
    if interval_seconds <= 0:
        raise ValueError("the interval must be longer than 0 seconds")
    if calls < 0 or aht_seconds < 0:
        raise ValueError("calls and handle time must be 0 or more")
    return calls * aht_seconds / interval_seconds


def _check(agents: int, load: float) -> None:
    if agents < 0:
        raise ValueError(f"agents must be 0 or more, got {agents}")
    if load < 0 or not math.isfinite(load):
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, got {load}")


def erlang_b(agents: int, load: float) -> float:
    """Erlang B: the probability that a call finds all ``agents`` busy (a loss system)."""
    _check(agents, load)
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def _c_from_b(agents: int, load: float, b: float) -> float:
    if agents <= load:
        return 1.0
    return agents * b / (agents - load * (1.0 - b))


def erlang_c(agents: int, load: float) -> float:
    """Erlang C: the probability that a call waits (all agents busy). 1 when ``agents`` cannot
    keep up (agents <= traffic: the queue grows without end); 0 for no traffic."""
    _check(agents, load)
    if load == 0:
        return 0.0
    return _c_from_b(agents, load, erlang_b(agents, load))


def _sl(agents: int, load: float, c: float, aht_seconds: float, target_seconds: float) -> float:
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    if aht_seconds <= 0:
        return 1.0
    return max(0.0, 1.0 - c * math.exp(-(agents - load) * target_seconds / aht_seconds))


def service_level(agents: int, load: float, aht_seconds: float, target_seconds: float) -> float:
    """The share of calls (0..1) answered within ``target_seconds`` with ``agents`` agents."""
    if aht_seconds < 0 or target_seconds < 0:
        raise ValueError("handle time and target seconds must be 0 or more")
    return _sl(agents, load, erlang_c(agents, load), aht_seconds, target_seconds)


def average_speed_of_answer(agents: int, load: float, aht_seconds: float) -> float:
    """The mean wait in seconds over all calls (infinite when agents <= traffic)."""
    if load == 0:
        return 0.0
    if agents <= load:
        return math.inf
    return erlang_c(agents, load) * aht_seconds / (agents - load)


def agents_needed(
    load: float,
    aht_seconds: float,
    target_sl: float,
    target_seconds: float,
    max_occupancy: float = 1.0,
) -> int:
    """The fewest agents that answer ``target_sl`` (0..1) of the calls within
    ``target_seconds`` while each is busy at most ``max_occupancy`` (0..1] of the time.

    0 for no traffic. One pass up from the stability bound, carrying B along, so the cost is
    linear in the answer even for thousands of Erlangs.
    """
    _check(0, load)
    if not 0 <= target_sl <= 1:
        raise ValueError(f"target service level must be within 0..1, got {target_sl}")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"max occupancy must be within (0, 1], got {max_occupancy}")
    if aht_seconds < 0 or target_seconds < 0:
        raise ValueError("handle time and target seconds must be 0 or more")
    if load == 0:
        return 0
    if target_sl >= 1:
        raise ValueError("a service level of 100% is never reached with waiting calls: ask less")
    floor = max(math.floor(load) + 1, math.ceil(load / max_occupancy - 1e-12))
    b = 1.0
    n = 0
    while True:
        n += 1
        b = load * b / (n + load * b)
        if n < floor:
            continue
        c = _c_from_b(n, load, b)
        if _sl(n, load, c, aht_seconds, target_seconds) >= target_sl:
            return n

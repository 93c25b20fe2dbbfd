"""Erlang C against the textbook formula in exact fractions (small cases), a log-space form
(large traffic), and known published values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from callcenter.reports import erlang


def reference_c(agents: int, load: Fraction) -> Fraction:
    """P(wait) = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A)), exactly."""
    top = load**agents / math.factorial(agents) * Fraction(agents) / (agents - load)
    below = sum((load**k / math.factorial(k) for k in range(agents)), Fraction(0))
    return top / (below + top)


def reference_sl(agents: int, load: Fraction, aht: float, target: float) -> float:
    c = reference_c(agents, load)
    return 1 - float(c) * math.exp(-(agents - float(load)) * target / aht)


@pytest.mark.parametrize("agents", range(11, 25))
def test_ten_erlangs_against_exact_fractions(agents: int) -> None:
    load = Fraction(10)
    assert erlang.erlang_c(agents, 10.0) == pytest.approx(
        float(reference_c(agents, load)), rel=1e-12
    )
    assert erlang.service_level(agents, 10.0, 180, 20) == pytest.approx(
        reference_sl(agents, load, 180, 20), rel=1e-12
    )


SMALL = [(1, Fraction(1, 2)), (3, Fraction(5, 2)), (7, Fraction(27, 4)), (2, Fraction(1, 10))]


@pytest.mark.parametrize(("agents", "load"), SMALL)
def test_fractional_loads_against_exact_fractions(agents: int, load: Fraction) -> None:
    assert erlang.erlang_c(agents, float(load)) == pytest.approx(
        float(reference_c(agents, load)), rel=1e-12
    )


def test_known_values() -> None:
    # One agent: P(wait) is the utilisation (M/M/1).
    assert erlang.erlang_c(1, 0.6) == pytest.approx(0.6)
    # Two agents, 1 Erlang: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert erlang.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # The classic 10 Erlangs on 11 agents: 68.2% wait.
    assert erlang.erlang_c(11, 10.0) == pytest.approx(0.6821, abs=1e-4)
    # Erlang B: 2 lines, 1 Erlang: (1/2) / (1 + 1 + 1/2) = 0.2.
    assert erlang.erlang_b(2, 1.0) == pytest.approx(0.2)


def test_agents_needed_for_ten_erlangs_80_in_20() -> None:
    load = Fraction(10)
    expected = next(n for n in range(11, 40) if reference_sl(n, load, 180, 20) >= 0.8)
    assert erlang.agents_needed(10.0, 180, 0.8, 20) == expected == 14
    # One agent fewer misses the target, the answer meets it.
    assert erlang.service_level(13, 10.0, 180, 20) < 0.8 <= erlang.service_level(14, 10.0, 180, 20)
    # An occupancy cap of 70% needs ceil(10 / 0.7) = 15.
    assert erlang.agents_needed(10.0, 180, 0.8, 20, max_occupancy=0.7) == 15
    # A tighter target needs more.
    assert erlang.agents_needed(10.0, 180, 0.95, 20) > 14


def test_no_traffic_needs_no_agent_and_overload_never_meets_a_target() -> None:
    assert erlang.agents_needed(0.0, 180, 0.8, 20) == 0
    assert erlang.erlang_c(5, 0.0) == 0.0
    assert erlang.erlang_c(10, 10.0) == 1.0
    assert erlang.service_level(10, 12.0, 180, 20) == 0.0
    assert erlang.average_speed_of_answer(10, 12.0, 180) == math.inf


def _log_c(agents: int, load: float) -> float:
    """log P(wait) by log-sum-exp with lgamma: independent of the recursion."""
    logs = [k * math.log(load) - math.lgamma(k + 1) for k in range(agents)]
    top = agents * math.log(load) - math.lgamma(agents + 1) + math.log(agents / (agents - load))
    peak = max(max(logs), top)
    total = sum(math.exp(x - peak) for x in logs) + math.exp(top - peak)
    return top - (peak + math.log(total))


@pytest.mark.parametrize(("agents", "load"), [(5100, 5000.0), (2050, 2000.0), (260, 250.0)])
def test_large_traffic_is_stable(agents: int, load: float) -> None:
    c = erlang.erlang_c(agents, load)
    assert 0 < c < 1
    assert math.log(c) == pytest.approx(_log_c(agents, load), rel=1e-9, abs=1e-9)
    needed = erlang.agents_needed(load, 180, 0.8, 20)
    assert load < needed < load * 1.1
    assert erlang.service_level(needed, load, 180, 20) >= 0.8
    assert erlang.service_level(needed - 1, load, 180, 20) < 0.8


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        erlang.erlang_c(-1, 1.0)
    with pytest.raises(ValueError):
        erlang.erlang_c(3, -1.0)
    with pytest.raises(ValueError):
        erlang.agents_needed(5.0, 180, 1.5, 20)
    with pytest.raises(ValueError):
        erlang.agents_needed(5.0, 180, 0.8, 20, max_occupancy=0)
    with pytest.raises(ValueError):
        erlang.agents_needed(5.0, 180, 1.0, 20)
    with pytest.raises(ValueError):
        erlang.traffic(10, 180, 0)

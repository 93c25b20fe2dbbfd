"""Least-cost routing: rate decks per gateway (CSV files) and the cheapest gateways for a number.

A rates file has one row per prefix, ``prefix,rate[,description]``, the rate a decimal price per
minute; an optional header row (``prefix,rate,description``), blank lines and lines starting
with ``#`` are skipped::

    prefix,rate,description
    7,0.90,Russia
    7495,0.45,Moscow
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcenter.center.trunks import OutboundRoute

__all__ = ["Rate", "RateFileError", "RateTable", "cheapest", "load_rates"]

_PREFIX = re.compile(r"\+?[0-9]{1,15}")


@dataclass(frozen=True)
class Rate:
    """One row of a rates file: the price per minute of numbers starting with ``prefix``."""

    prefix: str  # digits only (a leading + is dropped: decks and numbers are compared as E.164)
    per_minute: Decimal
    description: str
    line: int


@dataclass(frozen=True)
class RateTable:
    """A gateway's rate deck, by prefix."""

    source: Path
    rates: Mapping[str, Rate]

    def lookup(self, number: str) -> Rate | None:
        """The rate of the longest prefix of ``number`` (a leading + ignored), if any."""
        digits = number.removeprefix("+")
        for end in range(len(digits), 0, -1):
            rate = self.rates.get(digits[:end])
            if rate is not None:
                return rate
        return None


class RateFileError(ValueError):
    """A rates file with bad rows: ``problems`` holds (line, message) for each of them."""

    def __init__(self, file: Path, problems: list[tuple[int, str]]) -> None:
        self.file = file
        self.problems = problems
        super().__init__("; ".join(f"{file}:{line}: {msg}" for line, msg in problems))


def load_rates(path: Path) -> RateTable:
    """Read a rates file; every bad row is reported at once (``RateFileError``).

    A missing or unreadable file raises a plain ``ValueError``: that is the YAML line's fault.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's export may carry a BOM
    except FileNotFoundError as exc:
        raise ValueError(f"rates file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"rates file cannot be read: {path}: {exc}") from exc
    rates: dict[str, Rate] = {}
    problems: list[tuple[int, str]] = []
    # One line per row (no quoted line breaks), so reader.line_num is the file's line.
    reader = csv.reader(text.splitlines())
    first = True
    for row in reader:
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first and cells[0].lower() == "prefix":
            first = False
            continue
        first = False
        problem = _row_problem(cells)
        if problem:
            problems.append((line, problem))
            continue
        prefix = cells[0].removeprefix("+")
        if prefix in rates:
            earlier = rates[prefix].line
            problems.append((line, f"prefix {prefix} appears twice (also line {earlier})"))
            continue
        description = cells[2] if len(cells) > 2 else ""
        rates[prefix] = Rate(prefix, Decimal(cells[1]), description, line)
    if not rates and not problems:
        problems.append((1, "no rates in this file (expected rows of prefix,rate[,description])"))
    if problems:
        raise RateFileError(path, problems)
    return RateTable(path, rates)


def _row_problem(cells: list[str]) -> str | None:
    if len(cells) not in (2, 3):
        return f"expected prefix,rate[,description], got {len(cells)} columns"
    if not _PREFIX.fullmatch(cells[0]):
        return f"prefix {cells[0]!r} is not digits (optionally with a leading +)"
    try:
        rate = Decimal(cells[1])
    except InvalidOperation:
        return f"rate {cells[1]!r} is not a decimal number"
    if not rate.is_finite() or rate < 0:
        return f"rate {cells[1]!r} must be a price of 0 or more"
    return None


def cheapest(number: str, route: OutboundRoute) -> list[tuple[str, Decimal | None]]:
    """The route's gateways to try for ``number``, cheapest first: (gateway name, rate).

    Each gateway's rate is that of its longest prefix matching the number; a gateway whose deck
    has no matching prefix is left out. Gateways at the same price keep the route's order (the
    sort is stable), so the listed order is the tie-break. A route without rates gives its
    gateways in the listed order (plain failover), each with rate ``None``.
    """
    if not route.rates:
        return [(gateway, None) for gateway in route.gateways]
    priced: list[tuple[str, Decimal]] = []
    for gateway in route.gateways:
        table = route.rates.get(gateway)
        rate = table.lookup(number) if table is not None else None
        if rate is not None:
            priced.append((gateway, rate.per_minute))
    priced.sort(key=lambda pair: pair[1])  # stable: equal prices keep the route's order
    return [(gateway, rate) for gateway, rate in priced]

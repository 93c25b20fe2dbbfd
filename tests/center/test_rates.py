"""Rates files and least-cost routing: longest prefix wins, cheapest first, ties keep order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from callcenter.center import OutboundRoute, cheapest, load_rates
from callcenter.center.rates import RateFileError
from tests.center.helpers import TENANT, problems, write


def route(tmp_path: Path, gateways: list[str], decks: dict[str, str]) -> OutboundRoute:
    rates = {name: write(tmp_path, text, f"{name}.csv") for name, text in decks.items()}
    return OutboundRoute.model_validate(
        {"name": "r", "pattern": ".", "gateways": gateways, "rates": rates}
    )


def test_the_longest_matching_prefix_wins(tmp_path: Path) -> None:
    table = load_rates(write(tmp_path, "7,1.00\n7495,0.40,Moscow\n749,0.90\n", "a.csv"))
    rate = table.lookup("+74951234567")
    assert rate is not None and (rate.prefix, rate.per_minute, rate.description, rate.line) == (
        "7495",
        Decimal("0.40"),
        "Moscow",
        2,
    )
    assert table.lookup("74991234567") == table.rates["749"]
    assert table.lookup("78121234567") == table.rates["7"]
    assert table.lookup("4930123456") is None


def test_cheapest_first_by_each_gateways_longest_prefix(tmp_path: Path) -> None:
    lcr = route(
        tmp_path,
        ["a", "b", "c"],
        {
            "a": "prefix,rate\n7,1.00\n7495,0.40\n",  # expensive in general, cheap to Moscow
            "b": "7,0.50\n",
            "c": "44,0.10\n",  # no prefix for Russia: left out for Russian numbers
        },
    )
    assert cheapest("+74951234567", lcr) == [("a", Decimal("0.40")), ("b", Decimal("0.50"))]
    assert cheapest("+78121234567", lcr) == [("b", Decimal("0.50")), ("a", Decimal("1.00"))]
    assert cheapest("442071234567", lcr) == [("c", Decimal("0.10"))]
    assert cheapest("4930123456", lcr) == []


def test_equal_prices_keep_the_routes_order(tmp_path: Path) -> None:
    decks = {"a": "7,0.50\n", "b": "7,0.5\n", "c": "7,0.70\n"}
    assert [g for g, _ in cheapest("79001234567", route(tmp_path, ["c", "b", "a"], decks))] == [
        "b",
        "a",
        "c",
    ]
    assert [g for g, _ in cheapest("79001234567", route(tmp_path, ["a", "c", "b"], decks))] == [
        "a",
        "b",
        "c",
    ]


def test_without_rates_the_listed_order_is_the_failover_order() -> None:
    plain = OutboundRoute.model_validate(
        {"name": "r", "pattern": r"^\+?7", "gateways": ["second", "first"], "strip_digits": 1,
         "prepend": "8"}
    )  # fmt: skip
    assert cheapest("74951234567", plain) == [("second", None), ("first", None)]
    assert plain.matches("+74951234567") and not plain.matches("4930123456")
    assert plain.dial_number("74951234567") == "84951234567"


def test_bad_rows_are_reported_with_file_and_line(tmp_path: Path) -> None:
    deck = write(
        tmp_path,
        "prefix,rate,description\n"
        "# comment\n"
        "7,0.50,Russia\n"
        "7x,1.00\n"
        "\n"
        "44,cheap\n"
        "1,2,USA,extra\n"
        "7,0.60\n"
        "49,-1\n",
        "rates/bad.csv",
    )
    with pytest.raises(RateFileError) as info:
        load_rates(deck)
    assert info.value.problems == [
        (4, "prefix '7x' is not digits (optionally with a leading +)"),
        (6, "rate 'cheap' is not a decimal number"),
        (7, "expected prefix,rate[,description], got 4 columns"),
        (8, "prefix 7 appears twice (also line 3)"),
        (9, "rate '-1' must be a price of 0 or more"),
    ]
    # Through the center file: the CSV's file and line, and the YAML field that names it.
    path = write(
        tmp_path,
        TENANT
        + "    gateways: [{name: gw, proxy: a.example.com, register: false, channels: 1}]\n"
        + "    outbound_routes:\n"
        + "      - {name: r, pattern: '.', gateways: [gw], rates: {gw: rates/bad.csv}}\n"
        + "      - {name: s, pattern: '.', gateways: [gw], rates: {gw: rates/none.csv}}\n",
    )
    found = problems(path)
    assert found[0] == (
        f"{path}:10: tenants.0.outbound_routes.1.rates.gw: rates file not found: "
        f"{tmp_path / 'rates' / 'none.csv'}"
    )
    assert found[1:3] == [
        f"{deck}:4: tenants.0.outbound_routes.0.rates.gw: prefix '7x' is not digits "
        "(optionally with a leading +)",
        f"{deck}:6: tenants.0.outbound_routes.0.rates.gw: rate 'cheap' is not a decimal number",
    ]
    assert len(found) == 6


def test_an_empty_rates_file_and_missing_rates(tmp_path: Path) -> None:
    with pytest.raises(RateFileError, match="no rates in this file"):
        load_rates(write(tmp_path, "prefix,rate\n", "empty.csv"))
    write(tmp_path, "7,0.5\n", "a.csv")
    path = write(
        tmp_path,
        TENANT
        + "    gateways:\n"
        + "      - {name: a, proxy: a.example.com, register: false, channels: 1}\n"
        + "      - {name: b, proxy: b.example.com, register: false, channels: 1}\n"
        + "    outbound_routes:\n"
        + "      - {name: r, pattern: '.', gateways: [a, b], rates: {a: a.csv}}\n",
    )
    # b would be listed and never used: cheapest() leaves out a gateway without a rate.
    assert problems(path) == [
        f"{path}:11: tenants.0.outbound_routes.0.rates: no rates file for gateway 'b' "
        "(this route prices its gateways)"
    ]

"""The tariffs report on real PostgreSQL: costs as priced, the what-if under other rate tables
or another route order, and the cheapest gateway passed over (and why); bad tables are refused
naming the row."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from callcenter.reports import tariffs
from callcenter.reports.errors import InvalidReportInputError, UnknownNameError
from callcenter.reports.model import Granularity, ReportRequest
from callcenter.reports.registry import REPORTS
from tests.reports.lines_helpers import TENANT, add_call, add_leg, at, center

D = Decimal
DECKS = {"gw-a": "prefix,rate\n7,1.00\n7495,0.50\n", "gw-b": "7,0.80\n7495,0.30\n"}


def request(tmp_path: Path, **options: Any) -> ReportRequest:
    return ReportRequest(tenant=TENANT, start=at(2, 0), end=at(3, 0),
                         options={"center": center(tmp_path, DECKS), **options})  # fmt: skip


def out(db: Engine, uuid: str, gw: str, number: str, billsec: int, minute: int,
        prefix: str | None, rate: str | None, cost: str | None) -> None:  # fmt: skip
    add_call(db, uuid, direction="outbound", gateway=gw, destination=number, node="n1",
             started_at=at(2, 10, minute), answered_at=at(2, 10, minute),
             ended_at=at(2, 10, minute + 5), billsec=billsec, rate_prefix=prefix,
             rate_per_minute=D(rate) if rate else None, cost=D(cost) if cost else None)  # fmt: skip


def seed(db: Engine) -> None:
    # t1: on the cheapest gateway for +7495 (gw-b, 0.30): 120 s = 0.60.
    out(db, "t1", "gw-b", "+74951110000", 120, 0, "7495", "0.30", "0.60")
    # t2: gw-b refused it (its leg says NORMAL_TEMPORARY_FAILURE), out on gw-a at 0.50: 60 s.
    out(db, "t2", "gw-a", "+74952220000", 60, 1, "7495", "0.50", "0.50")
    add_leg(db, "t2-b", "t2", gateway="gw-b", created_at=at(2, 10, 1),
            ended_at=at(2, 10, 1, 2), hangup_cause="NORMAL_TEMPORARY_FAILURE")  # fmt: skip
    add_leg(db, "t2-a", "t2", gateway="gw-a", created_at=at(2, 10, 1, 2),
            ended_at=at(2, 10, 6), hangup_cause="NORMAL_CLEARING")  # fmt: skip
    # t3: +7812 on gw-a at 1.00 although gw-b asks 0.80; no leg on gw-b (limit full?): 90 s.
    out(db, "t3", "gw-a", "+78121234567", 90, 2, "7", "1.00", "1.50")
    # t5: route "any" (no rates) on gw-c: unpriced.
    out(db, "t5", "gw-c", "+4930123456", 30, 3, None, None, None)
    # An inbound call on gw-b is not an outbound cost.
    add_call(db, "t4", direction="inbound", gateway="gw-b", did="+74950000000",
             started_at=at(2, 10), ended_at=at(2, 10, 5), billsec=300)  # fmt: skip


def section(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["section"] == name]


def test_costs_per_gateway_and_prefix_and_skipped_cheapest(db: Engine, tmp_path: Path) -> None:
    seed(db)
    report = tariffs.tariffs_report(db, request(tmp_path))
    gws = {r["gateway"]: r for r in section(report.rows, "gateway")}
    assert (gws["gw-a"]["calls"], gws["gw-a"]["minutes"], gws["gw-a"]["cost"]) == (2, 2.5, D("2"))
    assert (gws["gw-b"]["calls"], gws["gw-b"]["minutes"], gws["gw-b"]["cost"]) == (1, 2.0, D("0.6"))
    assert (gws["gw-c"]["calls"], gws["gw-c"]["unpriced"], gws["gw-c"]["cost"]) == (1, 1, D(0))
    prefixes = {(r["gateway"], r["prefix"]): (r["calls"], r["rate"], r["cost"])
                for r in section(report.rows, "prefix")}  # fmt: skip
    assert prefixes == {
        ("gw-a", "7"): (1, D("1"), D("1.5")),
        ("gw-a", "7495"): (1, D("0.5"), D("0.5")),
        ("gw-b", "7495"): (1, D("0.3"), D("0.6")),
        ("gw-c", ""): (1, None, D(0)),
    }
    skipped = {r["reason"]: r for r in section(report.rows, "skipped")}
    assert set(skipped) == {"NORMAL_TEMPORARY_FAILURE", "unknown"}
    refused = skipped["NORMAL_TEMPORARY_FAILURE"]
    assert (refused["route"], refused["gateway"], refused["alt_gateway"]) == ("ru", "gw-a", "gw-b")
    # 60 s at 0.30 instead of 0.50: 0.20 more paid.
    assert (refused["cost"], refused["alt_cost"], refused["saving"]) == (
        D("0.5"),
        D("0.3"),
        D("0.2"),
    )
    # 90 s at 0.80 instead of 1.00: 0.30 more paid.
    assert (skipped["unknown"]["alt_cost"], skipped["unknown"]["saving"]) == (D("1.2"), D("0.3"))
    assert section(report.rows, "what-if") == []
    assert report.totals is not None
    assert (report.totals["calls"], report.totals["cost"], report.totals["saving"]) == (
        4, D("2.6"), None)  # fmt: skip
    assert report.source == "raw" and REPORTS["tariffs"].raw is None


def test_what_if_other_rates_inline(db: Engine, tmp_path: Path) -> None:
    seed(db)
    report = tariffs.tariffs_report(db, request(tmp_path, rates={"gw-a": [["7", "0.20"]]}))
    whatif = {(r["gateway"], r["alt_gateway"]): r for r in section(report.rows, "what-if")}
    # Route ru is least-cost: gw-a at 0.20 now beats gw-b's 0.30/0.80 for every ru call.
    # t1 120 s: 0.60 -> 0.40; t2 60 s: 0.50 -> 0.20; t3 90 s: 1.50 -> 0.30.
    assert (whatif[("gw-b", "gw-a")]["cost"], whatif[("gw-b", "gw-a")]["alt_cost"]) == (
        D("0.6"), D("0.4"))  # fmt: skip
    assert whatif[("gw-a", "gw-a")]["calls"] == 2
    assert whatif[("gw-a", "gw-a")]["alt_cost"] == D("0.5")
    assert whatif[("gw-a", "gw-a")]["saving"] == D("1.5")
    # t5: no table prices +49 on route any: it keeps its (unpriced) cost.
    assert whatif[("gw-c", "gw-c")]["saving"] == D(0)
    assert report.totals is not None
    assert (report.totals["alt_cost"], report.totals["saving"]) == (D("0.9"), D("1.7"))


def test_what_if_another_route_order_and_csv_file(db: Engine, tmp_path: Path) -> None:
    seed(db)
    # Failover order gw-b first: every ru call on gw-b at its rate.
    report = tariffs.tariffs_report(db, request(tmp_path, route_order={"ru": ["gw-b", "gw-a"]}))
    assert report.totals is not None
    # t2: 0.50 -> 0.30; t3: 1.50 -> 1.20; t1 unchanged.
    assert report.totals["saving"] == D("0.5")
    deck = tmp_path / "cheap.csv"
    deck.write_text("prefix,rate,description\n7,0.10,Russia\n", encoding="utf-8")
    report = tariffs.tariffs_report(db, request(tmp_path, rates={"gw-b": str(deck)}))
    assert report.totals is not None
    # Every ru call on gw-b at 0.10: 270 s = 0.45 instead of 2.60 - 0 (t5) = 2.60.
    assert report.totals["alt_cost"] == D("0.45")
    assert report.totals["saving"] == D("2.15")


def test_granularity_cuts_the_rows(db: Engine, tmp_path: Path) -> None:
    seed(db)
    req = request(tmp_path).model_copy(update={"granularity": Granularity.HOUR})
    report = tariffs.tariffs_report(db, req)
    assert {r["period"] for r in report.rows} == {"2026-03-02 10:00+0000"}


def test_bad_rate_tables_name_the_row(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidReportInputError, match=r"gw-a: inline table row 2: prefix '7x'"):
        tariffs.tariffs_report(db, request(tmp_path, rates={"gw-a": [["7", "1"], ["7x", "0.1"]]}))
    with pytest.raises(InvalidReportInputError, match=r"inline CSV row 2: rate '-1' must be"):
        tariffs.tariffs_report(db, request(tmp_path, rates={"gw-b": "7,0.1\n8,-1\n"}))
    deck = tmp_path / "bad.csv"
    deck.write_text("prefix,rate\n7,0.1\n\n49,abc\n", encoding="utf-8")
    with pytest.raises(InvalidReportInputError, match=r"bad.csv line 4: rate 'abc'") as caught:
        tariffs.tariffs_report(db, request(tmp_path, rates={"gw-b": str(deck)}))
    assert caught.value.details["gateway"] == "gw-b"
    with pytest.raises(InvalidReportInputError, match="not found"):
        tariffs.tariffs_report(db, request(tmp_path, rates={"gw-b": str(tmp_path / "none.csv")}))
    with pytest.raises(UnknownNameError, match="gw-z"):
        tariffs.tariffs_report(db, request(tmp_path, rates={"gw-z": {"7": "0.1"}}))
    with pytest.raises(UnknownNameError, match="route nope"):
        tariffs.tariffs_report(db, request(tmp_path, route_order={"nope": ["gw-a"]}))
    with pytest.raises(InvalidReportInputError, match="route_order"):
        tariffs.tariffs_report(db, request(tmp_path, route_order={"ru": []}))
    with pytest.raises(InvalidReportInputError, match="mapping"):
        tariffs.tariffs_report(db, request(tmp_path, rates=["7,0.1"]))


def test_an_empty_period_is_an_empty_report(db: Engine, tmp_path: Path) -> None:
    seed(db)
    req = request(tmp_path).model_copy(update={"start": at(5, 0), "end": at(6, 0)})
    report = tariffs.tariffs_report(db, req)
    assert report.rows == [] and report.totals is None

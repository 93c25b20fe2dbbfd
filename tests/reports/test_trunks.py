"""The lines report on real PostgreSQL: hand-made calls and legs on two gateways and two
nodes, figures worked out here; the roll-up (rebuilt, then refreshed bucket by bucket) agrees
with the raw GROUP BY."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from callcenter.reports import trunks
from callcenter.reports.errors import InvalidReportInputError, UnknownNameError
from callcenter.reports.model import Granularity, Report, ReportRequest
from callcenter.reports.registry import REPORTS
from callcenter.reports.rollup import REFRESHERS, buckets_of_calls
from tests.reports.lines_helpers import TENANT, add_call, add_leg, at, center

DAY = (at(2, 0), at(3, 0))


def request(**kw: Any) -> ReportRequest:
    base: dict[str, Any] = {"tenant": TENANT, "start": DAY[0], "end": DAY[1]}
    base.update(kw)
    return ReportRequest(**base)


def seed_first(db: Engine) -> None:
    # c1: out on gw-a, node n1, 10:00:00-10:10:00; its caller leg and far leg both on gw-a
    # (one line), billsec 590.
    add_call(db, "c1", node="n1", direction="outbound", gateway="gw-a", destination="+74951110000",
             started_at=at(2, 10), answered_at=at(2, 10, 0, 10), ended_at=at(2, 10, 10),
             billsec=590, hangup_cause="NORMAL_CLEARING", outcome="answered")  # fmt: skip
    add_leg(db, "c1-a", "c1", role="caller", node="n1", gateway="gw-a",
            created_at=at(2, 10), ended_at=at(2, 10, 10))  # fmt: skip
    add_leg(db, "c1-b", "c1", role="customer", node="n1", gateway="gw-a",
            created_at=at(2, 10, 0, 5), answered_at=at(2, 10, 0, 10),
            ended_at=at(2, 10, 10))  # fmt: skip
    # c4: in on gw-b, node n2, 11:00-11:30, billsec 1800 (30 minutes in).
    add_call(db, "c4", node="n2", direction="inbound", gateway="gw-b", did="+74950000000",
             started_at=at(2, 11), answered_at=at(2, 11), ended_at=at(2, 11, 30), billsec=1800,
             hangup_cause="NORMAL_CLEARING", outcome="answered")  # fmt: skip
    add_leg(db, "c4-a", "c4", role="caller", node="n2", gateway="gw-b",
            created_at=at(2, 11), ended_at=at(2, 11, 30))  # fmt: skip


def seed_second(db: Engine) -> None:
    # c2: out on gw-a, node n1, 10:05-10:20 (across the 10:15 bucket boundary), billsec 840.
    add_call(db, "c2", node="n1", direction="outbound", gateway="gw-a", destination="+74952220000",
             started_at=at(2, 10, 5), answered_at=at(2, 10, 5), ended_at=at(2, 10, 20),
             billsec=840, hangup_cause="NORMAL_CLEARING", outcome="answered")  # fmt: skip
    add_leg(db, "c2-b", "c2", role="customer", node="n1", gateway="gw-a",
            created_at=at(2, 10, 5), answered_at=at(2, 10, 5), ended_at=at(2, 10, 20))  # fmt: skip
    # c3: refused at 10:06: both lines of gw-a busy, limit_execute skipped it, the dialplan
    # hung up NORMAL_CIRCUIT_CONGESTION after one second; no leg on the gateway.
    add_call(db, "c3", node="n1", direction="outbound", gateway="gw-a", destination="+74953330000",
             started_at=at(2, 10, 6), ended_at=at(2, 10, 6, 1), billsec=0,
             hangup_cause="NORMAL_CIRCUIT_CONGESTION", outcome="not_answered")  # fmt: skip
    add_leg(db, "c3-a", "c3", role="caller", node="n1", created_at=at(2, 10, 6),
            ended_at=at(2, 10, 6, 1), hangup_cause="NORMAL_CIRCUIT_CONGESTION")  # fmt: skip


def rebuild(db: Engine, lo: datetime = DAY[0], hi: datetime = DAY[1]) -> None:
    with db.begin() as conn:
        REFRESHERS["lines"].rebuild(conn, TENANT, lo, hi)


def rows_by(report: Report, period: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (r["kind"], r["name"]): r for r in report.rows if period is None or r["period"] == period
    }


def same(a: Report, b: Report) -> None:
    assert a.rows == b.rows
    assert a.totals == b.totals
    assert a.charts == b.charts


def test_the_day_per_gateway_and_node(db: Engine, tmp_path: Path) -> None:
    seed_first(db)
    seed_second(db)
    rebuild(db)
    req = request(options={"center": center(tmp_path), "rare_calls": 2})
    report = trunks.trunks_report(db, req)
    assert report.source == "rollups"
    rows = rows_by(report)
    gw_a = rows[("gateway", "gw-a")]
    # gw-a: one line 10:00-10:05, two 10:05-10:10, one 10:10-10:20 (c3 never took a line).
    assert gw_a["calls_out"] == 3 and gw_a["calls_in"] == 0
    assert gw_a["minutes_out"] == round((590 + 840) / 60, 3)
    assert gw_a["refused"] == 1
    assert gw_a["peak"] == 2 and gw_a["channels"] == 2
    # Over the whole day the lines are idle 98.6% of the time: the 95th percentile is 0.
    assert gw_a["p95"] == 0
    assert gw_a["at_limit_pct"] == round(100 * 300 / 86400, 3)
    assert gw_a["usage"] == ""
    gw_b = rows[("gateway", "gw-b")]
    assert (gw_b["calls_in"], gw_b["minutes_in"], gw_b["peak"], gw_b["at_limit_pct"]) == (
        1, 30.0, 1, 0.0)  # fmt: skip
    assert gw_b["usage"] == "rare"  # 1 call < rare_calls 2
    gw_c = rows[("gateway", "gw-c")]
    assert (gw_c["calls_in"], gw_c["calls_out"], gw_c["peak"], gw_c["usage"]) == (0, 0, 0, "never")
    n1 = rows[("node", "n1")]
    # Node n1: c1, c2 and the one-second c3 all up at 10:06:00.
    assert (n1["calls_out"], n1["peak"], n1["refused"], n1["channels"]) == (3, 3, 1, None)
    assert rows[("node", "n2")]["minutes_in"] == 30.0
    assert report.totals is not None
    assert report.totals["calls_out"] == 3 and report.totals["calls_in"] == 1
    assert report.totals["refused"] == 1 and report.totals["peak"] == 3
    assert "gw-b: rare" in report.totals["usage"] and "gw-c: never" in report.totals["usage"]
    same(report, trunks.trunks_raw(db, req))


def test_hourly_percentile_and_time_at_limit(db: Engine, tmp_path: Path) -> None:
    seed_first(db)
    seed_second(db)
    rebuild(db)
    req = request(granularity=Granularity.HOUR, options={"center": center(tmp_path)})
    report = trunks.trunks_report(db, req)
    ten = rows_by(report, "2026-03-02 10:00+0000")[("gateway", "gw-a")]
    # 10:00-11:00: idle 2400 s (66.7%), one line 900 s (to 91.7%), two lines 300 s: p95 = 2.
    assert ten["p95"] == 2 and ten["peak"] == 2
    assert ten["at_limit_pct"] == round(100 * 300 / 3600, 3)
    eleven = rows_by(report, "2026-03-02 11:00+0000")
    assert eleven[("gateway", "gw-a")]["peak"] == 0
    # gw-b is up 11:00-11:30 on 5 lines: p95 is 1 (up half the hour), never at the limit.
    assert eleven[("gateway", "gw-b")]["p95"] == 1
    assert eleven[("gateway", "gw-b")]["at_limit_pct"] == 0.0
    # Every gateway of the tenant has a row in every hour.
    assert sum(1 for r in report.rows if r["kind"] == "gateway") == 24 * 3
    assert report.charts[0].series[0].label == "gw-a"
    assert report.charts[0].series[0].values[10] == 2.0
    same(report, trunks.trunks_raw(db, req))


def test_refresh_redoes_the_buckets_a_call_spans_and_is_idempotent(
    db: Engine, tmp_path: Path
) -> None:
    seed_first(db)
    rebuild(db)
    seed_second(db)  # arrives later: only its buckets are refreshed
    with db.begin() as conn:
        starts = buckets_of_calls(conn, TENANT, ["c2", "c3"])
    assert starts == [at(2, 10)]
    for _ in range(2):  # twice: the same figures
        with db.begin() as conn:
            REFRESHERS["lines"].refresh(conn, TENANT, starts)
    req = request(granularity=Granularity.MIN15, options={"center": center(tmp_path)})
    report = trunks.trunks_report(db, req)
    same(report, trunks.trunks_raw(db, req))
    quarter = rows_by(report, "2026-03-02 10:15+0000")
    # c2 runs on to 10:20 in the 10:15 bucket, which was not named in the refresh.
    assert quarter[("gateway", "gw-a")]["peak"] == 1
    assert quarter[("gateway", "gw-a")]["at_limit_pct"] == 0.0
    first = rows_by(report, "2026-03-02 10:00+0000")[("gateway", "gw-a")]
    assert first["refused"] == 1 and first["peak"] == 2
    assert first["at_limit_pct"] == round(100 * 300 / 900, 3)


def test_filters_and_a_zone(db: Engine, tmp_path: Path) -> None:
    seed_first(db)
    seed_second(db)
    rebuild(db, at(1, 0), at(4, 0))
    # The Moscow day of 2 March is 1 March 21:00 to 2 March 21:00 UTC.
    req = request(start=at(1, 21), end=at(2, 21), tz="Europe/Moscow",
                  granularity=Granularity.DAY, gateways=("gw-a",),
                  options={"center": center(tmp_path), "nodes": ["n2"]})  # fmt: skip
    report = trunks.trunks_report(db, req)
    assert {(r["kind"], r["name"]) for r in report.rows} == {("gateway", "gw-a"), ("node", "n2")}
    assert {r["period"] for r in report.rows} == {"2026-03-02"}
    same(report, trunks.trunks_raw(db, req))


def test_an_empty_period_is_an_empty_report(db: Engine, tmp_path: Path) -> None:
    seed_first(db)
    rebuild(db, at(1, 0), at(4, 0))
    req = request(start=at(5, 0), end=at(6, 0), options={"center": center(tmp_path)})
    report = trunks.trunks_report(db, req)
    assert report.rows == [] and report.totals is None
    assert any("never used: gw-a, gw-b, gw-c" in note for note in report.notes)
    assert trunks.trunks_raw(db, req).rows == []


def test_without_a_center_limits_are_unknown(db: Engine) -> None:
    seed_first(db)
    rebuild(db)
    report = trunks.trunks_report(db, request())
    gw_a = rows_by(report)[("gateway", "gw-a")]
    assert gw_a["channels"] is None and gw_a["at_limit_pct"] is None and gw_a["peak"] == 1
    assert ("gateway", "gw-c") not in rows_by(report)


def test_bad_input(db: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidReportInputError, match="rare_calls"):
        trunks.trunks_report(db, request(options={"rare_calls": -1}))
    with pytest.raises(UnknownNameError, match="nope"):
        trunks.trunks_report(db, request(gateways=("nope",), options={"center": center(tmp_path)}))
    with pytest.raises(InvalidReportInputError, match="queues"):
        trunks.trunks_report(db, request(queues=("support",)))
    with pytest.raises(UnknownNameError, match="tenant"):
        trunks.trunks_report(db, request(tenant="other", options={"center": center(tmp_path)}))


def test_registered_with_a_raw_twin() -> None:
    spec = REPORTS["trunks"]
    assert spec.run is trunks.trunks_report and spec.raw is trunks.trunks_raw


def test_percentile_level() -> None:
    # 10 s window: 6 s idle, 3 s at 1, 1 s at 4.
    assert trunks.percentile_level({1: 3000, 4: 1000}, 10000, 0.5) == 0
    assert trunks.percentile_level({1: 3000, 4: 1000}, 10000, 0.9) == 1
    assert trunks.percentile_level({1: 3000, 4: 1000}, 10000, 0.95) == 4


def test_sqlite_is_refused_and_its_roll_up_left_alone(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    lite = create_engine(f"sqlite:///{tmp_path / 'cc.db'}")
    with pytest.raises(InvalidReportInputError, match="PostgreSQL"):
        trunks.trunks_report(lite, request())
    with lite.begin() as conn:  # no table, no SQL: nothing happens
        REFRESHERS["lines"].refresh(conn, TENANT, [DAY[0]])
        REFRESHERS["lines"].rebuild(conn, TENANT, DAY[0], DAY[1])
    lite.dispose()


def test_the_mailed_summary_knows_the_gateways_limits(db: Engine, tmp_path: Path) -> None:
    from callcenter.center.reports_config import ReportsConfig
    from callcenter.reports.mail import run_summary

    seed_first(db)
    rebuild(db)
    config = ReportsConfig(recipients=["boss@example.com"], reports=["trunks"])
    for given, channels in ((None, None), (center(tmp_path), 2)):
        reports, failed = run_summary(db, TENANT, config, "daily", at(3, 7), given)
        assert failed == [] and len(reports) == 1
        assert rows_by(reports[0])[("gateway", "gw-a")]["channels"] == channels
        assert "center" not in reports[0].request.options  # the server's, not shown

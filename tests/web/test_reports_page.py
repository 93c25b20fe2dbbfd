"""The reports page in headless Chromium: a supervisor runs a report, sees its table and its
charts (inline SVG), the export links, and drills down from an agent to the calls behind the
figures, with their recordings; agents are refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import Engine

from tests.calls.rows import T0, add_call, add_recording
from tests.reports.sample import NAME, TITLE, registered
from tests.web.conftest import Visit, WebCenter


@pytest.fixture(autouse=True)
def sample() -> Iterator[None]:
    with registered():
        yield


async def test_a_supervisor_runs_a_report_and_drills_down_to_the_calls(
    center: WebCenter, visit: Visit, db: Engine
) -> None:
    first = add_call(db, tenant=center.tenant, agent="1001", queue="support",
                     caller_number="74951112233", started_at=T0)  # fmt: skip
    add_recording(db, first, tenant=center.tenant)
    add_call(db, tenant=center.tenant, agent="1001", queue="support",
             started_at=T0 + timedelta(minutes=20))  # fmt: skip
    add_call(db, tenant=center.tenant, agent="1002", queue="support", started_at=T0)

    sup = await visit("supervisor")
    page = sup.page
    await sup.sign_in("sam")
    await page.wait_for_url(f"**/t/{center.tenant}/wallboard")
    await page.click("header nav a:text('Reports')")
    await page.wait_for_url(f"**/t/{center.tenant}/reports")
    await expect(page.locator(f"#report-name option[value='{NAME}']")).to_have_count(1)
    await page.select_option("#report-name", NAME)
    await page.fill("#report-from", "2026-03-02")
    await page.fill("#report-to", "2026-03-02")
    await page.fill("#report-tz", "UTC")
    await page.click("#report-run")

    await expect(page.locator("#report-title")).to_have_text(TITLE)
    table = page.locator("#report-table")
    await expect(table.locator("tbody tr")).to_have_count(2)
    await expect(table.locator("tbody tr").first).to_contain_text("1:02:05")
    await expect(table.locator("tfoot")).to_contain_text("Total")
    bars = page.locator("#report-chart-0 svg rect.bar")
    await expect(bars).to_have_count(4)  # two agents, two series
    await expect(page.locator("#report-chart-1 svg circle.dot")).to_have_count(5)
    href = await page.locator("#export-pdf").get_attribute("href")
    assert href is not None and "format=pdf" in href and "from=2026-03-02" in href
    await sup.shot("report")

    await page.click("#report-table button.drill[data-agent='1001']")
    await expect(page.locator("#drill-title")).to_have_text("Calls of agent 1001 (2)")
    rows = page.locator("#drill-rows tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator(f"#drill-rows tr[data-call='{first}']")).to_contain_text(
        "74951112233"
    )
    await page.click(f"#drill-rows tr[data-call='{first}'] button.play")
    await expect(page.locator("#drill-audio")).to_have_attribute("data-call", first)
    await sup.shot("drill-down")

    # A bad period is said on the page.
    await page.fill("#report-tz", "Mars/Base")
    await page.click("#report-run")
    await expect(page.locator("#report-error")).to_contain_text("'Mars/Base' does not exist")
    assert sup.foreign() == []


async def test_an_agent_is_refused_the_reports_page(center: WebCenter, visit: Visit) -> None:
    agent = await visit("agent")
    await agent.sign_in("anna")
    await agent.page.wait_for_url(f"**/t/{center.tenant}/agent")
    await expect(agent.page.locator("header nav a:text('Reports')")).to_have_count(0)
    response = await agent.page.goto(f"/t/{center.tenant}/reports")
    assert response is not None and response.status == 403

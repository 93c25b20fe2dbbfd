"""The pages in headless Chromium against the real server: an agent takes a call from Ready to
disposition while a supervisor watches the wallboard; sign-in errors, refusals, the admin's
view; and no page ever asks anything of another host."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.async_api import APIResponse, Dialog, Route, expect
from redis import Redis as SyncRedis
from sqlalchemy import Engine, select

from callcenter.acd.model import AgentStatus
from callcenter.calls import notes
from callcenter.db.models import Call
from callcenter.reports.registry import load_reports
from callcenter.reports.rollup import buckets_of_calls, refresh_buckets
from tests.web.conftest import (
    CALLER_CARD,
    CALLER_NUMBER,
    CAMPAIGN,
    DID,
    DISPOSITIONS,
    Visit,
    WebCenter,
    eventually,
)
from workers.ingest.consumer import ingest

T = "/api/v1/tenants/{tenant}"
LIVE = T + "/live"
SCREEN_POP = T + "/screen-pop"
CALL = T + "/calls/{call}"
MONITOR = T + "/live-calls/{call}/monitor"
REPORT = T + "/reports/{name}"


async def status_is(center: WebCenter, agent: str, status: AgentStatus) -> None:
    async def reached() -> bool:
        return await center.store.status(agent) is status

    reached.__name__ = f"agent {agent} is {status.value}"
    await eventually(reached)


async def call_recorded(center: WebCenter, db: Engine, call_id: str) -> None:
    """What the worker does after a call: the Stream's entries become the call's rows."""

    def step() -> bool:
        client = SyncRedis.from_url(center.redis_url)
        try:
            ingest(client, db, center.tenant)
        finally:
            client.close()
        # And its report roll-ups, as the workers' refresh does after each ingest batch.
        load_reports()
        with db.connect() as conn:
            starts = buckets_of_calls(conn, center.tenant, [call_id])
        refresh_buckets(db, center.tenant, starts)
        with db.connect() as conn:
            ended = conn.execute(select(Call.ended_at).where(Call.call_uuid == call_id)).first()
        return ended is not None and ended[0] is not None

    async def recorded() -> bool:
        return await asyncio.to_thread(step)

    recorded.__name__ = f"call {call_id} is in the database"
    await eventually(recorded)


async def test_an_agent_takes_a_call_while_the_supervisor_watches(
    center: WebCenter, visit: Visit, db: Engine
) -> None:
    waiting = center.waiting()
    center.switch.phones.register("1001", "default", answer_after=3.0)

    # The agent signs in, logs in and is ready.
    agent = await visit("agent")
    page = agent.page
    await agent.sign_in("anna")
    await page.wait_for_url(f"**/t/{center.tenant}/agent")
    state = page.locator("#agent-state")
    await expect(state).to_have_attribute("data-status", "logged_out")
    await agent.shot("signed-in")
    await page.click("#btn-login")
    await expect(state).to_have_attribute("data-status", "on_break")
    await page.click("#btn-ready")
    await expect(state).to_have_attribute("data-status", "available")
    await expect(state).to_have_text("Ready")
    assert await center.store.status("1001") is AgentStatus.AVAILABLE
    since = await page.locator("#state-since").text_content()
    await expect(page.locator("#state-since")).not_to_have_text(since or "", timeout=3000)
    await agent.shot("ready")

    # The supervisor's wallboard shows the agent ready.
    supervisor = await visit("supervisor")
    board = supervisor.page
    await supervisor.sign_in("sam")
    await board.wait_for_url(f"**/t/{center.tenant}/wallboard")
    agent_row = board.locator('#agent-rows tr[data-agent="1001"] .agent-state')
    await expect(agent_row).to_have_attribute("data-status", "available")
    await expect(board.locator('#queue-rows tr[data-queue="support"]')).to_be_visible()
    await supervisor.shot("agent-ready")

    # A caller dials in: the screen-pop shows while the agent's phone rings.
    caller = await center.switch.callers.dial(
        "7000", caller_number=CALLER_NUMBER, caller_name="IVAN P", gateway="pstn"
    )
    await status_is(center, "1001", AgentStatus.RESERVED)
    reserved_for = await center.store.redis.hget(center.store.keys.agent("1001"), "reserved_for")
    call_id = reserved_for.decode()
    pop = page.locator("#screen-pop")
    await expect(pop).to_be_visible()
    await expect(pop).to_have_attribute("data-call", call_id)
    if waiting.step("screen-pop the moment the phone rings", ("GET", LIVE)):
        assert await center.store.status("1001") is AgentStatus.RESERVED, "shown after the ring"
    if waiting.step("the caller's card on the screen-pop", ("GET", SCREEN_POP)):
        await expect(page.locator("#caller-name")).to_have_text(CALLER_CARD["name"])
        await expect(page.locator("#caller-company")).to_have_text(CALLER_CARD["company"])
        await expect(page.locator("#caller-number")).to_have_text(CALLER_NUMBER)
        await expect(page.locator("#call-did")).to_have_text(f"{DID} ({CAMPAIGN})")
        await expect(page.locator("#screen-pop-error")).to_be_hidden()
    else:
        error = page.locator("#screen-pop-error")
        await expect(error).to_contain_text("not available on this server yet")
    await agent.shot("screen-pop")

    # Answered: the wallboard shows the call and the agent on it.
    await status_is(center, "1001", AgentStatus.ON_CALL)
    answered = re.compile("answered|bridged")
    await expect(page.locator("#call-state")).to_have_attribute("data-status", answered)
    await expect(agent_row).to_have_attribute("data-status", "on_call")
    call_row = board.locator(f'#call-rows tr[data-call="{call_id}"]')
    await expect(call_row).to_be_visible()
    await supervisor.shot("call-live")

    # The supervisor listens in from the wallboard.
    if waiting.step("listen in from the wallboard", ("POST", MONITOR)):
        center.switch.phones.register("1900", "default", answer_after=0.5)
        await board.fill("#monitor-contact", "user/1900@default")
        await call_row.locator("button.monitor-listen").click()
        await expect(board.locator("#calls-result")).to_contain_text("listen")
        await expect(board.locator("#calls-error")).to_be_hidden()
    else:
        await call_row.locator("button.monitor-listen").click()
        await expect(board.locator("#calls-error")).to_contain_text("not available")
    await supervisor.shot("listen")

    # The caller hangs up: wrap-up, with the disposition form.
    await caller.hangup()
    await status_is(center, "1001", AgentStatus.WRAP_UP)
    await expect(page.locator("#wrap-up")).to_be_visible()
    await expect(page.locator("#wrap-up-call")).to_have_text(call_id)
    # The queue's codes are offered (a datalist the code field completes from).
    codes = page.locator("#disposition-codes option")
    await expect(codes).to_have_count(len(DISPOSITIONS))
    assert [await o.get_attribute("value") for o in await codes.all()] == DISPOSITIONS
    await agent.shot("wrap-up")
    await call_recorded(center, db, call_id)
    await page.fill("#disposition-code", "sale")
    await page.fill("#comment-text", "Wants a callback on Monday")
    await page.click("#btn-save-wrapup")
    if waiting.step(
        "the disposition and comment", ("PUT", CALL + "/disposition"), ("POST", CALL + "/comments")
    ):
        result = page.locator("#wrap-up-result")
        await expect(result).to_have_text("Saved: disposition sale and comment.")
        chosen = await asyncio.to_thread(
            notes.disposition, db, tenant=center.tenant, call_uuid=call_id
        )
        assert chosen is not None and chosen.code == "sale"
    else:
        await expect(page.locator("#wrap-up-error")).to_contain_text("not available")
    await agent.shot("disposition")

    # The wallboard: the agent in wrap-up, the call gone.
    await expect(agent_row).to_have_attribute("data-status", "wrap_up")
    await expect(call_row).to_have_count(0)
    await supervisor.shot("after-call")

    # The agent's own history lists the call.
    await page.click("#btn-history-refresh")
    if waiting.step("the agent's recent calls", ("GET", T + "/calls")):
        await expect(page.locator(f'#history-rows tr[data-call="{call_id}"]')).to_contain_text(
            CALLER_NUMBER
        )
    else:
        await expect(page.locator("#history-error")).to_contain_text("not available")
    await agent.shot("history")

    # Today's charts: the call in its hour, the agent's figures, the queue's service level.
    await board.reload()
    await expect(board.locator("#chart-sl rect.bar")).to_have_count(2)  # support, billing
    if waiting.step("calls per hour", ("GET", REPORT)):
        # Today's hours in the browser's zone, from the queues report.
        zone = await board.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
        await expect(board.locator("#hourly-zone")).to_have_text(zone)
        now = datetime.now(ZoneInfo(zone))
        hour = board.locator(f'#chart-hourly rect.bar[data-label="{now.hour}"]')
        await expect(hour).to_have_attribute("data-value", "1")
    if waiting.step("agents' figures", ("GET", REPORT)):
        await expect(board.locator('#chart-agents rect.bar[data-label="1001"]')).to_have_count(2)
    await supervisor.shot("charts")

    assert agent.foreign() == [] and supervisor.foreign() == []
    waiting.settle()


async def test_the_supervisor_moves_a_waiting_caller_to_another_queue(
    center: WebCenter, visit: Visit
) -> None:
    supervisor = await visit("supervisor")
    board = supervisor.page
    await supervisor.sign_in("sam")
    await board.wait_for_url(f"**/t/{center.tenant}/wallboard")
    # Nobody is logged in: the caller waits in support.
    caller = await center.switch.callers.dial("7000", caller_number=CALLER_NUMBER)
    row = board.locator(f'#call-rows tr[data-call="{caller.uuid}"]')
    await expect(row.locator(".state")).to_have_attribute("data-status", "waiting")
    await expect(board.locator('#move-targets option[value="queue:billing"]')).to_have_count(1)
    await row.locator("input.move-target").fill("queue:billing")
    await row.locator("button.move").click()
    await expect(board.locator("#calls-result")).to_have_text(
        f"Call {caller.uuid[:8]} moved to queue:billing."
    )
    await expect(board.locator("#calls-error")).to_be_hidden()
    assert await center.store.waiting("billing") == [caller.uuid]
    assert await center.store.waiting("support") == []
    await expect(row.locator("td").nth(2)).to_have_text("billing")  # the live feed's update
    await supervisor.shot("moved")
    assert supervisor.foreign() == []


async def test_a_list_of_live_calls_read_before_a_caller_came_does_not_hide_them(
    center: WebCenter, visit: Visit
) -> None:
    # Every answer of GET .../live-calls is read from the server at once, and handed to the
    # page only once the caller's frame has shown the call: a list older than the frame.
    held: list[Route] = []
    stale: list[APIResponse] = []
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        stale.append(await route.fetch())
        held.append(route)
        await release.wait()
        await route.fulfill(response=stale[held.index(route)])

    supervisor = await visit("supervisor")
    board = supervisor.page
    await board.route("**/live-calls", hold)
    await supervisor.sign_in("sam")
    await board.wait_for_url(f"**/t/{center.tenant}/wallboard")

    async def listed() -> bool:
        return len(held) >= 2  # the first poll's and the live feed's snapshot's

    await eventually(listed)
    caller = await center.switch.callers.dial("7000", caller_number=CALLER_NUMBER)
    row = board.locator(f'#call-rows tr[data-call="{caller.uuid}"]')
    await expect(row).to_be_visible()  # from the feed
    async with board.expect_event("requestfinished", lambda r: "/live-calls" in r.url):
        release.set()  # the stale lists land now
    # Past the promise callbacks that apply the list (a later turn of the page's event loop).
    await board.evaluate("() => new Promise((done) => setTimeout(done, 100))")
    assert await row.count() == 1
    await expect(row.locator(".state")).to_have_attribute("data-status", "waiting")
    assert supervisor.foreign() == []


async def dial_failed(center: WebCenter, call: str, agent: str, number: str, cause: str) -> None:
    """What call control writes when a click-to-call did not connect (test_trunk_lines.py)."""
    await center.store.append_event(
        "call", call=call, state="outbound_failed", agent=agent, number=number, cause=cause
    )


async def test_an_agent_is_told_why_a_click_to_call_did_not_connect(
    center: WebCenter, visit: Visit
) -> None:
    agent = await visit("agent")
    page = agent.page
    await agent.sign_in("anna")
    await page.wait_for_url(f"**/t/{center.tenant}/agent")
    await expect(page.locator("#agent-state")).to_have_attribute("data-status", "logged_out")
    # Every gateway's lines were taken.
    await dial_failed(center, "c2c-1", "1001", "78121112233", "NORMAL_CIRCUIT_CONGESTION")
    await expect(page.locator("#dial-result")).to_have_text(
        "78121112233: all lines are busy, try again in a moment."
    )
    # Another agent's failure is not shown here: by the time this agent's own state change
    # (which comes after it on the feed) shows, the message is still this agent's.
    await dial_failed(center, "c2c-2", "1002", "74950000001", "USER_BUSY")
    await center.store.login("1001")
    await expect(page.locator("#agent-state")).to_have_attribute("data-status", "on_break")
    await expect(page.locator("#dial-result")).to_have_text(
        "78121112233: all lines are busy, try again in a moment."
    )
    await dial_failed(center, "c2c-3", "1001", "74950000002", "USER_BUSY")
    await expect(page.locator("#dial-result")).to_have_text("74950000002: the number is busy.")
    assert agent.foreign() == []


async def test_a_wrong_password_shows_the_apis_message(center: WebCenter, visit: Visit) -> None:
    visitor = await visit("agent")
    await visitor.sign_in("anna", "not the password")
    await expect(visitor.page.locator("#login-error")).to_have_text("wrong login or password")
    assert visitor.page.url.endswith("/login")
    await visitor.shot("wrong-password")
    assert visitor.foreign() == []


async def test_pages_need_a_session_and_sign_in_returns_there(
    center: WebCenter, visit: Visit
) -> None:
    visitor = await visit("supervisor")
    wallboard = f"/t/{center.tenant}/wallboard"
    await visitor.page.goto(wallboard)
    await visitor.page.wait_for_url(re.compile(r"/login\?next=.*wallboard"))
    await visitor.shot("sent-to-sign-in")
    await visitor.page.fill("#login", "sam")
    await visitor.page.fill("#password", "correct horse battery")
    await visitor.page.click("#login-submit")
    await visitor.page.wait_for_url(f"**{wallboard}")
    assert visitor.foreign() == []


async def test_home_is_each_roles_own_page(center: WebCenter, visit: Visit) -> None:
    for login, page in (("anna", "agent"), ("sam", "wallboard"), ("ada", "admin")):
        visitor = await visit(login)
        await visitor.sign_in(login)
        await visitor.page.wait_for_url(f"**/t/{center.tenant}/{page}")
        await expect(visitor.page.locator("header nav a[aria-current=page]")).to_be_visible()


async def test_an_agent_is_refused_the_wallboard_and_the_admin_view(
    center: WebCenter, visit: Visit
) -> None:
    visitor = await visit("agent")
    page = visitor.page
    await visitor.sign_in("anna")
    await page.wait_for_url(f"**/t/{center.tenant}/agent")
    response = await page.goto(f"/t/{center.tenant}/wallboard")
    assert response is not None and response.status == 403
    reason = page.locator("#refused-reason")
    await expect(reason).to_contain_text("needs the supervisor role; anna is agent")
    await expect(page.locator("#home-link")).to_have_attribute("href", f"/t/{center.tenant}/agent")
    await visitor.shot("wallboard-refused")
    response = await page.goto(f"/t/{center.tenant}/admin")
    assert response is not None and response.status == 403
    await expect(reason).to_contain_text("needs the admin role")
    # A supervisor without an ACD agent has no desktop.
    supervisor = await visit("supervisor")
    await supervisor.sign_in("sam")
    await supervisor.page.wait_for_url("**/wallboard")
    response = await supervisor.page.goto(f"/t/{center.tenant}/agent")
    assert response is not None and response.status == 403
    await expect(supervisor.page.locator("#refused-reason")).to_contain_text("no ACD agent")
    assert visitor.foreign() == [] and supervisor.foreign() == []


async def test_the_admin_manages_users_and_tokens(center: WebCenter, visit: Visit) -> None:
    admin = await visit("admin")
    page = admin.page
    dialogs: list[str] = []

    async def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", answer)
    await admin.sign_in("root")
    await page.wait_for_url(f"**/t/{center.tenant}/admin")

    # The configuration, from the config endpoint.
    await expect(page.locator("#config-queues")).to_contain_text("support")
    await expect(page.locator("#config-agents")).to_contain_text("user/1001@default")
    await expect(page.locator('#users-rows tr[data-login="anna"]')).to_be_visible()
    await admin.shot("loaded")

    # A new user whose name is markup: shown as text, never run.
    sneaky = "<img src=x onerror=alert(1)>"
    await page.fill("#new-login", "carol")
    await page.fill("#new-name", sneaky)
    await page.fill("#new-password", "another long password")
    await page.select_option("#new-role", "agent")
    await page.click("#btn-add-user")
    # The API's own message: an agent user needs their ACD agent.
    await expect(page.locator("#users-error")).to_contain_text("agent_id")
    await page.select_option("#new-role", "supervisor")
    await page.click("#btn-add-user")
    carol = page.locator('#users-rows tr[data-login="carol"]')
    await expect(carol.locator(".user-name")).to_have_text(sneaky)
    await carol.locator("select").select_option("admin")
    await carol.locator("button", has_text="Save role").click()
    await expect(page.locator("#users-result")).to_have_text("carol is admin now.")
    await carol.locator(".toggle-disabled").click()
    await expect(carol.locator(".user-status")).to_have_text("disabled")
    # The API's message when it refuses: the same login again.
    await page.fill("#new-login", "carol")
    await page.fill("#new-name", "Carol again")
    await page.click("#btn-add-user")
    await expect(page.locator("#users-error")).to_contain_text("carol")
    await admin.shot("users")

    # A token: its secret shown once, then revoked.
    await carol.locator(".show-tokens").click()
    await page.fill("#token-name", "crm")
    await page.click("#btn-new-token")
    await expect(page.locator("#token-secret-box")).to_be_visible()
    secret = await page.locator("#token-secret").text_content()
    assert secret and len(secret) > 20
    token = page.locator("#token-rows tr").first
    await expect(token.locator(".token-status")).to_have_text("live")
    await admin.shot("token-created")
    await token.locator(".revoke").click()
    await expect(token.locator(".token-status")).to_have_text("revoked")
    await carol.locator(".show-tokens").click()
    await expect(page.locator("#token-secret-box")).to_be_hidden()

    # Dialplans: rendered; a push with no node folder shows the API's message.
    await page.click("#btn-render")
    await expect(page.locator("#dialplan-output")).to_contain_text("file(s) rendered")
    await page.click("#btn-push")
    await expect(page.locator("#dialplan-error")).to_contain_text("no configuration folder")
    assert dialogs and "reload" in dialogs[0]
    await admin.shot("dialplan")

    # The audit log has the writes.
    await page.click("#btn-audit-refresh")
    await expect(page.locator("#audit-rows")).to_contain_text(
        "POST /api/v1/tenants/{tenant}/users/{login}/tokens"
    )
    await admin.shot("audit")
    assert admin.foreign() == []
    assert all("alert" not in message for message in dialogs)


async def test_a_tenant_admin_sees_why_dialplans_are_not_theirs(
    center: WebCenter, visit: Visit
) -> None:
    admin = await visit("admin")
    await admin.sign_in("ada")
    await admin.page.wait_for_url(f"**/t/{center.tenant}/admin")
    await admin.page.click("#btn-render")
    await expect(admin.page.locator("#dialplan-error")).to_contain_text("needs the admin role")
    assert admin.foreign() == []

"""Live call control on queue calls, end to end: the simulated switch over TCP, real Redis, the
queue flow routing calls, and ``CallControl`` acting on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.center import Tenant
from callcenter.controller.call_control import CallControl, CallControlSettings
from callcenter.controller.call_control_errors import (
    BadDestinationError,
    BadNumberError,
    CallControlError,
    NoRouteError,
    UnknownCallError,
    WrongCallStateError,
)
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import Caller, SimSwitch

DIALPLAN = """<include>
<context name="public">
  <extension name="support">
    <condition field="destination_number" expression="^7000$">
      <action application="answer"/>
      <action application="set" data="cc_tenant=TENANT"/>
      <action application="set" data="cc_queue=support"/>
      <action application="park"/>
    </condition>
  </extension>
</context>
<context name="TENANT">
  <extension name="1002">
    <condition field="destination_number" expression="^1002$">
      <action application="set" data="hangup_after_bridge=true"/>
      <action application="bridge" data="user/1002@default"/>
    </condition>
  </extension>
</context>
</include>
"""

RATES_A = "prefix,rate\n7,0.90\n7495,0.50\n"  # gwa: Moscow is cheap here
RATES_B = "prefix,rate\n7,0.80\n7495,0.60\n"  # gwb: the rest of Russia is


def make_tenant(name: str, folder: Path) -> Tenant:
    (folder / "gwa.csv").write_text(RATES_A)
    (folder / "gwb.csv").write_text(RATES_B)
    users = [{"extension": ext, "password": "secret-pass-1"} for ext in ("1001", "1002", "1005")]
    anna = {"extension": "1000", "password": "secret-pass-1", "display_name": "Anna"}
    users.append({**anna, "caller_id_number": "74950000000"})
    return Tenant.model_validate(
        {
            "name": name,
            "domain": "default",
            "users": users,
            "gateways": [
                {"name": "gwa", "proxy": "gwa.example.com", "register": False, "channels": 10},
                {"name": "gwb", "proxy": "gwb.example.com", "register": False, "channels": 10},
            ],
            "outbound_routes": [
                {
                    "name": "russia",
                    "pattern": r"^\+?7[0-9]{10}$",
                    "gateways": ["gwa", "gwb"],
                    "rates": {"gwa": folder / "gwa.csv", "gwb": folder / "gwb.csv"},
                }
            ],
        }
    )


@dataclass
class Desk:
    switch: SimSwitch
    store: AcdStore
    flow: QueueCallFlow
    control: CallControl
    probe: InboundClient  # the test's own connection, to look at the switch
    tenant: Tenant
    recordings: Path


@pytest.fixture
async def desk(tmp_path: Path, store: AcdStore) -> AsyncIterator[Desk]:
    tenant = make_tenant(store.keys.tenant, tmp_path)
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "plan.xml").write_text(DIALPLAN.replace("TENANT", tenant.name))
    recordings = tmp_path / "rec"
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=recordings)
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    probe = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await probe.connect()
    for queue in ("support", "sales"):
        await store.put_queue(QueueConfig(queue, Strategy.LONGEST_IDLE, wrap_up_seconds=3))
    for agent, queue in (("1000", "support"), ("1001", "sales")):
        await store.put_agent(agent, f"user/{agent}@default")
        await store.put_tier(queue, agent)
    settings = FlowSettings(ring_seconds=2, recordings_dir=recordings, tick_seconds=0.05)
    flow = QueueCallFlow({"node1": esl}, store, settings)
    await flow.start()
    control = CallControl(
        {"node1": esl},
        store,
        tenant,
        CallControlSettings(recordings_dir=recordings, moh=settings.moh, agent_ring_seconds=2),
    )
    await control.start()
    try:
        yield Desk(switch, store, flow, control, probe, tenant, recordings)
    finally:
        await control.stop()
        await flow.stop()
        await probe.close()
        await esl.close()
        await switch.stop()


async def until(predicate: object, timeout: float = 10.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def agent_is(store: AcdStore, agent: str, status: AgentStatus) -> bool:
    return await store.status(agent) is status


async def ready(desk: Desk, agent: str, answer_after: float = 0.2) -> None:
    desk.switch.phones.register(agent, "default", answer_after=answer_after)
    await desk.store.login(agent)
    await desk.store.ready(agent)


async def bridged_call(desk: Desk, agent: str = "1000") -> tuple[Caller, str]:
    """A caller of queue support talking to ``agent``; returns the caller and the agent leg."""
    await ready(desk, agent)
    caller = await desk.switch.callers.dial("7000", caller_number="4951234567", caller_name="Ivan")
    key = desk.store.keys.call(caller.uuid)
    await until(lambda: desk.store.redis.hexists(key, "bridged_ms"))
    leg = (await desk.store.redis.hget(key, f"leg:{agent}") or b"").decode()
    await until(lambda: desk.switch.channels[caller.uuid].other_uuid == leg)
    return caller, leg


def other_of(desk: Desk, uuid: str) -> str | None:
    channel = desk.switch.channels.get(uuid)
    return channel.other_uuid if channel is not None else None


# -- hangup ---------------------------------------------------------------------------------------


async def test_hangup_ends_the_call_and_the_agent_wraps_up(desk: Desk) -> None:
    caller, leg = await bridged_call(desk)
    await desk.control.hangup(caller.uuid)
    await caller.wait_hangup(5)
    await until(lambda: leg not in desk.switch.channels)
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.WRAP_UP))
    state = await desk.store.redis.hget(desk.store.keys.call(caller.uuid), "state")
    assert state == b"ended"
    with pytest.raises(WrongCallStateError) as info:
        await desk.control.hangup(caller.uuid)
    assert info.value.error_id == "wrong-call-state"


async def test_unknown_calls_and_other_tenants_calls_are_refused(desk: Desk, redis: Redis) -> None:
    caller, _ = await bridged_call(desk)
    other_store = AcdStore(redis, f"{desk.store.keys.tenant}x")
    other_tenant = make_tenant(other_store.keys.tenant, desk.recordings.parent)
    other = CallControl(desk.flow.nodes, other_store, other_tenant)
    for attempt in (
        other.hangup(caller.uuid),
        other.transfer(caller.uuid, "1002"),
        other.record(caller.uuid, False),
        other.monitor(caller.uuid, "1005", "listen"),
        desk.control.hangup("00000000-0000-0000-0000-000000000000"),
        desk.control.hangup(f"{caller.uuid}\r\nuuid_kill {caller.uuid}"),
    ):
        with pytest.raises(UnknownCallError) as info:
            await attempt
        assert info.value.error_id == "unknown-call"
        assert info.value.status == 404
    assert caller.uuid in desk.switch.channels  # nothing reached the switch


# -- blind transfer -------------------------------------------------------------------------------


async def test_blind_transfer_to_an_extension_releases_the_agent(desk: Desk) -> None:
    desk.switch.phones.register("1002", "default", answer_after=0.2)
    caller, leg = await bridged_call(desk)
    await desk.control.transfer(caller.uuid, "extension:1002")
    phone = desk.switch.phones.get("1002")
    assert phone is not None
    await until(lambda: bool(phone.live_calls))
    await until(lambda: other_of(desk, caller.uuid) == phone.live_calls[0])
    await until(lambda: leg not in desk.switch.channels)
    # Not stuck on call: wrap-up at once, then available.
    assert await agent_is(desk.store, "1000", AgentStatus.WRAP_UP)
    assert caller.uuid in desk.switch.channels  # the caller goes on with 1002
    dump = await desk.probe.api(f"uuid_dump {caller.uuid} json")
    assert '"Caller-Destination-Number":"1002"' in dump


async def test_blind_transfer_to_a_queue_puts_the_caller_back_in_line(desk: Desk) -> None:
    caller, leg = await bridged_call(desk)
    await ready(desk, "1001")
    await desk.control.transfer(caller.uuid, "queue:sales")
    await until(lambda: agent_is(desk.store, "1001", AgentStatus.ON_CALL))
    await until(lambda: leg not in desk.switch.channels)
    assert await agent_is(desk.store, "1000", AgentStatus.WRAP_UP)
    key = desk.store.keys.call(caller.uuid)
    await until(lambda: desk.store.redis.hexists(key, "bridged_ms"))
    data = await desk.store.redis.hgetall(key)
    assert (data[b"queue"], data[b"agent"], data[b"state"]) == (b"sales", b"1001", b"answered")
    new_leg = data[b"leg:1001"].decode()
    await until(lambda: other_of(desk, caller.uuid) == new_leg)


async def test_transfer_refuses_bad_destinations_and_sends_nothing(desk: Desk) -> None:
    caller, leg = await bridged_call(desk)
    cases: list[tuple[str, type[CallControlError], str]] = [
        ("1002\r\nuuid_kill x", BadDestinationError, "bad-destination"),
        ("extension:4321", BadDestinationError, "bad-destination"),
        ("queue:nowhere", BadDestinationError, "bad-destination"),
        ("what is this", BadDestinationError, "bad-destination"),
        ("external:+15551234567", NoRouteError, "no-route"),
        ("15551234567", NoRouteError, "no-route"),
    ]
    for destination, kind, slug in cases:
        with pytest.raises(kind) as info:
            await desk.control.transfer(caller.uuid, destination)
        assert info.value.error_id == slug, destination
        assert info.value.message
    assert other_of(desk, caller.uuid) == leg
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)


async def test_operations_on_a_waiting_call_are_refused(desk: Desk) -> None:
    await desk.store.login("1000")  # on break: the caller waits
    caller = await desk.switch.callers.dial("7000", caller_number="4951234567")
    await until(lambda: desk.store.waiting("support"))
    # (A blind transfer moves a waiting caller: test_move_waiting.py.)
    for attempt in (
        desk.control.consult(caller.uuid, "1002"),
        desk.control.record(caller.uuid, True),
        desk.control.monitor(caller.uuid, "1005", "listen"),
    ):
        with pytest.raises(WrongCallStateError):
            await attempt
    await desk.control.hangup(caller.uuid)  # a waiting caller can be hung up
    await caller.wait_hangup(5)
    key = desk.store.keys.call(caller.uuid)

    async def abandoned() -> bool:
        return bool(await desk.store.redis.hget(key, "state") == b"abandoned")

    await until(abandoned)


# -- attended transfer ----------------------------------------------------------------------------


async def consulting(desk: Desk) -> tuple[Caller, str, str]:
    desk.switch.phones.register("1002", "default", answer_after=0.5)
    caller, leg = await bridged_call(desk)
    await desk.probe.subscribe("CHANNEL_HOLD")
    held = desk.probe.wait_for_event("CHANNEL_HOLD", uuid=caller.uuid, timeout=5)
    target = await desk.control.consult(caller.uuid, "1002")
    await held
    # The caller holds, hearing music; the agent's leg stays up, parked, then joins the target.
    assert other_of(desk, caller.uuid) is None
    assert desk.switch.channels[caller.uuid].held
    assert leg in desk.switch.channels
    await until(lambda: other_of(desk, leg) == target, timeout=5)
    state = await desk.store.redis.hget(desk.store.keys.call(caller.uuid), "consult_state")
    assert state == b"talking"
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    return caller, leg, target


async def test_attended_transfer_hands_the_caller_to_the_target(desk: Desk) -> None:
    caller, leg, target = await consulting(desk)
    dump = await desk.probe.api(f"uuid_dump {target} json")
    assert '"variable_cc_role":"consult"' in dump
    assert f'"variable_cc_call":"{caller.uuid}"' in dump
    await desk.control.complete_transfer(caller.uuid)
    await until(lambda: other_of(desk, caller.uuid) == target)
    await until(lambda: leg not in desk.switch.channels)
    assert not desk.switch.channels[caller.uuid].held
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.WRAP_UP))
    with pytest.raises(WrongCallStateError):
        await desk.control.complete_transfer(caller.uuid)
    # The target now hangs up with the caller (no leftover parked leg).
    await caller.hangup()
    await until(lambda: target not in desk.switch.channels)


async def test_cancelled_consultation_returns_the_agent_to_the_caller(desk: Desk) -> None:
    caller, leg, target = await consulting(desk)
    with pytest.raises(WrongCallStateError):
        await desk.control.consult(caller.uuid, "1002")  # one at a time
    await desk.control.cancel_consult(caller.uuid)
    await until(lambda: target not in desk.switch.channels)
    await until(lambda: other_of(desk, caller.uuid) == leg)
    assert not desk.switch.channels[caller.uuid].held
    assert await agent_is(desk.store, "1000", AgentStatus.ON_CALL)
    # Back to normal: the caller's hangup ends the agent's leg and the call.
    await caller.hangup()
    await until(lambda: leg not in desk.switch.channels)
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.WRAP_UP))


async def test_consultation_nobody_answers_returns_the_agent_to_the_caller(desk: Desk) -> None:
    desk.switch.phones.register("1002", "default", reject="USER_BUSY")
    caller, leg = await bridged_call(desk)
    target = await desk.control.consult(caller.uuid, "1002")
    await until(lambda: target not in desk.switch.channels)
    await until(lambda: other_of(desk, caller.uuid) == leg)
    key = desk.store.keys.call(caller.uuid)
    assert not await desk.store.redis.hexists(key, "consult_leg")
    with pytest.raises(WrongCallStateError):
        await desk.control.cancel_consult(caller.uuid)


async def test_agent_hanging_up_during_the_consultation_completes_the_transfer(
    desk: Desk,
) -> None:
    caller, leg, target = await consulting(desk)
    await desk.probe.api(f"uuid_kill {leg}")
    await until(lambda: other_of(desk, caller.uuid) == target)
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.WRAP_UP))


# -- recording ------------------------------------------------------------------------------------


async def test_recording_stops_and_starts_again_in_the_same_file(desk: Desk) -> None:
    caller, _ = await bridged_call(desk)
    await desk.probe.subscribe("RECORD_STOP", "RECORD_START")
    stopped = desk.probe.wait_for_event("RECORD_STOP", uuid=caller.uuid, timeout=5)
    path = await desk.control.record(caller.uuid, False)
    assert (await stopped).get("Record-File-Path") == str(path)
    assert path == (desk.recordings / f"{caller.uuid}.wav").absolute()
    size = path.stat().st_size
    with pytest.raises(WrongCallStateError):
        await desk.control.record(caller.uuid, False)  # not recording now
    started = desk.probe.wait_for_event("RECORD_START", uuid=caller.uuid, timeout=5)
    await desk.control.record(caller.uuid, True)
    await started
    await asyncio.sleep(0.1)
    await caller.hangup()
    await until(lambda: path.stat().st_size > size)
    entries = await desk.store.redis.xrange(desk.store.keys.events)
    recordings = [f for _, f in entries if f.get(b"type") == b"recording"]
    assert {f[b"path"] for f in recordings} == {str(path).encode()}
    assert len(recordings) == 2  # the queue flow's, and this restart's (the same file)


# -- monitoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "line"),
    [
        ("listen", "mode=listen hears=aleg,bleg dtmf=false"),
        ("whisper", "mode=whisper-bleg hears=aleg,bleg dtmf=false"),
        ("barge", "mode=both hears=aleg,bleg dtmf=false"),
    ],
)
async def test_supervisor_monitors_the_agents_leg(desk: Desk, mode: str, line: str) -> None:
    desk.switch.phones.register("1005", "default", answer_after=0.2)
    caller, leg = await bridged_call(desk)
    await desk.probe.subscribe("MEDIA_BUG_START")
    bug = desk.probe.wait_for_event("MEDIA_BUG_START", uuid=leg, timeout=5)
    spy = await desk.control.monitor(caller.uuid, "1005", mode)
    event = await bug
    assert (event.get("Media-Bug-Function"), event.get("Media-Bug-Target")) == ("eavesdrop", leg)
    assert (await desk.probe.api("sim_eavesdrops")).splitlines()[0] == f"{spy} {leg} {line}"
    dump = await desk.probe.api(f"uuid_dump {spy} json")
    assert f'"variable_cc_monitor":"{mode}"' in dump
    assert '"Channel-Name":"sofia/internal/1005@default"' in dump
    # The call is untouched, and ends as usual: the supervisor's leg goes with it.
    assert other_of(desk, caller.uuid) == leg
    await caller.hangup()
    await until(lambda: spy not in desk.switch.channels)
    await until(lambda: agent_is(desk.store, "1000", AgentStatus.WRAP_UP))


async def test_monitor_refuses_a_bad_mode_or_contact(desk: Desk) -> None:
    caller, _ = await bridged_call(desk)
    with pytest.raises(BadDestinationError) as info:
        await desk.control.monitor(caller.uuid, "1005", "shout")
    assert info.value.error_id == "bad-monitor-mode"
    for contact in ("user/1005@default\r\nuuid_kill x", "user/1005@default,user/1006@default"):
        with pytest.raises(BadDestinationError):
            await desk.control.monitor(caller.uuid, contact, "listen")


async def test_bad_numbers_are_refused_before_anything_is_dialed(desk: Desk) -> None:
    await desk.store.login("1000")
    for number, kind in (("+7 495 111", BadNumberError), ("12", BadNumberError),
                         ("7495\n1112233", BadDestinationError)):  # fmt: skip
        with pytest.raises(kind):
            await desk.control.click_to_call("1000", number)
    assert not desk.switch.channels

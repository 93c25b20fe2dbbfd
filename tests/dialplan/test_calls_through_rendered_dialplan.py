"""Calls through the example center's rendered configuration (examples/center.yaml), end to end on
the simulated switch: every kind of destination, the forwarding rules, outbound routes by price
with failover and channel limits, *72/*73 forwarding.

The switch reads the files the renderer wrote (reloadxml, then ``sofia profile external rescan``
starts the gateways), as a node does after ``callcenter dialplan push``. Its clock is set per
test; the example's time condition is Europe/Moscow, Monday to Friday 09:00-18:00.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.center import load_center
from callcenter.center.rates import cheapest
from callcenter.dialplan.render import render_center
from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import Answering, Caller, SimSwitch
from callcenter.sim.channel import Channel
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "center.yaml"
TIME_SCALE = 0.05
MOSCOW = ZoneInfo("Europe/Moscow")
WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=MOSCOW)
DOMAIN = "acme.example.com"
MOSCOW_NUMBER = "+74951112233"  # sipnet 0.45 < zadarma 0.60
PETERSBURG_NUMBER = "+78121234567"  # zadarma 0.50 < sipnet 0.70


@dataclass
class Node:
    switch: SimSwitch
    esl: InboundClient  # subscribed to RECORD_START and vm::maintenance
    conf: Path
    recordings: Path


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    conf = tmp_path / "conf"
    conf.mkdir()
    switch = SimSwitch(time_scale=TIME_SCALE, conf_dir=conf, recordings_dir=tmp_path / "rec")
    switch.core.clock = lambda: WEDNESDAY_NOON
    await switch.start("127.0.0.1", 0)
    try:
        for name, text in render_center(load_center(EXAMPLE)).items():
            path = conf / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        async with InboundClient("127.0.0.1", switch.port, "ClueCon") as esl:
            assert await esl.api("reloadxml") == "+OK [Success]\n"
            assert await esl.api("sofia profile external rescan") == "+OK scan complete\n"
            await esl.subscribe("RECORD_START", custom=["vm::maintenance"])
            yield Node(switch, esl, conf, tmp_path / "rec")
    finally:
        await switch.stop()


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def running(ch: Channel, app: str) -> Callable[[], bool]:
    return lambda: ch.is_up and ch.current_app == app


def bridged(ch: Channel) -> Callable[[], bool]:
    return lambda: ch.other_uuid is not None and ch.current_app in ("bridge", "limit_execute")


def other_leg(node: Node, ch: Channel) -> Channel:
    assert ch.other_uuid is not None
    return node.switch.channels[ch.other_uuid]


async def parked_in(node: Node, call: Caller, tenant: str, queue: str) -> None:
    ch = call.channel
    await until(running(ch, "park"))
    assert ch.answered
    assert (ch.variables["cc_tenant"], ch.variables["cc_queue"]) == (tenant, queue)
    assert ch.destination == f"cc_queue_{queue}"


async def internal(node: Node, destination: str, user: str = "1000") -> Caller:
    """A call that user ``user`` of acme dials (its context, its directory variables)."""
    return await node.switch.callers.dial(
        destination,
        context="acme",
        caller_number=user,
        variables={"cc_user": user, "user_context": "acme", "cc_tenant": "acme"},
    )


def recording(node: Node, call: Caller) -> Awaitable[Event]:
    """The RECORD_START of the call (ask right after dialing)."""
    return node.esl.wait_for_event("RECORD_START", uuid=call.uuid, timeout=20)


async def leave_message(node: Node, call: Caller, box: str, started: Awaitable[Event]) -> Event:
    """The caller talks after the beep and hangs up: the message announced, its file there."""
    message = node.esl.wait_for_event(
        "CUSTOM", predicate=lambda e: e.get("VM-User") == box, timeout=10
    )
    await started
    await asyncio.sleep(5 * TIME_SCALE)
    await call.hangup()
    event = await message
    assert event.get("Event-Subclass") == "vm::maintenance"
    assert event.get("VM-Action") == "leave-message"
    assert event.get("VM-Domain") == DOMAIN
    path = Path(event.get("VM-File-Path") or "")
    assert is_file(path)
    assert path.parent == node.recordings / "voicemail" / DOMAIN / box
    return event


def is_file(path: Path) -> bool:
    return path.is_file()


def price_order(number: str) -> list[str]:
    tenant = load_center(EXAMPLE).tenants[0]
    route = tenant.route_for(number)
    assert route is not None
    return [gateway for gateway, _rate in cheapest(number, route)]


# -- DIDs, the time condition, the IVR, queues ----------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 4, 9, 0, 0, tzinfo=MOSCOW),  # the opening minute is open
        datetime(2026, 3, 4, 17, 59, 59, tzinfo=MOSCOW),
        datetime(2026, 3, 4, 6, 30, tzinfo=UTC),  # 09:30 in Moscow: the channel's timezone
    ],
)
async def test_a_did_in_office_hours_reaches_the_ivr(node: Node, moment: datetime) -> None:
    node.switch.core.clock = lambda: moment
    call = await node.switch.callers.dial("+74951234567", caller_number="74957770000")
    ch = call.channel
    await until(running(ch, "ivr"))
    assert (ch.context, ch.destination) == ("acme", "cc_ivr_main")
    assert ch.variables["timezone"] == "Europe/Moscow"
    assert ch.variables["cc_did_label"] == "Yandex Direct, spring"
    assert "cc_holiday" not in ch.variables
    await call.hangup()


@pytest.mark.parametrize(
    ("moment", "holiday"),
    [
        (datetime(2026, 3, 4, 18, 0, 0, tzinfo=MOSCOW), None),  # the closing time is closed
        (datetime(2026, 3, 4, 15, 30, tzinfo=UTC), None),  # 18:30 in Moscow
        (datetime(2026, 3, 8, 12, 0, tzinfo=MOSCOW), None),  # a Sunday
        (datetime(2026, 1, 1, 12, 0, tzinfo=MOSCOW), "2026-01-01"),  # a Thursday off
        (datetime(2026, 5, 8, 21, 30, tzinfo=UTC), "Victory Day"),  # 00:30 on 9 May in Moscow
    ],
)
async def test_a_did_out_of_hours_leaves_a_message_in_the_general_box(
    node: Node, moment: datetime, holiday: str | None
) -> None:
    node.switch.core.clock = lambda: moment
    call = await node.switch.callers.dial("74951234568", caller_number="74957770001")
    started = recording(node, call)
    ch = call.channel
    await until(running(ch, "voicemail"))
    assert (ch.context, ch.destination) == ("acme", "cc_voicemail_general")
    assert ch.variables.get("cc_holiday") == holiday
    assert ch.variables["voicemail_greeting_path"] == "acme/closed.wav"
    event = await leave_message(node, call, "general", started)
    assert event.get("VM-Caller-ID-Number") == "74957770001"


@pytest.mark.parametrize(("digit", "queue"), [("1", "sales"), ("2", "support")])
async def test_ivr_digits_lead_to_the_queues(node: Node, digit: str, queue: str) -> None:
    call = await node.switch.callers.dial("+74951234567", caller_number="74957770002")
    await until(running(call.channel, "ivr"))
    await call.press(digit)
    await parked_in(node, call, "acme", queue)
    assert call.channel.variables["cc_did"] == "+74951234567"
    await call.hangup()


async def test_ivr_without_a_choice_ends_in_the_support_queue(node: Node) -> None:
    call = await node.switch.callers.dial("+74951234567", caller_number="74957770003")
    await parked_in(node, call, "acme", "support")  # three 10 s timeouts, then the queue
    await call.hangup()


async def test_three_wrong_choices_go_to_the_operator(node: Node) -> None:
    phone = node.switch.phones.register("1099", DOMAIN, answer_after=1)
    call = await node.switch.callers.dial("+74951234567", caller_number="74957770006")
    await until(running(call.channel, "ivr"))
    for _ in range(3):  # each after the invalid-entry prompt (2 s) is over
        await call.press("9")
        await asyncio.sleep(5 * TIME_SCALE)
    await until(bridged(call.channel))
    assert call.channel.destination == "1099"  # exec-on-max-failures: transfer 1099 XML acme
    assert other_leg(node, call.channel).uuid in phone.calls
    await call.hangup()


async def test_ivr_zero_rings_the_operator_who_answers(node: Node) -> None:
    phone = node.switch.phones.register("1099", DOMAIN, answer_after=2)
    call = await node.switch.callers.dial("+74951234567", caller_number="74957770004")
    await until(running(call.channel, "ivr"))
    await call.press("0")
    await until(bridged(call.channel))
    leg = other_leg(node, call.channel)
    assert leg.uuid in phone.calls
    assert leg.answered and call.answered
    assert call.channel.variables["dialed_extension"] == "1099"
    phone.hangup()  # the operator hangs up: hangup_after_bridge ends the call
    await call.wait_hangup()
    assert call.hangup_cause == "NORMAL_CLEARING"


async def test_the_other_tenants_did_goes_to_its_queue(node: Node) -> None:
    call = await node.switch.callers.dial("74997654321", caller_number="74957770005")
    await parked_in(node, call, "globex", "support")
    assert call.channel.context == "globex"
    await call.hangup()


# -- users and their forwarding rules -------------------------------------------------------------


async def test_a_user_rings_within_call_timeout_and_answers(node: Node) -> None:
    # 1000 rings for 30 s (call_timeout): a phone that answers after 26 s is waited for.
    phone = node.switch.phones.register("1000", DOMAIN, answer_after=26)
    call = await internal(node, "1000", user="1001")
    await until(bridged(call.channel), timeout=20)
    assert other_leg(node, call.channel).uuid in phone.calls
    assert call.channel.variables["dialed_extension"] == "1000"
    await call.hangup()


async def test_the_operator_not_answering_in_25_s_goes_to_its_voicemail(node: Node) -> None:
    # 1099's no_answer rule: 25 s, then voicemail:1099. The phone would answer after 26 s.
    phone = node.switch.phones.register("1099", DOMAIN, answer_after=26)
    call = await internal(node, "1099")
    started = recording(node, call)
    ch = call.channel
    await until(running(ch, "voicemail"), timeout=20)
    assert ch.variables["originate_disposition"] == "NO_ANSWER"
    assert ch.destination == "cc_voicemail_1099"
    assert len(phone.calls) == 1 and not phone.live_calls
    await leave_message(node, call, "1099", started)


@pytest.mark.parametrize(
    ("user", "phone", "disposition", "destination"),
    [
        ("1099", "USER_BUSY", "USER_BUSY", "cc_queue_support"),  # busy: queue:support
        ("1099", None, "USER_NOT_REGISTERED", "cc_voicemail_1099"),  # unreachable
        ("1000", "CALL_REJECTED", "CALL_REJECTED", "cc_voicemail_1000"),  # failed: its box
    ],
)
async def test_forwarding_rules(
    node: Node, user: str, phone: str | None, disposition: str, destination: str
) -> None:
    if phone is not None:
        node.switch.phones.register(user, DOMAIN, reject=phone)
    call = await internal(node, user, user="1001")
    ch = call.channel
    await until(lambda: ch.destination == destination and ch.current_app in ("park", "voicemail"))
    assert ch.variables["originate_disposition"] == disposition
    await call.hangup()


async def test_a_user_without_voicemail_who_does_not_answer_gives_no_answer(node: Node) -> None:
    node.switch.phones.register("1003", DOMAIN, answer_after=None)
    call = await internal(node, "1003")
    await call.wait_hangup(20)
    assert call.hangup_cause == "NO_ANSWER"


# -- outbound routes ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [MOSCOW_NUMBER, PETERSBURG_NUMBER])
async def test_an_outside_number_goes_out_through_the_cheapest_gateway(
    node: Node, number: str
) -> None:
    order = price_order(number)
    far_end = Answering(answer_after=1)
    node.switch.far_ends.set(number, far_end)
    call = await internal(node, number)
    await until(bridged(call.channel))
    leg = other_leg(node, call.channel)
    assert leg.variables["sip_gateway_name"] == order[0]
    assert far_end.calls == [leg.uuid]
    assert await node.esl.api(f"limit_usage hash cc_gateway {order[0]}") == "1"
    await call.hangup()
    await until(lambda: node.switch.core.limits == {})


async def test_a_gateway_down_fails_over_to_the_next(node: Node) -> None:
    first, second = price_order(MOSCOW_NUMBER)
    assert (first, second) == ("sipnet", "zadarma")
    assert await node.esl.api(f"sim_gateway {first} down") == f"+OK {first} down\n"
    node.switch.far_ends.set(MOSCOW_NUMBER, Answering(answer_after=1))
    call = await internal(node, MOSCOW_NUMBER)
    await until(bridged(call.channel))
    assert other_leg(node, call.channel).variables["sip_gateway_name"] == second
    assert node.switch.core.limits == {f"hash/cc_gateway/{second}": 1}  # sipnet's given back
    await call.hangup()


async def test_a_gateway_the_node_has_not_loaded_fails_over_too(node: Node) -> None:
    # Killed (or pushed without a rescan): the bridge fails with INVALID_GATEWAY, a trunk
    # failure like any other, so the next gateway is tried.
    first, second = price_order(MOSCOW_NUMBER)
    assert (await node.esl.api(f"sofia profile external killgw {first}")).startswith("+OK")
    node.switch.far_ends.set(MOSCOW_NUMBER, Answering(answer_after=1))
    call = await internal(node, MOSCOW_NUMBER)
    await until(bridged(call.channel))
    assert other_leg(node, call.channel).variables["sip_gateway_name"] == second
    await call.hangup()


async def test_every_gateway_down_is_congestion(node: Node) -> None:
    node.switch.far_ends.down_gateways.update({"sipnet", "zadarma"})
    call = await internal(node, MOSCOW_NUMBER)
    await call.wait_hangup()
    assert call.hangup_cause == "NORMAL_CIRCUIT_CONGESTION"
    assert call.channel.variables["originate_disposition"] == "GATEWAY_DOWN"


async def test_a_busy_number_is_not_retried_on_another_gateway(node: Node) -> None:
    # USER_BUSY is the called party's answer, not the gateway's failure: not in the failover
    # causes, so the call ends there.
    busy = Answering(reject="USER_BUSY")
    node.switch.far_ends.set(MOSCOW_NUMBER, busy)
    call = await internal(node, MOSCOW_NUMBER)
    await call.wait_hangup()
    assert call.hangup_cause == "USER_BUSY"
    assert len(busy.calls) == 1


async def test_a_gateway_at_its_channel_limit_is_skipped(node: Node) -> None:
    first, second = price_order(PETERSBURG_NUMBER)
    assert (first, second) == ("zadarma", "sipnet")  # zadarma has 10 channels
    node.switch.far_ends.set(PETERSBURG_NUMBER, Answering(answer_after=0.5))
    calls = []
    for n in range(10):
        call = await internal(node, PETERSBURG_NUMBER, user=f"100{n % 4}")
        await until(bridged(call.channel))
        assert other_leg(node, call.channel).variables["sip_gateway_name"] == first
        calls.append(call)
    assert await node.esl.api(f"limit_usage hash cc_gateway {first}") == "10"

    eleventh = await internal(node, PETERSBURG_NUMBER)
    await until(bridged(eleventh.channel))
    assert other_leg(node, eleventh.channel).variables["sip_gateway_name"] == second

    await calls[0].hangup()  # a place on the cheap gateway is free again
    await until(lambda: node.switch.core.limits.get(f"hash/cc_gateway/{first}") == 9)
    twelfth = await internal(node, PETERSBURG_NUMBER)
    await until(bridged(twelfth.channel))
    assert other_leg(node, twelfth.channel).variables["sip_gateway_name"] == first


# -- *72 / *73 ------------------------------------------------------------------------------------


async def test_star72_forwards_a_users_calls_and_star73_stops_it(node: Node) -> None:
    phone = node.switch.phones.register("1001", DOMAIN, answer_after=1)
    far_end = Answering(answer_after=1)
    node.switch.far_ends.set(MOSCOW_NUMBER, far_end)

    setting = await internal(node, f"*72{MOSCOW_NUMBER}", user="1001")
    await setting.wait_hangup()
    assert setting.answered
    assert await node.esl.api("db select/cc_forward_acme/1001") == MOSCOW_NUMBER

    # A call to 1001 now goes to the number, through the cheapest gateway; the phone stays quiet.
    forwarded = await internal(node, "1001", user="1000")
    await until(bridged(forwarded.channel))
    leg = other_leg(node, forwarded.channel)
    assert leg.variables["sip_gateway_name"] == price_order(MOSCOW_NUMBER)[0]
    assert far_end.calls == [leg.uuid]
    assert forwarded.channel.variables["cc_forwarded"] == "true"
    assert forwarded.channel.destination == MOSCOW_NUMBER
    assert phone.calls == []
    await forwarded.hangup()

    cancel = await internal(node, "*73", user="1001")
    await cancel.wait_hangup()
    # Nothing stored: the api's output is empty, which the event socket answers so.
    assert await node.esl.api("db select/cc_forward_acme/1001") == "-ERR no reply\n"

    direct = await internal(node, "1001", user="1000")
    await until(bridged(direct.channel))
    assert other_leg(node, direct.channel).uuid in phone.calls
    assert len(far_end.calls) == 1
    await direct.hangup()


async def test_star72_is_only_for_the_tenants_users(node: Node) -> None:
    # A caller without cc_user (not a directory user) cannot set forwarding: *72... is then an
    # ordinary number that no route takes.
    call = await node.switch.callers.dial(f"*72{MOSCOW_NUMBER}", context="acme")
    await call.wait_hangup()
    assert call.hangup_cause == "NO_ROUTE_DESTINATION"
    assert node.switch.core.db == {}

"""What the simulated switch does as FreeSWITCH 1.10 does it: variable expansion (escapes, api
calls), mod_dialplan_xml's condition rules, time conditions in the channel's timezone, mod_db,
limit_execute, and bridge's ring time and continue_on_fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.esl.client import InboundClient
from callcenter.sim import Answering, SimSwitch
from callcenter.sim.channel import Channel
from callcenter.sim.dialplan import Action, Dialplan, time_matches
from callcenter.sim.expand import expand_variables

# -- variable expansion ---------------------------------------------------------------------------

VARIABLES = {"a": "A", "b": "B", "list": "ARRAY::x|:y|:z", "word": "abcdef"}


def expand(text: str) -> str:
    def api(name: str, args: str) -> str | None:
        return f"<{name}:{args}>" if name == "echo" else None

    return expand_variables(text, VARIABLES, global_lookup={"g": "G", "a": "global"}, api=api)


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("${a}-${b}", "A-B"),
        ("\\${a} costs \\$5", "${a} costs $5"),  # \$ is a literal dollar
        ("\\\\${a}", "\\A"),  # \\ is one backslash
        ("it\\'s ${a}", "its A"),  # \' is dropped
        ("x\\$y", "x\\$y"),  # neither ${ nor an escape: not rewritten at all
        ("\\d+ and \\$", "\\d+ and \\$"),
        ("${missing}|$${g}|${g}", "|G|G"),  # unknown: empty; $${} and the fallback: globals
        ("$${a}", "global"),
        ("${echo(select/r/${a})}", "<echo:select/r/A>"),  # arguments expanded first
        ("${echo x y}", "<echo:x y>"),
        ("${nosuchapi(1)}", ""),
        ("${list[1]} ${word:2} ${word:1:3} ${word:-2}", "y cdef bcd ef"),
        ("${a${b}}", ""),  # the name is expanded: ${aB}
        ("${a}\\\\${b}", "A\\${b}"),  # the character after } is copied as it is
        ("100$ and $", "100$ and $"),
    ],
)
def test_expansion_follows_switch_channel_expand_variables(text: str, expanded: str) -> None:
    assert expand(text) == expanded


# -- conditions -----------------------------------------------------------------------------------

CONDITIONS = """<include><context name="t">
  <extension name="partly">
    <condition field="destination_number" expression="^500$">
      <action application="set" data="first=held"/>
    </condition>
    <condition field="caller_id_number" expression="^vip$">
      <action application="answer"/>
    </condition>
  </extension>
  <extension name="fallback">
    <condition field="destination_number" expression="^500$">
      <action application="playback" data="everyone.wav"/>
    </condition>
  </extension>
  <extension name="never">
    <condition field="destination_number" expression="^600$">
      <action application="set" data="a=1"/>
    </condition>
    <condition field="caller_id_number" expression="^nobody$" break="never">
      <action application="set" data="b=1"/>
      <anti-action application="set" data="b=0"/>
    </condition>
    <condition field="destination_number" expression="^(6)(0)0$">
      <action application="set" data="c=$2$1$3"/>
    </condition>
  </extension>
  <extension name="field_decides">
    <condition wday="1-7" hour="99" field="destination_number" expression="^700$">
      <action application="set" data="field=decides"/>
    </condition>
  </extension>
  <extension name="nested">
    <condition field="destination_number" expression="^800$">
      <action application="set" data="outer=1"/>
      <condition field="caller_id_number" expression="^inner$">
        <action application="set" data="inner=1"/>
      </condition>
    </condition>
  </extension>
  <extension name="after_nested">
    <condition field="destination_number" expression="^800$">
      <action application="set" data="after=1"/>
    </condition>
  </extension>
  <extension name="on_true" continue="true">
    <condition field="destination_number" expression="^900$" break="on-true">
      <action application="set" data="stop=here"/>
    </condition>
    <condition field="destination_number" expression="^900$">
      <action application="set" data="not=reached"/>
    </condition>
  </extension>
</context></include>"""


def hunt(dest: str, cid: str = "") -> list[str] | None:
    plan = Dialplan()
    plan.load_string(CONDITIONS, "conditions.xml")
    fields = {"destination_number": dest, "caller_id_number": cid}
    actions = plan.route("t", fields.get, now=datetime(2026, 3, 4, 12, 0))
    return None if actions is None else [f"{a.application} {a.data}".strip() for a in actions]


def test_actions_of_conditions_that_held_before_a_false_one_are_kept() -> None:
    # mod_dialplan_xml adds a condition's actions as soon as it holds; the false one after it
    # stops the extension (break="on-false") and the hunt goes on to the next extension.
    assert hunt("500", "someone") == ["set first=held", "playback everyone.wav"]
    assert hunt("500", "vip") == ["set first=held", "answer"]


def test_break_never_anti_actions_and_captures() -> None:
    assert hunt("600") == ["set a=1", "set b=0", "set c=06"]


def test_a_field_decides_over_time_attributes_on_the_same_condition() -> None:
    assert hunt("700") == ["set field=decides"]


def test_nested_conditions() -> None:
    assert hunt("800", "inner") == ["set outer=1", "set inner=1"]
    # The nested condition fails: the extension does not proceed, the next one is hunted.
    assert hunt("800", "other") == ["set outer=1", "set after=1"]


def test_break_on_true_and_no_route() -> None:
    assert hunt("900") == ["set stop=here"]
    assert hunt("404") is None


# -- time conditions ------------------------------------------------------------------------------

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (datetime(2026, 3, 4, 9, 0, 0, tzinfo=MOSCOW), True),
        (datetime(2026, 3, 4, 17, 59, 59, tzinfo=MOSCOW), True),
        (datetime(2026, 3, 4, 18, 0, 0, tzinfo=MOSCOW), False),  # the end is excluded
        (datetime(2026, 3, 4, 6, 30, tzinfo=UTC), True),  # 09:30 in Moscow
        (datetime(2026, 3, 4, 15, 30, tzinfo=UTC), False),  # 18:30 in Moscow
        (datetime(2026, 3, 8, 12, 0, tzinfo=MOSCOW), False),  # a Sunday
    ],
)
def test_time_of_day_in_the_timezone(moment: datetime, is_open: bool) -> None:
    hours = {"wday": "2-6", "time-of-day": "09:00-18:00"}
    assert time_matches(hours, moment, "Europe/Moscow") is is_open


def test_other_time_attributes() -> None:
    moment = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)  # Friday 02:30 in Moscow
    assert time_matches({"year": "2026", "mon": "1", "mday": "2"}, moment, "Europe/Moscow")
    assert time_matches({"mday": "1"}, moment)  # without a timezone: the clock as it is
    assert time_matches({"wday": "fri"}, moment, "Europe/Moscow")
    assert time_matches({"wday": "mon-fri,sun"}, moment, "Europe/Moscow")
    assert time_matches({"hour": "2"}, moment, offset_hours=3)
    assert time_matches({"tz-offset": "3"}, moment, "Europe/Moscow")
    assert not time_matches({"tz-offset": "2"}, moment, "Europe/Moscow")
    assert not time_matches({"hour": "22-6"}, moment)  # switch_number_cmp does not wrap
    assert time_matches({"minute-of-day": "1411"}, moment)
    assert not time_matches({"time-of-day": "22:00-06:00"}, moment)


TIMEZONE_PLAN = """<include><context name="t">
  <extension name="zone" continue="true">
    <condition field="destination_number" expression="^open$">
      <action application="set" data="timezone=Europe/Moscow" inline="true"/>
    </condition>
  </extension>
  <extension name="hours">
    <condition field="destination_number" expression="^open$"/>
    <condition wday="2-6" time-of-day="09:00-18:00">
      <action application="set" data="state=open"/>
      <anti-action application="set" data="state=closed"/>
    </condition>
  </extension>
</context></include>"""


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (datetime(2026, 3, 4, 6, 30, tzinfo=UTC), "open"),
        (datetime(2026, 3, 4, 15, 0, tzinfo=UTC), "closed"),  # 18:00 in Moscow
    ],
)
def test_a_timezone_set_inline_applies_to_the_conditions_after_it(
    moment: datetime, state: str
) -> None:
    plan = Dialplan()
    plan.load_string(TIMEZONE_PLAN, "tz.xml")
    variables: dict[str, str] = {"destination_number": "open"}

    def set_var(name: str, value: str | None) -> None:
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value

    actions = plan.route("t", variables.get, now=moment, set_var=set_var)
    assert actions == [Action("set", f"state={state}", anti=state == "closed")]
    assert variables["timezone"] == "Europe/Moscow"


# -- on a running switch --------------------------------------------------------------------------

PLAN = """<include><context name="public">
  <extension name="remember">
    <condition field="destination_number" expression="^\\*1(\\d+)$">
      <action application="db" data="insert/notes/${caller_id_number}/$1"/>
      <action application="hangup"/>
    </condition>
  </extension>
  <extension name="forget">
    <condition field="destination_number" expression="^\\*2$">
      <action application="db" data="delete/notes/${caller_id_number}"/>
      <action application="hangup"/>
    </condition>
  </extension>
  <extension name="recall">
    <condition field="destination_number" expression="^recall$"/>
    <condition field="${db(select/notes/${caller_id_number})}" expression="^(\\d+)$">
      <action application="set" data="note=$1"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="nothing_to_recall">
    <condition field="destination_number" expression="^recall$">
      <action application="set" data="note=none"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="twice">
    <condition field="destination_number" expression="^twice$">
      <action application="set" data="price=\\\\\\${amount} \\\\\\\\ \\$"/>
      <action application="export" data="exported=\\${amount}"/>
      <action application="set" data="amount=5"/>
      <action application="set" data="total=${price}"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="trunk">
    <condition field="destination_number" expression="^out(\\d+)$">
      <action application="set" data="continue_on_fail=GATEWAY_DOWN,NORMAL_CIRCUIT_CONGESTION"/>
      <action application="limit_execute" data="hash gw a 1 bridge sofia/gateway/a/$1"/>
      <action application="limit_execute" data="hash gw b 1 bridge sofia/gateway/b/$1"/>
      <action application="hangup" data="NORMAL_CIRCUIT_CONGESTION"/>
    </condition>
  </extension>
  <extension name="ring">
    <condition field="destination_number" expression="^ring(\\d+)$">
      <action application="set" data="call_timeout=3"/>
      <action application="bridge" data="user/$1@default"/>
      <action application="set" data="went_on=${originate_disposition}"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="listed">
    <condition field="destination_number" expression="^listed(\\d+)$">
      <action application="set" data="continue_on_fail=USER_BUSY,17"/>
      <action application="bridge" data="user/$1@default"/>
      <action application="set" data="went_on=${originate_disposition}"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="failure_causes">
    <condition field="destination_number" expression="^fc(\\d+)$">
      <action application="set" data="failure_causes=USER_BUSY"/>
      <action application="bridge" data="user/$1@default"/>
      <action application="set" data="went_on=${originate_disposition}"/>
      <action application="park"/>
    </condition>
  </extension>
  <extension name="held_then_transferred">
    <condition field="destination_number" expression="^hold(\\w*)$">
      <action application="set" data="limit_ignore_transfer=$1"/>
      <action application="limit" data="hash calls r 5"/>
      <action application="transfer" data="held XML public"/>
    </condition>
  </extension>
  <extension name="held">
    <condition field="destination_number" expression="^held$">
      <action application="park"/>
    </condition>
  </extension>
</context></include>"""


@pytest.fixture
async def switch(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "plan.xml").write_text(PLAN)
    sim = SimSwitch(time_scale=0.05, dialplan_dir=tmp_path / "plan", recordings_dir=tmp_path)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def parked(ch: Channel) -> Callable[[], bool]:
    return lambda: ch.current_app == "park"


async def test_db_application_and_the_db_api_in_a_condition(switch: SimSwitch) -> None:
    first = await switch.callers.dial("recall", caller_number="42")
    await until(parked(first.channel))
    assert first.channel.variables["note"] == "none"

    remember = await switch.callers.dial("*17788", caller_number="42")
    await remember.wait_hangup()
    assert switch.core.db == {"notes": {"42": "7788"}}
    async with InboundClient("127.0.0.1", switch.port, "ClueCon") as esl:
        assert await esl.api("db select/notes/42") == "7788"
        assert await esl.api("db exists/notes/43") == "false"
        assert await esl.api("eval ${db(select/notes/42)}") == "7788"
        assert await esl.api("db bogus") == "!err!"

    again = await switch.callers.dial("recall", caller_number="42")
    await until(parked(again.channel))
    assert again.channel.variables["note"] == "7788"

    forget = await switch.callers.dial("*2", caller_number="42")
    await forget.wait_hangup()
    assert switch.core.db == {"notes": {}}


async def test_set_expands_its_value_twice_export_once(switch: SimSwitch) -> None:
    call = await switch.callers.dial("twice")
    await until(parked(call.channel))
    variables = call.channel.variables
    # The data "price=\\\${amount} \\\\ \$": the runner makes it "price=\${amount} \\ $",
    # set itself "${amount} \ $".
    assert variables["price"] == "${amount} \\ $"
    assert variables["exported"] == "${amount}"
    # "total=${price}": the runner puts the value in, set expands it once more.
    assert variables["total"] == "5 \\ $"


async def test_limit_execute_runs_the_application_within_the_limit(switch: SimSwitch) -> None:
    switch.far_ends.set("100", Answering(answer_after=0.2))
    first = await switch.callers.dial("out100", caller_number="1")
    await until(lambda: first.channel.other_uuid is not None)
    assert switch.core.limits == {"hash/gw/a": 1}
    assert first.channel.variables["limit_usage_gw_a"] == "1"

    # Gateway a is full: its limit_execute does nothing, the next one goes through b.
    second = await switch.callers.dial("out100", caller_number="2")
    await until(lambda: second.channel.other_uuid is not None)
    leg = switch.channels[second.channel.other_uuid or ""]
    assert leg.variables["sip_gateway_name"] == "b"
    assert switch.core.limits == {"hash/gw/a": 1, "hash/gw/b": 1}

    # Both full: nothing is dialed and the dialplan's last action runs.
    third = await switch.callers.dial("out100", caller_number="3")
    await third.wait_hangup()
    assert third.hangup_cause == "NORMAL_CIRCUIT_CONGESTION"
    assert "originate_disposition" not in third.channel.variables

    await first.hangup()
    await until(lambda: switch.core.limits == {"hash/gw/b": 1})


async def test_limit_execute_gives_the_place_back_when_the_bridge_fails(
    switch: SimSwitch,
) -> None:
    switch.far_ends.down_gateways.add("a")
    call = await switch.callers.dial("out200", caller_number="1")
    await until(lambda: call.channel.other_uuid is not None)
    leg = switch.channels[call.channel.other_uuid or ""]
    assert leg.variables["sip_gateway_name"] == "b"
    assert call.channel.variables["originate_disposition"] == "call accepted"
    assert switch.core.limits == {"hash/gw/b": 1}  # a's place was given back
    async with InboundClient("127.0.0.1", switch.port, "ClueCon") as esl:
        assert await esl.api("limit_usage hash gw a") == "0"
        assert await esl.api("limit_usage hash gw b") == "1"


async def test_bridge_rings_for_call_timeout_then_no_answer_goes_on(switch: SimSwitch) -> None:
    # call_timeout=3: a phone that would answer after 4 s is not waited for. NO_ANSWER goes on
    # in the dialplan even without continue_on_fail.
    switch.phones.register("1001", "default", answer_after=4)
    call = await switch.callers.dial("ring1001")
    await until(parked(call.channel))
    assert call.channel.variables["went_on"] == "NO_ANSWER"
    switch.phones.register("1002", "default", answer_after=2)
    answered = await switch.callers.dial("ring1002")
    await until(lambda: answered.channel.other_uuid is not None)


@pytest.mark.parametrize(
    ("extension", "reject", "goes_on"),
    [
        ("listed", "USER_BUSY", True),
        ("listed", "CALL_REJECTED", False),
        # With continue_on_fail set, NO_USER_RESPONSE no longer goes on by itself.
        ("listed", "NO_USER_RESPONSE", False),
        ("fc", "USER_BUSY", False),  # failure_causes: these causes end the call
        ("fc", "CALL_REJECTED", True),  # ... any other goes on
    ],
)
async def test_continue_on_fail_lists_and_failure_causes(
    switch: SimSwitch, extension: str, reject: str, goes_on: bool
) -> None:
    switch.phones.register("1003", "default", reject=reject)
    call = await switch.callers.dial(f"{extension}1003")
    if goes_on:
        await until(parked(call.channel))
        assert call.channel.variables["went_on"] == reject
    else:
        await call.wait_hangup()
        assert call.hangup_cause == reject


@pytest.mark.parametrize(("suffix", "usage"), [("", {}), ("true", {"hash/calls/r": 1})])
async def test_a_transfer_gives_the_limits_back_unless_told_not_to(
    switch: SimSwitch, suffix: str, usage: dict[str, int]
) -> None:
    call = await switch.callers.dial(f"hold{suffix}")
    await until(parked(call.channel))
    assert call.channel.destination == "held"
    assert switch.core.limits == usage
    await call.hangup()
    assert switch.core.limits == {}


MENU_CONF = {
    "dialplan/public.xml": """<include><context name="public">
  <extension name="menu"><condition field="destination_number" expression="^menu$">
    <action application="answer"/>
    <action application="ivr" data="quiet"/>
    <action application="park"/>
  </condition></extension>
</context></include>""",
    # exec-on-max-* is expanded before the application runner expands it again.
    "ivr_menus/quiet.xml": """<include>
  <menu name="quiet" timeout="1000" max-timeouts="1"
        exec-on-max-timeouts="export where=\\\\\\${caller_id_number}"/>
</include>""",
}


async def test_exec_on_max_timeouts_is_expanded_twice(tmp_path: Path) -> None:
    for name, text in MENU_CONF.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    async with SimSwitch(time_scale=0.05, conf_dir=tmp_path) as sim:
        call = await sim.callers.dial("menu", caller_number="42")
        await until(parked(call.channel))
        assert call.channel.variables["where"] == "${caller_id_number}"

"""The XML dialplan engine on its own, and IVR digit collection on a live call."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from callcenter.sim import SimSwitch
from callcenter.sim.dialplan import Action, Dialplan, DialplanError
from tests.sim.raw import connect_authed

PLAN = """<include><context name="t">
  <extension name="tag" continue="true">
    <condition field="caller_id_number" expression="^(495)(\\d+)$">
      <action application="set" data="city=moscow-$2"/>
      <anti-action application="set" data="city=elsewhere"/>
    </condition>
  </extension>
  <extension name="office_hours">
    <condition wday="mon-fri" time-of-day="09:00-18:00"/>
    <condition field="destination_number" expression="^100$">
      <action application="answer"/>
      <action application="playback" data="open.wav"/>
    </condition>
  </extension>
  <extension name="after_hours">
    <condition field="destination_number" expression="^100$">
      <action application="playback" data="closed.wav"/>
    </condition>
  </extension>
  <extension name="either">
    <condition regex="any">
      <regex field="destination_number" expression="^200$"/>
      <regex field="caller_id_name" expression="^VIP"/>
      <action application="set" data="route=either"/>
    </condition>
  </extension>
  <extension name="inline">
    <condition field="destination_number" expression="^300$">
      <action application="set" data="tier=gold" inline="true"/>
    </condition>
    <condition field="${tier}" expression="^gold$">
      <action application="set" data="route=gold"/>
    </condition>
  </extension>
  <extension name="by_var">
    <condition field="destination_number" expression="^${wanted}$">
      <action application="set" data="route=var"/>
    </condition>
  </extension>
</context></include>"""

MONDAY_NOON = datetime(2026, 11, 23, 12, 0)
SUNDAY_NOON = datetime(2026, 11, 22, 12, 0)
MONDAY_NIGHT = datetime(2026, 11, 23, 23, 0)


def route(
    dest: str, cid: str = "", name: str = "", now: datetime = MONDAY_NOON
) -> list[Action] | None:
    plan = Dialplan()
    plan.load_string(PLAN, "test.xml")
    variables: dict[str, str | None] = {"wanted": "400"}
    fields = {"destination_number": dest, "caller_id_number": cid, "caller_id_name": name}

    def lookup(field: str) -> str | None:
        return fields.get(field) or variables.get(field)

    return plan.route("t", lookup, now=now, set_var=variables.__setitem__)


def apps(actions: list[Action] | None) -> list[str]:
    assert actions is not None
    return [f"{a.application} {a.data}".strip() for a in actions]


def test_captures_continue_anti_actions_and_time_conditions() -> None:
    assert apps(route("100", "4951234567")) == [
        "set city=moscow-1234567",
        "answer",
        "playback open.wav",
    ]
    assert apps(route("100", "812", now=SUNDAY_NOON)) == [
        "set city=elsewhere",
        "playback closed.wav",
    ]
    assert apps(route("100", "812", now=MONDAY_NIGHT))[-1] == "playback closed.wav"


def test_regex_any_inline_set_and_variables_in_expressions() -> None:
    assert apps(route("200"))[-1] == "set route=either"
    assert apps(route("999", name="VIP Ivanov"))[-1] == "set route=either"
    # The inline set is applied while routing (the next condition sees it), not run again.
    assert apps(route("300"))[-1:] == ["set route=gold"]
    assert "set tier=gold" not in apps(route("300"))
    assert apps(route("400"))[-1] == "set route=var"
    # Only the continue="true" extension's anti-action: still a route (as mod_dialplan_xml).
    assert apps(route("999")) == ["set city=elsewhere"]
    plan = Dialplan()
    plan.load_string(PLAN, "test.xml")
    assert plan.route("missing", lambda _: None) is None


def test_broken_dialplan_is_an_error_naming_the_file() -> None:
    with pytest.raises(DialplanError, match=r"bad\.xml"):
        Dialplan().load_string("<include><context name='x'>", "bad.xml")
    with pytest.raises(DialplanError, match="bad expression"):
        Dialplan().load_string(
            "<context name='x'><extension><condition field='a' expression='(('/>"
            "</extension></context>",
            "bad.xml",
        )


IVR = """<include><context name="public">
  <extension name="menu"><condition field="destination_number" expression="^9000$">
    <action application="answer"/>
    <action application="play_and_get_digits"
            data="1 1 3 2000 # menu.wav invalid.wav choice ^[12]$ 1000 9999 XML public"/>
    <action application="read" data="4 6 pin.wav pin 2000 #"/>
    <action application="park"/>
  </condition></extension>
  <extension name="failed"><condition field="destination_number" expression="^9999$">
    <action application="hangup" data="CALL_REJECTED"/>
  </condition></extension>
</context></include>"""


async def test_ivr_collects_the_callers_digits(tmp_path: Path) -> None:
    (tmp_path / "plan").mkdir()
    (tmp_path / "plan" / "ivr.xml").write_text(IVR)
    async with SimSwitch(time_scale=0.05, dialplan_dir=tmp_path / "plan") as switch:
        peer = await connect_authed(switch.port)
        await peer.reply("event plain ALL")
        call = await switch.callers.dial("9000", caller_number="1")
        await peer.event("PLAYBACK_START", Unique_ID=call.uuid, Playback_File_Path="menu.wav")
        await call.press("7")  # not a choice: the invalid prompt, then the menu again
        await peer.event("PLAYBACK_STOP", Unique_ID=call.uuid, Playback_File_Path="invalid.wav")
        await call.press("2")
        await peer.event("PLAYBACK_START", Unique_ID=call.uuid, Playback_File_Path="pin.wav")
        await call.press("1234#")
        await peer.event("CHANNEL_PARK", Unique_ID=call.uuid)
        assert await peer.api(f"uuid_getvar {call.uuid} choice") == "2"
        assert await peer.api(f"uuid_getvar {call.uuid} pin") == "1234"
        assert await peer.api(f"uuid_getvar {call.uuid} read_terminator_used") == "#"
        await call.hangup()

        # Nothing pressed: after three tries the call goes to the failure extension.
        silent = await switch.callers.dial("9000", caller_number="2")
        await silent.wait_hangup()
        assert silent.hangup_cause == "CALL_REJECTED"
        peer.close()


def test_dial_strings_split_into_groups_and_legs() -> None:
    from callcenter.sim.originate import split_dial_string

    assert split_dial_string("{a=1,b='x,y'}user/1,[c=2]user/2|sofia/gateway/g/3") == [
        ["{a=1,b='x,y'}user/1", "{a=1,b='x,y'}[c=2]user/2"],
        ["{a=1,b='x,y'}sofia/gateway/g/3"],
    ]
    assert split_dial_string("null/x") == [["null/x"]]

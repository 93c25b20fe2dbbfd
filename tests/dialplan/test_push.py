"""Pushing to a node: the simulated switch reads the conf folder on reloadxml."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.dialplan.push import MANIFEST, diff_node, push_node
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch


def extension(number: str, app: str = "park") -> str:
    return f"""<include><context name="public">
  <extension name="e{number}"><condition field="destination_number" expression="^{number}$">
    <action application="answer"/><action application="{app}"/>
  </condition></extension>
</context></include>
"""


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[SimSwitch, InboundClient, Path]]:
    conf = tmp_path / "conf"
    (conf / "dialplan").mkdir(parents=True)
    switch = SimSwitch(time_scale=0.05, dialplan_dir=conf / "dialplan")
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    try:
        yield switch, esl, conf
    finally:
        await esl.close()
        await switch.stop()


async def test_push_writes_reloads_and_routes(
    node: tuple[SimSwitch, InboundClient, Path],
) -> None:
    switch, esl, conf = node
    files = {
        "dialplan/public/acme.xml": extension("5001"),
        "dialplan/public/x.xml": extension("5002"),
    }
    assert "+" in diff_node(conf, files)
    result = await push_node("office1", conf, esl.api, files)
    assert result.ok, result.message
    assert result.written == ("dialplan/public/acme.xml", "dialplan/public/x.xml")
    assert diff_node(conf, files) == ""
    call = await switch.callers.dial("5002", hangup_after=60)
    await call.wait_answered()
    # The next push drops x.xml: the file goes, and so does its extension.
    again = await push_node(
        "office1", conf, esl.api, {"dialplan/public/acme.xml": extension("5001")}
    )
    assert again.ok and again.removed == ("dialplan/public/x.xml",) and again.written == ()
    assert not (conf / "dialplan/public/x.xml").exists()
    assert (conf / MANIFEST).read_text().count(".xml") == 1
    gone = await switch.callers.dial("5002", hangup_after=60)
    await gone.wait_hangup()
    assert gone.hangup_cause == "NO_ROUTE_DESTINATION"


async def test_a_switch_error_restores_the_previous_files(
    node: tuple[SimSwitch, InboundClient, Path],
) -> None:
    switch, esl, conf = node
    good = {"dialplan/public/acme.xml": extension("5001")}
    assert (await push_node("office1", conf, esl.api, good)).ok
    # XML the switch cannot read (it passed no validation: pushed on purpose here).
    broken = {
        "dialplan/public/acme.xml": "<include><context name='public'>",
        "dialplan/new.xml": extension("6000"),
    }
    result = await push_node("office1", conf, esl.api, broken)
    assert not result.ok
    assert (
        result.message.startswith("+OK [") and "the previous files were restored" in result.message
    )
    assert (conf / "dialplan/public/acme.xml").read_text() == good["dialplan/public/acme.xml"]
    assert not (conf / "dialplan/new.xml").exists()
    call = await switch.callers.dial("5001", hangup_after=60)
    await call.wait_answered()  # the node still routes by the good files


async def test_a_lost_connection_restores_too(node: tuple[SimSwitch, InboundClient, Path]) -> None:
    _, esl, conf = node
    await esl.close()
    result = await push_node("office1", conf, esl.api, {"dialplan/a.xml": extension("1")})
    assert not result.ok and "restored" in result.message
    assert not (conf / "dialplan/a.xml").exists()


def test_a_path_outside_the_conf_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a path inside"):
        diff_node(tmp_path, {"../../etc/passwd": "x"})


def gateway(name: str, proxy: str) -> str:
    return (
        f'<include><gateway name="{name}"><param name="proxy" value="{proxy}"/>'
        '<param name="register" value="false"/></gateway></include>\n'
    )


async def test_pushed_gateways_are_started_changed_and_stopped(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    (conf / "sip_profiles" / "external").mkdir(parents=True)
    (conf / "sip_profiles" / "external.xml").write_text(
        '<profile name="external"><gateways>'
        '<X-PRE-PROCESS cmd="include" data="external/*.xml"/></gateways></profile>\n'
    )
    switch = SimSwitch(time_scale=0.05, conf_dir=conf)
    await switch.start("127.0.0.1", 0)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    try:

        def proxy() -> str | None:
            running = (switch.core.gateways or {}).get("pstn1")
            return running.params.get("proxy") if running is not None else None

        path = "sip_profiles/external/callcenter_pstn1.xml"
        assert (await push_node("n", conf, esl.api, {path: gateway("pstn1", "10.0.0.1")})).ok
        assert proxy() == "10.0.0.1"  # started by the rescan
        assert (await push_node("n", conf, esl.api, {path: gateway("pstn1", "10.0.0.2")})).ok
        assert proxy() == "10.0.0.2"  # killed and started again, changed
        assert (await push_node("n", conf, esl.api, {})).ok
        assert proxy() is None  # removed with its file
    finally:
        await esl.close()
        await switch.stop()

"""The simulated switch on a node configuration folder: loading the vanilla conf layout, routing
by DID, ``user/...`` against the directory, gateways, and ``reloadxml``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from callcenter.sim.conf import ConfError, load_node_config
from tests.sim.confdir import SUNDAY_NOON, write_conf


def test_the_folder_loads_as_freeswitch_lays_it_out(conf_dir: Path) -> None:
    config = load_node_config(conf_dir, None, {"domain": "10.0.0.1"})
    contexts = config.dialplan.contexts
    # dialplan/public.xml includes public/*.xml in place, before the built-in extensions.
    assert [e.name for e in contexts["public"]][:2] == ["acme_did", "globex_did"]
    # acme.xml includes acme/*.xml; globex/ is included by nothing: its context is its name.
    assert [e.name for e in contexts["acme"]] == ["main", "closed", "support_queue", "users"]
    assert "failover" in [e.name for e in contexts["globex"]]
    users = contexts["acme"][3].conditions[0].actions
    assert users[1].data == "user/$1@acme.example.com"  # $${acme_domain} from vars.xml
    assert config.variables == {"acme_domain": "acme.example.com"}

    directory = config.directory
    assert directory is not None
    alice = directory.find("1000", "acme.example.com")
    assert alice is not None
    assert alice.variables["user_context"] == "acme"  # the domain's variables, merged
    assert alice.variables["effective_caller_id_name"] == "Alice Acme"
    assert alice.params["password"] == "s3cret"
    assert "dial-string" in alice.params
    bob = directory.find("201", "acme.example.com")  # by number-alias
    assert bob is not None and bob.id == "1001"
    assert directory.find("2000", "globex.example.com") is not None  # folder-named domain
    assert directory.find("1000", "globex.example.com") is None

    main = config.menus["acme_main"]
    assert (main.timeout, main.inter_digit_timeout, main.max_timeouts) == (5.0, 2.0, 2)
    assert [e.action for e in main.entries][:2] == ["menu-exec-app", "menu-exec-app"]
    deep = config.menus["acme_deep"]
    assert (deep.max_failures, deep.max_timeouts, deep.inter_digit_timeout) == (3, 3, 2.5)
    assert config.menus["acme_sub"].entries[0].match("1001") == "transfer 1001 XML acme"
    assert config.menus["acme_sub"].entries[0].match("2001") is None

    assert config.gateways is not None
    assert sorted(config.gateways) == ["globex_a", "globex_b"]
    assert config.gateways["globex_a"].profile == "external"
    assert config.gateways["globex_b"].params["proxy"] == "sip-b.globex.example"


def test_a_broken_file_is_named(conf_dir: Path) -> None:
    (conf_dir / "directory" / "acme" / "1003.xml").write_text("<include><user id='1003'>")
    with pytest.raises(ConfError, match=r"1003\.xml: not well-formed XML"):
        load_node_config(conf_dir)


def test_dialplan_dir_uses_the_same_layout(tmp_path: Path) -> None:
    """``--dialplan-dir``: flat files as before; a sub-folder's bare extensions join the context
    named after it (they used to join ``public``)."""
    plan = tmp_path / "plan"
    (plan / "sales").mkdir(parents=True)
    (plan / "flat.xml").write_text(
        '<include><extension name="flat"><condition field="destination_number" '
        'expression="^1$"/></extension></include>'
    )
    (plan / "sales" / "x.xml").write_text(
        '<include><extension name="sub"><condition field="destination_number" '
        'expression="^2$"/></extension></include>'
    )
    switch = SimSwitch(dialplan_dir=plan)
    contexts = switch.core.dialplan.contexts
    assert contexts["public"][0].name == "flat"
    assert [e.name for e in contexts["sales"]] == ["sub"]
    assert switch.core.directory is None and switch.core.gateways is None


def test_the_cli_passes_the_folder_through() -> None:
    from callcenter.cli import _build_parser

    args = _build_parser().parse_args(["sim", "--conf-dir", "/etc/freeswitch"])
    assert args.conf_dir == "/etc/freeswitch"
    assert _build_parser().parse_args(["sim"]).conf_dir is None


async def test_calls_are_routed_by_did_and_office_hours(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    ivr = node_esl.wait_for_event(
        "CHANNEL_EXECUTE", predicate=lambda e: e.get("Application") == "ivr", timeout=10
    )
    call = await node.callers.dial("74951110000", caller_number="4951234567")
    event = await ivr
    assert event.unique_id == call.uuid
    assert event.get("Application-Data") == "acme_main"
    assert event.get("Caller-Context") == "acme"
    assert event.variable("tenant") == "acme"
    await call.hangup()

    # After hours the same DID goes to the closed extension.
    node.core.clock = lambda: SUNDAY_NOON
    closed = node_esl.wait_for_event(
        "PLAYBACK_START",
        predicate=lambda e: e.get("Playback-File-Path") == "acme/closed.wav",
        timeout=10,
    )
    night = await node.callers.dial("74951110000", caller_number="4951234567")
    assert (await closed).unique_id == night.uuid
    await night.hangup()

    # The other tenant's DID reaches its own context; an unknown DID is not routed.
    globex = await node.callers.dial("7812555404", caller_number="1")
    await globex.wait_hangup()
    assert globex.hangup_cause == "UNALLOCATED_NUMBER"
    assert globex.channel.context == "globex"
    nowhere = await node.callers.dial("70000000000", caller_number="1")
    await nowhere.wait_hangup()
    assert nowhere.hangup_cause == "NO_ROUTE_DESTINATION"


async def test_user_dialing_checks_the_directory(node: SimSwitch, node_esl: InboundClient) -> None:
    node.phones.register("1000", "acme.example.com", answer_after=0.1)
    node.phones.register("1001", "acme.example.com", answer_after=0.1)
    reply = await node_esl.api("originate user/1000@acme.example.com &park()")
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    # The user's variables (and the domain's) are set on the leg, as mod_dptools does.
    assert await node_esl.api(f"uuid_getvar {uuid} user_context") == "acme"
    assert await node_esl.api(f"uuid_getvar {uuid} effective_caller_id_name") == "Alice Acme"
    assert await node_esl.api(f"uuid_getvar {uuid} dialed_user") == "1000"
    assert await node_esl.api(f"uuid_getvar {uuid} dialed_domain") == "acme.example.com"
    await node_esl.api(f"uuid_kill {uuid}")
    alias = await node_esl.api("originate user/201@acme.example.com &park()")
    assert alias.startswith("+OK ")
    await node_esl.api(f"uuid_kill {alias.split()[1]}")

    # Not in the directory: SUBSCRIBER_ABSENT; in it but not registered: USER_NOT_REGISTERED.
    assert await node_esl.api("originate user/1999@acme.example.com &park()") == (
        "-ERR SUBSCRIBER_ABSENT\n"
    )
    assert await node_esl.api("originate user/1000@nowhere.example &park()") == (
        "-ERR SUBSCRIBER_ABSENT\n"
    )
    assert await node_esl.api("originate user/1002@acme.example.com &park()") == (
        "-ERR USER_NOT_REGISTERED\n"
    )
    # A phone registered in a domain the directory does not know is not reachable by user/.
    node.phones.register("1000", "default")
    assert await node_esl.api("originate user/1000@default &park()") == "-ERR SUBSCRIBER_ABSENT\n"


async def test_without_a_directory_user_dialing_is_as_before(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        assert await esl.api("originate user/1999@acme.example.com &park()") == (
            "-ERR USER_NOT_REGISTERED\n"
        )
        # Any gateway name is accepted when no sip_profiles are configured.
        reply = await esl.api("originate sofia/gateway/anything/74950001 &park()")
        assert reply.startswith("+OK ")


async def test_gateways_of_the_profiles(node: SimSwitch, node_esl: InboundClient) -> None:
    reply = await node_esl.api("originate sofia/gateway/globex_a/74950001 &park()")
    assert reply.startswith("+OK ")
    uuid = reply.split()[1]
    assert await node_esl.api(f"uuid_getvar {uuid} sip_gateway_name") == "globex_a"
    await node_esl.api(f"uuid_kill {uuid}")
    assert await node_esl.api("originate sofia/gateway/nonexistent/74950001 &park()") == (
        "-ERR INVALID_GATEWAY\n"
    )
    assert await node_esl.api("originate sofia/gateway/globex_a &park()") == "-ERR INVALID_URL\n"
    assert await node_esl.api("sim_gateway globex_a down") == "+OK globex_a down\n"
    assert await node_esl.api("originate sofia/gateway/globex_a/74950001 &park()") == (
        "-ERR GATEWAY_DOWN\n"
    )


async def test_reloadxml_picks_up_changes_and_keeps_the_old_config_on_error(
    node: SimSwitch, node_esl: InboundClient, conf_dir: Path
) -> None:
    new_did = conf_dir / "dialplan" / "public" / "30_new.xml"
    new_did.write_text(
        '<include><extension name="new_did"><condition field="destination_number" '
        'expression="^74951112222$"><action application="answer"/>'
        '<action application="park"/></condition></extension></include>'
    )
    (conf_dir / "directory" / "acme" / "1003.xml").write_text(
        '<include><user id="1003"/></include>'
    )
    before = await node.callers.dial("74951112222", caller_number="1")
    await before.wait_hangup()
    assert before.hangup_cause == "NO_ROUTE_DESTINATION"  # not before reloadxml

    assert await node_esl.api("reloadxml") == "+OK [Success]\n"
    parked = node_esl.wait_for_event("CHANNEL_PARK", timeout=10)
    after = await node.callers.dial("74951112222", caller_number="1")
    assert (await parked).unique_id == after.uuid
    await after.hangup()
    assert await node_esl.api("originate user/1003@acme.example.com &park()") == (
        "-ERR USER_NOT_REGISTERED\n"  # known now
    )

    # A malformed file anywhere fails the reload; everything loaded before stays.
    (conf_dir / "ivr_menus" / "broken.xml").write_text("<include><menu name='x'>")
    new_did.unlink()
    reply = await node_esl.api("reloadxml")
    assert reply.startswith("+OK [") and "broken.xml" in reply and "not well-formed" in reply
    still = await node.callers.dial("74951112222", caller_number="1")
    parked = node_esl.wait_for_event("CHANNEL_PARK", uuid=still.uuid, timeout=10)
    await parked
    await still.hangup()
    assert "acme_main" in node.core.ivr_menus
    assert await node_esl.api("originate user/1003@acme.example.com &park()") == (
        "-ERR USER_NOT_REGISTERED\n"
    )

    (conf_dir / "ivr_menus" / "broken.xml").unlink()
    shutil.rmtree(conf_dir / "directory" / "acme")
    assert await node_esl.api("reloadxml") == "+OK [Success]\n"
    gone = await node.callers.dial("74951112222", caller_number="1")
    await gone.wait_hangup()
    assert gone.hangup_cause == "NO_ROUTE_DESTINATION"
    assert await node_esl.api("originate user/1003@acme.example.com &park()") == (
        "-ERR SUBSCRIBER_ABSENT\n"
    )


async def test_new_gateways_need_a_profile_rescan(
    node: SimSwitch, node_esl: InboundClient, conf_dir: Path
) -> None:
    (conf_dir / "sip_profiles" / "external" / "more.xml").write_text(
        '<include><gateway name="globex_c"><param name="proxy" value="c.example"/>'
        "</gateway></include>"
    )
    assert await node_esl.api("reloadxml") == "+OK [Success]\n"
    # As in FreeSWITCH: reloadxml reads the XML, the profile starts its new gateways on rescan.
    assert await node_esl.api("originate sofia/gateway/globex_c/1 &park()") == (
        "-ERR INVALID_GATEWAY\n"
    )
    assert await node_esl.api("sofia profile external rescan") == "+OK scan complete\n"
    reply = await node_esl.api("originate sofia/gateway/globex_c/1 &park()")
    assert reply.startswith("+OK ")
    await node_esl.api(f"uuid_kill {reply.split()[1]}")
    assert await node_esl.api("sofia profile external killgw globex_c") == (
        "+OK gateway marked for deletion.\n"
    )
    assert await node_esl.api("originate sofia/gateway/globex_c/1 &park()") == (
        "-ERR INVALID_GATEWAY\n"
    )
    assert await node_esl.api("sofia profile external killgw globex_c") == (
        "-ERR no such gateway.\n"
    )
    assert await node_esl.api("sofia profile external rescan reloadxml") == (
        "Reload XML [Success]\n+OK scan complete\n"
    )
    assert "globex_c" in (node.core.gateways or {})
    assert await node_esl.api("sofia profile nosuch rescan") == "Invalid Profile [nosuch]"


async def test_a_conf_dir_and_a_dialplan_dir_together(tmp_path: Path) -> None:
    conf = write_conf(tmp_path / "conf")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.xml").write_text(
        '<include><context name="acme"><extension name="extra">'
        '<condition field="destination_number" expression="^9$"/></extension></context></include>'
    )
    switch = SimSwitch(conf_dir=conf, dialplan_dir=extra)
    assert [e.name for e in switch.core.dialplan.contexts["acme"]][-1] == "extra"
    assert switch.core.global_vars["acme_domain"] == "acme.example.com"

"""Rendering the center into FreeSWITCH XML: the example against golden files, the reserved
names, least-cost routing per number prefix, time conditions, and an integrator's override
templates going through validation."""

from __future__ import annotations

import difflib
import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from callcenter.center import Center, Destination, cheapest, load_center
from callcenter.dialplan.render import (
    PUBLIC_FILE,
    RenderError,
    render_center,
    reserved_extension,
)
from tests.conftest import REPO
from tests.dialplan.fsmodel import hunt

EXAMPLE = REPO / "examples" / "center.yaml"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def example() -> Center:
    return load_center(EXAMPLE)


@pytest.fixture(scope="module")
def files(example: Center) -> dict[str, str]:
    return render_center(example)


def test_the_example_renders_as_the_golden_files(files: dict[str, str]) -> None:
    """Any change to what the example renders to shows here as a diff. After checking it by
    eye: ``UPDATE_GOLDEN=1 pytest tests/dialplan/test_render.py`` rewrites the golden files."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for old in GOLDEN.rglob("*.xml"):
            old.unlink()
        for name, text in files.items():
            path = GOLDEN / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    golden = {
        path.relative_to(GOLDEN).as_posix(): path.read_text(encoding="utf-8")
        for path in GOLDEN.rglob("*.xml")
    }
    assert sorted(files) == sorted(golden), "generated files differ from tests/dialplan/golden"
    diff = "".join(
        line
        for name in sorted(files)
        for line in difflib.unified_diff(
            golden[name].splitlines(keepends=True),
            files[name].splitlines(keepends=True),
            fromfile=f"golden/{name}",
            tofile=f"rendered/{name}",
        )
    )
    assert not diff, "rendered files differ from the golden ones:\n" + diff


def test_files_go_where_the_vanilla_configuration_includes_them(files: dict[str, str]) -> None:
    assert sorted(files) == [
        "dialplan/acme.xml",
        "dialplan/globex.xml",
        PUBLIC_FILE,
        "directory/acme.xml",
        "directory/globex.xml",
        "ivr_menus/acme.xml",
        "sip_profiles/external/callcenter_globex_trunk.xml",
        "sip_profiles/external/callcenter_sipnet.xml",
        "sip_profiles/external/callcenter_zadarma.xml",
    ]
    # Each is an <include> of what its including file expects inside it.
    expected = {
        "dialplan/acme.xml": "context",
        PUBLIC_FILE: "extension",
        "directory/acme.xml": "domain",
        "ivr_menus/acme.xml": "menu",
        "sip_profiles/external/callcenter_sipnet.xml": "gateway",
    }
    for name, child in expected.items():
        root = ElementTree.fromstring(files[name])
        assert root.tag == "include"
        assert {element.tag for element in root} == {child}


@pytest.mark.parametrize(
    ("destination", "name"),
    [
        ("extension:1000", "1000"),
        ("queue:support", "cc_queue_support"),
        ("voicemail:general", "cc_voicemail_general"),
        ("ivr:main", "cc_ivr_main"),
        ("time:business_hours", "cc_time_business_hours"),
        ("external:+74951112233", "cc_external_+74951112233"),
        ("hangup", None),
    ],
)
def test_reserved_extension_names(destination: str, name: str | None) -> None:
    assert reserved_extension(Destination.model_validate(destination)) == name


def test_every_did_reaches_its_tenant_context_with_or_without_plus(files: dict[str, str]) -> None:
    public = files[PUBLIC_FILE]
    for dialed in ("+74997654321", "74997654321"):
        actions = hunt(public, "public", dialed, {})
        assert actions == [
            ("set", "cc_tenant=globex"),
            ("set", "cc_did=+74997654321"),
            ("set", "cc_did_label=Website"),
            ("set", "domain_name=globex.example.com"),
            ("transfer", "cc_queue_support XML globex"),
        ]
    assert hunt(public, "public", "+749976543210", {}) == []
    assert hunt(public, "public", "0074997654321", {}) == []


NUMBERS = [
    "+74951112233",
    "74951112233",
    "+74991112233",
    "+78121234567",
    "+79161234567",
    "+73832000000",  # Novosibirsk: only the decks' "7"
    "+12125551234",
    "+442071234567",
    "+4930123456",
    "+33123456789",  # France: no gateway has a rate
]


@pytest.mark.parametrize("number", NUMBERS)
def test_outside_numbers_go_through_the_cheapest_gateways_first(
    example: Center, files: dict[str, str], number: str
) -> None:
    tenant = example.tenant("acme")
    route = tenant.route_for(number)
    assert route is not None
    gateways = {gw.name: gw for gw in tenant.gateways}
    expected = [
        f"sofia/gateway/{gw}/{gateways[gw].dial_number(route.dial_number(number))}"
        for gw, _ in cheapest(number, route)
    ]
    actions = hunt(files["dialplan/acme.xml"], "acme", number, {})
    if not expected:
        assert actions == [("hangup", "NO_ROUTE_DESTINATION")]
        return
    legs = [data for app, data in actions if app == "limit_execute"]
    assert [leg.split(" bridge ")[1] for leg in legs] == expected
    # Each leg is counted against its own gateway's channels, only while it is tried.
    assert [leg.split(" bridge ")[0] for leg in legs] == [
        f"hash cc_gateway {dial.split('/')[2]} {gateways[dial.split('/')[2]].channels}"
        for dial in expected
    ]
    assert actions[-1] == ("hangup", "NORMAL_CIRCUIT_CONGESTION")
    continue_on_fail = dict(a[1].split("=", 1) for a in actions if a[0] == "set")
    assert "USER_BUSY" not in continue_on_fail["continue_on_fail"].split(",")


def test_moscow_is_cheapest_on_sipnet_and_saint_petersburg_on_zadarma(
    files: dict[str, str],
) -> None:
    moscow = hunt(files["dialplan/acme.xml"], "acme", "+74951112233", {})
    spb = hunt(files["dialplan/acme.xml"], "acme", "+78121234567", {})
    assert next(d for a, d in moscow if a == "limit_execute").endswith("sipnet/+74951112233")
    assert next(d for a, d in spb if a == "limit_execute").endswith("zadarma/+78121234567")


REWRITES = """
tenants:
  - name: acme
    domain: acme.example.com
    users:
      - {extension: "1000", password: "acme-1000-Secret", caller_id_number: "+74950000000"}
    gateways:
      - {name: a, proxy: a.example, register: false, channels: 2, strip_digits: 2, add_prefix: "00"}
      - {name: b, proxy: b.example, register: false, channels: 3}
      - {name: c, proxy: c.example, register: false, channels: 4, strip_digits: 1, add_prefix: "9"}
    outbound_routes:
      - name: national
        pattern: '^8\\d{10}$'
        gateways: [a, b, c]
        strip_digits: 1
        prepend: "+7"
      - name: plus
        pattern: '^\\+\\d{8,15}$'
        gateways: [c, b, a]
        strip_digits: 3
        rates: {a: a.csv, b: b.csv, c: c.csv}
"""


def test_every_gateway_gets_the_number_rewritten_its_own_way(tmp_path: Path) -> None:
    (tmp_path / "center.yaml").write_text(REWRITES)
    (tmp_path / "a.csv").write_text("7,1.00\n7495,0.10\n")
    (tmp_path / "b.csv").write_text("7,0.50\n")
    (tmp_path / "c.csv").write_text("7,0.70\n7495,0.70\n44,1.00\n")
    center = load_center(tmp_path / "center.yaml")
    tenant = center.tenant("acme")
    text = render_center(center)["dialplan/acme.xml"]
    gateways = {gw.name: gw for gw in tenant.gateways}
    for number in ("84951112233", "+74951112233", "+78121112233", "+442071234567", "+3312345678"):
        route = tenant.route_for(number)
        assert route is not None
        expected = [
            f"sofia/gateway/{gw}/{gateways[gw].dial_number(route.dial_number(number))}"
            for gw, _ in cheapest(number, route)
        ]
        variables: dict[str, str] = {"outbound_caller_id_number": "+74950000000"}
        actions = hunt(text, "acme", number, variables)
        legs = [data.split(" bridge ")[1] for app, data in actions if app == "limit_execute"]
        assert legs == expected, number
        if not expected:
            assert actions == [("hangup", "NO_ROUTE_DESTINATION")]
        else:
            # The user's caller ID for outside calls, set inline before the bridge.
            assert variables["effective_caller_id_number"] == "+74950000000"


def test_a_user_forwards_by_rule_after_a_failed_bridge(files: dict[str, str]) -> None:
    acme = files["dialplan/acme.xml"]
    assert hunt(acme, "acme", "1099", {})[-2:] == [
        ("bridge", "user/1099@acme.example.com"),
        ("transfer", "cc_user_1099_failed XML acme"),
    ]
    assert ("set", "call_timeout=25") in hunt(acme, "acme", "1099", {})
    cases = {
        "USER_BUSY": "cc_queue_support XML acme",
        "NO_ANSWER": "cc_voicemail_1099 XML acme",
        "ALLOTTED_TIMEOUT": "cc_voicemail_1099 XML acme",
        "USER_NOT_REGISTERED": "cc_voicemail_1099 XML acme",
        "CALL_REJECTED": "cc_voicemail_1099 XML acme",  # any other: the user's voicemail
    }
    for cause, transfer in cases.items():
        actions = hunt(acme, "acme", "cc_user_1099_failed", {"originate_disposition": cause})
        assert actions == [("transfer", transfer)], cause
    # 1002 has no voicemail: the caller gets the bridge's cause.
    assert hunt(acme, "acme", "cc_user_1002_failed", {"originate_disposition": "USER_BUSY"}) == [
        ("hangup", "${originate_disposition}")
    ]
    # *72 forwarding, read from mod_db when the call comes in; one hop only.
    forwarded = {"db(select/cc_forward_acme/1000)": "+74951112233"}
    assert hunt(acme, "acme", "1000", forwarded) == [
        ("set", "cc_forwarded=true"),
        ("transfer", "+74951112233 XML acme"),
    ]
    again = {**forwarded, "cc_forwarded": "true"}
    assert ("bridge", "user/1000@acme.example.com") in hunt(acme, "acme", "1000", again)


def test_feature_codes(files: dict[str, str]) -> None:
    acme = files["dialplan/acme.xml"]
    me = {"cc_user": "1001"}
    assert hunt(acme, "acme", "*21", dict(me)) == [
        ("answer", ""),
        ("set", "cc_tenant=acme"),
        ("set", "cc_feature=login"),
        ("set", "cc_agent=${cc_user}"),
        ("sched_hangup", "+30 NORMAL_CLEARING"),
        ("park", ""),
    ]
    assert ("db", "insert/cc_forward_acme/${cc_user}/+74951112233") in hunt(
        acme, "acme", "*72+74951112233", dict(me)
    )
    assert ("db", "delete/cc_forward_acme/${cc_user}") in hunt(acme, "acme", "*73", dict(me))
    assert ("voicemail", "check default acme.example.com ${cc_user}") in hunt(
        acme, "acme", "*97", dict(me)
    )
    assert ("voicemail", "check default acme.example.com") in hunt(acme, "acme", "*98", {})
    # Not from a phone of the tenant (a caller transferred in from outside): no feature.
    assert hunt(acme, "acme", "*21", {}) == []


def test_time_conditions_use_the_condition_timezone(files: dict[str, str]) -> None:
    context = ElementTree.fromstring(files["dialplan/acme.xml"]).find("context")
    assert context is not None
    group = [e for e in context if e.get("name", "").startswith("cc_time_business_hours")]
    names = [e.get("name") for e in group]
    assert names == [
        "cc_time_business_hours",
        "cc_time_business_hours:holiday:2026-01-01",
        "cc_time_business_hours:holiday:2026-05-09",
        "cc_time_business_hours:open:1",
        "cc_time_business_hours:closed",
    ]
    # FreeSWITCH has no per-condition timezone: it reads the channel's "timezone" for every
    # condition, so the first extension sets it inline (at hunt time) and continues.
    first = group[0]
    assert first.get("continue") == "true"
    set_tz = first.find("condition/action")
    assert set_tz is not None
    assert set_tz.attrib == {
        "application": "set",
        "data": "timezone=Europe/Moscow",
        "inline": "true",
    }
    holiday = group[2].findall("condition")[1]
    assert {k: holiday.get(k) for k in ("year", "mon", "mday")} == {
        "year": "2026",
        "mon": "5",
        "mday": "9",
    }
    assert [a.get("data") for a in holiday] == [
        "cc_holiday=Victory Day",
        "cc_voicemail_general XML acme",
    ]
    hours = group[3].findall("condition")[1]
    assert (hours.get("wday"), hours.get("time-of-day")) == ("2,3,4,5,6", "09:00-18:00")
    assert hours[0].get("data") == "cc_ivr_main XML acme"


def test_ivr_menu_entries_and_destinations(files: dict[str, str]) -> None:
    menu = ElementTree.fromstring(files["ivr_menus/acme.xml"]).find("menu")
    assert menu is not None
    assert menu.get("name") == "acme_main"
    assert menu.get("timeout") == "10000"
    assert menu.get("exec-on-max-failures") == "transfer 1099 XML acme"
    assert menu.get("exec-on-max-timeouts") == "transfer cc_queue_support XML acme"
    assert menu.get("exit-sound") is None  # played by the dialplan: not after a transfer
    assert [(e.get("digits"), e.get("param")) for e in menu] == [
        ("1", "transfer cc_queue_sales XML acme"),
        ("2", "transfer cc_queue_support XML acme"),
        ("0", "transfer 1099 XML acme"),
    ]


def test_a_voicemail_box_that_is_nobody_phone_cannot_register(files: dict[str, str]) -> None:
    domain = ElementTree.fromstring(files["directory/acme.xml"]).find("domain")
    assert domain is not None
    general = domain.find(".//user[@id='general']")
    assert general is not None
    params = {p.get("name"): p.get("value") for p in general.iter("param")}
    assert params["sip-forbid-register"] == "true"
    assert params["vm-password"] == "2468"
    assert "password" not in params
    operator = domain.find(".//user[@id='1099']")
    assert operator is not None
    variables = {v.get("name"): v.get("value") for v in operator.iter("variable")}
    assert variables["user_context"] == "acme"
    assert variables["cc_tenant"] == "acme"
    assert variables["effective_caller_id_name"] == "Operator"


# -- integrator overrides and validation ----------------------------------------------------------


def test_an_override_with_an_unknown_application_is_refused(
    example: Center, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    original = (REPO / "dialplan_templates" / "tenant.xml").read_text()
    (mine / "tenant.xml").write_text(
        original.replace('<action application="park"/>', '<action application="prak"/>')
    )
    with pytest.raises(RenderError) as caught:
        render_center(example, mine)
    problems = caught.value.problems
    assert problems
    assert all("unknown dialplan application 'prak'" in p for p in problems)
    assert {p.split(":")[0] for p in problems} == {"dialplan/acme.xml", "dialplan/globex.xml"}


def test_an_override_with_broken_xml_is_refused(example: Center, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "public.xml").write_text(
        "<include>\n{% for d in dids %}<extension name='{{ d.digits }}'>\n{% endfor %}</include>\n"
    )
    with pytest.raises(RenderError) as caught:
        render_center(example, mine)
    assert caught.value.problems == [
        f"{PUBLIC_FILE}:5: not well-formed XML: mismatched tag",  # the 3 DIDs, then </include>
    ]


def test_a_template_error_names_the_template_and_its_line(example: Center, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "gateway.xml").write_text("<include>\n{% for x in %}\n</include>\n")
    (mine / "directory.xml").write_text("<include>{{ no_such_variable }}</include>\n")
    with pytest.raises(RenderError) as caught:
        render_center(example, mine)
    problems = caught.value.problems
    assert any(p.startswith(str(mine / "gateway.xml") + ":2: template error") for p in problems)
    assert "directory/acme.xml: template directory.xml: 'no_such_variable' is undefined" in (
        problems
    )


def test_a_tenant_that_would_replace_a_vanilla_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "tenants:\n  - {name: default, domain: d.example.com}\n"
        "  - {name: features, domain: f.example.com}\n"
    )
    with pytest.raises(RenderError) as caught:
        render_center(load_center(tmp_path / "c.yaml"))
    assert caught.value.problems == [
        "tenants.0.name: a tenant named 'default' would replace dialplan/default.xml of "
        "FreeSWITCH's vanilla configuration",
        "tenants.0.name: a tenant named 'default' would replace directory/default.xml of "
        "FreeSWITCH's vanilla configuration",
        "tenants.1.name: a tenant named 'features' would replace dialplan/features.xml of "
        "FreeSWITCH's vanilla configuration",
    ]


def test_ivr_menu_names_of_two_tenants_must_not_meet(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        """
tenants:
  - name: acme
    domain: a.example.com
    queues: [{name: q}]
    ivr_menus: [{name: x_y, greeting: a.wav, entries: {"1": "queue:q"}}]
  - name: acme_x
    domain: b.example.com
    queues: [{name: q}]
    ivr_menus: [{name: y, greeting: b.wav, entries: {"1": "queue:q"}}]
"""
    )
    with pytest.raises(RenderError, match="IVR menu acme_x/y and acme/x_y would both be"):
        render_center(load_center(tmp_path / "c.yaml"))


def test_what_freeswitch_cannot_be_given_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        """
tenants:
  - name: acme
    domain: a.example.com
    gateways: [{name: gw, proxy: gw.example, register: false, channels: 1}]
    outbound_routes:
      - {name: dollar, pattern: '^\\$\\d+$', gateways: [gw]}
      - {name: france, pattern: '^\\+33\\d+$', gateways: [gw], rates: {gw: gw.csv}}
    dids: [{number: "+74950000001", destination: "external:+33123456789"}]
"""
    )
    (tmp_path / "gw.csv").write_text("7,1.00\n")
    with pytest.raises(RenderError) as caught:
        render_center(load_center(tmp_path / "c.yaml"))
    problems = caught.value.problems
    assert len(problems) == 1  # the first planning problem of the tenant stops its planning
    assert problems[0].startswith(
        "tenant 'acme': external:+33123456789: no gateway of outbound route 'france' "
        "has a rate for this number"
    )
    (tmp_path / "gw.csv").write_text("33,1.00\n")
    with pytest.raises(RenderError, match=r"route 'dollar': pattern .* FreeSWITCH rewrites"):
        render_center(load_center(tmp_path / "c.yaml"))

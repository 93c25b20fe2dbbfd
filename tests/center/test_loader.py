"""Loading a center: the example, a folder of files, and every kind of bad input reported
with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.center import DestinationKind, load_center
from callcenter.center.tenant import PUBLIC_CONTEXT
from tests.center.helpers import TENANT, problems, write

REPO = Path(__file__).resolve().parents[2]


def test_the_example_center_loads() -> None:
    center = load_center(REPO / "examples" / "center.yaml")
    assert [t.name for t in center.tenants] == ["acme", "globex"]
    acme = center.tenant("acme")
    assert (acme.internal_context, acme.public_context) == ("acme", PUBLIC_CONTEXT)
    assert {q.name for q in acme.queues} == {"support", "sales"}
    assert {str(d) for d in acme.ivr_menus[0].entries.values()} == {
        "queue:sales",
        "queue:support",
        "extension:1099",
    }
    hours = acme.time_conditions[0]
    assert (hours.timezone, str(hours.open), str(hours.closed)) == (
        "Europe/Moscow",
        "ivr:main",
        "voicemail:general",
    )
    assert [(d.number, d.label) for d in acme.dids] == [
        ("+74951234567", "Yandex Direct, spring"),
        ("+74951234568", "Metro posters"),
    ]
    assert [g.name for g in acme.gateways] == ["sipnet", "zadarma"]
    route = acme.route_for("+74951112233")
    assert route is not None and route.name == "russia"
    assert route.rates["sipnet"].source == REPO / "examples" / "rates" / "sipnet.csv"
    international = acme.route_for("+442071234567")
    assert international is not None and international.name == "international"
    globex = center.tenant("globex")
    assert (len(globex.queues), len(globex.dids), len(globex.gateways)) == (1, 1, 1)
    assert globex.gateways[0].register_ is False
    with pytest.raises(KeyError, match="no tenant 'nope'"):
        center.tenant("nope")


def test_every_destination_of_the_example_resolves() -> None:
    acme = load_center(REPO / "examples" / "center.yaml").tenant("acme")
    kinds = {destination.kind for _, destination in acme.destinations()}
    assert kinds >= {
        DestinationKind.QUEUE,
        DestinationKind.EXTENSION,
        DestinationKind.VOICEMAIL,
        DestinationKind.IVR,
        DestinationKind.TIME,
    }


@pytest.mark.parametrize(
    ("addition", "expected"),
    [
        # unknown field (with the likely one suggested)
        ("    colour: red\n", "7: tenants.0.colour: unknown field; expected one of: name,"),
        (
            "    dids: [{number: '+74951234567', destination: hangup, lable: x}]\n",
            "7: tenants.0.dids.0.lable: unknown field; did you mean 'label'?",
        ),
        # wrong type
        (
            "    gateways:\n"
            "      - name: gw\n"
            "        proxy: example.com\n"
            "        register: false\n"
            "        channels: many\n",
            "11: tenants.0.gateways.0.channels: Input should be a valid integer, unable to parse "
            "string as an integer (got 'many')",
        ),
        # bad regex
        (
            "    outbound_routes: [{name: r, pattern: '^(7', gateways: [gw]}]\n",
            "7: tenants.0.outbound_routes.0.pattern: not a valid regular expression: missing ),",
        ),
        # bad timezone
        (
            "    time_conditions:\n"
            "      - name: hours\n"
            "        timezone: Europe/Atlantis\n"
            "        hours: [{days: mon-fri, from: '09:00', to: '18:00'}]\n"
            "        open: hangup\n"
            "        closed: hangup\n",
            "9: tenants.0.time_conditions.0.timezone: unknown timezone 'Europe/Atlantis'",
        ),
        # a destination whose target does not exist in the tenant
        (
            "    dids:\n      - {number: '+74951234567', destination: 'queue:sails'}\n",
            "8: tenants.0.dids.0.destination: no queue 'sails' in tenant 'acme'",
        ),
        # a destination that is not one
        (
            "    dids: [{number: '+74951234567', destination: sales}]\n",
            "7: tenants.0.dids.0.destination: 'sales' is not a destination: write kind:target",
        ),
        # an unknown gateway in a route
        (
            "    outbound_routes: [{name: r, pattern: '^7', gateways: [nope]}]\n",
            "7: tenants.0.outbound_routes.0.gateways.0: no gateway 'nope' in tenant 'acme'",
        ),
        # a missing field, at its mapping's line
        (
            "    ivr_menus:\n      - name: main\n        entries: {1: hangup}\n",
            "8: tenants.0.ivr_menus.0.greeting: required field is missing",
        ),
        # a time of day written without quotes is read as text, and checked as a time
        (
            "    time_conditions:\n"
            "      - name: hours\n"
            "        timezone: UTC\n"
            "        hours: [{days: mon, from: 18:00, to: 09:00}]\n"
            "        open: hangup\n"
            "        closed: hangup\n",
            "10: tenants.0.time_conditions.0.hours.0.to: must be later than from",
        ),
        # the ACD's own checks, at their lines
        (
            "    tiers: [{queue: sales, agent: '1000'}]\n",
            "7: tenants.0.tiers.0.queue: no queue 'sales'",
        ),
    ],
)
def test_a_bad_file_names_file_line_and_field(tmp_path: Path, addition: str, expected: str) -> None:
    path = write(tmp_path, TENANT + addition)
    found = problems(path)
    assert any(p.startswith(f"{path}:{expected}") for p in found), found


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, TENANT + "    dids: [{number: '+74951234567'\n    gateways: []\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:8: not valid YAML: ")
    path = write(tmp_path, TENANT + "    users: []\n")
    assert problems(path) == [
        f"{path}:7: tenants.0.users: key 'users' appears twice in this mapping (also line 4)"
    ]
    path = write(tmp_path, "tenants:\n  - name: acme\n\tdomain: x\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:3: not valid YAML: found character '\\t'")
    missing = tmp_path / "none.yaml"
    assert problems(missing) == [f"{missing}: file not found"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tenants:
          - name: acme
            domain: acme.example.com
            users:
              - {extension: "1000", password: short}
              - {extension: 10a, password: "long enough", display_nme: x}
            gateways:
              - {name: gw, proxy: "bad host", channels: 0}
          - name: Globex
            domain: globex.example.com
        """,
    )
    assert problems(path) == [
        f"{path}:5: tenants.0.users.0.password: String should have at least 8 characters",
        f"{path}:6: tenants.0.users.1.extension: '10a' is not an extension number (2 to 10 digits)",
        f"{path}:6: tenants.0.users.1.display_nme: unknown field; did you mean 'display_name'?",
        f"{path}:8: tenants.0.gateways.0.proxy: 'bad host' is not a host name or address "
        "(optionally with :port)",
        f"{path}:8: tenants.0.gateways.0.channels: Input should be greater than or equal to 1 "
        "(got 0)",
        f"{path}:9: tenants.1.name: 'Globex' is not a tenant name (a-z, 0-9, _ and -)",
    ]  # (the password itself is not repeated in the message)


def test_references_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tenants:
          - name: acme
            domain: acme.example.com
            users:
              - {extension: "1000", password: secret-1000, forwarding: {always: "extension:1001"}}
              - {extension: "1001", password: secret-1001, forwarding: {always: "extension:1000"}}
            voicemail_boxes: [{id: "1000", pin: "1234"}]
            ivr_menus:
              - {name: main, greeting: main.wav, entries: {1: "ivr:more", 2: "queue:support"}}
              - {name: more, greeting: more.wav, entries: {1: "ivr:main", 2: "ivr:gone"}}
              - {name: lost, greeting: lost.wav, entries: {1: "ivr:lost"}}
            time_conditions:
              - {name: a, timezone: UTC, hours: [{days: mon, from: "09:00", to: "17:00"}],
                 open: "time:b", closed: "voicemail:1001"}
              - {name: b, timezone: UTC, hours: [{days: tue, from: "09:00", to: "17:00"}],
                 open: "time:a", closed: "external:+4930123456"}
            gateways: [{name: gw, proxy: sip.example.com, register: false, channels: 2}]
            outbound_routes:
              - {name: ru, pattern: '^\\+?7', gateways: [gw, gw2]}
            queues: [{name: support, overflow: "queue:sales", max_wait_seconds: 30}]
            agents: [{id: "1000", contact: "user/1000@other.example.com"}]
        """,
    )
    assert problems(path) == [
        f"{path}:5: tenants.0.users.0.forwarding.always: forwarding loop: 1000 -> 1001 -> 1000",
        f"{path}:10: tenants.0.ivr_menus.1.entries.2: no IVR menu 'gone' in tenant 'acme'",
        f"{path}:11: tenants.0.ivr_menus.2.entries: menu 'lost' only ever leads to IVR menus: "
        "no choice reaches a person, a queue or voicemail",
        f"{path}:13: tenants.0.time_conditions.0: time conditions lead to each other in a loop: "
        "a, b",
        f"{path}:14: tenants.0.time_conditions.0.closed: no voicemail box '1001' in tenant 'acme' "
        "(declare it in voicemail_boxes, or give the user voicemail: true)",
        f"{path}:16: tenants.0.time_conditions.1.closed: no outbound route of tenant 'acme' "
        "matches '+4930123456'",
        f"{path}:19: tenants.0.outbound_routes.0.gateways.1: no gateway 'gw2' in tenant 'acme'",
        f"{path}:20: tenants.0.queues.0.overflow: no queue 'sales'",
        f"{path}:21: tenants.0.agents.0.contact: 'user/1000@other.example.com': the domain of "
        "tenant 'acme' is 'acme.example.com'",
    ]


def test_names_numbers_and_domains_are_unique_in_the_center(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        tenants:
          - name: acme
            domain: acme.example.com
            dids: [{number: "+74951234567", destination: hangup}]
            gateways: [{name: trunk, proxy: a.example.com, register: false, channels: 1}]
          - name: globex
            domain: acme.example.com
            dids: [{number: "74951234567", destination: hangup}]
            gateways: [{name: trunk, proxy: b.example.com, register: false, channels: 1}]
        """,
    )
    assert problems(path) == [
        f"{path}:7: tenants.1.domain: domain 'acme.example.com' already belongs to tenant 'acme'",
        f"{path}:8: tenants.1.dids.0.number: DID '74951234567' already belongs to tenant 'acme': "
        "a number routes to one tenant",
        f"{path}:9: tenants.1.gateways.0.name: gateway 'trunk' already belongs to tenant 'acme': "
        "sofia gateway names are global to a switch",
    ]


RATES = "prefix,rate\n7,0.50\n"


def test_a_folder_of_files_is_merged(tmp_path: Path) -> None:
    folder = tmp_path / "center.d"
    write(folder, TENANT, "acme.yaml")
    write(
        folder,
        """\
        # globex keeps its rates beside its own file
        tenants:
          - name: globex
            domain: globex.example.com
            gateways: [{name: gtrunk, proxy: sip.example.com, register: false, channels: 1}]
            outbound_routes:
              - {name: all, pattern: '.', gateways: [gtrunk], rates: {gtrunk: rates/g.csv}}
        """,
        "globex.yml",
    )
    write(folder, RATES, "rates/g.csv")
    write(folder, "# nothing yet\n", "empty.yaml")
    write(folder, "not: [a center file", "notes.txt")  # not .yaml: not read
    center = load_center(folder)
    assert [t.name for t in center.tenants] == ["acme", "globex"]
    route = center.tenant("globex").outbound_routes[0]
    assert route.rates["gtrunk"].source == folder / "rates" / "g.csv"


def test_a_name_twice_across_files_names_both(tmp_path: Path) -> None:
    folder = tmp_path / "center.d"
    first = write(folder, TENANT, "a.yaml")
    second = write(
        folder,
        """\
        tenants:
          - name: globex
            domain: globex.example.com
            colour: blue
          - name: acme
            domain: acme2.example.com
        """,
        "b.yaml",
    )
    third = write(
        folder, "tenants: [{name: initech, domain: initech.example.com}]\nx: 1\n", "c.yaml"
    )
    fourth = write(folder, "x: 2\n", "d.yaml")
    assert problems(folder) == [
        # the place is the file's own: globex is that file's tenant 0
        f"{second}:4: tenants.0.colour: unknown field; expected one of: name, domain, users, "
        "voicemail_boxes, ivr_menus, time_conditions, dids, gateways, outbound_routes, queues, "
        "agents, tiers, retention, crm, reports",
        f"{second}:5: tenants.1.name: tenant 'acme' is already defined at {first}:2",
        f"{third}:2: x: unknown field; expected one of: tenants",
        f"{fourth}:1: x: also set in {third}:2: only lists are merged across files",
    ]


def test_an_empty_folder_and_a_non_mapping(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"{tmp_path}: no .yaml files in this folder"]
    path = write(tmp_path, "- 1\n- 2\n")
    assert problems(path) == [f"{path}:1: expected a mapping at the top level"]
    path = write(tmp_path, "# only comments\n")
    assert problems(path) == [f"{path}:1: tenants: required field is missing"]

"""The model's pieces: destinations, time conditions, what text is accepted and refused."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from callcenter.center import (
    Destination,
    DestinationKind,
    Gateway,
    Hours,
    TimeCondition,
    Weekday,
    load_center,
    one_line,
)
from tests.center.helpers import TENANT, problems, write


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("extension:1001", DestinationKind.EXTENSION, "1001"),
        ("queue:sales", DestinationKind.QUEUE, "sales"),
        ("voicemail:general", DestinationKind.VOICEMAIL, "general"),
        ("ivr:main", DestinationKind.IVR, "main"),
        ("external:+74951234567", DestinationKind.EXTERNAL, "+74951234567"),
        ("time:business_hours", DestinationKind.TIME, "business_hours"),
        ("hangup", DestinationKind.HANGUP, ""),
    ],
)
def test_destinations_parse(text: str, kind: DestinationKind, target: str) -> None:
    destination = Destination.model_validate(text)
    assert (destination.kind, destination.target) == (kind, target)
    assert str(destination) == text
    dumped: object = destination.model_dump()
    assert dumped == text  # written back as the file has it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fax:1001", "'fax:1001' is not a destination: write kind:target, kind one of extension,"),
        ("queue:", "queue: needs a queue name after the colon"),
        ("extension:12ab", "extension:12ab: '12ab' is not an extension number"),
        ("external:call-me", "'call-me' is not a phone number"),
        ("hangup:now", "hangup takes no target"),
        ("ivr:main\nqueue:x", "line break (CR/LF) not allowed"),
        (1001, "a destination is text such as 'queue:sales'"),
    ],
)
def test_bad_destinations(text: object, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Destination.model_validate(text)


def test_line_breaks_are_refused_everywhere_they_could_reach_the_switch(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TENANT
        + '    dids: [{number: "+74951234567", destination: hangup, label: "spring\\r\\nsale"}]\n'
        + "    gateways: [{name: gw, proxy: a.example.com, register: false, channels: 1,\n"
        + '                params: {ping: "30\\n"}}]\n'
        + '    voicemail_boxes: [{id: "1000", pin: "1234", greeting: "a\\u0007.wav"}]\n',
    )
    message = "line break (CR/LF) not allowed: the value reaches FreeSWITCH"
    assert problems(path) == [
        f"{path}:7: tenants.0.dids.0.label: {message}, where a command or variable is one line",
        f"{path}:9: tenants.0.gateways.0.params.ping: {message}, where a command or variable "
        "is one line",
        f"{path}:10: tenants.0.voicemail_boxes.0.greeting: control character U+0007 not allowed",
    ]
    # The ACD's entries are checked too, keys included.
    agent = '{id: "1000", contact: "user/1000@acme.example.com", skills: {"en\\ngl": 5}}'
    path = write(tmp_path, TENANT + f"    agents: [{agent}]\n")
    assert problems(path) == [
        f"{path}:7: tenants.0.agents.0.skills.'en\\ngl': {message}, where a command or variable "
        "is one line"
    ]
    with pytest.raises(ValueError, match="line break"):
        one_line("a\rb")
    assert one_line("tab\tis fine") == "tab\tis fine"


def test_markup_and_variables_in_text_are_data(tmp_path: Path) -> None:
    # Escaping is the templates' job: such text is kept as written, not refused.
    tricky = """Tom & "Jerry's" <b>${destination_number}</b>"""
    path = write(
        tmp_path,
        """\
        tenants:
          - name: acme
            domain: acme.example.com
            users:
              - extension: "1000"
                password: 'p&ss<word>${x}'
                display_name: 'Tom & "Jerry''s" <b>${destination_number}</b>'
            dids:
              - number: "+74951234567"
                destination: extension:1000
                label: 'Tom & "Jerry''s" <b>${destination_number}</b>'
            time_conditions:
              - name: hours
                timezone: UTC
                hours: [{days: mon-fri, from: "09:00", to: "18:00"}]
                holidays:
                  - {date: "2026-12-25", name: 'Tom & "Jerry''s" <b>${destination_number}</b>'}
                open: hangup
                closed: hangup
        """,
    )
    tenant = load_center(path).tenant("acme")
    assert tenant.users[0].display_name == tricky
    assert tenant.users[0].password == "p&ss<word>${x}"
    assert tenant.dids[0].label == tricky
    assert tenant.time_conditions[0].holidays[0].name == tricky


def test_identifiers_stay_narrow(tmp_path: Path) -> None:
    # Names and numbers land in dial strings, where ${...} would be expanded by the switch.
    path = write(
        tmp_path,
        TENANT + "    ivr_menus: [{name: '${x}', greeting: a.wav, entries: {1: hangup}}]\n",
    )
    assert problems(path) == [
        f"{path}:7: tenants.0.ivr_menus.0.name: '${{x}}' is not a name (letters, digits, _ . -)"
    ]


def test_numbers_are_read_as_written(tmp_path: Path) -> None:
    # YAML 1.1 would read 18:00 as 1080, 0123 as 83 and drop the + of +7...; not here.
    path = write(
        tmp_path,
        """\
        tenants:
          - name: acme
            domain: acme.example.com
            users: [{extension: 1000, password: 12345678}]
            voicemail_boxes: [{id: 1000, pin: 0123}]
            dids: [{number: +74951234567, destination: extension:1000}]
            time_conditions:
              - {name: h, timezone: UTC, hours: [{days: mon, from: 9:00, to: 18:00}],
                 holidays: [2026-01-07], open: hangup, closed: hangup}
        """,
    )
    tenant = load_center(path).tenant("acme")
    assert (tenant.users[0].extension, tenant.users[0].password) == ("1000", "12345678")
    assert tenant.voicemail_boxes[0].pin == "0123"
    assert tenant.dids[0].number == "+74951234567"
    hours = tenant.time_conditions[0].hours[0]
    assert (hours.from_, hours.to) == ("09:00", "18:00")
    assert tenant.time_conditions[0].holidays[0].date == dt.date(2026, 1, 7)
    path = write(
        tmp_path, TENANT.replace("queues:", "voicemail_boxes: [{id: x, pin: '1'}]\n    queues:")
    )
    assert problems(path) == [
        f"{path}:6: tenants.0.voicemail_boxes.0.pin: '1' is not a PIN (4 to 10 digits)"
    ]


def business_hours() -> TimeCondition:
    return TimeCondition.model_validate(
        {
            "name": "business_hours",
            "timezone": "Europe/Moscow",
            "hours": [
                {"days": "mon-fri", "from": "09:00", "to": "18:00"},
                {"days": ["sat"], "from": "10:00", "to": "14:00"},
            ],
            "holidays": ["2026-01-01", {"date": "2026-05-11", "name": "Victory Day (moved)"}],
            "open": "ivr:main",
            "closed": "voicemail:general",
        }
    )


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (dt.datetime(2026, 3, 2, 10, 0), True),  # Monday morning
        (dt.datetime(2026, 3, 2, 8, 59), False),
        (dt.datetime(2026, 3, 2, 18, 0), False),  # "to" is the first closed minute
        (dt.datetime(2026, 3, 7, 13, 59), True),  # Saturday's short day
        (dt.datetime(2026, 3, 8, 12, 0), False),  # Sunday
        (dt.datetime(2026, 1, 1, 12, 0), False),  # a Thursday, but a holiday
        (dt.datetime(2026, 5, 11, 12, 0), False),
    ],
)
def test_time_condition_in_its_own_timezone(moment: dt.datetime, is_open: bool) -> None:
    condition = business_hours()
    local = moment.replace(tzinfo=ZoneInfo("Europe/Moscow"))
    assert condition.is_open(local) is is_open
    # The same instant seen from UTC (Moscow is UTC+3) gives the same answer.
    assert condition.is_open(local.astimezone(dt.UTC)) is is_open
    expected = "ivr:main" if is_open else "voicemail:general"
    assert str(condition.destination_at(local)) == expected


def test_days_are_read_in_every_form() -> None:
    def days(value: object) -> tuple[Weekday, ...]:
        return Hours.model_validate({"days": value, "from": "09:00", "to": "10:00"}).days

    assert [d.value for d in days("mon-fri")] == ["mon", "tue", "wed", "thu", "fri"]
    assert [d.value for d in days("fri-mon")] == ["mon", "fri", "sat", "sun"]  # wraps
    assert [d.value for d in days(["Sunday", "mon,wed"])] == ["mon", "wed", "sun"]
    hours = Hours.model_validate({"days": "mon-fri", "from": "9:00", "to": "24:00"})
    assert (hours.from_, hours.to, hours.freeswitch_wday) == ("09:00", "24:00", "2,3,4,5,6")
    with pytest.raises(ValidationError, match="'someday' is not a day"):
        days("someday")
    with pytest.raises(ValidationError, match="is not a time of day HH:MM"):
        Hours.model_validate({"days": "mon", "from": "25:00", "to": "26:00"})


def test_gateway_parameters() -> None:
    gateway = Gateway.model_validate(
        {
            "name": "sipnet",
            "proxy": "sipnet.ru:5060",
            "username": "0012345678",
            "password": "secret",
            "from_domain": "sipnet.ru",
            "channels": 30,
            "params": {"ping": "30", "extension-in-contact": "true"},
            "strip_digits": 1,
            "add_prefix": "8",
        }
    )
    assert gateway.sofia_params() == {
        "proxy": "sipnet.ru:5060",
        "username": "0012345678",
        "password": "secret",
        "register": "true",
        "from-domain": "sipnet.ru",
        "expire-seconds": "3600",
        "retry-seconds": "30",
        "caller-id-in-from": "false",
        "ping": "30",
        "extension-in-contact": "true",
    }
    assert gateway.dial_number("74951234567") == "84951234567"
    with pytest.raises(ValidationError) as info:
        Gateway.model_validate(
            {"name": "g", "proxy": "h", "channels": 1, "params": {"proxy": "x", "Bad_Key": "y"}}
        )
    assert "'Bad_Key' is not a sofia parameter name" in str(info.value)
    with pytest.raises(ValidationError) as info:
        Gateway.model_validate({"name": "g", "proxy": "h", "channels": 1, "params": {"proxy": "x"}})
    text = str(info.value)
    assert "username: needed when register is true" in text
    assert "params.proxy: set it with the gateway's field 'proxy'" in text

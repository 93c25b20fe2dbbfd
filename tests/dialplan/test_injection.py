"""Values from the center file never become FreeSWITCH syntax: XML, variables, API calls.

A center whose free-text values hold ``<``, ``&``, quotes, ``${hangup}``, ``$${x}`` and a
backslash renders XML that parses, no raw file holds ``$${`` (the load-time pre-processor), and
each value comes back intact where FreeSWITCH reads it: after the XML parser, and after as many
rounds of variable expansion as FreeSWITCH gives that place (``tests/dialplan/fsmodel.py``),
none of which finds a variable to expand.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from callcenter.center import Center, load_center
from callcenter.dialplan.environment import TemplateValueError, fsdata, fsliteral, fsvar
from callcenter.dialplan.render import PUBLIC_FILE, RenderError, render_center
from tests.dialplan.fsmodel import Expansion, fs_expand

NASTY = "<A & B> \"quoted\" 'single' ${hangup} $${x} \\${y} C:\\path $5"


def nasty(tag: str) -> str:
    return f"{tag}: {NASTY}"


def _center_data() -> dict[str, Any]:
    return {
        "tenants": [
            {
                "name": "acme",
                "domain": "acme.example.com",
                "users": [
                    {
                        "extension": "1000",
                        "password": nasty("password"),
                        "display_name": nasty("name"),
                        "voicemail": True,
                    }
                ],
                "voicemail_boxes": [
                    {
                        "id": "general",
                        "pin": "2468",
                        "email": "o'<&\"${x}$${y}@acme.example.com",
                        "greeting": nasty("vm greeting"),
                    }
                ],
                "queues": [{"name": "support"}],
                "ivr_menus": [
                    {
                        "name": "main",
                        "greeting": nasty("greeting"),
                        "short_greeting": nasty("short"),
                        "invalid_sound": nasty("invalid"),
                        "exit_sound": nasty("exit"),
                        "entries": {"1": "queue:support"},
                    }
                ],
                "time_conditions": [
                    {
                        "name": "hours",
                        "timezone": "Europe/Moscow",
                        "hours": [{"days": "mon-fri", "from": "09:00", "to": "18:00"}],
                        "holidays": [{"date": "2026-05-09", "name": nasty("holiday")}],
                        "open": "ivr:main",
                        "closed": "voicemail:general",
                    }
                ],
                "dids": [
                    {"number": "+74951234567", "destination": "time:hours", "label": nasty("did")}
                ],
                "gateways": [
                    {
                        "name": "trunk",
                        "proxy": "sip.example.com",
                        "username": nasty("user"),
                        "password": nasty("secret"),
                        "from_user": nasty("from"),
                        "channels": 2,
                        "params": {"ping": nasty("ping")},
                    }
                ],
                "outbound_routes": [
                    {"name": "all", "pattern": "^\\+?\\d{7,15}$", "gateways": ["trunk"]}
                ],
            }
        ]
    }


@pytest.fixture
def center(tmp_path: Path) -> Center:
    path = tmp_path / "center.yaml"
    path.write_text(yaml.safe_dump(_center_data(), allow_unicode=True), encoding="utf-8")
    return load_center(path)


def _find(files: dict[str, str], name: str, path: str) -> ElementTree.Element:
    element = ElementTree.fromstring(files[name]).find(path)
    assert element is not None, f"{name}: nothing at {path}"
    return element


def _set_value(data: str, name: str) -> str:
    """What ``set name=value`` stores: the runner expands the data, then ``set`` the value."""
    assigned, _, value = fs_expand(data).partition("=")
    assert assigned == name
    return fs_expand(value)


def test_free_text_comes_back_intact_where_freeswitch_reads_it(center: Center) -> None:
    files = render_center(center)
    for name, text in files.items():
        ElementTree.fromstring(text)  # well-formed
        assert "$${" not in text, f"{name}: the pre-processor would expand it"

    # Read as written (directory, gateway params): only the XML parser's unescaping.
    def value(name: str, path: str, attribute: str = "value") -> str:
        return _find(files, name, path).get(attribute, "")

    user = "directory/acme.xml", ".//user[@id='1000']"
    assert value(user[0], f"{user[1]}/params/param[@name='password']") == nasty("password")
    name = f"{user[1]}/variables/variable[@name='effective_caller_id_name']"
    assert value(user[0], name) == nasty("name")
    mailto = ".//user[@id='general']/params/param[@name='vm-mailto']"
    assert value(user[0], mailto) == "o'<&\"${x}$${y}@acme.example.com"
    gateway = "sip_profiles/external/callcenter_trunk.xml"
    for param, tag in [
        ("username", "user"),
        ("password", "secret"),
        ("from-user", "from"),
        ("ping", "ping"),
    ]:
        assert value(gateway, f"gateway/param[@name='{param}']") == nasty(tag), param

    # Expanded once (IVR sounds, playback).
    for attribute, tag in [
        ("greet-long", "greeting"),
        ("greet-short", "short"),
        ("invalid-sound", "invalid"),
    ]:
        assert fs_expand(value("ivr_menus/acme.xml", "menu", attribute)) == nasty(tag), attribute
    exit_sound = ".//extension[@name='cc_ivr_main']//action[3]"
    assert value("dialplan/acme.xml", exit_sound, "application") == "playback"
    assert fs_expand(value("dialplan/acme.xml", exit_sound, "data")) == nasty("exit")

    # ``set`` values: expanded twice.
    label = value(PUBLIC_FILE, ".//action[3]", "data")
    assert _set_value(label, "cc_did_label") == nasty("did")
    holiday = ".//extension[@name='cc_time_hours:holiday:2026-05-09']//action"
    assert _set_value(value("dialplan/acme.xml", holiday, "data"), "cc_holiday") == nasty("holiday")
    greeting = ".//extension[@name='cc_voicemail_general']//action[2]"
    assert _set_value(
        value("dialplan/acme.xml", greeting, "data"), "voicemail_greeting_path"
    ) == nasty("vm greeting")


def test_the_model_catches_what_escaping_prevents() -> None:
    """The checks above would see an unescaped value."""
    with pytest.raises(Expansion):
        fs_expand("label ${hangup}")
    with pytest.raises(Expansion):
        fs_expand(fs_expand(fsdata("label ${system(reboot)}")))  # escaped once, expanded twice
    assert fs_expand(fs_expand(str(fsvar("label ${system(reboot)}")))) == (
        "label ${system(reboot)}"
    )


@pytest.mark.parametrize(
    ("place", "field"),
    [
        (("dids", 0), "label"),
        (("users", 0), "display_name"),
        (("gateways", 0), "password"),
        (("ivr_menus", 0), "greeting"),
    ],
)
@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n", "\x00"])
def test_a_line_break_in_a_value_is_refused_by_its_place(
    center: Center, place: tuple[str, int], field: str, breaker: str
) -> None:
    # The loader refuses it; a Center changed in Python gets as far as the renderer.
    entry = getattr(center.tenants[0], place[0])[place[1]]
    setattr(entry, field, f"first{breaker}second")
    with pytest.raises(RenderError) as caught:
        render_center(center)
    where = f"tenants.0.{place[0]}.{place[1]}.{field}"
    assert caught.value.problems == [
        f"{where}: CR, LF or NUL in the value (a value on a switch is one line)"
    ]
    assert "first" not in str(caught.value)  # a password is never repeated


# What the center's values may hold: no control characters but tab (``one_line``), nothing XML
# cannot carry.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cn"), whitelist_characters="\t")
)


def _attribute(markup: str) -> str:
    """What the XML parser makes of a filter's output in an attribute."""
    assert "$${" not in markup  # the pre-processor sees the raw text
    return ElementTree.fromstring(f'<a v="{markup}"/>').get("v") or ""


@given(TEXT)
def test_each_filter_gives_back_the_value_at_its_level(text: str) -> None:
    assert _attribute(fsliteral(text)) == text
    assert fs_expand(_attribute(fsdata(text))) == text
    assert fs_expand(fs_expand(_attribute(fsvar(text)))) == text


def test_filters_refuse_line_breaks() -> None:
    for function in (fsdata, fsvar, fsliteral):
        with pytest.raises(TemplateValueError):
            function("a\nb")

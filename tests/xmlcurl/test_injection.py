"""Free text from the center never becomes FreeSWITCH syntax in an answer: the center of
``tests/dialplan/test_injection.py`` (``<``, ``&``, quotes, ``${hangup}``, ``$${x}``, backslashes
in every free-text field) is served as parseable XML that holds the rendered text byte for byte,
so each value comes back intact where FreeSWITCH reads it."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from callcenter.dialplan.render import PUBLIC_FILE
from tests.dialplan.fsmodel import fs_expand
from tests.dialplan.test_injection import _center_data, nasty
from tests.xmlcurl import fsrequests as fs
from tests.xmlcurl.helpers import Endpoint, element_text, section


@pytest.fixture
def center_file(tmp_path: Path) -> Path:
    """Overrides the package's center: the endpoint serves the nasty one."""
    path = tmp_path / "center.yaml"
    path.write_text(yaml.safe_dump(_center_data(), allow_unicode=True), encoding="utf-8")
    return path


def _only(element: ElementTree.Element, path: str) -> ElementTree.Element:
    found = element.find(path)
    assert found is not None, path
    return found


async def test_every_answer_parses_and_is_the_rendered_text(
    endpoint: Endpoint, files: dict[str, str]
) -> None:
    answers = {
        PUBLIC_FILE: await endpoint.fetch(fs.dialplan("public", "74951234567")),
        "dialplan/acme.xml": await endpoint.fetch(fs.dialplan("acme", "cc_time_hours")),
        "directory/acme.xml": await endpoint.fetch(fs.group_call("acme", "acme.example.com")),
        "ivr_menus/acme.xml": await endpoint.fetch(fs.ivr("acme_main")),
    }
    pieces = {
        PUBLIC_FILE: "extension",
        "dialplan/acme.xml": "context",
        "directory/acme.xml": "domain",
        "ivr_menus/acme.xml": "menu",
    }
    for path, document in answers.items():
        ElementTree.fromstring(document)  # well-formed
        assert "$${" not in document, f"{path}: the pre-processor would expand it"
        assert element_text(files[path], pieces[path]) in document, path
    # fsliteral's "$" as "&#36;" survived: the answer was not parsed and written again.
    assert "&#36;" in answers["directory/acme.xml"]


async def test_values_come_back_intact_where_freeswitch_reads_them(endpoint: Endpoint) -> None:
    public = section(await endpoint.fetch(fs.dialplan("public", "74951234567")), "dialplan")
    label = _only(public, ".//action[3]").get("data", "")
    assigned, _, value = fs_expand(label).partition("=")  # set: expanded twice
    assert (assigned, fs_expand(value)) == ("cc_did_label", nasty("did"))

    directory = section(await endpoint.fetch(fs.sip_auth("1000", "acme.example.com")), "directory")
    password = _only(directory, ".//user[@id='1000']/params/param[@name='password']")
    assert password.get("value") == nasty("password")  # read as written
    name = _only(directory, ".//variable[@name='effective_caller_id_name']")
    assert name.get("value") == nasty("name")

    ivr = section(await endpoint.fetch(fs.ivr("acme_main")), "configuration")
    menu = _only(ivr, ".//menu[@name='acme_main']")
    assert fs_expand(menu.get("greet-long", "")) == nasty("greeting")  # expanded once

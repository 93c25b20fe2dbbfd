"""The base configuration shipped for FreeSWITCH nodes is well-formed and consistent."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "freeswitch_conf"


def test_every_shipped_xml_file_parses() -> None:
    files = sorted(CONF.rglob("*.xml"))
    assert len(files) >= 3
    for file in files:
        ElementTree.parse(file)  # raises with the file's line on a broken one


def test_the_modules_cover_what_the_dialplans_use() -> None:
    root = ElementTree.parse(CONF / "autoload_configs" / "modules.conf.xml").getroot()
    loaded = {m.get("module") for m in root.iter("load")}
    # sofia for SIP, dptools for the applications, hash for channel limits, voicemail, music.
    wanted = {"mod_event_socket", "mod_sofia", "mod_dptools", "mod_hash", "mod_voicemail",
              "mod_dialplan_xml", "mod_local_stream", "mod_commands", "mod_loopback"}  # fmt: skip
    assert wanted <= loaded


def test_xml_curl_asks_for_the_sections_the_controller_serves() -> None:
    root = ElementTree.parse(CONF / "autoload_configs" / "xml_curl.conf.xml").getroot()
    url = next(p for p in root.iter("param") if p.get("name") == "gateway-url")
    assert set((url.get("bindings") or "").split("|")) == {"dialplan", "directory", "configuration"}


def test_the_sofia_profiles_fit_the_generated_files() -> None:
    internal = ElementTree.parse(CONF / "sip_profiles" / "internal.xml").getroot()
    params = {p.get("name"): p.get("value") for p in internal.iter("param")}
    # Each tenant registers in its own domain: nothing forces one domain on every phone.
    assert not {"force-register-domain", "force-register-db-domain"} & set(params)
    assert (params["challenge-realm"], params["auth-calls"]) == ("auto_from", "true")
    external = ElementTree.parse(CONF / "sip_profiles" / "external.xml").getroot()
    include = external.find("gateways/X-PRE-PROCESS")
    assert include is not None and include.get("data") == "external/*.xml"
    assert {p.get("name"): p.get("value") for p in external.iter("param")}["context"] == "public"

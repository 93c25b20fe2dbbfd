"""Each section FreeSWITCH fetches, asked for as mod_xml_curl asks, answered with exactly what
``render_center`` wrote for that part (the same text, so the same escaping), or "not found"."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from callcenter.dialplan.render import PUBLIC_FILE
from callcenter.xmlcurl import NOT_FOUND
from tests.dialplan.fsmodel import hunt
from tests.xmlcurl import fsrequests as fs
from tests.xmlcurl.helpers import Endpoint, element_text, is_not_found, same, section


def _root(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)


# -- dialplan -------------------------------------------------------------------------------------


async def test_public_context_is_the_dids_of_every_tenant(
    endpoint: Endpoint, files: dict[str, str]
) -> None:
    document = await endpoint.fetch(fs.dialplan("public", "74951234567"))
    contexts = section(document, "dialplan").findall("context")
    assert [c.get("name") for c in contexts] == ["public"]
    public = _root(files[PUBLIC_FILE])  # <include> of the extensions
    assert len(contexts[0]) == len(public) == 2
    assert all(same(a, b) for a, b in zip(contexts[0], public, strict=True))
    # The rendered text itself: every extension as the file holds it.
    for name in ("cc_did_74951234567", "cc_did_74997654321"):
        start = files[PUBLIC_FILE].index(f'<extension name="{name}"')
        end = files[PUBLIC_FILE].index("</extension>", start) + len("</extension>")
        assert files[PUBLIC_FILE][start:end] in document


@pytest.mark.parametrize("tenant", ["acme", "globex"])
async def test_tenant_context_is_the_rendered_context(
    endpoint: Endpoint, files: dict[str, str], tenant: str
) -> None:
    # After the DID's "transfer cc_ivr_main XML acme": the new profile is hunted in acme.
    document = await endpoint.fetch(fs.dialplan(tenant, "cc_ivr_main"))
    contexts = section(document, "dialplan").findall("context")
    assert [c.get("name") for c in contexts] == [tenant]
    rendered = files[f"dialplan/{tenant}.xml"]
    expected = _root(rendered).find("context")
    assert expected is not None
    assert same(contexts[0], expected)
    assert element_text(rendered, "context") in document


async def test_caller_context_when_there_is_no_hunt_profile(endpoint: Endpoint) -> None:
    document = await endpoint.fetch(fs.dialplan(None, "1000", caller_context="globex"))
    assert section(document, "dialplan").find("context[@name='globex']") is not None


async def test_hunt_context_wins_over_the_channel_s_context(endpoint: Endpoint) -> None:
    body = fs.dialplan("acme", "cc_ivr_main", caller_context="public")
    document = await endpoint.fetch(body)
    assert [c.get("name") for c in section(document, "dialplan")] == ["acme"]


async def test_names_are_matched_without_regard_to_case(endpoint: Endpoint) -> None:
    # As switch_xml_find_child does, in the answer and in the node's files alike.
    document = await endpoint.fetch(fs.dialplan("ACME", "1000"))
    assert [c.get("name") for c in section(document, "dialplan")] == ["acme"]
    menus = section(await endpoint.fetch(fs.ivr("Acme_Lonely")), "configuration")
    assert [m.get("name") for m in menus.iter("menu")] == ["acme_lonely"]


@pytest.mark.parametrize("context", ["default", "features", "public_extensions"])
async def test_a_context_this_center_does_not_have_is_not_found(
    endpoint: Endpoint, context: str
) -> None:
    # An answer without the context would end the call: mod_dialplan_xml does not go back to
    # its files once a binding answered.
    assert await endpoint.fetch(fs.dialplan(context, "1000")) == NOT_FOUND


async def test_no_dids_means_the_public_context_is_left_to_the_files(endpoint: Endpoint) -> None:
    endpoint.live.center.write_text(
        "tenants:\n  - {name: acme, domain: acme.example.com, users: "
        '[{extension: "1000", password: "acme-1000-Secret"}]}\n',
        encoding="utf-8",
    )
    assert await endpoint.live.reload()
    assert await endpoint.fetch(fs.dialplan("public", "74951234567")) == NOT_FOUND
    assert not is_not_found(await endpoint.fetch(fs.dialplan("acme", "1000")))


# -- directory ------------------------------------------------------------------------------------


async def test_sip_auth_gets_the_domain_with_that_user_only(
    endpoint: Endpoint, files: dict[str, str]
) -> None:
    document = await endpoint.fetch(fs.sip_auth("1001", "acme.example.com"))
    domains = section(document, "directory").findall("domain")
    assert [d.get("name") for d in domains] == ["acme.example.com"]
    assert [u.get("id") for u in domains[0].iter("user")] == ["1001"]
    rendered = files["directory/acme.xml"]
    expected = _root(rendered).find(".//user[@id='1001']")
    assert expected is not None
    served = domains[0].find(".//user[@id='1001']")
    assert served is not None and same(served, expected)
    password = served.find("params/param[@name='password']")
    assert password is not None and password.get("value") == "acme-1001-Secret"
    # The domain's own params (dial-string) come along: FreeSWITCH merges them into the user.
    file_domain = _root(rendered).find("domain")
    assert file_domain is not None
    for part in ("params", "groups/group"):
        a, b = domains[0].find(part), file_domain.find(part)
        assert a is not None and b is not None and a.attrib == b.attrib
    dial_string = domains[0].find("params/param[@name='dial-string']")
    file_dial_string = file_domain.find("params/param[@name='dial-string']")
    assert dial_string is not None and file_dial_string is not None
    assert same(dial_string, file_dial_string)
    start = rendered.index('<user id="1001">')
    assert rendered[start : rendered.index("</user>", start) + len("</user>")] in document


@pytest.mark.parametrize(
    "body",
    [
        fs.user_call("1000", "acme.example.com"),
        fs.sip_auth("1000", "ACME.example.com", method="INVITE"),
    ],
    ids=["user_call", "sip_auth INVITE, domain in upper case"],
)
async def test_other_user_lookups_get_their_user(endpoint: Endpoint, body: bytes) -> None:
    document = await endpoint.fetch(body)
    assert [u.get("id") for u in section(document, "directory").iter("user")] == ["1000"]


async def test_a_voicemail_box_that_is_nobody_s_phone_is_a_user_too(endpoint: Endpoint) -> None:
    # mod_voicemail looks its box up like a user (message-count, leaving a message).
    document = await endpoint.fetch(fs.sip_auth("general", "acme.example.com"))
    user = section(document, "directory").find(".//user[@id='general']")
    assert user is not None
    forbid = user.find("params/param[@name='sip-forbid-register']")
    assert forbid is not None and forbid.get("value") == "true"


@pytest.mark.parametrize(
    "body",
    [fs.group_call("acme", "acme.example.com"), fs.network_list("acme.example.com")],
    ids=["group_call", "network-list"],
)
async def test_a_domain_lookup_without_user_gets_the_whole_domain(
    endpoint: Endpoint, files: dict[str, str], body: bytes
) -> None:
    document = await endpoint.fetch(body)
    domain = section(document, "directory").find("domain")
    rendered = files["directory/acme.xml"]
    expected = _root(rendered).find("domain")
    assert domain is not None and expected is not None and same(domain, expected)
    assert element_text(rendered, "domain") in document


@pytest.mark.parametrize(
    "body",
    [
        fs.sip_auth("1999", "acme.example.com"),  # no such user
        fs.sip_auth("2000", "acme.example.com"),  # globex's user, not acme's
        fs.sip_auth("1000", "10.0.0.5"),  # vanilla's $${domain}: the node's own directory
        fs.sofia_all_domains(),  # <domain name="all"/>: answering would hide the node's domains
    ],
    ids=["unknown user", "other tenant's user", "other domain", "sofia start, all domains"],
)
async def test_directory_lookups_that_are_not_ours_are_not_found(
    endpoint: Endpoint, body: bytes
) -> None:
    assert await endpoint.fetch(body) == NOT_FOUND


# -- configuration --------------------------------------------------------------------------------


def _menus(document: str) -> list[ElementTree.Element]:
    configuration = section(document, "configuration").find("configuration")
    assert configuration is not None
    assert configuration.get("name") == "ivr.conf"
    menus = configuration.find("menus")
    assert menus is not None
    return list(menus)


async def test_ivr_conf_for_a_menu_holds_it_and_the_menus_it_opens(
    endpoint: Endpoint, files: dict[str, str]
) -> None:
    # acme_main opens acme_more (menu-sub), which opens acme_main again; acme_lonely is
    # nobody's sub-menu. The ivr application builds sub-menus from the same answer.
    document = await endpoint.fetch(fs.ivr("acme_main"))
    menus = _menus(document)
    assert [m.get("name") for m in menus] == ["acme_main", "acme_more"]
    rendered = _root(files["ivr_menus/acme.xml"])
    for menu in menus:
        expected = rendered.find(f"menu[@name='{menu.get('name')}']")
        assert expected is not None and same(menu, expected)
    assert element_text(files["ivr_menus/acme.xml"], "menu") in document

    lonely = _menus(await endpoint.fetch(fs.ivr("acme_lonely")))
    assert [m.get("name") for m in lonely] == ["acme_lonely"]


async def test_ivr_conf_without_a_menu_name_holds_every_tenant_s_menus(
    endpoint: Endpoint, files: dict[str, str]
) -> None:
    document = await endpoint.fetch(fs.configuration("ivr.conf"))
    names = [m.get("name") for m in _menus(document)]
    assert names == ["acme_main", "acme_more", "acme_lonely", "globex_main"]
    for path in ("ivr_menus/acme.xml", "ivr_menus/globex.xml"):
        for menu in _root(files[path]):
            start = files[path].index(f'<menu name="{menu.get("name")}"')
            end = files[path].index("</menu>", start) + len("</menu>")
            assert files[path][start:end] in document


@pytest.mark.parametrize(
    "body",
    [
        fs.ivr("demo_ivr"),  # vanilla's menu: the node's ivr.conf has it
        fs.configuration("sofia.conf", ("profile", "external")),  # profiles stay in the files
        fs.configuration("callcenter.conf"),
        fs.configuration("acl.conf"),
    ],
    ids=["vanilla menu", "sofia.conf", "callcenter.conf", "acl.conf"],
)
async def test_configuration_that_is_not_ours_is_not_found(endpoint: Endpoint, body: bytes) -> None:
    assert await endpoint.fetch(body) == NOT_FOUND


# -- one call through what was served -------------------------------------------------------------


async def test_a_did_call_is_routed_by_the_served_pieces_alone(endpoint: Endpoint) -> None:
    """The DID in public, the transfer into the tenant's context, the IVR menu it runs: each
    hop fetched as FreeSWITCH fetches it, routed as mod_dialplan_xml hunts."""
    public = section(await endpoint.fetch(fs.dialplan("public", "+74951234567")), "dialplan")
    actions = hunt(ElementTree.tostring(public, encoding="unicode"), "public", "+74951234567", {})
    assert actions[-1] == ("transfer", "cc_ivr_main XML acme")

    acme = section(await endpoint.fetch(fs.dialplan("acme", "cc_ivr_main")), "dialplan")
    actions = hunt(ElementTree.tostring(acme, encoding="unicode"), "acme", "cc_ivr_main", {})
    assert ("ivr", "acme_main") in actions

    menus = _menus(await endpoint.fetch(fs.ivr("acme_main")))
    main = next(m for m in menus if m.get("name") == "acme_main")
    sub = main.find("entry[@digits='9']")
    assert sub is not None and (sub.get("action"), sub.get("param")) == ("menu-sub", "acme_more")
    assert "acme_more" in [m.get("name") for m in menus]  # built from the same answer

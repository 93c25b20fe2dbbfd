"""POST bodies as mod_xml_curl sends them (FreeSWITCH 1.10).

``xml_url_fetch`` writes ``hostname=<switchname>&section=..&tag_name=..&key_name=..&key_value=..``
then ``switch_event_build_param_string`` adds every header of the lookup's ``REQUEST_PARAMS``
event in order: the name as it is, the value through ``switch_url_encode`` (bytes outside
``!$'()*,-./_~`` and alphanumerics as ``%XX``: a space is ``%20``, ``+`` is ``%2B``).

The headers per lookup follow the modules that make them: mod_dialplan_xml
(``switch_channel_event_set_data`` then the ``Hunt-`` caller profile), ``sofia_reg_parse_auth``
(``action=sip_auth``, then ``switch_xml_locate_user``'s ``key``, ``user``, ``domain``, ``ip``),
mod_dptools' ``ivr`` application (``Menu-Name`` then the channel).
"""

from __future__ import annotations

from urllib.parse import quote

SWITCHNAME = "fs1.example.net"
CORE_UUID = "5c1b6a1e-4a52-4f1e-9a55-0a3e6f9c2d10"
CHANNEL_UUID = "b7e1c2d4-93b0-4a6e-8f3f-2a1f3c9d8e77"


def fs_urlencode(value: str) -> str:
    """``switch_url_encode``: what is left as it is, the rest as ``%XX`` of its UTF-8 bytes."""
    return quote(value, safe="!$'()*,/")


def body(
    section: str, tag_name: str, key_name: str, key_value: str, *headers: tuple[str, str]
) -> bytes:
    basic = (
        f"hostname={SWITCHNAME}&section={section}&tag_name={tag_name}"
        f"&key_name={key_name}&key_value={key_value}"
    )
    params = "&".join(f"{name}={fs_urlencode(value)}" for name, value in headers)
    return f"{basic}&{params}".encode()


def _event(calling_file: str, function: str, line: int) -> list[tuple[str, str]]:
    return [
        ("Event-Name", "REQUEST_PARAMS"),
        ("Core-UUID", CORE_UUID),
        ("FreeSWITCH-Hostname", SWITCHNAME),
        ("FreeSWITCH-Switchname", SWITCHNAME),
        ("FreeSWITCH-IPv4", "10.0.0.5"),
        ("FreeSWITCH-IPv6", "::1"),
        ("Event-Date-Local", "2026-03-04 12:00:00"),
        ("Event-Date-GMT", "Wed, 04 Mar 2026 09:00:00 GMT"),
        ("Event-Date-Timestamp", "1772614800000000"),
        ("Event-Calling-File", calling_file),
        ("Event-Calling-Function", function),
        ("Event-Calling-Line-Number", str(line)),
        ("Event-Sequence", "5133"),
    ]


def _channel(
    context: str, destination: str, caller: str, caller_name: str
) -> list[tuple[str, str]]:
    """``switch_channel_event_set_data``: the channel, its caller profile, its variables."""
    return [
        ("Channel-State", "CS_ROUTING"),
        ("Channel-Call-State", "RINGING"),
        ("Channel-State-Number", "2"),
        ("Channel-Name", f"sofia/external/{caller}@203.0.113.10"),
        ("Unique-ID", CHANNEL_UUID),
        ("Call-Direction", "inbound"),
        ("Presence-Call-Direction", "inbound"),
        ("Channel-HIT-Dialplan", "true"),
        ("Channel-Call-UUID", CHANNEL_UUID),
        ("Answer-State", "ringing"),
        ("Caller-Direction", "inbound"),
        ("Caller-Logical-Direction", "inbound"),
        ("Caller-Username", caller),
        ("Caller-Dialplan", "XML"),
        ("Caller-Caller-ID-Name", caller_name),
        ("Caller-Caller-ID-Number", caller),
        ("Caller-Orig-Caller-ID-Name", caller_name),
        ("Caller-Orig-Caller-ID-Number", caller),
        ("Caller-Network-Addr", "203.0.113.10"),
        ("Caller-ANI", caller),
        ("Caller-Destination-Number", destination),
        ("Caller-Unique-ID", CHANNEL_UUID),
        ("Caller-Source", "mod_sofia"),
        ("Caller-Context", context),
        ("Caller-Channel-Name", f"sofia/external/{caller}@203.0.113.10"),
        ("Caller-Profile-Index", "1"),
        ("Caller-Profile-Created-Time", "1772614800000000"),
        ("Caller-Channel-Created-Time", "1772614800000000"),
        ("Caller-Screen-Bit", "true"),
        ("Caller-Privacy-Hide-Name", "false"),
        ("Caller-Privacy-Hide-Number", "false"),
        ("variable_direction", "inbound"),
        ("variable_uuid", CHANNEL_UUID),
        ("variable_session_id", "17"),
        ("variable_sip_from_user", caller),
        ("variable_sip_from_host", "203.0.113.10"),
        ("variable_sip_to_user", destination),
        ("variable_sip_req_uri", f"{destination}@10.0.0.5:5080"),
        ("variable_sip_user_agent", "Provider SBC 2.1 (+rfc3261)"),
        ("variable_sofia_profile_name", "external"),
        ("variable_caller_id_name", caller_name),
        ("variable_caller_id_number", caller),
    ]


def dialplan(
    context: str | None,
    destination: str,
    *,
    caller: str = "+74950001122",
    caller_name: str = "Ivan Ivanov",
    caller_context: str | None = None,
) -> bytes:
    """mod_dialplan_xml's lookup for a channel being routed in ``context`` (``Hunt-Context``;
    None leaves out the Hunt- profile, as a lookup by the channel alone would)."""
    headers = _event("mod_dialplan_xml.c", "dialplan_xml_locate", 627)
    headers += _channel(caller_context or context or "", destination, caller, caller_name)
    if context is not None:
        headers += [
            ("Hunt-Direction", "inbound"),
            ("Hunt-Username", caller),
            ("Hunt-Dialplan", "XML"),
            ("Hunt-Caller-ID-Name", caller_name),
            ("Hunt-Caller-ID-Number", caller),
            ("Hunt-Network-Addr", "203.0.113.10"),
            ("Hunt-ANI", caller),
            ("Hunt-Destination-Number", destination),
            ("Hunt-Unique-ID", CHANNEL_UUID),
            ("Hunt-Source", "mod_sofia"),
            ("Hunt-Context", context),
            ("Hunt-Channel-Name", f"sofia/external/{caller}@203.0.113.10"),
        ]
    return body("dialplan", "", "", "", *headers)


def sip_auth(user: str, domain: str, *, method: str = "REGISTER") -> bytes:
    """``sofia_reg_parse_auth``: a phone's REGISTER (or INVITE) challenged by the internal
    profile; FreeSWITCH looks up ``domain[name=<realm>]`` and the user in it by id."""
    headers = _event("sofia_reg.c", "sofia_reg_parse_auth", 2907)
    headers += [
        ("action", "sip_auth"),
        ("sip_profile", "internal"),
        ("sip_user_agent", "Yealink SIP-T46U 108.86.0.20"),
        ("sip_auth_username", user),
        ("sip_auth_realm", domain),
        ("sip_auth_nonce", "6d3b9f3e-1c1a-4c57-a6e3-4b1b6f0f9a1d"),
        ("sip_auth_uri", f"sip:{domain}"),
        ("sip_contact_user", user),
        ("sip_contact_host", "192.168.1.23"),
        ("sip_to_user", user),
        ("sip_to_host", domain),
        ("sip_via_protocol", "udp"),
        ("sip_from_user", user),
        ("sip_from_host", domain),
        ("sip_call_id", "0_2891542133@192.168.1.23"),
        ("sip_request_host", domain),
        ("sip_auth_qop", "auth"),
        ("sip_auth_cnonce", "0a4f113b"),
        ("sip_auth_nc", "00000001"),
        ("sip_auth_response", "6629fae49393a05397450978507c4ef1"),
        ("sip_auth_method", method),
        ("client_port", "5060"),
        ("key", "id"),
        ("user", user),
        ("domain", domain),
        ("ip", "192.168.1.23"),
    ]
    return body("directory", "domain", "name", domain, *headers)


def user_call(user: str, domain: str) -> bytes:
    """mod_dptools' ``user/<user>@<domain>`` endpoint (a bridge to a phone)."""
    headers = _event("mod_dptools.c", "user_outgoing_channel", 3751)
    headers += [
        ("as_channel", "true"),
        ("action", "user_call"),
        ("key", "id"),
        ("user", user),
        ("domain", domain),
    ]
    return body("directory", "domain", "name", domain, *headers)


def group_call(group: str, domain: str) -> bytes:
    """``group_call`` (switch_xml_locate_group): the whole domain, FreeSWITCH picks the group."""
    headers = _event("mod_dptools.c", "group_call_function", 1034)
    headers += [("action", "group_call"), ("group_name", group), ("domain", domain)]
    return body("directory", "domain", "name", domain, *headers)


def network_list(domain: str) -> bytes:
    """``switch_load_network_lists``: an ACL ``<node domain="...">`` builds a list from the
    domain's users."""
    headers = _event("switch_core.c", "switch_load_network_lists", 1448)
    headers += [("domain", domain), ("purpose", "network-list")]
    return body("directory", "domain", "name", domain, *headers)


def sofia_all_domains(profile: str = "external") -> bytes:
    """sofia at profile start, ``<domain name="all" parse="true"/>``: the whole directory
    section (no tag, no key) with ``purpose=gateways``."""
    headers = _event("sofia.c", "launch_sofia_worker_thread", 3240)
    headers += [("purpose", "gateways"), ("profile", profile)]
    return body("directory", "", "", "", *headers)


def configuration(name: str, *headers: tuple[str, str]) -> bytes:
    """``switch_xml_open_cfg(<name>)``: ``configuration[name=<name>]``."""
    event = _event("switch_xml.c", "switch_xml_open_cfg", 2425)
    return body("configuration", "configuration", "name", name, *event, *headers)


def ivr(menu: str) -> bytes:
    """mod_dptools' ``ivr <menu>``: ivr.conf with ``Menu-Name``, then the channel."""
    channel = _channel("acme", "cc_ivr_main", "+74950001122", "Ivan Ivanov")
    return configuration("ivr.conf", ("Menu-Name", menu), *channel)

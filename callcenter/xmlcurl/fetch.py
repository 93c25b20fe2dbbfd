"""What FreeSWITCH asks for: one mod_xml_curl request, read from its form-encoded body.

mod_xml_curl (``xml_url_fetch``) POSTs ``hostname``, ``section``, ``tag_name``, ``key_name`` and
``key_value`` first, then every header of the lookup's ``REQUEST_PARAMS`` event
(``switch_event_build_param_string``: names as they are, values URL-encoded): ``Event-Name``,
``Core-UUID``, ``FreeSWITCH-Hostname``..., then what the asking module added, e.g.

- dialplan (mod_dialplan_xml): the channel (``Caller-*``, ``variable_*``) and the caller
  profile being hunted (``Hunt-Context``, ``Hunt-Destination-Number``...);
  ``tag_name``/``key_name``/``key_value`` are empty;
- directory (``switch_xml_locate_user`` / ``_domain``): ``tag_name=domain``, ``key_name=name``,
  ``key_value=<domain>``, and ``action`` (``sip_auth``, ``user_call``, ``message-count``...),
  ``key`` (``id``), ``user``, ``domain``, ``purpose`` (``gateways``, ``network-list``);
- configuration (``switch_xml_open_cfg``): ``tag_name=configuration``, ``key_name=name``,
  ``key_value=<file>.conf``, plus e.g. ``Menu-Name`` from the ``ivr`` application.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

__all__ = ["FetchError", "FetchRequest", "parse_fetch"]


# The fields a log line shows besides the key (never a password or a channel variable).
_DESCRIBED = ("Hunt-Context", "Caller-Context", "action", "purpose", "user", "domain", "Menu-Name")


class FetchError(ValueError):
    """A request that is not one FreeSWITCH sends: a field missing, an unknown section."""


@dataclass(frozen=True)
class FetchRequest:
    """One lookup: the section and key FreeSWITCH will look for in the answer, and every other
    field it sent (``params``; the first of a repeated name wins)."""

    section: str
    tag_name: str
    key_name: str
    key_value: str
    params: Mapping[str, str]

    def get(self, name: str) -> str:
        """A field's value, ``""`` when it was not sent."""
        return self.params.get(name, "")

    def describe(self) -> str:
        """The request in a log line: its key and the fields it is answered by."""
        parts = [f"section={self.section}"]
        if self.key_value:
            parts.append(f"{self.tag_name}[{self.key_name}]={self.key_value}")
        for name in _DESCRIBED:
            if self.get(name):
                parts.append(f"{name}={self.get(name)}")
        return " ".join(parts)


def parse_fetch(body: bytes) -> FetchRequest:
    """The request in a mod_xml_curl POST body; ``FetchError`` if it names no section.

    Values that are not UTF-8 (a caller name in another encoding) are read with replacement
    characters: nothing is looked up by them."""
    params: dict[str, str] = {}
    text = body.decode("utf-8", errors="replace")
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        params.setdefault(name, value)
    section = params.get("section", "")
    if not section:
        raise FetchError("no section field")
    return FetchRequest(
        section=section,
        tag_name=params.get("tag_name", ""),
        key_name=params.get("key_name", ""),
        key_value=params.get("key_value", ""),
        params=params,
    )

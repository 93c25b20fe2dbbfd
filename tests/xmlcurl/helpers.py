"""The test center, a client of the endpoint, and ways to read its answers."""

from __future__ import annotations

import base64
import textwrap
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import aiohttp

from callcenter.xmlcurl import LiveConfig, XmlCurlServer

USERNAME = "freeswitch"
PASSWORD = "s3cret-xml"

# Two tenants; acme's main menu opens a sub-menu that opens main again, "lonely" stands alone.
# The DID label holds every character XML and FreeSWITCH would read as syntax.
CENTER = """\
tenants:
  - name: acme
    domain: acme.example.com
    users:
      - {extension: "1000", password: "acme-1000-Secret", display_name: "Anna", voicemail: true}
      - {extension: "1001", password: "acme-1001-Secret", display_name: "Boris Ivanov"}
    voicemail_boxes:
      - {id: general, pin: "2468"}
    queues: [{name: support}, {name: sales}]
    ivr_menus:
      - name: main
        greeting: acme/main.wav
        entries: {"1": "queue:sales", "2": "queue:support", "9": "ivr:more"}
      - name: more
        greeting: acme/more.wav
        entries: {"1": "extension:1000", "9": "ivr:main"}
      - name: lonely
        greeting: acme/lonely.wav
        entries: {"1": "hangup"}
    dids:
      - {number: "+74951234567", destination: "ivr:main", label: "Spring <&\\"'${x} $${y}"}
  - name: globex
    domain: globex.example.com
    users:
      - {extension: "2000", password: "globex-2000-Secret", display_name: "Grace Hopper"}
    ivr_menus:
      - name: main
        greeting: globex/main.wav
        entries: {"1": "extension:2000"}
    dids:
      - {number: "+74997654321", destination: "extension:2000", label: "Website"}
"""


def basic(username: str, password: str) -> str:
    """The ``Authorization`` header curl sends for ``gateway-credentials`` user:password."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def write_center(folder: Path, text: str = CENTER) -> Path:
    path = folder / "center.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@dataclass
class Endpoint:
    server: XmlCurlServer
    session: aiohttp.ClientSession

    @property
    def live(self) -> LiveConfig:
        return self.server.live

    @property
    def base(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    async def post(
        self, body: bytes, authorization: str | None = None, path: str = "/freeswitch/xml"
    ) -> tuple[int, str]:
        """POST as mod_xml_curl does (form content type, basic auth): status and text.
        ``authorization``: the header to send instead of the right credentials ("": none)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if authorization is None:
            authorization = basic(USERNAME, PASSWORD)
        if authorization:
            headers["Authorization"] = authorization
        async with self.session.post(self.base + path, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def fetch(self, body: bytes) -> str:
        """A fetch that must succeed (200): the document."""
        status, text = await self.post(body)
        assert status == 200, text
        return text


def section(document: str, name: str) -> ElementTree.Element:
    """The document's one section, which must be ``name``."""
    root = ElementTree.fromstring(document)
    assert root.tag == "document"
    assert root.get("type") == "freeswitch/xml"
    sections = root.findall("section")
    assert [s.get("name") for s in sections] == [name], document
    return sections[0]


def is_not_found(document: str) -> bool:
    """FreeSWITCH's "use your files" answer (``switch_xml_locate``)."""
    result = ElementTree.fromstring(document).find("section[@name='result']/result")
    return result is not None and result.get("status") == "not found"


def same(a: ElementTree.Element, b: ElementTree.Element) -> bool:
    """The same element as the XML parser reads it: tag, attributes, children (whitespace
    between elements aside)."""
    return (
        a.tag == b.tag
        and a.attrib == b.attrib
        and (a.text or "").strip() == (b.text or "").strip()
        and len(a) == len(b)
        and all(same(x, y) for x, y in zip(a, b, strict=True))
    )


def element_text(text: str, tag: str) -> str:
    """The raw text of the first ``<tag ...>...</tag>`` in a rendered file."""
    start = text.index(f"<{tag} ")
    end = text.index(f"</{tag}>", start) + len(f"</{tag}>")
    return text[start:end]

"""The rendered files, cut into the pieces FreeSWITCH fetches, and the answer to one fetch.

``RenderedConfig.from_files(render_center(center))`` indexes what the push would write:

- dialplan: every ``<context>`` of ``dialplan/<tenant>.xml``, and the ``public`` context made of
  what ``dialplan/public/00_callcenter.xml`` puts inside the vanilla public context (the DIDs);
- directory: every ``<domain>`` of ``directory/<tenant>.xml`` and the ``<user>`` elements in it;
- configuration: every ``<menu>`` of ``ivr_menus/<tenant>.xml``, for ``ivr.conf``.

Every piece is the rendered text itself (``rawxml``), so an answer holds exactly what the
pushed files would: the same templates, the same escaping.

What FreeSWITCH does with an answer (``switch_xml_locate``): a ``<section name="result">`` with
``<result status="not found"/>`` sends it on to its own files; any other answer is searched for
``tag_name[key_name=key_value]`` in the section, and for the dialplan mod_dialplan_xml then
looks for the hunted context in it *without* going back to the files. So the dialplan answer is
exactly one context, and a context, domain, user or menu this center does not have is answered
"not found", never with an empty section. Names are matched without regard to case, as
``switch_xml_find_child`` matches them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from callcenter.dialplan.render import PUBLIC_FILE, RenderError
from callcenter.xmlcurl.fetch import FetchError, FetchRequest
from callcenter.xmlcurl.rawxml import Element, XmlShapeError, parse_elements

__all__ = [
    "IVR_CONF",
    "NOT_FOUND",
    "PUBLIC_CONTEXT",
    "RenderedConfig",
    "document",
]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'

# FreeSWITCH's "nothing here, use your files" answer.
NOT_FOUND = (
    _DECLARATION + '<document type="freeswitch/xml">\n'
    '  <section name="result">\n'
    '    <result status="not found"/>\n'
    "  </section>\n"
    "</document>\n"
)

PUBLIC_CONTEXT = "public"
IVR_CONF = "ivr.conf"


def document(section: str, body: str) -> str:
    """A ``freeswitch/xml`` document holding ``body`` (XML text) in ``section``."""
    return (
        _DECLARATION + '<document type="freeswitch/xml">\n'
        f'  <section name="{section}">\n'
        f"{body}\n"
        "  </section>\n"
        "</document>\n"
    )


@dataclass(frozen=True)
class _User:
    attrib: Mapping[str, str]
    start: int  # in the domain's text
    end: int


@dataclass(frozen=True)
class _Domain:
    text: str  # the <domain> element as rendered
    users: tuple[_User, ...]


@dataclass(frozen=True)
class _Menu:
    text: str  # the <menu> element as rendered
    submenus: tuple[str, ...]  # the menus its menu-sub entries open


@dataclass(frozen=True)
class RenderedConfig:
    """What the endpoint serves: pieces of the rendered files by the name FreeSWITCH asks for."""

    # By name in lower case:
    contexts: Mapping[str, str]  # context -> <context> element
    domains: Mapping[str, _Domain]  # domain -> <domain>
    menus: Mapping[str, _Menu]  # menu in ivr.conf -> <menu>, in the order rendered

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> RenderedConfig:
        """Index ``render_center``'s files; ``RenderError`` when one is not of the shape this
        needs (a template of an integrator's may put anything in them)."""
        problems: list[str] = []
        contexts: dict[str, str] = {}
        domains: dict[str, _Domain] = {}
        menus: dict[str, _Menu] = {}

        def claim(kind: str, names: Mapping[str, object], name: str, path: str) -> bool:
            """Whether ``name`` (lower case) is free in ``names``; a problem if not."""
            if not name:
                problems.append(f"{path}: a <{kind}> without a name")
                return False
            if name in names:
                problems.append(f"{path}: {kind} {name!r} is rendered twice")
                return False
            return True

        for path, text in sorted(files.items()):
            folder = path.split("/", 1)[0]
            if folder not in ("dialplan", "directory", "ivr_menus"):
                continue  # sofia gateways: sofia.conf stays with the node's files
            try:
                root = parse_elements(text)
            except XmlShapeError as exc:
                problems.append(f"{path}: not well-formed XML: {exc}")
                continue
            if path == PUBLIC_FILE:
                if root.find_all("extension") and claim("context", contexts, PUBLIC_CONTEXT, path):
                    inner = text[root.inner_start : root.inner_end]
                    contexts[PUBLIC_CONTEXT] = f'<context name="{PUBLIC_CONTEXT}">{inner}</context>'
            elif folder == "dialplan":
                for element in root.find_all("context"):
                    name = element.attrib.get("name", "").lower()
                    if claim("context", contexts, name, path):
                        contexts[name] = text[element.start : element.end]
            elif folder == "directory":
                for element in root.find_all("domain"):
                    name = element.attrib.get("name", "").lower()
                    if claim("domain", domains, name, path):
                        domains[name] = _domain(text, element)
            else:
                for element in root.find_all("menu"):
                    name = element.attrib.get("name", "").lower()
                    if claim("menu", menus, name, path):
                        menus[name] = _menu(text, element)
        if problems:
            raise RenderError(problems)
        return cls(contexts, domains, menus)

    def lookup(self, request: FetchRequest) -> str | None:
        """The answer document, or None when this center has nothing for the request (the
        node's own files answer it). ``FetchError`` for a request FreeSWITCH does not make."""
        if request.section == "dialplan":
            return self._dialplan(request)
        if request.section == "directory":
            return self._directory(request)
        if request.section == "configuration":
            return self._configuration(request)
        raise FetchError(f"section {request.section!r} is not served here")

    def _dialplan(self, request: FetchRequest) -> str | None:
        # mod_dialplan_xml hunts the context of the caller profile it was given (Hunt-*);
        # Caller-* is the channel's current profile, the same one on a normal lookup.
        context = request.get("Hunt-Context") or request.get("Caller-Context")
        if not context:
            raise FetchError("dialplan lookup without Hunt-Context or Caller-Context")
        text = self.contexts.get(context.lower())
        return None if text is None else document("dialplan", text)

    def _directory(self, request: FetchRequest) -> str | None:
        if not request.tag_name:
            # The whole section (sofia's <domain name="all"> at start, purpose=gateways):
            # answering it would hide the node's own domains, so the node's files answer.
            return None
        if (request.tag_name, request.key_name) != ("domain", "name") or not request.key_value:
            raise FetchError(
                f"directory lookup of {request.tag_name}[{request.key_name}="
                f"{request.key_value}]: FreeSWITCH asks for domain[name=<domain>]"
            )
        domain = self.domains.get(request.key_value.lower())
        if domain is None:
            return None
        wanted = request.get("user").lower()
        if not wanted:  # group_call, network-list, purpose=gateways: the whole domain
            return document("directory", domain.text)
        # switch_xml_locate_user: by the attribute named in "key" (id, the usual one, also
        # matches number-alias).
        key = request.get("key") or "id"
        found = next(
            (
                user
                for user in domain.users
                if user.attrib.get(key, "").lower() == wanted
                or (key == "id" and user.attrib.get("number-alias", "").lower() == wanted)
            ),
            None,
        )
        if found is None:
            return None
        others = [(user.start, user.end) for user in domain.users if user is not found]
        return document("directory", _cut(domain.text, others))

    def _configuration(self, request: FetchRequest) -> str | None:
        if (request.tag_name, request.key_name) != ("configuration", "name") or not (
            request.key_value
        ):
            raise FetchError(
                f"configuration lookup of {request.tag_name}[{request.key_name}="
                f"{request.key_value}]: FreeSWITCH asks for configuration[name=<file>.conf]"
            )
        if request.key_value != IVR_CONF:
            return None  # sofia.conf and the rest stay with the node's files
        wanted = request.get("Menu-Name").lower()
        names = self._menu_tree(wanted) if wanted else list(self.menus)
        if not names:
            return None
        menus = "\n".join(f"    {self.menus[name].text}" for name in names)
        body = (
            f'<configuration name="{IVR_CONF}" description="IVR menus">\n'
            f"  <menus>\n{menus}\n  </menus>\n</configuration>"
        )
        return document("configuration", body)

    def _menu_tree(self, name: str) -> list[str]:
        """``name`` and every menu its menu-sub entries reach: the ivr application builds the
        sub-menus from the same answer (``switch_ivr_menu_stack_xml_build``)."""
        reached: set[str] = set()
        waiting = [name]
        while waiting:
            current = waiting.pop()
            if current in reached or current not in self.menus:
                continue
            reached.add(current)
            waiting.extend(self.menus[current].submenus)
        return [menu for menu in self.menus if menu in reached]


def _domain(text: str, element: Element) -> _Domain:
    users = tuple(
        _User(user.attrib, user.start - element.start, user.end - element.start)
        for user in element.find_all("user")
    )
    return _Domain(text[element.start : element.end], users)


def _menu(text: str, element: Element) -> _Menu:
    submenus = tuple(
        entry.attrib.get("param", "").lower()
        for entry in element.find_all("entry")
        if entry.attrib.get("action") == "menu-sub"
    )
    return _Menu(text[element.start : element.end], submenus)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` without the ``(start, end)`` pieces; a piece alone on its lines takes them
    along."""
    pieces: list[str] = []
    last = 0
    for start, end in sorted(spans):
        line_start = text.rfind("\n", 0, start) + 1
        if (
            line_start >= last
            and not text[line_start:start].strip()
            and text[end : end + 1] == "\n"
        ):
            start, end = line_start, end + 1
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)

"""Test helpers: FreeSWITCH's variable expansion, and a dialplan hunt, written from its C code.

``fs_expand`` follows ``switch_channel_expand_variables`` (switch_channel.c, 1.10): a string is
rewritten only when it holds ``${`` or a backslash escape (``switch_string_has_escaped_data``);
then ``\\\\`` is ``\\``, ``\\$`` a literal ``$``, ``\\'`` is dropped, and an unescaped ``${``
(or ``$${``) is a variable or an API call: ``Expansion`` is raised, the test has found one.

``hunt`` routes a destination through one context the way mod_dialplan_xml hunts (document
order, every condition of an extension must hold, ``$1``.. from the condition's own regex,
``inline="true"`` set at once, ``continue="true"``; a file of bare extensions is the context
it is included in), for the conditions the generated dialplans
use on numbers (fields and expressions; no time conditions).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import MutableMapping

from callcenter.sim.expand import has_escaped_data

__all__ = ["Expansion", "fs_expand", "hunt"]


class Expansion(AssertionError):
    """FreeSWITCH would expand a variable or call an API here."""


def fs_expand(text: str) -> str:
    if "${" not in text and not has_escaped_data(text):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        literal = False
        if text[i] == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                literal = True
                i += 1
                if i + 1 < len(text) and text[i + 1] == "$":
                    i += 1
            elif following == "'":
                i += 2
                continue
            elif following == "\\":
                out.append("\\")
                i += 2
                continue
        if text[i] == "$" and not literal:
            j = i + 1 if text[i + 1 : i + 2] == "$" else i
            if text[j + 1 : j + 2] == "{":
                raise Expansion(f"{text!r}: FreeSWITCH expands {text[i:]!r}")
            i = j
        out.append(text[i])
        i += 1
    return "".join(out)


def _substitute(data: str, captures: tuple[str, ...]) -> str:
    def repl(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return captures[index] if index < len(captures) else ""

    return re.sub(r"\$(\d)", repl, data)


def hunt(
    xml: str, context: str, destination: str, variables: MutableMapping[str, str]
) -> list[tuple[str, str]]:
    """The applications a call to ``destination`` runs in ``context`` (empty: no route)."""
    root = ElementTree.fromstring(xml)
    found = root.find(f"context[@name='{context}']")
    if found is None and root.find("extension") is not None:
        found = root  # a file of bare extensions (dialplan/public/*.xml): included in place
    assert found is not None, f"no context {context!r}"
    actions: list[tuple[str, str]] = []
    for extension in found.findall("extension"):
        matched = True
        collected: list[tuple[str, str]] = []
        for condition in extension.findall("condition"):
            assert not set(condition.attrib) - {"field", "expression", "break"}, condition.attrib
            field = condition.get("field")
            captures: tuple[str, ...] = ()
            if field is not None:
                if field == "destination_number":
                    value = destination
                else:
                    assert field.startswith("${") and field.endswith("}"), field
                    value = variables.get(field[2:-1], "")
                match = re.search(condition.get("expression", ""), value)
                if match is None:
                    matched = False
                    break
                captures = tuple(group or "" for group in match.groups())
            for action in condition.findall("action"):
                application = action.get("application", "")
                data = _substitute(action.get("data", ""), captures)
                if action.get("inline") == "true":
                    name, _, value = data.partition("=")
                    variables[name] = re.sub(
                        r"\$\{([^}]+)\}", lambda m: variables.get(m.group(1), ""), value
                    )
                else:
                    collected.append((application, data))
        if matched:
            actions.extend(collected)
            if extension.get("continue") != "true":
                break
    return actions

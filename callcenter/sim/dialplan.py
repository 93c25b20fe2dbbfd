"""A small FreeSWITCH XML dialplan engine: contexts, extensions, conditions, actions.

Reads the same XML a real node reads (``<include>``/``<context>``/``<extension>``/
``<condition field= expression=>``/``<action application= data=>``/``<anti-action>``), so the
dialplans the project generates can be routed end to end in tests. Supported: regular
expressions with ``$1``.. captures, ``${var}`` expansion, nested conditions (all must match),
``continue="true"`` on extensions, ``break="on-true|on-false|always|never"`` on conditions.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Action", "Dialplan", "DialplanError", "Extension", "expand_variables"]

DEFAULT_DIALPLAN = """<include>
  <context name="captures">
    <extension name="answer_tone_park">
      <condition field="destination_number" expression="^4701$">
        <action application="answer"/>
        <action application="playback" data="tone_stream://%(1000,0,440)"/>
        <action application="park"/>
      </condition>
    </extension>
    <extension name="outbound_socket">
      <condition field="destination_number" expression="^4702$">
        <action application="socket" data="127.0.0.1:8084 async full"/>
      </condition>
    </extension>
    <extension name="agent_phone">
      <condition field="destination_number" expression="^4710$">
        <action application="sleep" data="1000"/>
        <action application="answer"/>
        <action application="playback" data="tone_stream://%(3000,0,350)"/>
        <action application="park"/>
      </condition>
    </extension>
    <extension name="park_only">
      <condition field="destination_number" expression="^4704$">
        <action application="park"/>
      </condition>
    </extension>
  </context>
  <context name="default">
    <extension name="park_only">
      <condition field="destination_number" expression="^(park|4704)$">
        <action application="park"/>
      </condition>
    </extension>
    <extension name="echo">
      <condition field="destination_number" expression="^9196$">
        <action application="answer"/>
        <action application="echo"/>
      </condition>
    </extension>
  </context>
  <context name="public">
    <extension name="sipp_tone_hangup">
      <condition field="destination_number" expression="^4705$">
        <action application="answer"/>
        <action application="playback" data="tone_stream://%(10000,0,440)"/>
        <action application="hangup" data="NORMAL_CLEARING"/>
      </condition>
    </extension>
  </context>
</include>
"""


class DialplanError(Exception):
    """The dialplan XML cannot be used (the message names the file and the problem)."""


@dataclass(frozen=True)
class Action:
    application: str
    data: str = ""
    anti: bool = False


@dataclass
class _Condition:
    field: str | None
    expression: str | None
    regex: re.Pattern[str] | None
    actions: list[Action]
    anti_actions: list[Action]
    brk: str = "on-false"


@dataclass
class Extension:
    name: str
    conditions: list[_Condition]
    continue_on_match: bool = False


@dataclass
class Dialplan:
    contexts: dict[str, list[Extension]] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Dialplan:
        plan = cls()
        plan.load_string(DEFAULT_DIALPLAN, "<built-in>")
        return plan

    @classmethod
    def from_dir(cls, folder: Path, include_default: bool = True) -> Dialplan:
        plan = cls.default() if include_default else cls()
        files = sorted(folder.rglob("*.xml"))
        for file in files:
            plan.load_string(file.read_text(encoding="utf-8"), str(file))
        return plan

    def load_string(self, text: str, source: str, default_context: str = "public") -> None:
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError as exc:
            raise DialplanError(f"{source}: not well-formed XML: {exc}") from exc
        contexts = [root] if root.tag == "context" else list(root.iter("context"))
        if not contexts and root.tag in ("include", "extension"):
            # A file of bare extensions (like dialplan/public/*.xml) joins the public context.
            extensions = [root] if root.tag == "extension" else root.findall("extension")
            self.contexts.setdefault(default_context, []).extend(
                self._extension(e, source) for e in extensions
            )
            return
        for ctx in contexts:
            name = ctx.get("name")
            if not name:
                raise DialplanError(f"{source}: <context> without a name")
            self.contexts.setdefault(name, []).extend(
                self._extension(e, source) for e in ctx.findall("extension")
            )

    @staticmethod
    def _extension(node: ElementTree.Element, source: str) -> Extension:
        name = node.get("name", "")
        conditions = []
        for cond in node.iter("condition"):
            expression = cond.get("expression")
            regex = None
            if expression is not None:
                try:
                    regex = re.compile(expression)
                except re.error as exc:
                    raise DialplanError(
                        f"{source}: extension {name!r}: bad expression {expression!r}: {exc}"
                    ) from exc
            conditions.append(
                _Condition(
                    cond.get("field"),
                    expression,
                    regex,
                    [
                        Action(a.get("application", ""), a.get("data", ""))
                        for a in cond.findall("action")
                    ],
                    [
                        Action(a.get("application", ""), a.get("data", ""), anti=True)
                        for a in cond.findall("anti-action")
                    ],
                    cond.get("break", "on-false"),
                )
            )
        return Extension(name, conditions, node.get("continue", "false") == "true")

    def route(self, context: str, fields: Callable[[str], str | None]) -> list[Action] | None:
        """Actions for a call, or None when nothing matched (NO_ROUTE_DESTINATION)."""
        extensions = self.contexts.get(context)
        if not extensions:
            return None
        found: list[Action] = []
        matched_any = False
        for ext in extensions:
            actions, matched = self._match(ext, fields)
            found.extend(actions)
            if matched:
                matched_any = True
                if not ext.continue_on_match:
                    break
        return found if matched_any else None

    @staticmethod
    def _match(ext: Extension, fields: Callable[[str], str | None]) -> tuple[list[Action], bool]:
        actions: list[Action] = []
        all_true = True
        for cond in ext.conditions:
            captures: tuple[str, ...] = ()
            if cond.field is None or cond.regex is None:
                ok = True
            else:
                value = fields(cond.field)
                match = cond.regex.search(value or "")
                ok = match is not None
                if match is not None:
                    captures = tuple(g or "" for g in match.groups())
            if ok:
                actions.extend(_substitute(a, captures) for a in cond.actions)
            else:
                all_true = False
                actions.extend(cond.anti_actions)
            if (ok and cond.brk == "on-true") or (not ok and cond.brk == "on-false"):
                break
            if cond.brk == "always":
                break
        return (actions if all_true or any(a.anti for a in actions) else []), all_true


def _substitute(action: Action, captures: tuple[str, ...]) -> Action:
    if "$" not in action.data or not captures:
        return action

    def repl(m: re.Match[str]) -> str:
        index = int(m.group(1)) - 1
        return captures[index] if 0 <= index < len(captures) else ""

    return Action(action.application, re.sub(r"\$(\d)", repl, action.data), action.anti)


_VAR = re.compile(r"\$\{([^}]+)\}")


def expand_variables(text: str, lookup: Mapping[str, str] | Callable[[str], str | None]) -> str:
    """``${name}`` from the channel (or globals); unknown names expand to empty."""
    if "${" not in text:
        return text
    get = lookup.get if isinstance(lookup, Mapping) else lookup
    return _VAR.sub(lambda m: get(m.group(1)) or "", text)

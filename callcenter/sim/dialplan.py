"""A small FreeSWITCH XML dialplan engine: contexts, extensions, conditions, actions.

Reads the same XML a real node reads (``<include>``/``<context>``/``<extension>``/
``<condition field= expression=>``/``<action application= data=>``/``<anti-action>``), so the
dialplans the project generates can be routed end to end in tests. Supported:

- regular expressions with ``$1``.. captures, ``${var}`` in expressions and action data;
- ``continue="true"`` on extensions, ``break="on-true|on-false|always|never"`` on conditions,
  nested conditions (all must match);
- ``regex="all|any|xor"`` conditions with ``<regex field= expression=>`` children;
- time conditions: ``wday`` (1 = Sunday, or ``mon-fri``), ``hour``, ``minute``,
  ``minute-of-day``, ``time-of-day="08:00-17:30"``, ``mon``, ``mday``, ``year``, ``yday``,
  ``date-time="2026-12-31 18:00~2027-01-01 08:00"`` (ranges ``a-b`` and lists ``a,b``), in the
  switch's clock (``SwitchCore.clock``, settable in tests), optionally with ``tz="Europe/..."``;
- ``inline="true"`` on ``set``/``export``/``unset`` actions: applied while routing, so later
  conditions see the variable (the action is not run again afterwards).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.sim.preprocess import XmlFileError, read_xml

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
    <extension name="queue_support">
      <condition field="destination_number" expression="^4703$">
        <action application="answer"/>
        <action application="set" data="hangup_after_bridge=true"/>
        <action application="callcenter" data="support@default"/>
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
    <extension name="sipp_queue">
      <condition field="destination_number" expression="^4703$">
        <action application="transfer" data="4703 XML captures"/>
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
    inline: bool = False


@dataclass
class _Test:
    """One ``field``/``expression`` pair (a condition's own, or a ``<regex>`` child)."""

    field: str
    expression: str
    regex: re.Pattern[str] | None  # None when the expression holds ${vars}: compiled per call


@dataclass
class _Condition:
    field: str | None
    expression: str | None
    regex: re.Pattern[str] | None
    actions: list[Action]
    anti_actions: list[Action]
    brk: str = "on-false"
    tests: list[_Test] = dataclasses.field(default_factory=list)
    mode: str = "all"  # regex="all|any|xor" over ``tests``
    times: dict[str, str] = dataclasses.field(default_factory=dict)
    tz: str | None = None


TIME_ATTRIBUTES = (
    "wday", "hour", "minute", "minute-of-day", "time-of-day", "mon", "mday", "year", "yday",
    "date-time",
)  # fmt: skip
_WDAYS = {"sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7}
Fields = Callable[[str], str | None]
SetVar = Callable[[str, str | None], None]


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
    def from_dir(
        cls,
        folder: Path,
        include_default: bool = True,
        variables: MutableMapping[str, str] | None = None,
    ) -> Dialplan:
        """The folder's dialplan (see ``load_folder``), then the built-in extensions.

        The folder's extensions come first so that they override built-in ones that match the
        same number (the built-in captures' 4702 dials port 8084, a test wants its own port).
        """
        plan = cls()
        plan.load_folder(folder, variables)
        if include_default:
            plan.load_string(DEFAULT_DIALPLAN, "<built-in>")
        return plan

    def load_folder(self, folder: Path, variables: MutableMapping[str, str] | None = None) -> None:
        """A ``conf/dialplan`` folder laid out as FreeSWITCH's vanilla configuration.

        ``*.xml`` in the folder first (sorted): ``<context>`` documents, or bare extensions that
        join ``public``; their ``<X-PRE-PROCESS cmd="include" data="public/*.xml"/>`` splice
        the included files in place. Then every ``<sub>/**.xml`` no file included: bare
        extensions join the context named like the sub-folder (``dialplan/acme/*.xml`` ->
        ``acme``), ``<context>`` documents define their own. ``variables``: what ``$${name}``
        expands to (``cmd="set"`` adds to it). Raises ``DialplanError`` naming the file that
        cannot be used.
        """
        if not folder.is_dir():
            return
        env: MutableMapping[str, str] = variables if variables is not None else {}
        used: set[Path] = set()
        try:
            for file in sorted(p for p in folder.glob("*.xml") if p.is_file()):
                if file.resolve() not in used:
                    self.load_string(read_xml(file, env, used), str(file))
            for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
                for file in sorted(p for p in sub.rglob("*.xml") if p.is_file()):
                    if file.resolve() not in used:
                        text = read_xml(file, env, used)
                        self.load_string(text, str(file), default_context=sub.name)
        except XmlFileError as exc:
            raise DialplanError(str(exc)) from exc

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

        def compiled(expression: str) -> re.Pattern[str] | None:
            if "${" in expression:
                return None
            try:
                return re.compile(expression)
            except re.error as exc:
                raise DialplanError(
                    f"{source}: extension {name!r}: bad expression {expression!r}: {exc}"
                ) from exc

        conditions = []
        for cond in node.iter("condition"):
            expression = cond.get("expression")
            tests = [
                _Test(
                    r.get("field", ""), r.get("expression", ""), compiled(r.get("expression", ""))
                )
                for r in cond.findall("regex")
            ]
            conditions.append(
                _Condition(
                    cond.get("field"),
                    expression,
                    compiled(expression) if expression is not None else None,
                    [_action(a) for a in cond.findall("action")],
                    [_action(a, anti=True) for a in cond.findall("anti-action")],
                    cond.get("break", "on-false"),
                    tests,
                    (cond.get("regex") or "all").lower(),
                    {k: cond.get(k, "") for k in TIME_ATTRIBUTES if cond.get(k) is not None},
                    cond.get("tz") or cond.get("tz-offset"),
                )
            )
        return Extension(name, conditions, node.get("continue", "false") == "true")

    def route(
        self,
        context: str,
        fields: Fields,
        *,
        now: datetime | None = None,
        set_var: SetVar | None = None,
    ) -> list[Action] | None:
        """Actions for a call, or None when nothing matched (NO_ROUTE_DESTINATION).

        ``now`` is the time the time conditions see; ``set_var`` applies inline actions.
        """
        extensions = self.contexts.get(context)
        if not extensions:
            return None
        found: list[Action] = []
        matched_any = False
        for ext in extensions:
            actions, matched = self._match(ext, fields, now or datetime.now(), set_var)
            found.extend(actions)
            if matched:
                matched_any = True
                if not ext.continue_on_match:
                    break
        # Like mod_dialplan_xml, a call is routed as soon as any action (anti-actions too) was
        # collected, even if no extension matched outright.
        return found if matched_any or found else None

    @staticmethod
    def _match(
        ext: Extension, fields: Fields, now: datetime, set_var: SetVar | None
    ) -> tuple[list[Action], bool]:
        actions: list[Action] = []
        all_true = True
        for cond in ext.conditions:
            ok, captures = _evaluate(cond, fields, now)
            if ok:
                for action in cond.actions:
                    action = _substitute(action, captures)
                    if action.inline and set_var is not None:
                        _run_inline(action, fields, set_var)
                    else:
                        actions.append(action)
            else:
                all_true = False
                actions.extend(cond.anti_actions)
            if (ok and cond.brk == "on-true") or (not ok and cond.brk == "on-false"):
                break
            if cond.brk == "always":
                break
        return (actions if all_true or any(a.anti for a in actions) else []), all_true


def _action(node: ElementTree.Element, anti: bool = False) -> Action:
    return Action(
        node.get("application", ""),
        node.get("data", ""),
        anti=anti,
        inline=node.get("inline", "false").lower() == "true",
    )


def _search(test: _Test, fields: Fields) -> re.Match[str] | None:
    regex = test.regex
    if regex is None:
        try:
            regex = re.compile(expand_variables(test.expression, fields))
        except re.error:
            return None
    value = fields(test.field)
    if test.field.startswith("${"):
        value = expand_variables(test.field, fields)
    return regex.search(value or "")


def _evaluate(cond: _Condition, fields: Fields, now: datetime) -> tuple[bool, tuple[str, ...]]:
    """Whether a condition holds, and the captures of its (last matching) expression."""
    captures: tuple[str, ...] = ()
    ok = True
    if cond.times:
        ok = _time_matches(cond.times, now, cond.tz)
    if cond.field is not None and cond.expression is not None:
        match = _search(_Test(cond.field, cond.expression, cond.regex), fields)
        ok = ok and match is not None
        if match is not None:
            captures = tuple(g or "" for g in match.groups())
    if cond.tests:
        results = []
        for test in cond.tests:
            match = _search(test, fields)
            results.append(match is not None)
            if match is not None:
                captures = tuple(g or "" for g in match.groups())
        if cond.mode == "any":
            ok = ok and any(results)
        elif cond.mode == "xor":
            ok = ok and sum(results) == 1
        else:
            ok = ok and all(results)
    return ok, captures


def _run_inline(action: Action, fields: Fields, set_var: SetVar) -> None:
    data = expand_variables(action.data, fields)
    app = action.application.lower()
    if app in ("set", "export"):
        name, _, value = data.partition("=")
        set_var(name.strip().removeprefix("nolocal:"), value)
    elif app == "unset":
        set_var(data.strip(), None)


def _in_ranges(value: int, spec: str, names: Mapping[str, int] | None = None) -> bool:
    """``1-5``, ``1,3,7``, ``mon-fri`` (FreeSWITCH's ranges for time conditions)."""

    def number(text: str) -> int:
        text = text.strip().lower()
        if names and text[:3] in names:
            return names[text[:3]]
        return int(text)

    for part in spec.split(","):
        if not part.strip():
            continue
        try:
            low, sep, high = part.partition("-")
            first = number(low)
            last = number(high) if sep else first
        except ValueError:
            continue
        if first <= last and first <= value <= last:
            return True
        if first > last and (value >= first or value <= last):  # wraps: fri-mon, 22-6
            return True
    return False


def _seconds(text: str) -> int:
    parts = [int(p) for p in text.strip().split(":")] + [0, 0]
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def _time_matches(times: dict[str, str], now: datetime, tz: str | None) -> bool:
    if tz:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            now = now.astimezone(ZoneInfo(tz))
    wday = (now.isoweekday() % 7) + 1  # FreeSWITCH: 1 = Sunday
    values = {
        "wday": wday,
        "hour": now.hour,
        "minute": now.minute,
        "minute-of-day": now.hour * 60 + now.minute + 1,
        "mon": now.month,
        "mday": now.day,
        "year": now.year,
        "yday": now.timetuple().tm_yday,
    }
    for name, spec in times.items():
        if name == "time-of-day":
            second = now.hour * 3600 + now.minute * 60 + now.second
            windows = [w.partition("-") for w in spec.split(",")]
            if not any(
                _seconds(a) <= second <= _seconds(b) if b else second == _seconds(a)
                for a, _, b in windows
            ):
                return False
        elif name == "date-time":
            first, _, last = spec.partition("~")
            try:
                start = datetime.fromisoformat(first.strip())
                end = datetime.fromisoformat(last.strip())
            except ValueError:
                return False
            if not start <= now.replace(tzinfo=None) <= end:
                return False
        elif not _in_ranges(values[name], spec, _WDAYS if name == "wday" else None):
            return False
    return True


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

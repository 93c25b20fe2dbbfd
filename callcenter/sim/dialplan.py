"""A FreeSWITCH XML dialplan engine: contexts, extensions, conditions, actions, hunted the way
mod_dialplan_xml (1.10) hunts them.

Reads the same XML a real node reads (``<include>``/``<context>``/``<extension>``/
``<condition field= expression=>``/``<action application= data=>``/``<anti-action>``), so the
dialplans the project generates can be routed end to end in tests:

- extensions are tried in document order (from the one named like the destination when the
  channel has ``auto_hunt=true``); an unknown context falls back to ``global``;
- an extension's conditions are evaluated in order. A condition holds when its ``field``
  matches its ``expression`` (a field holding ``$`` is expanded, any other is a caller-profile
  field), or, without a field, when its time attributes hold (none: it always holds); a field
  decides alone when both are there, as in FreeSWITCH. A condition that holds adds its
  actions, one that does not its anti-actions; ``break`` (``on-false`` by default,
  ``on-true``, ``always``, ``never``) says whether to stop there. What earlier conditions
  added stays added even when a later one fails: only whether the hunt goes on depends on the
  last condition evaluated (it "proceeds" when it held, or added anti-actions). A proceeding
  extension ends the hunt unless it has ``continue="true"``. The call is routed when any
  action was added at all;
- ``$1``..``$N`` in an action are the captures of its condition's expression (when the
  expression holds a parenthesis); an expression is variable-expanded before it is compiled;
- nested ``<condition>``s (``require-nested``), ``regex="all|any|xor"`` conditions with
  ``<regex field= expression=>`` children, ``loop`` on actions;
- time conditions: ``wday`` (1 = Sunday, or names: ``mon-fri``), ``hour``, ``minute``,
  ``minute-of-day``, ``time-of-day="08:00-17:30"`` (end excluded), ``mon``, ``mday``, ``year``,
  ``yday``, ``week``, ``mweek``, ``date-time="2026-12-31 18:00~2027-01-01 08:00"``,
  ``tz-offset`` (holds when the zone's UTC offset is that many hours), in the switch's clock
  (``SwitchCore.clock``, settable in tests) seen in the channel's ``timezone`` variable (an IANA
  name) or ``tod_tz_offset`` (hours), read for every condition: an inline ``set`` of it applies
  to the conditions after it. Without either, the clock as it is (a naive clock is the
  switch's local time);
- ``inline="true"`` actions run while routing (later conditions see what they set) and are not
  run again afterwards.
"""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callcenter.sim.expand import expand_variables, needs_expansion, switch_true
from callcenter.sim.preprocess import XmlFileError, read_xml

__all__ = [
    "Action",
    "Dialplan",
    "DialplanError",
    "Extension",
    "expand_variables",
    "time_matches",
]

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
    loop: int = 1


@dataclass
class _Test:
    """One ``field``/``expression`` pair of a ``regex=`` condition (a ``<regex>`` child)."""

    field: str | None
    expression: str
    regex: re.Pattern[str] | None  # None when the expression is expanded per call
    times: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass
class _Condition:
    field: str | None
    expression: str
    regex: re.Pattern[str] | None  # None when the expression is expanded per call
    actions: list[Action]
    anti_actions: list[Action]
    brk: str = "on-false"
    tests: list[_Test] = dataclasses.field(default_factory=list)
    mode: str | None = None  # the regex="all|any|xor" attribute
    times: dict[str, str] = dataclasses.field(default_factory=dict)
    children: list[_Condition] = dataclasses.field(default_factory=list)
    require_nested: bool = True


TIME_ATTRIBUTES = (
    "wday", "hour", "minute", "minute-of-day", "time-of-day", "mon", "mday", "year", "yday",
    "week", "mweek", "date-time", "tz-offset",
)  # fmt: skip
_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
Fields = Callable[[str], str | None]
SetVar = Callable[[str, str | None], None]
Expand = Callable[[str], str]
RunInline = Callable[[Action], None]
_MAX_NESTING = 100


@dataclass
class Extension:
    name: str
    conditions: list[_Condition]
    continue_on_match: bool = False


@dataclass
class _Hunt:
    """What one dialplan hunt needs from the channel."""

    fields: Fields
    expand: Expand
    run_inline: RunInline | None
    now: datetime
    found: list[Action]


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
            if needs_expansion(expression):
                return None
            try:
                return re.compile(expression)
            except re.error as exc:
                raise DialplanError(
                    f"{source}: extension {name!r}: bad expression {expression!r}: {exc}"
                ) from exc

        def times(node: ElementTree.Element) -> dict[str, str]:
            return {k: node.get(k, "") for k in TIME_ATTRIBUTES if node.get(k) is not None}

        def condition(cond: ElementTree.Element) -> _Condition:
            expression = _expression(cond)
            tests = []
            for r in cond.findall("regex"):
                regex_expression = _expression(r)
                tests.append(
                    _Test(r.get("field"), regex_expression, compiled(regex_expression), times(r))
                )
            mode = cond.get("regex")
            return _Condition(
                cond.get("field"),
                expression,
                compiled(expression),
                [_action(a) for a in cond.findall("action")],
                [_action(a, anti=True) for a in cond.findall("anti-action")],
                _break(cond.get("break")),
                tests,
                mode.lower() if mode is not None else None,
                times(cond),
                [condition(c) for c in cond.findall("condition")],
                switch_true(cond.get("require-nested", "true")),
            )

        conditions = [condition(c) for c in node.findall("condition")]
        return Extension(name, conditions, switch_true(node.get("continue")))

    def route(
        self,
        context: str,
        fields: Fields,
        *,
        now: datetime | None = None,
        set_var: SetVar | None = None,
        expand: Expand | None = None,
        run_inline: RunInline | None = None,
    ) -> list[Action] | None:
        """The actions a call runs, or None when it has no route (NO_ROUTE_DESTINATION).

        ``fields``: a caller-profile field or channel variable by name; ``expand``: variable
        expansion in the channel (default: ``${name}`` from ``fields``); ``now``: the time the
        time conditions see; ``run_inline`` runs an ``inline="true"`` action (default: ``set``,
        ``export`` and ``unset`` through ``set_var``).
        """
        extensions = self.contexts.get(context)
        if extensions is None:
            extensions = self.contexts.get("global")
        if not extensions:
            return None
        if expand is None:
            expand = _plain_expander(fields)
        if run_inline is None and set_var is not None:
            run_inline = _inline_setter(expand, set_var)
        hunt = _Hunt(fields, expand, run_inline, now or datetime.now(), [])
        start = 0
        if switch_true(fields("auto_hunt")):
            destination = fields("destination_number")
            start = next((i for i, e in enumerate(extensions) if e.name == destination), 0)
        for ext in extensions[start:]:
            proceed = _parse(ext.conditions, hunt, 0, True)
            if proceed and not ext.continue_on_match:
                break
        return hunt.found or None


def _break(value: str | None) -> str:
    """The ``break`` attribute; a missing or unknown one is ``on-false``."""
    text = (value or "").lower()
    return text if text in ("on-true", "on-false", "always", "never") else "on-false"


def _expression(node: ElementTree.Element) -> str:
    child = node.find("expression")
    if child is not None:
        return child.text or ""
    return node.get("expression", "")


def _action(node: ElementTree.Element, anti: bool = False) -> Action:
    text = node.text or ""
    loop = node.get("loop")
    return Action(
        node.get("application", ""),
        text if text.strip() else node.get("data", ""),
        anti=anti,
        inline=switch_true(node.get("inline")),
        loop=_atoi(loop) if loop is not None else 1,
    )


def _plain_expander(fields: Fields) -> Expand:
    return lambda text: expand_variables(text, fields)


def _inline_setter(expand: Expand, set_var: SetVar) -> RunInline:
    def run(action: Action) -> None:
        data = expand(action.data)
        app = action.application.lower()
        if app == "set":  # set expands its value once more; export does not
            name, value = split_assignment(data)
            set_var(name, expand(value) if value else None)
        elif app == "export":
            name, _, value = data.partition("=")
            set_var(name.strip().removeprefix("nolocal:"), value or None)
        elif app == "unset":
            set_var(data.strip(), None)

    return run


def split_assignment(data: str) -> tuple[str, str]:
    """``name=value`` as ``set`` reads it (``name,value`` when there is no ``=``)."""
    sep = "=" if "=" in data else ","
    name, _, value = data.partition(sep)
    return name.strip(), value


# -- one extension: mod_dialplan_xml's parse_exten ------------------------------------------------


def _field_data(name: str, hunt: _Hunt) -> str:
    if "$" in name:
        return hunt.expand(name)
    return hunt.fields(name) or ""


def _search(
    regex: re.Pattern[str] | None, expression: str, data: str, hunt: _Hunt
) -> tuple[re.Match[str] | None, str]:
    """The expression (expanded) matched against the field's data: (match, expression)."""
    if regex is None:
        expression = hunt.expand(expression)
        try:
            regex = re.compile(expression)
        except re.error:
            return None, expression
    return regex.search(data), expression


def _time_check(times: dict[str, str], hunt: _Hunt) -> int:
    """switch_xml_std_datetime_check: -1 without time attributes, else 1 or 0; the channel's
    ``tod_tz_offset`` / ``timezone`` are read anew for every condition."""
    if not times:
        return -1
    offset = hunt.fields("tod_tz_offset")
    hours = _atoi(offset) if offset and re.fullmatch(r"[+-]?\d+", offset.strip()) else None
    return 1 if time_matches(times, hunt.now, hunt.fields("timezone"), hours) else 0


def _parse(conditions: list[_Condition], hunt: _Hunt, depth: int, require_nested: bool) -> int:
    proceed = 0
    for cond in conditions:
        time_match = _time_check(cond.times, hunt)
        anti = True
        if time_match == 1:
            anti = False
            proceed = 1
        elif time_match == 0:
            proceed = 0
        match: re.Match[str] | None = None
        substitute = False
        if cond.mode is not None:
            ok, proceed, match, substitute = _regex_tests(cond, hunt, proceed)
            if ok:
                anti = False
        else:
            if cond.field is not None:
                data = _field_data(cond.field, hunt)
                match, expression = _search(cond.regex, cond.expression, data, hunt)
                proceed = 1 if match is not None else 0
                if match is not None:
                    anti = False
                substitute = "(" in expression
            elif time_match == -1:
                anti = False
                proceed = 1
        if anti:
            for action in cond.anti_actions:
                _add(action, hunt)
                proceed = 1
        else:
            for action in cond.actions:
                _add(_substituted(action, match) if substitute else action, hunt)
        if (
            (not anti and cond.brk == "on-true")
            or (anti and cond.brk == "on-false")
            or cond.brk == "always"
        ):
            break
        if proceed and cond.children:
            if depth >= _MAX_NESTING:
                return 0
            proceed = _parse(cond.children, hunt, depth + 1, cond.require_nested)
            if not proceed:
                if cond.brk == "never":
                    continue
                break
    if depth and not require_nested:
        proceed = 1
    return proceed


def _regex_tests(
    cond: _Condition, hunt: _Hunt, proceed: int
) -> tuple[bool, int, re.Match[str] | None, bool]:
    """A ``regex="all|any|xor"`` condition: (holds, proceed, the captures' match, substitute)."""
    every = cond.mode == "all"
    xor = cond.mode == "xor"
    passed = failed = 0
    saved: re.Match[str] | None = None
    saved_any = False
    for test in cond.tests:
        time_match = _time_check(test.times, hunt)
        if test.field is not None:
            data = _field_data(test.field, hunt)
            match, expression = _search(test.regex, test.expression, data, hunt)
            proceed = 1 if match is not None else 0
            if match is not None:
                passed += 1
                if not every and not xor:
                    break
            else:
                failed += 1
                if every and not xor:
                    break
            if "(" in expression:
                saved, saved_any = match, True
        elif time_match in (-1, 1):
            passed += 1
            proceed = 1
            if not every and not xor:
                break
        else:
            failed += 1
            if every:
                break
    if saved_any:
        proceed = 1 if saved is not None else 0
    holds = passed == 1 if xor else (every and not failed) or (not every and passed > 0)
    return holds, proceed, saved, saved_any


def _add(action: Action, hunt: _Hunt) -> None:
    for _ in range(max(action.loop, 0)):
        if action.inline:
            if hunt.run_inline is not None:
                hunt.run_inline(action)
        else:
            hunt.found.append(action)


def _substituted(action: Action, match: re.Match[str] | None) -> Action:
    """switch_perform_substitution: ``$N`` is capture N (empty when there is none)."""
    if "$" not in action.data:
        return action

    def repl(m: re.Match[str]) -> str:
        index = int(m.group(1))
        if match is None or index > (match.re.groups or 0):
            return ""
        return match.group(index) or ""

    return replace(action, data=re.sub(r"\$(\d+)", repl, action.data))


# -- time conditions: switch_xml_std_datetime_check -----------------------------------------------


def _zone_time(now: datetime, zone: str | None, offset_hours: int | None) -> datetime:
    """The clock seen in a fixed UTC offset, or in an IANA zone; else as it is."""
    if offset_hours is not None:
        aware = now if now.tzinfo is not None else now.astimezone()
        return aware.astimezone(timezone(timedelta(hours=offset_hours)))
    if zone:
        try:
            tz = ZoneInfo(zone.strip())
        except (ZoneInfoNotFoundError, ValueError):
            return now
        aware = now if now.tzinfo is not None else now.astimezone()
        return aware.astimezone(tz)
    return now


def time_matches(
    times: dict[str, str],
    now: datetime,
    zone: str | None = None,
    offset_hours: int | None = None,
) -> bool:
    """Whether ``now`` (seen in ``zone`` or at ``offset_hours``) satisfies every attribute."""
    local = _zone_time(now, zone, offset_hours)
    utc_offset = (local if local.tzinfo is not None else local.astimezone()).utcoffset()
    offset_now = int(utc_offset.total_seconds() // 3600) if utc_offset is not None else 0
    wday = (local.isoweekday() % 7) + 1  # FreeSWITCH: 1 = Sunday
    yday = local.timetuple().tm_yday
    first_dow = (7 - (local.day - wday) % 7) % 7
    numbers = {
        "year": local.year,
        "yday": yday,
        "mon": local.month,
        "mday": local.day,
        "week": (yday - 1) // 7 + 1,
        "mweek": math.ceil((local.day + first_dow) / 7.0),
        "hour": local.hour,
        "minute": local.minute,
        "minute-of-day": local.hour * 60 + local.minute + 1,
    }
    for name, spec in times.items():
        if name == "tz-offset":
            if re.fullmatch(r"\s*[+-]?\d+\s*", spec) and _atoi(spec) != offset_now:
                return False
        elif name == "time-of-day":
            if not _tod_cmp(spec, local.hour * 3600 + local.minute * 60 + local.second):
                return False
        elif name == "date-time":
            if not _fulldate_cmp(spec, local):
                return False
        elif name == "wday":
            if not _dow_cmp(spec, wday):
                return False
        elif not _number_cmp(spec, numbers[name]):
            return False
    return True


def _atoi(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


def _number_cmp(spec: str, value: int) -> bool:
    """switch_number_cmp: ``a-b`` (a range), else ``a,b,c`` (a list), else one number."""
    if "-" in spec:
        low, _, high = spec.partition("-")
        return _atoi(low) <= value <= _atoi(high)
    return any(_atoi(part) == value for part in spec.split(",")) if spec else value == 0


def _dow_cmp(spec: str, value: int) -> bool:
    """switch_dow_cmp: days 1-7 (1 = Sunday) or their names, ranges ``a-b``, lists ``a,b``."""
    prev: int | None = None
    range_start: int | None = None
    p = 0
    while p < len(spec):
        char = spec[p]
        if char == ",":
            prev = None
            p += 1
            continue
        if char == "-":
            range_start = prev
            p += 1
            continue
        if "1" <= char <= "7":
            day = int(char)
            p += 1
        elif spec[p : p + 3].lower() in _DOW:
            day = _DOW.index(spec[p : p + 3].lower()) + 1
            p += 3
        else:
            return False  # a parse error ends the check
        if range_start is not None:
            if range_start <= value <= day:
                return True
            range_start = None
        elif value == day:
            return True
        prev = day
    return False


def _clock_seconds(text: str) -> int | None:
    parts = text.strip().split(":")
    if len(parts) < 2:
        return None
    numbers = [_atoi(p) for p in parts[:3]] + [0]
    return numbers[0] * 3600 + numbers[1] * 60 + numbers[2]


def _tod_cmp(spec: str, value: int) -> bool:
    """switch_tod_cmp: ``hh:mm[:ss]-hh:mm[:ss]``, start included, end excluded (no wrap past
    midnight); ``,`` separates ranges."""
    for part in spec.split(","):
        first, sep, last = part.partition("-")
        start, end = _clock_seconds(first), _clock_seconds(last)
        if sep and start is not None and end is not None and start <= value < end:
            return True
    return False


def _fulldate_cmp(spec: str, local: datetime) -> bool:
    """switch_fulldate_cmp: ``YYYY-MM-DD hh:mm[:ss]~YYYY-MM-DD hh:mm[:ss]``, both included."""
    first, _, last = spec.partition("~")
    try:
        start = datetime.fromisoformat(first.strip())
        end = datetime.fromisoformat(last.strip())
    except ValueError:
        return False
    return start <= local.replace(tzinfo=None) <= end

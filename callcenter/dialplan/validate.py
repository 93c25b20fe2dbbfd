"""Checks on rendered configuration before anything is pushed to a switch node.

Every problem of every file is reported at once, with the file and the line: XML that is not
well-formed, regular expressions that do not compile, applications the project does not know
(an integrator's template with a typo must fail here, not on a caller).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.parsers import expat

__all__ = ["KNOWN_APPLICATIONS", "Problem", "validate_files"]

# The dialplan applications the templates use, and the few an integrator commonly adds.
KNOWN_APPLICATIONS = frozenset(
    {
        "answer", "pre_answer", "ring_ready", "set", "export", "unset", "transfer", "socket",
        "park", "playback", "ivr", "voicemail", "bridge", "hangup", "record_session",
        "stop_record_session", "sleep", "respond", "limit", "log", "callcenter", "info",
        "sched_hangup", "send_dtmf", "echo", "play_and_get_digits", "read", "hash",
        "set_zombie_exec", "multiset", "limit_execute", "db",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _lines(text: str) -> list[tuple[ElementTree.Element, int]]:
    """Every element with the line it starts on (ElementTree keeps no positions)."""
    parser = expat.ParserCreate()
    stack: list[ElementTree.Element] = []
    found: list[tuple[ElementTree.Element, int]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        element = ElementTree.Element(name, attrs)
        found.append((element, parser.CurrentLineNumber))
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(text, True)
    return found


def _check_file(name: str, text: str) -> Iterable[Problem]:
    try:
        elements = _lines(text)
    except expat.ExpatError as exc:
        yield Problem(name, exc.lineno, f"not well-formed XML: {expat.errors.messages[exc.code]}")
        return
    for element, line in elements:
        if element.tag in ("condition", "regex"):
            expression = element.get("expression")
            if expression is not None:
                try:
                    re.compile(expression)
                except re.error as exc:
                    yield Problem(name, line, f"expression {expression!r} does not compile: {exc}")
        elif element.tag in ("action", "anti-action"):
            application = element.get("application", "")
            if application not in KNOWN_APPLICATIONS:
                yield Problem(name, line, f"unknown dialplan application {application!r}")


def validate_files(files: Mapping[str, str]) -> list[Problem]:
    """All problems of the rendered files (path -> XML text), in file order."""
    problems: list[Problem] = []
    for name in sorted(files):
        problems.extend(_check_file(name, files[name]))
    return problems

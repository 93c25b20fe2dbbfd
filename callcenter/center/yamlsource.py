"""Reading one center YAML file: its data, and the line of every key and list item in it.

The lines come from the composed node tree (``start_mark``), kept in a map from the place
(``("tenants", "0", "dids", "3")``, every part as text) to the 1-based line, so that an error
found later in the typed model can be shown at its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from callcenter.center.errors import CenterError, Problem, field_text

__all__ = ["CenterYamlLoader", "YamlFile", "read_yaml"]

Place = tuple[str, ...]


class CenterYamlLoader(yaml.SafeLoader):
    """``SafeLoader`` reading plain numbers and dates as YAML 1.2 does.

    YAML 1.1 (PyYAML's default) reads ``18:00`` as the number 1080, ``0123`` as octal 83,
    ``+74951234567`` as a number without its +, and ``2026-13-01`` as a date that fails to
    construct. Here only plain decimal numbers are numbers; everything else stays text and the
    model says what it expects. Booleans (``true``, ``yes``) are unchanged.
    """


_REPLACED = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
CenterYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CenterYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^-?(?:0|[1-9][0-9]*)$"), list("-0123456789")
)
CenterYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^-?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-0123456789."),
)


@dataclass
class YamlFile:
    """One file's data, the lines of its places, and problems found while reading it."""

    path: Path
    data: Any
    lines: dict[Place, int]
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, place: Sequence[str | int]) -> int:
        """The line of ``place``, or of its nearest recorded parent (a missing field's
        mapping, say)."""
        key = tuple(str(part) for part in place)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)


def read_yaml(path: Path) -> YamlFile:
    """Read and parse one file; ``CenterError`` when it cannot be read or is not YAML."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CenterError([Problem(name, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise CenterError([Problem(name, None, "", f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise CenterError([Problem(name, None, "", f"cannot be read: {exc.strerror}")]) from None
    result = YamlFile(path, None, {(): 1})
    try:
        _parse(text, result)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = exc.problem or exc.context or "cannot be parsed"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise CenterError([Problem(name, line, "", f"not valid YAML: {message}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise CenterError([Problem(name, line, "", f"not valid YAML: {exc.reason}")]) from None
    except yaml.YAMLError as exc:
        raise CenterError([Problem(name, None, "", f"not valid YAML: {exc}")]) from None
    return result


def _parse(text: str, into: YamlFile) -> None:
    loader = CenterYamlLoader(text)  # checks every character first (ReaderError)
    try:
        node = loader.get_single_node()
        if node is not None:
            _record(node, (), into, set())
            # Lines are taken before constructing: construction flattens merge keys (<<) into
            # the node tree, which would then look like duplicate keys.
            into.data = loader.construct_document(node)
    finally:
        loader.dispose()


def _record(node: yaml.Node, place: Place, into: YamlFile, active: set[int]) -> None:
    into.lines.setdefault(place, node.start_mark.line + 1)
    if id(node) in active:  # an alias back to one of its own ancestors
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in first and key != "<<":
                # PyYAML would silently keep the last one.
                into.problems.append(
                    Problem(
                        str(into.path),
                        line,
                        field_text((*place, key)),
                        f"key {key!r} appears twice in this mapping (also line {first[key]})",
                    )
                )
            first.setdefault(key, line)
            into.lines[(*place, key)] = line
            _record(value_node, (*place, key), into, active)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            _record(item, (*place, str(n)), into, active)
    active.discard(id(node))

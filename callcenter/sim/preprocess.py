"""FreeSWITCH's XML preprocessor, as far as a node's configuration folder needs it.

FreeSWITCH reads its configuration as one document: ``<X-PRE-PROCESS cmd="include"
data="public/*.xml"/>`` is replaced by the matching files (relative to the including file's
folder, sorted, their ``<include>`` root dropped), ``<X-PRE-PROCESS cmd="set" data="a=b"/>``
defines a preprocessor variable, and ``$${name}`` is replaced by such a variable (``domain``,
``local_ip_v4``, ... in vars.xml). A file that is not well-formed fails the whole load, so each
file is checked on its own first: the error names the file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import MutableMapping
from pathlib import Path

__all__ = ["XmlFileError", "parse_file", "read_xml"]

_DIRECTIVE = re.compile(r"<X-PRE-PROCESS\b([^>]*?)/?>(?:\s*</X-PRE-PROCESS>)?", re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)\s*=\s*"([^"]*)"')
_GLOBAL = re.compile(r"\$\$\{([^}]+)\}")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_INCLUDE_ROOT = re.compile(r"^\s*<include\s*>(.*)</include>\s*$", re.DOTALL)
MAX_DEPTH = 20


class XmlFileError(Exception):
    """A configuration file cannot be read (the message names the file and the problem)."""


def parse_file(
    path: Path, variables: MutableMapping[str, str], used: set[Path]
) -> ElementTree.Element:
    """The file as one element tree, includes spliced in and ``$${vars}`` expanded."""
    text = read_xml(path, variables, used)
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise XmlFileError(f"{path}: not well-formed XML after its includes: {exc}") from exc


def read_xml(
    path: Path, variables: MutableMapping[str, str], used: set[Path], depth: int = 0
) -> str:
    """The text of ``path`` with its preprocessor directives applied.

    ``variables`` gains what ``cmd="set"`` defines; ``used`` collects every file read (the
    included ones too), so a caller can skip files it already loaded through an include.
    """
    if depth > MAX_DEPTH:
        raise XmlFileError(f"{path}: includes nested more than {MAX_DEPTH} deep")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise XmlFileError(f"{path}: cannot read: {exc}") from exc
    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise XmlFileError(f"{path}: not well-formed XML: {exc}") from exc
    used.add(path.resolve())

    def directive(match: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(match.group(1)))
        cmd = attrs.get("cmd", "").lower()
        data = expand_globals(attrs.get("data", ""), variables)
        if cmd == "set":
            name, _, value = data.partition("=")
            variables[name.strip()] = value.strip()
            return ""
        if cmd == "include":
            pattern = Path(data)
            base = pattern if pattern.is_absolute() else path.parent / pattern
            files = sorted(p for p in base.parent.glob(base.name) if p.is_file())
            return "\n".join(_inner(read_xml(f, variables, used, depth + 1)) for f in files)
        return ""  # exec, exec-set, env-set...: not simulated

    # Directives first (a ``set`` defines what later ``$${...}`` expand to), in document order.
    return expand_globals(_DIRECTIVE.sub(directive, text), variables)


def expand_globals(text: str, variables: MutableMapping[str, str]) -> str:
    """``$${name}``: the preprocessor variable; an unknown one is left as it is."""
    if "$${" not in text:
        return text
    return _GLOBAL.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def _inner(text: str) -> str:
    """An included file's content without its XML declaration and ``<include>`` root."""
    text = _DECLARATION.sub("", text)
    match = _INCLUDE_ROOT.match(text)
    return match.group(1) if match else text

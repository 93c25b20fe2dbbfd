"""FreeSWITCH's variable expansion (``switch_channel_expand_variables_check``, 1.10), step for step.

A string is rewritten only when it holds ``${`` or a backslash escape
(``switch_string_has_escaped_data``: a backslash before ``\\``, ``n``, ``s``, ``t`` or ``'``);
any other string is used as it is, backslashes and dollars included. When it is rewritten:

- ``\\\\`` is one backslash, ``\\$`` a literal dollar (``\\$$`` too), ``\\'`` is dropped, any other
  backslash stays;
- ``${name}`` is the channel variable (else a caller-profile field, else the global variable;
  unknown: empty), ``$${name}`` the global variable; ``${name:2}``, ``${name:2:3}``,
  ``${name:-4}`` cut the value, ``${name[1]}`` picks from an ``ARRAY::a|:b`` value;
- ``${api(args)}`` and ``${api args}`` run the API (its output replaces it; an unknown API
  gives an empty string); the name and the arguments are expanded first, and braces nest;
- a ``$`` not followed by ``{`` stays; so does the character right after a ``${...}``, which
  the C loop copies without looking at it (a ``\\`` there is not an escape; a ``$`` is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from callcenter.esl.events import array_items

__all__ = ["ApiCall", "Lookup", "expand_variables", "needs_expansion", "switch_true"]

Lookup = Mapping[str, str] | Callable[[str], str | None]
ApiCall = Callable[[str, str], str | None]
"""Runs ``name`` with ``args``: its output, or None when there is no such API."""

_MAX_RECURSION = 100


def switch_true(value: str | None) -> bool:
    """``switch_true``: yes, on, true, t, enabled, active, allow, or a non-zero number."""
    if not value:
        return False
    text = value.strip().lower()
    if text in ("yes", "on", "true", "t", "enabled", "active", "allow"):
        return True
    try:
        return int(text) != 0
    except ValueError:
        return False


def has_escaped_data(text: str) -> bool:
    """``switch_string_has_escaped_data``."""
    i = text.find("\\")
    while i != -1:
        i += 1
        if i < len(text) and text[i] in "\\nst'":
            return True
        i = text.find("\\", i)
    return False


def needs_expansion(text: str) -> bool:
    """Whether FreeSWITCH rewrites ``text`` at all."""
    return "${" in text or has_escaped_data(text)


@dataclass(frozen=True)
class _Context:
    variable: Callable[[str], str | None]
    global_variable: Callable[[str], str | None]
    api: ApiCall | None


def _getter(lookup: Lookup) -> Callable[[str], str | None]:
    return lookup.get if isinstance(lookup, Mapping) else lookup


def expand_variables(
    text: str,
    lookup: Lookup,
    *,
    global_lookup: Lookup | None = None,
    api: ApiCall | None = None,
) -> str:
    """``text`` expanded: ``lookup`` gives ``${name}`` (the channel's variables and profile),
    ``global_lookup`` ``$${name}`` and the fallback of ``${name}`` (default: ``lookup``), ``api``
    runs ``${name(args)}`` (None: every API call expands to an empty string)."""
    variable = _getter(lookup)
    global_variable = _getter(global_lookup) if global_lookup is not None else variable
    return _expand(text, _Context(variable, global_variable, api), 0)


def _expand(text: str, ctx: _Context, depth: int) -> str:
    if depth > _MAX_RECURSION or not text or not needs_expansion(text):
        return text
    out: list[str] = []
    n = len(text)
    p = 0
    while p < n:
        literal = False
        if text[p] == "\\" and p + 1 < n:
            following = text[p + 1]
            if following == "$":
                literal = True
                p += 1
                if p + 1 < n and text[p + 1] == "$":
                    p += 1
            elif following == "'":
                p += 2
                continue
            elif following == "\\":
                out.append("\\")
                p += 2
                continue
        kind = 0  # 1: ${var}, 3: $${global}
        if text[p] == "$" and not literal:
            is_global = False
            if p + 1 < n and text[p + 1] == "$":
                p += 1
                is_global = True
            if p + 1 < n and text[p + 1] == "{":
                kind = 3 if is_global else 1
            else:
                literal = True
        if literal or not kind:
            out.append(text[p])
            p += 1
            continue
        # ${...}: braces nest; an unterminated one runs to the end of the string.
        start = p + 2
        end = start
        depth_braces = 1
        while end < n:
            char = text[end]
            if depth_braces == 1 and char == "}":
                depth_braces = 0
                break
            if end != start and char == "{":
                depth_braces += 1
            elif depth_braces > 1 and char == "}":
                depth_braces -= 1
            end += 1
        body = text[start:end]
        out.append(_substitute(body, kind == 3, ctx, depth))
        p = end + 1
        # The C loop then copies the character after the closing brace without looking at it,
        # unless it is a "$" (which starts over).
        if p < n and text[p] != "$":
            out.append(text[p])
            p += 1
    return "".join(out)


def _substitute(body: str, is_global: bool, ctx: _Context, depth: int) -> str:
    cut = next((i for i, c in enumerate(body) if c in " ("), -1)
    if cut >= 0:
        return _api(body, cut, ctx, depth)
    name = _expand(body, ctx, depth + 1)
    offset = length = 0
    if ":" in name:
        name, _, rest = name.partition(":")
        offset = _atoi(rest)
        if ":" in rest:
            length = _atoi(rest.partition(":")[2])
    index = -1
    if "[" in name and "]" in name[name.index("[") :]:
        name, _, rest = name.partition("[")
        index = _atoi(rest)
    value = None if is_global else ctx.variable(name)
    if value is None or value == "":
        value = ctx.global_variable(name)
        if value:
            value = _expand(value, ctx, depth + 1)
    value = value or ""
    if index >= 0:
        value = _array_item(value, index)
    if offset >= 0:
        value = value[offset:]
    elif -offset <= len(value):
        value = value[len(value) + offset :]
    if 0 < length < len(value):
        value = value[:length]
    return value


def _api(body: str, cut: int, ctx: _Context, depth: int) -> str:
    name = body[:cut].rstrip(" ")
    args = body[cut + 1 :]
    parens = 1 if body[cut] == "(" else 0
    for i, char in enumerate(args):
        if char == "(":
            parens += 1
        elif parens > 1 and char == ")":
            parens -= 1
        elif parens == 1 and char == ")":
            args = args[:i]
            break
    name = _expand(name, ctx, depth + 1)
    args = _expand(args, ctx, depth + 1)
    if ctx.api is None:
        return ""
    return ctx.api(name, args) or ""


def _array_item(value: str, index: int) -> str:
    items = array_items(value)
    return items[index] if index < len(items) else ""


def _atoi(text: str) -> int:
    """C's atoi: leading blanks, a sign, digits; anything else ends the number."""
    text = text.lstrip()
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return sign * int(digits) if digits else 0

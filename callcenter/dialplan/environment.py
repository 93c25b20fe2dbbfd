"""The Jinja2 environment every dialplan template is rendered in.

Autoescape is on for XML, so every value from the configuration is XML-escaped. That is not
enough for FreeSWITCH, which reads a value at up to three more levels, and each template value
goes through the filter for the level it is read at (every filter refuses CR, LF and NUL):

- ``fsdata``: text FreeSWITCH expands once when it runs it (application data, IVR sounds):
  ``${var}`` / ``${api(args)}`` would be a lookup or an API call, so ``$`` and ``\\`` are escaped
  the way ``switch_channel_expand_variables`` reads them (``\\$`` a literal dollar, ``\\\\`` a
  literal backslash).
- ``fsvar``: the value of a ``set`` action, which is expanded twice (once by
  ``switch_core_session_exec`` for every application, once more by ``set`` itself).
- ``fsliteral``: configuration FreeSWITCH reads as it is (directory params and variables, gateway
  params): only the load-time pre-processor, which replaces ``$${var}`` in the raw file text,
  must not see a ``$``; it is written as the character reference ``&#36;``.
- ``regex_literal``: a value matched literally inside a condition's expression (identifiers and
  numbers only: an expression is expanded too, so ``\\`` and ``$`` in it would not survive).

Templates are looked up first in the integrator's folder (same file name = override), then in
the project's ``dialplan_templates/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

__all__ = [
    "DEFAULT_TEMPLATES",
    "TemplateValueError",
    "fsdata",
    "fsliteral",
    "fsvar",
    "make_environment",
    "regex_literal",
]

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "dialplan_templates"

_FORBIDDEN = re.compile(r"[\r\n\x00]")
# What PCRE treats as special outside a character class.
_REGEX_SPECIAL = re.compile(r"([\\^$.|?*+()\[\]{}/-])")


class TemplateValueError(ValueError):
    """A configuration value cannot be put into the switch's configuration as it is."""


def _check(value: object) -> str:
    text = str(value)
    if _FORBIDDEN.search(text):
        raise TemplateValueError(f"{text!r}: CR, LF or NUL cannot go into a switch's configuration")
    return text


def _fs_escape(text: str) -> str:
    """One round of FreeSWITCH's variable expansion undone (see ``fsdata``)."""
    if "\\" not in text and "${" not in text:
        return text
    return text.replace("\\", "\\\\").replace("$", "\\$")


def _xml(text: str) -> Markup:
    # Autoescape's escaping, and a tab as a reference: the XML parser turns a literal tab in an
    # attribute into a space.
    return Markup(str(escape(text)).replace("\t", "&#9;"))


def fsdata(value: object) -> Markup:
    """A value FreeSWITCH expands once (application data, IVR sounds): its variable expansion
    is neutralized, CR/LF/NUL refused, and the result XML-escaped for an attribute.

    ``switch_channel_expand_variables`` only rewrites a string holding ``${`` or a backslash
    escape (``\\\\``, ``\\'``, ...); then ``\\\\`` becomes ``\\`` and ``\\$`` becomes ``$``. So a
    value holding ``${`` or a backslash is escaped in full (the result holds ``\\${`` or
    ``\\\\``, so it is rewritten, back to the value exactly). Any other value is not rewritten and
    is left as it is: escaping its ``$`` would leave a visible backslash. (Templates keep such a
    value out of an attribute that also holds a ``${...}`` of their own, which would have the
    whole attribute rewritten.)
    """
    return _xml(_fs_escape(_check(value)))


def fsvar(value: object) -> Markup:
    """The value of a ``set`` action: expanded twice (by the application runner, then by
    ``set`` itself), so escaped twice. Not for ``export``, which expands once: ``fsdata``."""
    return _xml(_fs_escape(_fs_escape(_check(value))))


def fsliteral(value: object) -> Markup:
    """A value FreeSWITCH reads as written (directory, gateway params): XML-escaped, and every
    ``$`` as ``&#36;`` so that the pre-processor's ``$${var}`` never matches the raw text
    (it runs before the XML parser, which turns the reference back into ``$``)."""
    return Markup(str(_xml(_check(value))).replace("$", "&#36;"))


def regex_literal(value: object) -> str:
    """A value matched literally inside a condition's regular expression (a DID such as
    ``+74951234567``: the ``+`` must not be a quantifier)."""
    return _REGEX_SPECIAL.sub(r"\\\1", _check(value))


def make_environment(overrides: Path | None = None) -> jinja2.Environment:
    """An environment that finds templates in ``overrides`` first, then in the project's."""
    folders = [str(overrides)] if overrides is not None else []
    folders.append(str(DEFAULT_TEMPLATES))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("xml", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fsdata"] = fsdata
    env.filters["fsvar"] = fsvar
    env.filters["fsliteral"] = fsliteral
    env.filters["regex_literal"] = regex_literal
    return env

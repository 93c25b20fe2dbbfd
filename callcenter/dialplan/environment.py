"""The Jinja2 environment every dialplan template is rendered in.

Autoescape is on for XML, so every value from the configuration is XML-escaped. That is not
enough for FreeSWITCH: it expands ``${var}`` and ``$${var}`` in application data and parameter
values when the call runs, so a caller-facing name such as ``Sales ${hangup}`` would become a
variable lookup. ``fsdata`` escapes ``$`` and ``\\`` the way FreeSWITCH's expander reads them
(``\\$`` is a literal dollar, ``\\\\`` a literal backslash) and refuses CR, LF and NUL, which no
value on a switch may hold. ``regex_literal`` makes a value safe inside a condition's expression.

Templates are looked up first in the integrator's folder (same file name = override), then in
the project's ``dialplan_templates/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

__all__ = ["DEFAULT_TEMPLATES", "TemplateValueError", "fsdata", "make_environment", "regex_literal"]

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


def fsdata(value: object) -> str:
    """A value for application data or a parameter: FreeSWITCH's variable expansion is
    neutralized (``$`` and ``\\`` escaped), CR/LF/NUL refused. XML escaping is autoescape's."""
    return _check(value).replace("\\", "\\\\").replace("$", "\\$")


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
    env.filters["regex_literal"] = regex_literal
    return env

"""URLs a CRM is reached at: plain ones (webhook receivers) and templates with placeholders
(the lookup, the screen-pop) whose values are URL-encoded when filled.

A template is written like ``https://crm.example.com/contacts?phone={caller}``: ``{name}``
for a value, ``{{`` and ``}}`` for a literal brace. Placeholders may sit in the path, the query
and the fragment only, never in the scheme or the host: a value comes from the caller's phone,
and must not choose which server is contacted.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from urllib.parse import quote, urlsplit

__all__ = ["check_http_url", "check_template", "fill", "placeholders"]

_FORMATTER = string.Formatter()
# Whitespace and control characters: none belongs in a URL (CR/LF get a message of their own).
_BAD = re.compile(r"[\x00-\x20\x7f]")


def _one_line(text: str) -> None:
    if "\r" in text or "\n" in text:
        raise ValueError("line break (CR/LF) not allowed in a URL")
    found = _BAD.search(text)
    if found:
        raise ValueError(
            f"character U+{ord(found.group()):04X} not allowed in a URL (encode spaces as %20)"
        )


def check_http_url(url: str) -> str:
    """An absolute http(s) URL with a host and no credentials in it; ValueError otherwise."""
    _one_line(url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        # urllib and aiohttp would not send them the way a reader expects; the header is explicit.
        raise ValueError("credentials in the URL are not used: set an Authorization header")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise ValueError("the URL's port is not a number from 1 to 65535") from None
    return url


def placeholders(template: str) -> list[str]:
    """The ``{name}`` placeholders of a template, in order; ValueError when malformed."""
    names: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(
            f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion or not name.isidentifier():
            raise ValueError(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} must be a plain {{name}}"
            )
        names.append(name)
    return names


def check_template(template: str, allowed: Collection[str]) -> str:
    """A URL template whose placeholders are all ``allowed`` and outside scheme and host."""
    _one_line(template)
    names = placeholders(template)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        known = ", ".join(f"{{{name}}}" for name in sorted(allowed))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; allowed: {known}")
    parts = urlsplit(template)
    if "{" in parts.scheme or "{" in parts.netloc:
        raise ValueError("placeholders are allowed in the path and the query only, not the host")
    check_http_url(fill(template, dict.fromkeys(names, "x")))
    return template


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each placeholder replaced by its value, URL-encoded (every reserved
    character, "/" and "&" too: a value never adds a path segment or a query parameter)."""
    return template.format_map({name: quote(value, safe="") for name, value in values.items()})

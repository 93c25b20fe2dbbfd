"""Cells that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1``, ``-x``, ``@x``),
defused by the export with a leading ' (which spreadsheets hide) and restored by the import, so
that an exported book imports back as it was."""

from __future__ import annotations

__all__ = ["defuse_formula", "restore_formula"]

_FORMULA_START = ("=", "+", "-", "@")


def defuse_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def restore_formula(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
        return text[1:]
    return text

"""Writing center files for the tests and reading back the problems they give."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from callcenter.center import CenterError, load_center

# A valid tenant to build bad files from: line 1 is "tenants:", the tenant starts on line 2.
TENANT = """\
tenants:
  - name: acme
    domain: acme.example.com
    users:
      - {extension: "1000", password: "secret-1000"}
    queues: [{name: support}]
"""


def write(folder: Path, text: str, name: str = "center.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """Every problem the center at ``path`` gives, as printed (file:line: field: message)."""
    with pytest.raises(CenterError) as info:
        load_center(path)
    lines = [str(problem) for problem in info.value.problems]
    assert str(info.value).splitlines() == lines  # one per line
    return lines

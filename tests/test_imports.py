"""Every module imports on its own, in a fresh interpreter (no import cycles, no order reliance).

Modules are discovered with pkgutil, so a new module is covered without touching this file.
The interpreters run concurrently (a few at a time) and each module still gets its own test.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

import callcenter
import workers

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (callcenter, workers)


def _modules() -> list[str]:
    names: list[str] = []
    errors: list[str] = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(
            package.__path__, package.__name__ + ".", onerror=errors.append
        ):
            # __main__ runs the CLI when imported; its import is covered by `python -m`.
            if not info.name.endswith(".__main__"):
                names.append(info.name)
    assert not errors, f"packages that failed to import while walking: {errors}"
    return sorted(names)


MODULES = _modules()


def _files_on_disk() -> set[str]:
    found = set()
    for package in PACKAGES:
        root = REPO / package.__name__
        for path in root.rglob("*.py"):
            # Alembic loads the migration scripts itself; they are not modules to import.
            if "__pycache__" in path.parts or "migrations" in path.parts:
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.add(".".join(parts))
    return found


def test_every_module_on_disk_is_discovered() -> None:
    # A folder without __init__.py would be skipped by pkgutil: catch it here.
    on_disk = {m for m in _files_on_disk() if not m.endswith(".__main__")}
    assert on_disk == set(MODULES)
    assert "callcenter.esl.parser" in MODULES
    assert "callcenter.sim.server" in MODULES


def _import_alone(module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


@cache
def _results() -> dict[str, subprocess.CompletedProcess[str]]:
    workers_count = min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers_count) as pool:
        return dict(zip(MODULES, pool.map(_import_alone, MODULES), strict=True))


@pytest.fixture(scope="module")
def import_results() -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    yield _results()


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(
    module: str, import_results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = import_results[module]
    assert result.returncode == 0, result.stderr

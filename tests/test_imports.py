"""Every module imports on its own (no import cycles), in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import callcenter
import workers


def _modules() -> list[str]:
    names = []
    for package in (callcenter, workers):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


def test_every_module_is_found() -> None:
    modules = _modules()
    assert "callcenter.esl.parser" in modules
    assert "callcenter.sim.server" in modules


@pytest.mark.parametrize("module", _modules())
def test_module_imports_alone(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr

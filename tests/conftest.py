"""Shared fixtures: where the FreeSWITCH ground truth lives, and a running simulated switch."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.sim import SimSwitch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``shared/freeswitch`` beside the checkout (or ``$CALLCENTER_SHARED_DIR``); fail loudly."""
    base = Path(os.environ.get("CALLCENTER_SHARED_DIR", REPO.parent / "shared"))
    folder = base / "freeswitch"
    if not (folder / "conformance.py").is_file():
        pytest.fail(
            f"FreeSWITCH ground truth not found at {folder}: put shared/ beside the checkout "
            "or set CALLCENTER_SHARED_DIR"
        )
    return folder


@pytest.fixture
def freeswitch_dir() -> Path:
    return shared_dir()


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    switch = SimSwitch(password="ClueCon", time_scale=0.05, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    try:
        yield switch
    finally:
        await switch.stop()

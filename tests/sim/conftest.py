"""Fixtures for the simulated switch running a node configuration folder (see confdir.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.sim.confdir import MONDAY_NOON, write_conf


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    return write_conf(tmp_path / "conf")


@pytest.fixture
async def node(conf_dir: Path, tmp_path: Path) -> AsyncIterator[SimSwitch]:
    """A switch on the two-tenant folder, its clock on a Monday noon (office hours)."""
    sim = SimSwitch(time_scale=0.05, recordings_dir=tmp_path / "rec", conf_dir=conf_dir)
    sim.core.clock = lambda: MONDAY_NOON
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def node_esl(node: SimSwitch) -> AsyncIterator[InboundClient]:
    async with InboundClient("127.0.0.1", node.port, "ClueCon") as client:
        await client.subscribe("ALL")
        yield client

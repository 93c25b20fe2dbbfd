"""greenswitch, an ESL client nobody here wrote, works against the simulated switch."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.sim import SimSwitch

PROBE = Path(__file__).with_name("greenswitch_probe.py")


@pytest.fixture
async def switch() -> AsyncIterator[SimSwitch]:
    sim = SimSwitch(password="S3cret", time_scale=0.05)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


async def test_greenswitch_authenticates_runs_api_and_receives_events(switch: SimSwitch) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        str(switch.port),
        "S3cret",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    result = json.loads(stdout)
    assert "FreeSWITCH (Version 1.10.12" in result["status"]
    assert result["version"].startswith("FreeSWITCH Version 1.10.12")
    assert result["event_reply"] == "+OK event listener enabled plain"
    uuid = "abababab-abab-4bab-8bab-abababababab"
    assert result["originate"] == f"+OK {uuid}\n"
    assert result["bgapi_reply"].startswith("+OK Job-UUID: ")
    assert result["kill"] == "+OK\n"
    events = result["events"]
    names = [e["Event-Name"] for e in events if e.get("Unique-ID") == uuid]
    assert names[0] == "CHANNEL_CREATE"
    assert "CHANNEL_HANGUP_COMPLETE" in names
    create = next(e for e in events if e["Event-Name"] == "CHANNEL_CREATE")
    # greenswitch url-decodes the block: the caller name arrives decoded.
    assert create["Caller-Caller-ID-Name"] == "Ivan Petrov & Co"
    job = next(e for e in events if e["Event-Name"] == "BACKGROUND_JOB")
    assert job["Job-Command"] == "uuid_exists"


async def test_greenswitch_is_refused_with_a_wrong_password(switch: SimSwitch) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROBE),
        str(switch.port),
        "wrong",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode != 0
    assert b"Invalid password" in stderr or b"NotConnected" in stderr

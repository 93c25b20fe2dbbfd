"""What live call control needs from the simulated switch, as FreeSWITCH does it: the
eavesdrop application and its modes, park_after_bridge, and uuid_record restarted on a file."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch


async def _until(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def _parked(esl: InboundClient) -> str:
    return (await esl.api("originate null/x &park()")).split()[1]


async def _spies(esl: InboundClient) -> list[str]:
    return (await esl.api("sim_eavesdrops")).splitlines()[:-1]


@pytest.mark.parametrize(
    ("variables", "mode"),
    [
        ("", "listen"),
        ("eavesdrop_whisper_bleg=true", "whisper-bleg"),
        ("eavesdrop_whisper_aleg=true", "whisper-aleg"),
        ("eavesdrop_whisper_aleg=true,eavesdrop_whisper_bleg=true", "both"),
    ],
)
async def test_eavesdrop_mode_comes_from_the_spys_variables(
    sim: SimSwitch, variables: str, mode: str
) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        await esl.subscribe("MEDIA_BUG_START", "MEDIA_BUG_STOP")
        target = await _parked(esl)
        started = esl.wait_for_event("MEDIA_BUG_START", uuid=target, timeout=5)
        reply = await esl.api(f"originate {{{variables}}}null/spy &eavesdrop({target})")
        spy = reply.split()[1]
        event = await started
        assert event.get("Media-Bug-Function") == "eavesdrop"
        assert event.get("Media-Bug-Target") == target
        assert await _spies(esl) == [f"{spy} {target} mode={mode} hears=aleg,bleg dtmf=true"]
        rows = await esl.api("show channels as json")
        assert '"application":"eavesdrop"' in rows
        # The target hangs up: the spy's application returns and its leg hangs up.
        stopped = esl.wait_for_event("MEDIA_BUG_STOP", uuid=target, timeout=5)
        await esl.api(f"uuid_kill {target}")
        await stopped
        await _until(lambda: spy not in sim.channels)


async def test_eavesdrop_digits_change_the_mode_and_star_leaves(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        target = await _parked(esl)
        spy = (await esl.api(f"originate null/spy &eavesdrop({target})")).split()[1]
        await _until(lambda: "eavesdrop" in sim.channels[spy].extra)
        for digit, mode in (("2", "whisper-bleg"), ("1", "whisper-aleg"), ("3", "both"),
                            ("0", "listen")):  # fmt: skip
            await esl.api(f"sim_dtmf {spy} {digit}")
            await asyncio.sleep(0.05)
            assert (await _spies(esl))[0].split()[2] == f"mode={mode}"
        await esl.api(f"sim_dtmf {spy} *")
        await _until(lambda: spy not in sim.channels)
        assert target in sim.channels  # the target goes on


async def test_eavesdrop_without_dtmf_ignores_digits(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        target = await _parked(esl)
        spec = "{eavesdrop_enable_dtmf=false,eavesdrop_bridge_bleg=true}"
        spy = (await esl.api(f"originate {spec}null/spy &eavesdrop({target})")).split()[1]
        await _until(lambda: "eavesdrop" in sim.channels[spy].extra)
        await esl.api(f"sim_dtmf {spy} 3*")
        await asyncio.sleep(0.1)
        assert await _spies(esl) == [f"{spy} {target} mode=listen hears=bleg dtmf=false"]


async def test_eavesdrop_on_a_missing_channel_just_returns(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        spy = (await esl.api("originate null/spy &eavesdrop(no-such-uuid)")).split()[1]
        await _until(lambda: spy not in sim.channels)
        assert await _spies(esl) == []


async def test_three_way_mixes_both_ways(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        target = await _parked(esl)
        spy = (await esl.api(f"originate null/spy &three_way({target})")).split()[1]
        await _until(lambda: "eavesdrop" in sim.channels[spy].extra)
        assert await _spies(esl) == [f"{spy} {target} mode=both hears=aleg,bleg dtmf=false"]


async def test_park_after_bridge_keeps_a_leg_whose_partner_left(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        await esl.subscribe("CHANNEL_PARK")
        a, b, c = await _parked(esl), await _parked(esl), await _parked(esl)
        assert (await esl.api(f"uuid_bridge {a} {b}")).startswith("+OK")
        await esl.api(f"uuid_setvar {b} park_after_bridge true")
        parked = esl.wait_for_event("CHANNEL_PARK", uuid=b, timeout=5)
        await esl.api(f"uuid_park {a}")  # a leaves the bridge
        await parked
        assert b in sim.channels and sim.channels[b].other_uuid is None
        # Without it, the uuid_bridge'd partner hangs up (cap 08).
        assert (await esl.api(f"uuid_bridge {b} {c}")).startswith("+OK")
        await esl.api(f"uuid_setvar {b} park_after_bridge")
        await esl.api(f"uuid_kill {b}")
        await _until(lambda: c not in sim.channels)


async def test_uuid_record_restarted_with_record_append_continues_the_file(
    sim: SimSwitch, tmp_path: Path
) -> None:
    path = tmp_path / "rec" / "call.wav"
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        await esl.subscribe("RECORD_START")
        uuid = await _parked(esl)
        await esl.api(f"uuid_record {uuid} start {path}")
        await asyncio.sleep(0.1)
        await esl.api(f"uuid_record {uuid} stop {path}")
        with wave.open(str(path)) as first:
            frames = first.getnframes()
        assert frames > 0
        await esl.api(f"uuid_setvar {uuid} RECORD_APPEND true")
        await esl.api(f"uuid_record {uuid} start {path}")
        # Started again while recording: "Already recording", no second RECORD_START.
        again = esl.wait_for_event("RECORD_START", uuid=uuid, timeout=0.3)
        assert (await esl.api(f"uuid_record {uuid} start {path}")).startswith("+OK")
        with pytest.raises(TimeoutError):
            await again
        await asyncio.sleep(0.1)
        await esl.api(f"uuid_record {uuid} stop {path}")
        with wave.open(str(path)) as both:
            assert both.getnframes() > frames

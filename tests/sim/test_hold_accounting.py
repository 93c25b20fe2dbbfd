"""Time on hold is reported at hangup as FreeSWITCH does (hold_accum_seconds/_ms/_usec)."""

from __future__ import annotations

import asyncio

from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch


async def test_hold_time_adds_up_and_is_reported_at_hangup(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        await esl.subscribe("CHANNEL_HANGUP_COMPLETE")
        uuid = (await esl.api("originate null/x &park()")).split()[1]
        held = 0.0
        for _ in range(2):
            await esl.api(f"uuid_hold {uuid}")
            start = asyncio.get_running_loop().time()
            await asyncio.sleep(0.1)
            await esl.api(f"uuid_hold off {uuid}")
            held += asyncio.get_running_loop().time() - start
        await esl.api(f"uuid_hold {uuid}")  # still on hold when it hangs up: counted too
        await asyncio.sleep(0.05)
        done = esl.wait_for_event("CHANNEL_HANGUP_COMPLETE", timeout=5)
        await esl.api(f"uuid_kill {uuid}")
        event = await done
    ms = int(event.variable("hold_accum_ms") or "0")
    assert ms >= 250  # 2 x 100 ms + 50 ms at least
    assert ms <= (held + 2.0) * 1000  # and not some unrelated figure
    assert int(event.variable("hold_accum_usec") or "-1") // 1000 == ms
    assert int(event.variable("hold_accum_seconds") or "-1") == ms // 1000


async def test_a_call_never_held_reports_zero(sim: SimSwitch) -> None:
    async with InboundClient("127.0.0.1", sim.port, "ClueCon") as esl:
        await esl.subscribe("CHANNEL_HANGUP_COMPLETE")
        uuid = (await esl.api("originate null/x &park()")).split()[1]
        done = esl.wait_for_event("CHANNEL_HANGUP_COMPLETE", timeout=5)
        await esl.api(f"uuid_kill {uuid}")
        event = await done
    assert event.variable("hold_accum_ms") == "0"
